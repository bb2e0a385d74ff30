import Foundation
import LoupeModels
import LoupeTensor

/// Case tensor/train-step-llama: one training step of a small llama (Loupe's TrainableModel, all weights) against
/// the same model in JAX (bench/peers/train_jax.py): next-token cross-entropy of a fixed sequence, the gradient of
/// every weight, and Adam's update. The weights are BenchData values written to a GGUF file (F32), so both sides
/// train bit-identical float32 numbers; the cross-check compares the loss and gradient norms at the start.
enum TrainSuite {
    static let dims = (layers: 4, d: 256, heads: 8, kv: 4, hd: 32, ff: 768, vocab: 2048, t: 128)

    /// (GGUF name, shape, scale, offset), in train_jax.tensor_specs order (seeds 100, 101, ...).
    static func specs() -> [(String, [Int], Double, Double)] {
        let (layers, d, heads, kv, hd, ff, vocab, _) = dims
        var s: [(String, [Int], Double, Double)] = [
            ("token_embd.weight", [vocab, d], 1, 0), ("output_norm.weight", [d], 0.1, 1),
            ("output.weight", [vocab, d], (3.0 / Double(d)).squareRoot(), 0)]
        for l in 0..<layers {
            let p = "blk.\(l)."
            s += [(p + "attn_norm.weight", [d], 0.1, 1),
                  (p + "attn_q.weight", [heads * hd, d], (3.0 / Double(d)).squareRoot(), 0),
                  (p + "attn_k.weight", [kv * hd, d], (3.0 / Double(d)).squareRoot(), 0),
                  (p + "attn_v.weight", [kv * hd, d], (3.0 / Double(d)).squareRoot(), 0),
                  (p + "attn_output.weight", [d, heads * hd], (3.0 / Double(heads * hd)).squareRoot(), 0),
                  (p + "ffn_norm.weight", [d], 0.1, 1),
                  (p + "ffn_gate.weight", [ff, d], (3.0 / Double(d)).squareRoot(), 0),
                  (p + "ffn_up.weight", [ff, d], (3.0 / Double(d)).squareRoot(), 0),
                  (p + "ffn_down.weight", [d, ff], (3.0 / Double(ff)).squareRoot(), 0)]
        }
        return s
    }

    /// Writes the model to a temporary GGUF file and loads it.
    static func model() throws -> LanguageModel {
        let (layers, d, heads, kv, hd, ff, _, _) = dims
        let w = GGUFWriter(architecture: "llama")
        for (k, v) in [("block_count", layers), ("context_length", 512), ("embedding_length", d),
                       ("feed_forward_length", ff), ("attention.head_count", heads), ("attention.head_count_kv", kv),
                       ("attention.key_length", hd), ("attention.value_length", hd)] {
            w.set("llama.\(k)", .uint32(UInt32(v)))
        }
        w.set("llama.rope.freq_base", .float32(10_000))
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        for (j, (name, shape, scale, offset)) in specs().enumerated() {
            let values = BenchData.values(shape.reduce(1, *), seed: UInt64(100 + j), scale: scale, offset: offset)
            try w.addTensor(name, tensor: try Tensor(shape: shape, data: values))
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-bench-train-\(getpid()).gguf").path
        try w.write(to: path)
        defer { unlink(path) }  // the model keeps its mapping; the name is no longer needed
        return try LanguageModel.load(path: path)
    }

    static var ids: [Int] { (0..<dims.t).map { ($0 * 7919 + 13) % dims.vocab } }

    static func stepCase() -> BenchCase {
        let (layers, d, heads, kv, hd, ff, vocab, t) = dims
        var c = BenchCase(
            name: "train-step-llama",
            summary: "one training step of a llama (\(layers) layers, d \(d), \(heads) heads over \(kv) kv x \(hd), ff \(ff), vocab \(vocab), untied) on \(t) tokens: next-token loss, gradients of all weights, Adam (TrainableModel); JAX jit(value_and_grad + Adam)",
            peerName: "jax", peerKind: "train",
            peerArgs: [("layers", layers), ("d", d), ("heads", heads), ("kv", kv), ("hd", hd), ("ff", ff),
                       ("vocab", vocab), ("t", t)]
        ) {
            let lm = try model()
            let trained = try TrainableModel(lm)
            let ids = Self.ids
            return .init(
                rep: { try timed { try trained.step([ids], lr: 1e-4) } },
                check: {
                    // At the initial weights, whatever the timed steps did to `trained`.
                    let (loss, g) = try TrainableModel(lm).gradients([ids])
                    var out: [String: Double] = ["loss": Double(loss)]
                    for name in ["token_embd.weight", "output.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight"] {
                        out[name] = g[name]!.withUnsafeBufferPointer { p in p.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
                    }
                    return out
                })
        }
        c.tolerance = 2e-3
        return c
    }
}
