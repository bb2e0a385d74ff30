import Foundation
import LoupeTensor

/// A change made to an activation at a hook point during `LanguageModel.forward`.
public enum Intervention {
    /// Replace the activation by this tensor (same shape).
    case replace(Tensor)
    /// Add this tensor; it broadcasts from the right (a [d_model] vector is added at every position).
    case add(Tensor)
    /// Replace the activation by `f(activation)`; the result must keep the shape.
    case apply((Tensor) throws -> Tensor)
    /// Multiply the given heads by 0 (hooks with a head axis: hook_q/k/v, hook_rot_q/k, hook_z, hook_pattern,
    /// hook_attn_scores).
    case zeroHeads([Int])
    /// Multiply each listed head by its factor.
    case scaleHeads([Int: Float])

    /// Refuses head edits at hooks without a head axis, before the forward pass starts.
    func check(hook: String) throws {
        switch self {
        case .zeroHeads, .scaleHeads:
            guard Intervention.headAxis(of: hook) != nil else {
                throw ModelRunError.badIntervention(hook: hook, message: "has no head axis; zero/scale heads at "
                    + "attn.hook_q, hook_k, hook_v, hook_rot_q, hook_rot_k, hook_attn_scores, hook_pattern or hook_z")
            }
        default: break
        }
    }

    /// The axis of heads in a hook's activation, if it has one.
    static func headAxis(of hook: String) -> Int? {
        if hook.hasSuffix("attn.hook_pattern") || hook.hasSuffix("attn.hook_attn_scores") { return 0 }
        for s in ["attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_rot_q", "attn.hook_rot_k", "attn.hook_z"]
        where hook.hasSuffix(s) { return 1 }
        return nil
    }

    func apply(hook: String, buffer: UnsafeMutablePointer<Float>, shape: [Int], headAxis: Int?) throws {
        let count = shape.reduce(1, *)
        func write(_ t: Tensor, _ what: String) throws {
            guard t.shape == shape else {
                throw ModelRunError.badIntervention(hook: hook, message: "\(what) has shape \(t.shape), the activation is \(shape)")
            }
            t.withUnsafeBufferPointer { src in buffer.update(from: src.baseAddress!, count: count) }
        }
        func current() throws -> Tensor { try Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: buffer, count: count))) }
        switch self {
        case let .replace(t):
            try write(t, "the replacement")
        case let .add(t):
            // Broadcast from the right: the added tensor's shape must be a suffix of the activation's.
            guard t.shape.count <= shape.count, Array(shape.suffix(t.shape.count)) == t.shape, t.count > 0 else {
                throw ModelRunError.badIntervention(hook: hook, message: "cannot add shape \(t.shape) to the activation \(shape)")
            }
            let n = t.count
            t.withUnsafeBufferPointer { src in
                for start in stride(from: 0, to: count, by: n) {
                    for i in 0..<n { buffer[start + i] += src[i] }
                }
            }
        case let .apply(f):
            try write(try f(try current()), "the function's result")
        case let .zeroHeads(heads):
            try scale(buffer, shape: shape, axis: headAxis, hook: hook, factors: Dictionary(heads.map { ($0, Float(0)) }, uniquingKeysWith: { a, _ in a }))
        case let .scaleHeads(factors):
            try scale(buffer, shape: shape, axis: headAxis, hook: hook, factors: factors)
        }
    }

    private func scale(_ buffer: UnsafeMutablePointer<Float>, shape: [Int], axis: Int?, hook: String,
                       factors: [Int: Float]) throws {
        guard let axis else { throw ModelRunError.badIntervention(hook: hook, message: "has no head axis") }
        let heads = shape[axis]
        for h in factors.keys where h < 0 || h >= heads {
            throw ModelRunError.badIntervention(hook: hook, message: "head \(h) is out of range (0..<\(heads))")
        }
        // outer x heads x inner layout
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        for o in 0..<outer {
            for (h, f) in factors {
                let p = buffer + (o * heads + h) * inner
                for i in 0..<inner { p[i] *= f }
            }
        }
    }
}

/// What a callback inside attention sees for one (layer, head).
public struct AttentionHeadContext {
    public let layer: Int
    public let head: Int
    /// Absolute position of the first query.
    public let firstPosition: Int
    /// Queries after RoPE: [T, d_head].
    public let q: Tensor
    /// Keys after RoPE of every attended position: [T_key, d_head].
    public let k: Tensor
    /// Values: [T_key, d_head].
    public let v: Tensor
    /// Scaled scores with the causal, window and user masks applied (-inf where masked): [T, T_key].
    public let scores: Tensor
    /// The modality tag of every position (ForwardOptions.modalityTags), empty when none were given.
    public let modalityTags: [String]
}

/// Options of `LanguageModel.forward` beyond hooks.
public struct ForwardOptions {
    /// Added to the attention scores of every layer and head before the softmax: shape [T_key] (one value per key
    /// position, e.g. -inf to hide a token) or [T, T_key].
    public var attentionMask: Tensor?
    /// Input embeddings to use instead of the embedding table's rows at the given positions (soft prompts), each a
    /// [d_model] vector in the table's space (Gemma's sqrt(d_model) scaling is applied after, as for table rows).
    public var injectedEmbeddings: [Int: Tensor]
    /// Called for every (layer, head) (or only the layers in `attentionCallbackLayers`); a non-nil result,
    /// [T, d_head], replaces that head's output (hook_z slice).
    public var attentionCallback: ((AttentionHeadContext) throws -> Tensor?)?
    public var attentionCallbackLayers: Set<Int>?
    /// One tag per position ("text", "image", ...), handed to the attention callback.
    public var modalityTags: [String]
    /// Logits of every position (true) or only of the last (false; `ForwardResult.logits` is then [1, vocab]).
    public var allLogits: Bool

    public init(attentionMask: Tensor? = nil, injectedEmbeddings: [Int: Tensor] = [:],
                attentionCallback: ((AttentionHeadContext) throws -> Tensor?)? = nil,
                attentionCallbackLayers: Set<Int>? = nil, modalityTags: [String] = [], allLogits: Bool = true) {
        self.attentionMask = attentionMask
        self.injectedEmbeddings = injectedEmbeddings
        self.attentionCallback = attentionCallback
        self.attentionCallbackLayers = attentionCallbackLayers
        self.modalityTags = modalityTags
        self.allLogits = allLogits
    }

    /// True when nothing here changes the computation (so the plain path can run).
    var isPlain: Bool { attentionMask == nil && injectedEmbeddings.isEmpty && attentionCallback == nil }
}

/// The result of `LanguageModel.forward`.
public struct ForwardResult {
    /// [T, vocab] (or [1, vocab] when only the last position was asked for).
    public let logits: Tensor
    /// Captured activations by full hook name.
    public let cache: [String: Tensor]
}
