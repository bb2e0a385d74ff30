import Foundation

/// The shape and conventions of a decoder-only transformer, read from a model file's metadata.
///
/// Every difference between the supported architectures is a field here, so the forward pass (Forward.swift) is one
/// loop with a few switches instead of one copy per architecture. The architecture files (Architectures/*.swift)
/// fill it from GGUF metadata; `validate` checks it before any tensor is read.
public struct ModelConfig: Sendable, Equatable, CustomStringConvertible {
    /// The decoder architectures Loupe runs.
    public enum Architecture: String, Sendable, CaseIterable {
        case llama, qwen2, qwen3, gemma3
    }

    /// Which pairs of dimensions RoPE rotates together.
    public enum RoPEStyle: String, Sendable {
        /// (x[2i], x[2i+1]): llama.cpp's "normal" mode. GGUF llama files use it because the converter permuted the
        /// q/k rows of Hugging Face's rotate-half layout into this one.
        case adjacentPairs
        /// (x[i], x[i + n/2]): Hugging Face's rotate-half ("NEOX" in llama.cpp); qwen2, qwen3, gemma3.
        case halves
    }

    /// The MLP's gate nonlinearity: y = down(act(gate(x)) * up(x)).
    public enum Activation: String, Sendable {
        case silu
        /// GELU with the tanh approximation (Gemma).
        case geluTanh
    }

    public var architecture: Architecture
    /// Number of transformer blocks.
    public var layers: Int
    /// Width of the residual stream.
    public var dModel: Int
    /// Query heads.
    public var heads: Int
    /// Key/value heads (grouped-query attention when fewer than `heads`).
    public var kvHeads: Int
    /// Length of each query/key head vector.
    public var headDim: Int
    /// Length of each value head vector (equal to `headDim` in every supported model).
    public var valueDim: Int
    /// Hidden width of the MLP.
    public var dFF: Int
    /// Vocabulary size (rows of the embedding table).
    public var vocab: Int
    /// Trained context length; sessions refuse to grow past it.
    public var context: Int
    /// RoPE base of global (or all) layers.
    public var ropeBase: Double
    /// RoPE base of sliding-window layers (Gemma 3: 10 000), nil when all layers use `ropeBase`.
    public var ropeBaseLocal: Double?
    /// Linear RoPE scaling of global layers (positions divided by this factor); 1 when the file sets none.
    public var ropeScale: Double
    /// Per-pair divisors of the RoPE frequencies of global layers (length `ropeDims / 2`): pair i turns at
    /// base^(-2i/ropeDims) / factors[i] per position. Llama 3.1+ "llama3" scaling: a GGUF file's `rope_freqs.weight`,
    /// or computed from config.json's `rope_scaling`. nil for plain RoPE.
    public var ropeFreqFactors: [Double]? = nil
    /// The config.json parameters `ropeFreqFactors` came from, for a model read from a Hugging Face folder, so that a
    /// safetensors export can state them again; nil for GGUF files, which store only the factors.
    public var llama3RoPEScaling: Llama3RoPEScaling? = nil
    /// YaRN scaling of the global layers' RoPE (GGUF `rope.scaling.type = yarn`, or config.json's "yarn"
    /// `rope_scaling`): per-pair frequency divisors and a factor on cos and sin. nil for other models.
    public var yarnRoPE: YaRNRoPEScaling? = nil

    /// The per-pair frequency divisors the global layers' RoPE uses: llama3's factors or YaRN's, nil for plain RoPE.
    public var ropePairDivisors: [Double]? {
        ropeFreqFactors ?? yarnRoPE?.factors(base: ropeBase, dims: ropeDims)
    }

