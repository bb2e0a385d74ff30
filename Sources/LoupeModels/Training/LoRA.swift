import Foundation
import LoupeTensor

/// Low-rank adapters (LoRA, Hu et al. 2021) on a decoder's projections.
///
/// A target projection y = x W^T becomes y = x W^T + (alpha / rank) (x A^T) B^T with A [rank, in] and B [out, rank].
/// W stays frozen; only A and B train. B starts at zero, so a fresh adapter leaves the model's output unchanged, and
/// A starts uniform in ±1/sqrt(in) (PEFT's default, Kaiming-uniform with a = sqrt(5)), so B's first gradient is not
/// zero. `merge` folds W + (alpha / rank) B A into the weight.
public struct LoRAConfig: Sendable, Equatable {
    /// The projections an adapter can sit on, named as in PEFT's `target_modules` without the `_proj` suffix.
    public enum Target: String, Sendable, CaseIterable {
        case q, k, v, o, gate, up, down

        /// The GGUF tensor name of this projection in block `layer` (without ".weight").
        func tensorName(layer: Int) -> String {
            let suffix: String
            switch self {
            case .q: suffix = "attn_q"
            case .k: suffix = "attn_k"
            case .v: suffix = "attn_v"
            case .o: suffix = "attn_output"
            case .gate: suffix = "ffn_gate"
            case .up: suffix = "ffn_up"
            case .down: suffix = "ffn_down"
            }
            return "blk.\(layer).\(suffix)"
        }
    }

    /// Rank of the update B A.
    public var rank: Int
    /// Scale numerator: the update is multiplied by alpha / rank.
    public var alpha: Float
    /// The projections that get adapters (in every block).
    public var targets: [Target]
    /// Seed of A's initialization.
    public var seed: UInt64

    public init(rank: Int = 8, alpha: Float = 16, targets: [Target] = [.q, .v], seed: UInt64 = 0) {
        self.rank = rank; self.alpha = alpha; self.targets = targets; self.seed = seed
    }

    /// alpha / rank.
    public var scale: Float { alpha / Float(rank) }

    /// Target names as users write them: "q", "k", "v", "o", "gate", "up", "down", PEFT's "q_proj" ... spellings,
    /// and the groups "attn" (q, k, v, o), "mlp" (gate, up, down) and "all".
    public static func targets(parsing names: [String]) throws -> [Target] {
        var out: [Target] = []
        func add(_ t: Target) { if !out.contains(t) { out.append(t) } }
        for raw in names {
            let name = raw.hasSuffix("_proj") ? String(raw.dropLast(5)) : raw
            switch name {
            case "all": Target.allCases.forEach(add)
            case "attn": [.q, .k, .v, .o].forEach(add)
            case "mlp": [.gate, .up, .down].forEach(add)
            default:
                guard let t = Target(rawValue: name) else {
                    throw TrainingError.unknownTarget(name: raw, valid: Target.allCases.map(\.rawValue) + ["attn", "mlp", "all"])
                }
                add(t)
            }
        }
        return out
    }

    func validate() throws {
        guard rank > 0 else { throw TrainingError.invalidArgument(function: "lora", message: "rank must be positive, got \(rank)") }
        guard alpha.isFinite else { throw TrainingError.invalidArgument(function: "lora", message: "alpha must be finite") }
        guard !targets.isEmpty else { throw TrainingError.invalidArgument(function: "lora", message: "no target projections") }
    }
}

/// One adapter: A [rank, in] and B [out, rank], leaves that require grad.
struct LoRAAdapter {
    var a: Tensor
    var b: Tensor
}
