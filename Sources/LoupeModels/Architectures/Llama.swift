/// Llama-family decoders (Llama 2/3, SmolLM2, Mistral without sliding window): RMSNorm, SwiGLU MLP, RoPE on adjacent
/// pairs, grouped-query attention, optionally tied embeddings.
///
/// The GGUF converter permutes the rows of Hugging Face's q and k projections so that the rotate-half layout becomes
/// llama.cpp's adjacent-pair one; a GGUF llama file must therefore be rotated in pairs (x[2i], x[2i+1]).
enum Llama {
    static func config(_ file: GGUFFile) throws -> ModelConfig {
        try ConfigReader(file: file, arch: "llama").common(.llama, ropeStyle: .adjacentPairs)
    }
}