    /// What the global layers' RoPE multiplies cos and sin by (YaRN's attention factor; 1 otherwise).
    public var ropeMagnitude: Double { yarnRoPE?.magnitude ?? 1 }
    /// How many leading dimensions of each head RoPE rotates (the rest pass through).
    public var ropeDims: Int
    public var ropeStyle: RoPEStyle
    /// RMSNorm epsilon.
    public var eps: Float
    /// Sliding-window length of local layers (a query sees itself and the `window - 1` keys before it).
    public var slidingWindow: Int?
    /// Per layer: true when the layer attends through the sliding window (and uses `ropeBaseLocal`).
    public var slidingLayers: [Bool]
    /// Multiplier of the query-key dot products (1/sqrt(headDim) unless the model says otherwise).
    public var attentionScale: Float
    /// Multiplier of the embedding rows as they enter the residual stream (Gemma: sqrt(dModel)).
    public var embeddingScale: Float
    public var activation: Activation
    /// The output projection is the embedding table (no `output.weight` in the file).
    public var tiedEmbeddings: Bool
    /// q, k and v projections carry biases (qwen2).
    public var qkvBias: Bool
    /// Per-head RMSNorm of queries and keys before RoPE (qwen3, gemma3).
    public var qkNorm: Bool
    /// Extra RMSNorms on the attention output and the MLP output before they join the residual (gemma3).
    public var sandwichNorms: Bool
    /// tanh soft-capping of the final logits (cap * tanh(x / cap)), when the file sets it.
    public var finalLogitSoftcap: Float?

    public var kvDim: Int { kvHeads * headDim }
    public var qDim: Int { heads * headDim }

    public var description: String {
        var s = "\(architecture.rawValue): \(layers) layers, d_model \(dModel), \(heads) heads (\(kvHeads) kv) x \(headDim), "
            + "d_ff \(dFF), vocab \(vocab), context \(context), rope base \(ropeBase)"
        if let b = ropeBaseLocal { s += " (local \(b))" }
        if ropeFreqFactors != nil { s += ", llama3 rope factors" }
        if let y = yarnRoPE { s += ", yarn rope x\(y.factor) from \(y.originalContext)" }
        if let w = slidingWindow { s += ", window \(w) on \(slidingLayers.filter { $0 }.count) layers" }
        return s
    }

    /// Checks that the numbers fit together; `path` names the file in the error.
    func validate(path: String) throws {
        func bad(_ field: String, _ message: String) -> ModelFileError {
            .invalidField(path: path, field: field, message: message)
        }
        let prefix = architecture.rawValue
        for (name, v) in [("block_count", layers), ("embedding_length", dModel), ("attention.head_count", heads),
                          ("attention.head_count_kv", kvHeads), ("feed_forward_length", dFF),
                          ("vocab_size", vocab), ("context_length", context), ("key_length", headDim)] where v <= 0 {
            throw bad("\(prefix).\(name)", "must be positive, got \(v)")
        }
        guard heads % kvHeads == 0 else {
            throw bad("\(prefix).attention.head_count_kv",
                      "\(kvHeads) key/value heads do not divide \(heads) query heads")
        }
        guard ropeDims > 0, ropeDims <= headDim, ropeDims % 2 == 0 else {
            throw bad("\(prefix).rope.dimension_count", "\(ropeDims) must be even and at most the head size \(headDim)")
        }
        if let f = ropeFreqFactors {
            guard f.count == ropeDims / 2 else {
                throw bad("rope_freqs", "has \(f.count) frequency factors, RoPE over \(ropeDims) dimensions needs \(ropeDims / 2)")
            }
            if let i = f.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
                throw bad("rope_freqs", "frequency factor \(i) is \(f[i]); factors must be positive and finite")
            }
        }
        if let y = yarnRoPE {
            guard y.factor >= 1, y.factor.isFinite else {
                throw bad("\(prefix).rope.scaling.factor", "YaRN needs a factor of at least 1, got \(y.factor)")
            }
            guard y.originalContext > 0 else {
                throw bad("\(prefix).rope.scaling.original_context_length", "must be positive, got \(y.originalContext)")
            }
            guard y.betaFast > 0, y.betaSlow > 0, y.betaFast.isFinite, y.betaSlow.isFinite else {
                throw bad("\(prefix).rope.scaling.yarn_beta_fast",
                          "YaRN's beta_fast and beta_slow must be positive, got \(y.betaFast) and \(y.betaSlow)")
            }
            guard y.magnitude > 0, y.magnitude.isFinite else {
                throw bad("\(prefix).rope.scaling.attn_factor", "YaRN's attention factor must be positive, got \(y.magnitude)")
            }
            guard ropeFreqFactors == nil, ropeScale == 1 else {
                throw bad("\(prefix).rope.scaling.type", "YaRN cannot be combined with rope_freqs or linear scaling")
            }
        }
        guard valueDim == headDim else {
            throw bad("\(prefix).attention.value_length", "value length \(valueDim) differs from key length \(headDim)")
        }
        guard slidingLayers.count == layers else {
            throw bad("\(prefix).attention.sliding_window_pattern", "describes \(slidingLayers.count) layers, not \(layers)")
        }
        if let w = slidingWindow, w <= 0 { throw bad("\(prefix).attention.sliding_window", "must be positive, got \(w)") }
        guard eps > 0, eps.isFinite else { throw bad("\(prefix).attention.layer_norm_rms_epsilon", "must be positive") }
    }
}

