/// Llama-family decoders (Llama 2/3, SmolLM2, Mistral without sliding window): RMSNorm, SwiGLU MLP, RoPE on adjacent
/// pairs, grouped-query attention, optionally tied embeddings.
///
/// The GGUF converter permutes the rows of Hugging Face's q and k projections so that the rotate-half layout becomes
/// llama.cpp's adjacent-pair one; a GGUF llama file must therefore be rotated in pairs (x[2i], x[2i+1]).
///
/// Llama 3.1 / 3.2 files carry "llama3" RoPE scaling as a `rope_freqs.weight` tensor: per-pair divisors of the
/// frequencies (1 for fast pairs, the scaling factor for slow ones, smoothed in between), applied to every layer.
enum Llama {
    static func config(_ file: GGUFFile) throws -> ModelConfig {
        let r = ConfigReader(file: file, arch: "llama")
        var c = try r.common(.llama, ropeStyle: .adjacentPairs)
        c.ropeFreqFactors = try r.ropeFreqFactors(ropeDims: c.ropeDims)
        return c
    }
}
