/// Gemma 3 decoders.
///
/// Differences from llama, each confirmed against llama.cpp's `llm_build_gemma3`:
/// - embeddings are multiplied by sqrt(d_model) as they enter the residual stream;
/// - RMSNorms before and after attention and before and after the MLP ("sandwich" norms), per-head q/k RMSNorm;
///   the GGUF converter already added Gemma's +1 to every norm weight, so they are used as stored;
/// - rotate-half RoPE; local layers attend through a sliding window (512 for 270M) with RoPE base 10 000, and every
///   sixth layer (5, 11, 17, ...) is global with the file's base (1e6);
/// - attention scale 1/sqrt(key_length) (query_pre_attn_scalar = head size in the released models);
/// - GELU (tanh approximation) gating in the MLP; output tied to the embedding table.
enum Gemma3 {
    /// Layers whose index i has (i + 1) % 6 == 0 are global when the file gives no pattern (llama.cpp's default).
    static let defaultPattern = 6

    static func config(_ file: GGUFFile) throws -> ModelConfig {
        let r = ConfigReader(file: file, arch: "gemma3")
        var c = try r.common(.gemma3, ropeStyle: .halves)
        c.qkNorm = true
        c.sandwichNorms = true
        c.activation = .geluTanh
        c.embeddingScale = Float(c.dModel).squareRoot()
        c.slidingWindow = r.optionalInt("attention.sliding_window")
        c.ropeBaseLocal = r.optionalDouble("rope.freq_base_swa") ?? r.optionalDouble("rope.local.freq_base") ?? 10_000
        if let scalar = r.optionalDouble("attention.query_pre_attn_scalar"), scalar > 0 {
            c.attentionScale = Float(1 / scalar.squareRoot())
        }
        // The pattern is stored either as a period (int) or as one bool per layer (true = sliding).
        let patternKey = r.key("attention.sliding_window_pattern")
        if let flags = file.metadata[patternKey]?.array {
            c.slidingLayers = flags.map { $0.bool ?? (($0.int ?? 0) != 0) }
        } else {
            let period = file.int(patternKey) ?? defaultPattern
            c.slidingLayers = (0..<c.layers).map { period > 0 && ($0 + 1) % period != 0 }
        }
        if c.slidingWindow == nil { c.slidingLayers = Array(repeating: false, count: c.layers) }
        return c
    }
}