/// Metadata reading shared by the architecture files: `key("block_count")` is "<arch>.block_count".
struct ConfigReader {
    let file: GGUFFile
    let arch: String

    func key(_ k: String) -> String { "\(arch).\(k)" }
    func int(_ k: String) throws -> Int { try file.requireInt(key(k)) }
    func optionalInt(_ k: String) -> Int? { file.int(key(k)) }
    func float(_ k: String) throws -> Float { try file.requireFloat(key(k)) }
    func optionalDouble(_ k: String) -> Double? { file.double(key(k)) }

    /// Llama 3.1+ per-pair RoPE frequency divisors from the `rope_freqs.weight` tensor (F32, one per rotated pair),
    /// as llama.cpp's converter writes them for "llama3" rope scaling; nil when the file has none.
    func ropeFreqFactors(ropeDims: Int) throws -> [Double]? {
        let name = "rope_freqs.weight"
        guard let t = file.tensor(named: name) else { return nil }
        guard t.type == .f32 else {
            throw ModelFileError.unknownTensorType(path: file.path, tensor: name, type: "\(t.type.name) (\(name) must be F32)")
        }
        guard t.dims.count == 1, t.elementCount == ropeDims / 2 else {
            throw ModelFileError.badTensorShape(
                path: file.path, tensor: name,
                message: "has shape \(t.shape), RoPE over \(ropeDims) dimensions needs [\(ropeDims / 2)] (one factor per pair)")
        }
        let bytes = file.bytes(of: t)
        return (0..<t.elementCount).map { Double(bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self)) }
    }

    /// The vocabulary size: `<arch>.vocab_size` when present, else the rows of the embedding table.
    func vocab() throws -> Int {
        if let v = optionalInt("vocab_size") { return v }
        if let toks = file.metadata["tokenizer.ggml.tokens"]?.array { return toks.count }
        let emb = try file.requireTensor("token_embd.weight")
        return emb.shape.first ?? 0
    }

    /// The fields every architecture reads the same way; the architecture file then adjusts its own.
    func common(_ architecture: ModelConfig.Architecture, ropeStyle: ModelConfig.RoPEStyle) throws -> ModelConfig {
        let d = try int("embedding_length"), heads = try int("attention.head_count")
        let kvHeads = optionalInt("attention.head_count_kv") ?? heads
        let headDim = optionalInt("attention.key_length") ?? (heads > 0 ? d / heads : 0)
        let layers = try int("block_count")
        var scale = 1.0
        var yarn: YaRNRoPEScaling?
        switch file.string(key("rope.scaling.type")) {
        case nil, "none": break
        case "linear":
            if let f = optionalDouble("rope.scaling.factor"), f > 0 { scale = f }
        case "yarn": yarn = try yarnScaling()
        case let other?:
            throw ModelFileError.invalidField(
                path: file.path, field: key("rope.scaling.type"),
                message: "'\(other)' RoPE scaling is not supported (Loupe runs none, linear, yarn, and llama3's rope_freqs)")
        }
        var config = ModelConfig(
            architecture: architecture, layers: layers, dModel: d, heads: heads, kvHeads: kvHeads, headDim: headDim,
            valueDim: optionalInt("attention.value_length") ?? headDim, dFF: try int("feed_forward_length"),
            vocab: try vocab(), context: optionalInt("context_length") ?? 2048,
            ropeBase: optionalDouble("rope.freq_base") ?? 10_000, ropeBaseLocal: nil, ropeScale: scale,
            ropeDims: optionalInt("rope.dimension_count") ?? headDim, ropeStyle: ropeStyle,
            eps: try float("attention.layer_norm_rms_epsilon"), slidingWindow: nil,
            slidingLayers: Array(repeating: false, count: max(layers, 0)),
            attentionScale: headDim > 0 ? 1 / Float(headDim).squareRoot() : 1, embeddingScale: 1,
            activation: .silu, tiedEmbeddings: file.tensor(named: "output.weight") == nil, qkvBias: false,
            qkNorm: false, sandwichNorms: false,
            finalLogitSoftcap: optionalDouble("final_logit_softcapping").flatMap { $0 > 0 ? Float($0) : nil })
        config.yarnRoPE = yarn
        return config
    }

    /// `rope.scaling.*` of a YaRN file, read as llama.cpp reads them: the factor, the original context (default:
    /// the trained context), beta_fast / beta_slow (default 32 / 1), and `attn_factor` (default 1), which llama.cpp
    /// multiplies with 1 + 0.1 ln factor. The DeepSeek-style log multiplier and a partial extrapolation factor
    /// change the formula and are refused by name.
    func yarnScaling() throws -> YaRNRoPEScaling {
        func bad(_ k: String, _ message: String) -> ModelFileError {
            .invalidField(path: file.path, field: key(k), message: message)
        }
        guard let factor = optionalDouble("rope.scaling.factor") else {
            throw ModelFileError.missing(path: file.path, what: "metadata key", name: key("rope.scaling.factor"))
        }
        if let m = optionalDouble("rope.scaling.yarn_log_multiplier"), m != 0 {
            throw bad("rope.scaling.yarn_log_multiplier", "DeepSeek-style YaRN (log multiplier \(m)) is not supported")
        }
        if let e = optionalDouble("rope.scaling.yarn_ext_factor"), e >= 0, e != 1 {
            throw bad("rope.scaling.yarn_ext_factor", "only full YaRN extrapolation (1) is supported, got \(e)")
        }
        if let a = optionalDouble("rope.scaling.yarn_attn_factor"), a != 1 {
            throw bad("rope.scaling.yarn_attn_factor", "a YaRN attention factor override (\(a)) is not supported")
        }
        let original = optionalInt("rope.scaling.original_context_length") ?? optionalInt("context_length") ?? 0
        let attn = optionalDouble("rope.scaling.attn_factor") ?? 1
        return YaRNRoPEScaling(
            factor: factor, originalContext: original,
            betaFast: optionalDouble("rope.scaling.yarn_beta_fast") ?? 32,
            betaSlow: optionalDouble("rope.scaling.yarn_beta_slow") ?? 1,
            magnitude: attn * YaRNRoPEScaling.defaultMagnitude(factor: factor))
    }
}

