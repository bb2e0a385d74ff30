/// Qwen2 decoders: the llama layout with biases on the q, k and v projections and rotate-half RoPE.
enum Qwen2 {
    static func config(_ file: GGUFFile) throws -> ModelConfig {
        var c = try ConfigReader(file: file, arch: "qwen2").common(.qwen2, ropeStyle: .halves)
        c.qkvBias = true
        return c
    }
}
