/// Qwen3 decoders: the llama layout with rotate-half RoPE, no projection biases, and a per-head RMSNorm of queries
/// and keys (weights of length head_dim, shared by all heads) applied before RoPE. Its head size is set by
/// `qwen3.attention.key_length` and need not be d_model / heads.
enum Qwen3 {
    static func config(_ file: GGUFFile) throws -> ModelConfig {
        var c = try ConfigReader(file: file, arch: "qwen3").common(.qwen3, ropeStyle: .halves)
        c.qkNorm = true
        return c
    }
}