extension ModelConfig {
    /// Reads the configuration of a GGUF file, dispatching on `general.architecture`.
    public static func read(from file: GGUFFile) throws -> ModelConfig {
        guard let arch = file.architecture else {
            throw ModelFileError.missing(path: file.path, what: "metadata key", name: "general.architecture")
        }
        let config: ModelConfig
        switch arch {
        case "llama": config = try Llama.config(file)
        case "qwen2": config = try Qwen2.config(file)
        case "qwen3": config = try Qwen3.config(file)
        case "gemma3": config = try Gemma3.config(file)
        default:
            throw ModelFileError.invalidField(
                path: file.path, field: "general.architecture",
                message: "unsupported architecture '\(arch)' (supported: "
                    + Architecture.allCases.map(\.rawValue).joined(separator: ", ") + ")")
        }
        try config.validate(path: file.path)
        return config
    }
}

/// YaRN RoPE scaling (Qwen2.5-1M, Qwen3's long-context setting, ...), as transformers' `_compute_yarn_parameters`
/// and llama.cpp's `rope_yarn` define it.
///
/// Pairs that turn more than `betaFast` times over the original context keep their frequency; pairs that turn
/// fewer than `betaSlow` times are divided by `factor`; in between a linear ramp over the pair index blends the two
/// (the ramp's ends rounded out to whole pairs, as both references do). Cos and sin are multiplied by `magnitude`
/// (transformers' attention factor: 1 + 0.1 ln factor unless the config states one), which scales q and k alike.
public struct YaRNRoPEScaling: Equatable, Sendable {
    public var factor: Double
    public var originalContext: Int
    public var betaFast: Double
    public var betaSlow: Double
    /// The factor on cos and sin.
    public var magnitude: Double

    public init(factor: Double, originalContext: Int, betaFast: Double = 32, betaSlow: Double = 1,
                magnitude: Double? = nil) {
        self.factor = factor
        self.originalContext = originalContext
        self.betaFast = betaFast
        self.betaSlow = betaSlow
        self.magnitude = magnitude ?? Self.defaultMagnitude(factor: factor)
    }

    /// transformers' `get_mscale(factor)`: 1 + 0.1 ln factor (1 for factors up to 1). llama.cpp arrives at the same
    /// product: its context divides the attention factor by this and its rope kernel multiplies it back in.
    public static func defaultMagnitude(factor: Double) -> Double { factor > 1 ? 1 + 0.1 * log(factor) : 1 }

    /// Per-pair frequency divisors: pair i's frequency base^(-2i/dims) becomes e inv_i + (1 - e) inv_i / factor,
    /// e being 1 below the ramp, 0 above it, linear in between; the divisor is 1 / (e + (1 - e) / factor).
    public func factors(base: Double, dims: Int) -> [Double] {
        // The pair index at which a pair turns `rotations` times over the original context.
        func pair(_ rotations: Double) -> Double {
            Double(dims) * log(Double(originalContext) / (rotations * 2 * Double.pi)) / (2 * log(base))
        }
        let low = Swift.max(floor(pair(betaFast)), 0)
        var high = Swift.min(ceil(pair(betaSlow)), Double(dims - 1))
        if high == low { high += 0.001 }  // both references' guard against a zero-width ramp
        return (0..<dims / 2).map { i in
            let ramp = Swift.min(1, Swift.max(0, (Double(i) - low) / (high - low)))
            let keep = 1 - ramp
            return 1 / (keep + (1 - keep) / factor)
        }
    }

    /// config.json's `rope_scaling` object.
    public var configJSON: [String: Any] {
        ["rope_type": "yarn", "factor": factor, "original_max_position_embeddings": originalContext,
         "beta_fast": betaFast, "beta_slow": betaSlow, "attention_factor": magnitude]
    }
}

/// "llama3" RoPE scaling (Llama 3.1 / 3.2) as config.json's `rope_scaling` states it.
public struct Llama3RoPEScaling: Equatable, Sendable {
    public var factor: Double
    public var lowFreqFactor: Double
    public var highFreqFactor: Double
    public var originalContext: Int

    public init(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalContext: Int) {
        self.factor = factor
        self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor
        self.originalContext = originalContext
    }

    /// Per-pair frequency divisors, as transformers' `_compute_llama3_parameters` defines them. With
    /// inv_i = base^(-2i/dims) and wavelength 2 pi / inv_i: pairs turning faster than `originalContext /
    /// highFreqFactor` positions per turn keep their frequency (divisor 1); pairs slower than `originalContext /
    /// lowFreqFactor` are divided by `factor`; in between, the new frequency is (1 - s) inv_i / factor + s inv_i with
    /// s = (original / wavelength - low) / (high - low), i.e. divisor 1 / ((1 - s) / factor + s). These are the
    /// numbers llama.cpp's converter stores as `rope_freqs.weight`, so both loaders build the same table.
    public func factors(base: Double, dims: Int) -> [Double] {
        let original = Double(originalContext)
        let lowFreqWavelength = original / lowFreqFactor, highFreqWavelength = original / highFreqFactor
        return (0..<dims / 2).map { i in
            let wavelength = 2 * Double.pi / pow(base, -2 * Double(i) / Double(dims))
            if wavelength < highFreqWavelength { return 1 }
            if wavelength > lowFreqWavelength { return factor }
            let smooth = (original / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
            return 1 / ((1 - smooth) / factor + smooth)
        }
    }

    /// config.json's `rope_scaling` object.
    public var configJSON: [String: Any] {
        ["rope_type": "llama3", "factor": factor, "low_freq_factor": lowFreqFactor, "high_freq_factor": highFreqFactor,
         "original_max_position_embeddings": originalContext]
    }
}
