import Foundation
import LoupeTensor

// Hugging Face decoder checkpoints: a folder with config.json, model.safetensors (or model.safetensors.index.json and
// its shards), and usually tokenizer.json + tokenizer_config.json. They load into the same `LanguageModel` a GGUF file
// builds, so the forward pass, hooks, sessions and generation do not know where the weights came from.
//
// The layout differences llama.cpp's convert_hf_to_gguf.py handles are handled here, at load time:
// - llama q/k rows: transformers rotates halves (x[i], x[i + d/2]) of each head, GGUF llama files pairs
//   (x[2i], x[2i+1]) after the converter permuted the rows. The rows are permuted the same way here (a copy of q and
//   k only), so the model is the GGUF model: same rope style, same hook values, same `train` export.
// - Gemma norm weights are stored as w and used as 1 + w; the converter adds the 1, and so does this loader.
// - Tied embeddings: no lm_head tensor, the output reuses the embedding table.
// - rope_theta, rope_local_base_freq, sliding_window (+ layer_types or sliding_window_pattern), linear, llama3 and
//   yarn rope_scaling (llama3: per-pair frequency divisors, the numbers the converter stores as rope_freqs.weight;
//   yarn: its parameters, which the converter writes as rope.scaling.* keys), query_pre_attn_scalar and
//   final_logit_softcapping come from config.json.
//
// Matrices stay in the checkpoint's memory mapping in their stored type: the kernels (`WeightMatrix`) read F32, F16 and
// BF16 rows directly, so a BF16 checkpoint costs no conversion and no extra memory (q/k of llama are the exception:
// permuted copies in the same type). Norm weights and biases, which the forward pass keeps as float32 vectors, are
// converted to float32.

/// Reads Hugging Face decoder checkpoint folders (`LlamaForCausalLM`, `Qwen2ForCausalLM`, `Qwen3ForCausalLM`,
/// `Gemma3ForCausalLM`, and the text part of `Gemma3ForConditionalGeneration`).
public enum HFCheckpoint {
    /// config.json `architectures` entries this loader runs, and the engine architecture each becomes.
    public static let architectures: [String: ModelConfig.Architecture] = [
        "LlamaForCausalLM": .llama, "MistralForCausalLM": .llama, "Qwen2ForCausalLM": .qwen2,
        "Qwen3ForCausalLM": .qwen3, "Gemma3ForCausalLM": .gemma3, "Gemma3ForConditionalGeneration": .gemma3,
    ]
    /// config.json `model_type` values, for configs that list no architectures.
    static let modelTypes: [String: ModelConfig.Architecture] = [
        "llama": .llama, "qwen2": .qwen2, "qwen3": .qwen3, "gemma3": .gemma3, "gemma3_text": .gemma3,
    ]

    /// Whether the folder's config.json describes a decoder this loader runs (false for BERT encoders, folders
    /// without config.json, and anything else; `LanguageModel.load(huggingFace:)` says why in its error).
    public static func isDecoder(directory: String) -> Bool {
        let path = (directory as NSString).appendingPathComponent("config.json")
        guard let c = try? HFConfig(path: path) else { return false }
        return (try? architecture(c)) != nil
    }

    /// The engine architecture of a config: the first known `architectures` entry, else `model_type`.
    static func architecture(_ c: HFConfig) throws -> ModelConfig.Architecture {
        if let a = c.architectures.lazy.compactMap({ architectures[$0] }).first { return a }
        if c.architectures.isEmpty, let t = c.modelType, let a = modelTypes[t] { return a }
        let named = c.architectures.isEmpty ? "model_type '\(c.modelType ?? "none")'"
            : "architectures \(c.architectures)"
        throw ModelFileError.invalidField(
            path: c.path, field: c.architectures.isEmpty ? "model_type" : "architectures",
            message: "unsupported decoder \(named) (supported: " + architectures.keys.sorted().joined(separator: ", ") + ")")
    }

    /// The engine configuration of a config.json, with transformers' defaults for absent fields. Throws
    /// `ModelFileError` naming config.json and the field for a missing size, numbers that do not fit together, or a
    /// feature the engine does not run (yarn/dynamic rope scaling, attention logit soft-capping, biased MLPs, ...).
    public static func modelConfig(_ c: HFConfig) throws -> ModelConfig {
        let arch = try architecture(c)
        let path = c.path
        func bad(_ field: String, _ message: String) -> ModelFileError {
            .invalidField(path: path, field: field, message: message)
        }
        func required(_ v: Int?, _ field: String) throws -> Int {
            guard let v else { throw ModelFileError.missing(path: path, what: "field", name: field) }
            guard v > 0 else { throw bad(field, "must be positive, got \(v)") }
            return v
        }
        let d = try required(c.hiddenSize, "hidden_size")
        let layers = try required(c.numHiddenLayers, "num_hidden_layers")
        let heads = try required(c.numAttentionHeads, "num_attention_heads")
        let dFF = try required(c.intermediateSize, "intermediate_size")
        let vocab = try required(c.vocabSize, "vocab_size")
        let kvHeads = try required(c.numKeyValueHeads ?? heads, "num_key_value_heads")
        guard heads % kvHeads == 0 else {
            throw bad("num_key_value_heads", "\(kvHeads) key/value heads do not divide \(heads) attention heads")
        }
        // transformers' defaults per family (Qwen3Config head_dim 128, Gemma3TextConfig 256, else d / heads).
        let defaultHeadDim = arch == .qwen3 ? 128 : arch == .gemma3 ? 256 : d / heads
        let headDim = try required(c.headDim ?? defaultHeadDim, "head_dim")
        guard headDim % 2 == 0 else { throw bad("head_dim", "RoPE needs an even head size, got \(headDim)") }
        let context = try required(c.maxPositionEmbeddings ?? [.llama: 2048, .qwen2: 32768, .qwen3: 40960,
                                                                .gemma3: 131_072][arch]!, "max_position_embeddings")
        let eps = c.rmsNormEps ?? 1e-6
        guard eps > 0 else { throw bad("rms_norm_eps", "must be positive, got \(eps)") }

        var scale = 1.0
        var ropeFactors: [Double]?
        var llama3: Llama3RoPEScaling?
        var yarn: YaRNRoPEScaling?
        let ropeBase = c.ropeTheta ?? (arch == .gemma3 ? 1_000_000 : 10_000)
        if let rs = c.ropeScaling {
            let type = (rs["rope_type"] as? String) ?? (rs["type"] as? String) ?? "default"
            switch type {
            case "default": break
            case "linear":
                guard let f = (rs["factor"] as? NSNumber)?.doubleValue, f > 0 else {
                    throw bad("rope_scaling.factor", "linear scaling needs a positive factor")
                }
                scale = f
            case "llama3":
                let p = try llama3Scaling(rs, path: path)
                llama3 = p
                ropeFactors = p.factors(base: ropeBase, dims: headDim)
            case "yarn":
                yarn = try yarnScaling(rs, context: context, path: path)
            default:
                throw bad("rope_scaling.rope_type",
                          "'\(type)' scaling is not supported (Loupe runs default, linear, llama3 and yarn RoPE)")
            }
        }
        let raw = c.raw
        func flag(_ key: String) -> Bool { (raw[key] as? NSNumber).map { String(cString: $0.objCType) == "c" && $0.boolValue } ?? false }
        if flag("mlp_bias") { throw bad("mlp_bias", "biased MLP projections are not supported") }
        if arch == .llama, c.attentionBias == true {
            throw bad("attention_bias", "llama attention biases (including o_proj's) are not supported")
        }
        if arch != .gemma3, flag("use_sliding_window") {
            throw bad("use_sliding_window", "sliding-window attention is supported for Gemma 3 only")
        }
        if let cap = c.attnLogitSoftcapping, cap > 0 {
            throw bad("attn_logit_softcapping", "attention logit soft-capping is not supported")
        }
        let act = c.hiddenAct ?? (arch == .gemma3 ? "gelu_pytorch_tanh" : "silu")
        let activation: ModelConfig.Activation
        switch act {
        case "silu", "swish": activation = .silu
        case "gelu_pytorch_tanh", "gelu_tanh", "gelu_new": activation = .geluTanh
        default: throw bad(c.raw["hidden_act"] != nil ? "hidden_act" : "hidden_activation",
                           "'\(act)' is not supported (silu, gelu_pytorch_tanh)")
        }

        var m = ModelConfig(
            architecture: arch, layers: layers, dModel: d, heads: heads, kvHeads: kvHeads, headDim: headDim,
            valueDim: headDim, dFF: dFF, vocab: vocab, context: context,
            ropeBase: ropeBase, ropeBaseLocal: nil, ropeScale: scale,
            ropeDims: headDim, ropeStyle: arch == .llama ? .adjacentPairs : .halves, eps: Float(eps),
            slidingWindow: nil, slidingLayers: Array(repeating: false, count: layers),
            attentionScale: 1 / Float(headDim).squareRoot(), embeddingScale: 1, activation: activation,
            tiedEmbeddings: c.tieWordEmbeddings ?? (arch == .gemma3), qkvBias: arch == .qwen2,
            qkNorm: arch == .qwen3 || arch == .gemma3, sandwichNorms: arch == .gemma3,
            finalLogitSoftcap: c.finalLogitSoftcapping.flatMap { $0 > 0 ? Float($0) : nil })
        m.ropeFreqFactors = ropeFactors
        m.llama3RoPEScaling = llama3
        m.yarnRoPE = yarn
        if arch == .gemma3 {
            // transformers multiplies by embed_scale cast to the weights' dtype; llama.cpp (and Loupe's GGUF path)
            // by the exact sqrt(d_model). The exact value is kept so both paths give one model.
            m.embeddingScale = Float(d).squareRoot()
            let scalar = c.queryPreAttnScalar ?? 256
            guard scalar > 0 else { throw bad("query_pre_attn_scalar", "must be positive, got \(scalar)") }
            m.attentionScale = Float(1 / scalar.squareRoot())
            m.ropeBaseLocal = c.ropeLocalBaseFreq ?? 10_000
            let window = try required(c.slidingWindow ?? 4096, "sliding_window")
            m.slidingWindow = window
            if let types = c.layerTypes {
                guard types.count == layers else {
                    throw bad("layer_types", "lists \(types.count) layers, num_hidden_layers is \(layers)")
                }
                m.slidingLayers = try types.enumerated().map { i, t in
                    switch t {
                    case "sliding_attention": return true
                    case "full_attention": return false
                    default: throw bad("layer_types[\(i)]", "'\(t)' is neither sliding_attention nor full_attention")
                    }
                }
            } else {
                // Gemma3TextConfig: layer i is global when (i + 1) % sliding_window_pattern == 0 (default 6).
                let period = c.slidingWindowPattern ?? Gemma3.defaultPattern
                m.slidingLayers = (0..<layers).map { period > 0 && ($0 + 1) % period != 0 }
            }
        }
        try m.validate(path: path)
        return m
    }
}

extension HFCheckpoint {
    /// config.json's "llama3" `rope_scaling` parameters, checked (the factors follow from them:
    /// `Llama3RoPEScaling.factors`).
    static func llama3Scaling(_ rs: [String: Any], path: String) throws -> Llama3RoPEScaling {
        func number(_ key: String) throws -> Double {
            guard let v = rs[key] else { throw ModelFileError.missing(path: path, what: "field", name: "rope_scaling.\(key)") }
            guard let n = v as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue.isFinite else {
                throw ModelFileError.invalidField(path: path, field: "rope_scaling.\(key)", message: "must be a number, got \(v)")
            }
            return n.doubleValue
        }
        func bad(_ key: String, _ message: String) -> ModelFileError {
            .invalidField(path: path, field: "rope_scaling.\(key)", message: message)
        }
        let factor = try number("factor"), low = try number("low_freq_factor"), high = try number("high_freq_factor")
        let original = try number("original_max_position_embeddings")
        guard factor > 0 else { throw bad("factor", "llama3 scaling needs a positive factor, got \(factor)") }
        guard low > 0 else { throw bad("low_freq_factor", "must be positive, got \(low)") }
        guard high > low else {
            throw bad("high_freq_factor", "must be greater than low_freq_factor (\(low)), got \(high)")
        }
        guard original > 0, original == original.rounded(), original < 1e12 else {
            throw bad("original_max_position_embeddings", "must be a positive whole number, got \(original)")
        }
        return Llama3RoPEScaling(factor: factor, lowFreqFactor: low, highFreqFactor: high, originalContext: Int(original))
    }

    /// config.json's "yarn" `rope_scaling`, read as transformers' `_compute_yarn_parameters` reads it: `factor`,
    /// `original_max_position_embeddings` (default: max_position_embeddings), `beta_fast` / `beta_slow` (32 / 1),
    /// and `attention_factor`, else `mscale` / `mscale_all_dim`, else 1 + 0.1 ln factor. `truncate: false` (the ramp
    /// ends not rounded to whole pairs) is refused: llama.cpp has no such setting, so a GGUF export could not keep it.
    static func yarnScaling(_ rs: [String: Any], context: Int, path: String) throws -> YaRNRoPEScaling {
        func bad(_ key: String, _ message: String) -> ModelFileError {
            .invalidField(path: path, field: "rope_scaling.\(key)", message: message)
        }
        func number(_ key: String) throws -> Double? {
            guard let v = rs[key], !(v is NSNull) else { return nil }
            guard let n = v as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue.isFinite else {
                throw bad(key, "must be a number, got \(v)")
            }
            return n.doubleValue
        }
        guard let factor = try number("factor") else {
            throw ModelFileError.missing(path: path, what: "field", name: "rope_scaling.factor")
        }
        guard factor >= 1 else { throw bad("factor", "YaRN needs a factor of at least 1, got \(factor)") }
        if let t = rs["truncate"] as? NSNumber, String(cString: t.objCType) == "c", !t.boolValue {
            throw bad("truncate", "YaRN without rounding the ramp to whole pairs (truncate: false) is not supported")
        }
        let original = try number("original_max_position_embeddings") ?? Double(context)
        guard original > 0, original == original.rounded(), original < 1e12 else {
            throw bad("original_max_position_embeddings", "must be a positive whole number, got \(original)")
        }
        func mscale(_ m: Double) -> Double { factor > 1 ? 0.1 * m * log(factor) + 1 : 1 }
        var magnitude = try number("attention_factor")
        if magnitude == nil, let m = try number("mscale"), let all = try number("mscale_all_dim"), m != 0, all != 0 {
            magnitude = mscale(m) / mscale(all)
        }
        return YaRNRoPEScaling(factor: factor, originalContext: Int(original),
                               betaFast: try number("beta_fast").flatMap { $0 == 0 ? nil : $0 } ?? 32,
                               betaSlow: try number("beta_slow").flatMap { $0 == 0 ? nil : $0 } ?? 1,
                               magnitude: magnitude)
    }
}

extension LanguageModel {
    /// Loads a Hugging Face decoder checkpoint folder: config.json, model.safetensors or a sharded
    /// model.safetensors.index.json, and tokenizer.json / tokenizer_config.json (chat template, BOS) when present.
    ///
    /// The model is the one the GGUF converter would make of the folder (see the top of HFCheckpoint.swift), so every
    /// method behaves as for a GGUF file. `file` is a small in-memory GGUF holding the metadata a converter would
    /// write (architecture, sizes, BOS flag, chat template) and the weights' GGUF names as empty placeholders. Errors are `ModelFileError`s naming the
    /// file and the field or tensor: an unsupported architecture or dtype, a missing tensor, a shape that disagrees
    /// with config.json; tokenizer problems are `TokenizerError`s naming tokenizer.json.
    public static func load(huggingFace directory: String) throws -> LanguageModel {
        let dir = URL(fileURLWithPath: (directory as NSString).expandingTildeInPath)
        let configPath = dir.appendingPathComponent("config.json").path
        guard FileManager.default.fileExists(atPath: configPath) else {
            throw ModelFileError.missing(path: dir.path, what: "file", name: "config.json")
        }
        let hf = try HFConfig(path: configPath)
        let c = try HFCheckpoint.modelConfig(hf)
        let st = try SafetensorsModel(directory: dir)
        let weights = try HFWeights(st, config: c, configPath: configPath)

        let embedding = try weights.matrix("embed_tokens.weight", rows: c.vocab, cols: c.dModel, what: "vocab_size x hidden_size")
        let output = c.tiedEmbeddings ? embedding
            : try weights.matrix("lm_head.weight", rows: c.vocab, cols: c.dModel, what: "vocab_size x hidden_size", top: true)
        let d = c.dModel, gemma = c.architecture == .gemma3
        var blocks: [BlockWeights] = []
        for l in 0..<c.layers {
            let p = "layers.\(l)."
            func norm(_ n: String, _ count: Int, _ what: String) throws -> FloatVector {
                try weights.vector(p + n, count: count, what: what, plusOne: gemma)
            }
            blocks.append(BlockWeights(
                attnNorm: try norm("input_layernorm.weight", d, "hidden_size"),
                wq: try weights.matrix(p + "self_attn.q_proj.weight", rows: c.qDim, cols: d,
                                       what: "num_attention_heads * head_dim x hidden_size",
                                       rotaryHeads: c.architecture == .llama ? c.heads : nil, headDim: c.headDim),
                wk: try weights.matrix(p + "self_attn.k_proj.weight", rows: c.kvDim, cols: d,
                                       what: "num_key_value_heads * head_dim x hidden_size",
                                       rotaryHeads: c.architecture == .llama ? c.kvHeads : nil, headDim: c.headDim),
                wv: try weights.matrix(p + "self_attn.v_proj.weight", rows: c.kvDim, cols: d,
                                       what: "num_key_value_heads * head_dim x hidden_size"),
                wo: try weights.matrix(p + "self_attn.o_proj.weight", rows: d, cols: c.qDim,
                                       what: "hidden_size x num_attention_heads * head_dim"),
                bq: c.qkvBias ? try weights.vector(p + "self_attn.q_proj.bias", count: c.qDim, what: "q bias") : nil,
                bk: c.qkvBias ? try weights.vector(p + "self_attn.k_proj.bias", count: c.kvDim, what: "k bias") : nil,
                bv: c.qkvBias ? try weights.vector(p + "self_attn.v_proj.bias", count: c.kvDim, what: "v bias") : nil,
                qNorm: c.qkNorm ? try norm("self_attn.q_norm.weight", c.headDim, "head_dim") : nil,
                kNorm: c.qkNorm ? try norm("self_attn.k_norm.weight", c.headDim, "head_dim") : nil,
                // Gemma's post_attention_layernorm is a sandwich norm; llama's/qwen's is the norm before the MLP.
                postAttnNorm: gemma ? try norm("post_attention_layernorm.weight", d, "hidden_size") : nil,
                ffnNorm: try norm(gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight", d,
                                  "hidden_size"),
                gate: try weights.matrix(p + "mlp.gate_proj.weight", rows: c.dFF, cols: d, what: "intermediate_size x hidden_size"),
                up: try weights.matrix(p + "mlp.up_proj.weight", rows: c.dFF, cols: d, what: "intermediate_size x hidden_size"),
                down: try weights.matrix(p + "mlp.down_proj.weight", rows: d, cols: c.dFF, what: "hidden_size x intermediate_size"),
                postFfnNorm: gemma ? try norm("post_feedforward_layernorm.weight", d, "hidden_size") : nil))
        }
        let outputNorm = try weights.vector("norm.weight", count: d, what: "hidden_size", plusOne: gemma)

        let tokenizer = try HFCheckpoint.tokenizer(directory: dir, config: hf)
        let meta = try HFCheckpoint.metadata(config: c, hf: hf, tokenizer: tokenizer, directory: dir)
        return LanguageModel(path: dir.path, file: meta, config: c, tokenizer: tokenizer, embedding: embedding,
                             output: output, outputNorm: outputNorm, blocks: blocks)
    }
}

/// Tensor lookup in a checkpoint, with the name prefix of its layout and the conversions of the loader.
struct HFWeights {
    let st: SafetensorsModel
    let config: ModelConfig
    let configPath: String
    /// "model." for *ForCausalLM; "model.language_model." or "language_model.model." for a Gemma 3 multimodal one.
    let prefix: String
    /// Where lm_head lives ("" or "language_model.").
    let headPrefix: String

    init(_ st: SafetensorsModel, config: ModelConfig, configPath: String) throws {
        self.st = st; self.config = config; self.configPath = configPath
        let layouts = [("model.", ""), ("model.language_model.", "model."), ("language_model.model.", "language_model.")]
        guard let found = layouts.first(where: { st.locate($0.0 + "embed_tokens.weight") != nil }) else {
            throw ModelFileError.missing(path: st.files.first?.path ?? st.directory.path, what: "tensor",
                                         name: "model.embed_tokens.weight")
        }
        // transformers >= 4.52 keeps lm_head at the top ("lm_head.weight") for the new layout too.
        prefix = found.0
        headPrefix = st.locate(found.1 + "lm_head.weight") != nil ? found.1 : ""
    }

    /// The file holding `name` (prefixed) and its info; a missing tensor names the checkpoint's first file.
    func locate(_ name: String, top: Bool = false) throws -> (file: SafetensorsFile, info: SafetensorsTensorInfo) {
        let full = (top ? headPrefix : prefix) + name
        guard let hit = st.locate(full) else {
            let where_ = st.files.count == 1 ? st.files[0].path
                : st.directory.appendingPathComponent("model.safetensors.index.json").path
            throw ModelFileError.missing(path: where_, what: "tensor", name: full)
        }
        return hit
    }

    /// A [rows, cols] matrix in its stored type, read in place; with `rotaryHeads`, llama's rotate-half rows
    /// permuted into GGUF's adjacent pairs (a copy).
    func matrix(_ name: String, rows: Int, cols: Int, what: String, top: Bool = false, rotaryHeads: Int? = nil,
                headDim: Int = 0) throws -> WeightMatrix {
        let (file, info) = try locate(name, top: top)
        guard info.shape == [rows, cols] else {
            throw ModelFileError.badTensorShape(
                path: file.path, tensor: info.name,
                message: "has shape \(info.shape), config.json needs [\(rows), \(cols)] (\(what))")
        }
        guard let type = info.dtype.floatType else {
            throw ModelFileError.unknownTensorType(path: file.path, tensor: info.name,
                                                   type: info.dtype.rawValue + " (Loupe reads F32, F16 and BF16 checkpoints)")
        }
        let bytes = file.bytes(of: info)
        guard let heads = rotaryHeads else {
            return try WeightMatrix(bytes: bytes.baseAddress!, type: type, rows: rows, cols: cols, owner: file,
                                    name: info.name)
        }
        // convert_hf_to_gguf's permute: within each head, HF row s * (head_dim / 2) + i becomes row 2i + s.
        let rowBytes = cols * info.dtype.size, half = headDim / 2
        var out = [UInt8](repeating: 0, count: bytes.count)
        out.withUnsafeMutableBytes { dst in
            for h in 0..<heads {
                for i in 0..<half {
                    for s in 0..<2 {
                        let from = (h * headDim + s * half + i) * rowBytes, to = (h * headDim + 2 * i + s) * rowBytes
                        dst.baseAddress!.advanced(by: to).copyMemory(from: bytes.baseAddress! + from, byteCount: rowBytes)
                    }
                }
            }
        }
        return try WeightMatrix(bytes: out, type: type, rows: rows, cols: cols, name: info.name)
    }

    /// A 1-d tensor as float32; Gemma norms get their 1 added (transformers multiplies by 1 + w).
    func vector(_ name: String, count: Int, what: String, plusOne: Bool = false) throws -> FloatVector {
        let (file, info) = try locate(name)
        guard info.shape == [count] else {
            throw ModelFileError.badTensorShape(
                path: file.path, tensor: info.name, message: "has shape \(info.shape), config.json needs [\(count)] (\(what))")
        }
        let values = try file.floats(of: info)
        let v = FloatVector(count: count)
        for i in 0..<count { v.pointer[i] = plusOne ? values[i] + 1 : values[i] }
        return v
    }
}

extension HFCheckpoint {
    /// The tokenizer of tokenizer.json with tokenizer_config.json's chat template, BOS/EOS tokens and add_bos_token
    /// applied; nil when the folder has no tokenizer.json (the model then runs on ids, like a vocabulary-less GGUF).
    static func tokenizer(directory: URL, config: HFConfig) throws -> Tokenizer? {
        let fm = FileManager.default
        let tokURL = directory.appendingPathComponent("tokenizer.json")
        guard fm.fileExists(atPath: tokURL.path) else { return nil }
        let base = try Tokenizer(tokenizerJSON: tokURL)
        var settings: [String: Any] = [:]
        let tcURL = directory.appendingPathComponent("tokenizer_config.json")
        if fm.fileExists(atPath: tcURL.path) {
            guard let obj = (try? JSONSerialization.jsonObject(with: Data(contentsOf: tcURL))) as? [String: Any] else {
                throw TokenizerError.invalid(path: tcURL.path, key: "(file)", message: "not a JSON object")
            }
            settings = obj
        }
        // The chat template: tokenizer_config.json's chat_template (a string, or a list of named templates), or a
        // chat_template.jinja file (transformers >= 4.43 may write it separately).
        var template: String?
        switch settings["chat_template"] {
        case let s as String: template = s
        case let list as [[String: Any]]:
            template = (list.first { $0["name"] as? String == "default" } ?? list.first)?["template"] as? String
        default: break
        }
        let jinja = directory.appendingPathComponent("chat_template.jinja")
        if template == nil, let s = try? String(contentsOf: jinja, encoding: .utf8) { template = s }

        func tokenID(_ key: String) throws -> Int? {
            let text: String?
            switch settings[key] {
            case let s as String: text = s
            case let d as [String: Any]: text = d["content"] as? String
            default: text = nil
            }
            guard let text else { return nil }
            let id = base.literal.lookup(Array(text.utf8))
            guard id >= 0 else {
                throw TokenizerError.invalid(path: tcURL.path, key: key, message: "'\(text)' is not in tokenizer.json's vocabulary")
            }
            return Int(id)
        }
        var p = Tokenizer.Parts(algorithm: base.algorithm, tokenTexts: base.tokenTexts, literal: base.literal,
                                pieces: base.pieces, types: base.tokenTypes, engine: base.engine, specials: base.specials)
        p.bos = try tokenID("bos_token") ?? config.bosTokenId ?? base.bos
        p.eos = try tokenID("eos_token") ?? config.eosTokenIds.first ?? base.eos
        p.unk = try tokenID("unk_token") ?? base.unk
        p.pad = try tokenID("pad_token") ?? config.padTokenId ?? base.pad
        p.sep = base.sep
        p.prefixIds = base.prefixIds
        p.suffixIds = base.suffixIds
        // add_bos_token when the config says; otherwise what the post-processor adds.
        if let add = settings["add_bos_token"] as? Bool {
            p.addsBOS = add && p.bos != nil
            if p.addsBOS, let b = p.bos, p.prefixIds.first != Int32(b) { p.prefixIds.insert(Int32(b), at: 0) }
        } else {
            p.addsBOS = base.addsBOS
        }
        p.addsEOS = (settings["add_eos_token"] as? Bool) ?? base.addsEOS
        p.addSpacePrefix = base.addSpacePrefix
        p.decodeStyle = base.decodeStyle
        p.prefixSpace = base.prefixSpace
        p.chatTemplateSource = template
        p.chatTemplate = template.flatMap { try? ChatTemplate(source: $0) }
        return Tokenizer(p)
    }

    /// A small in-memory GGUF holding what a converter would write as metadata, so code that reads `model.file`
    /// (BOS flag, chat template, architecture and sizes) finds the same keys as for a converted file.
    static func metadata(config c: ModelConfig, hf: HFConfig, tokenizer: Tokenizer?, directory: URL) throws -> GGUFFile {
        let a = c.architecture.rawValue
        let w = GGUFWriter(architecture: a)
        w.set("general.name", .string(directory.lastPathComponent))
        w.set("general.source.url", .string(directory.path))
        func u32(_ k: String, _ v: Int) { w.set("\(a).\(k)", .uint32(UInt32(v))) }
        u32("block_count", c.layers); u32("context_length", c.context); u32("embedding_length", c.dModel)
        u32("feed_forward_length", c.dFF); u32("attention.head_count", c.heads); u32("attention.head_count_kv", c.kvHeads)
        u32("attention.key_length", c.headDim); u32("attention.value_length", c.valueDim); u32("vocab_size", c.vocab)
        u32("rope.dimension_count", c.ropeDims)
        w.set("\(a).rope.freq_base", .float32(Float(c.ropeBase)))
        w.set("\(a).attention.layer_norm_rms_epsilon", .float32(c.eps))
        if c.ropeScale != 1 {
            w.set("\(a).rope.scaling.type", .string("linear"))
            w.set("\(a).rope.scaling.factor", .float32(Float(c.ropeScale)))
        }
        if let y = c.yarnRoPE {
            // As llama.cpp's converter writes YaRN; llama.cpp multiplies attn_factor with 1 + 0.1 ln factor itself.
            w.set("\(a).rope.scaling.type", .string("yarn"))
            w.set("\(a).rope.scaling.factor", .float32(Float(y.factor)))
            u32("rope.scaling.original_context_length", y.originalContext)
            w.set("\(a).rope.scaling.yarn_beta_fast", .float32(Float(y.betaFast)))
            w.set("\(a).rope.scaling.yarn_beta_slow", .float32(Float(y.betaSlow)))
            w.set("\(a).rope.scaling.attn_factor",
                  .float32(Float(y.magnitude / YaRNRoPEScaling.defaultMagnitude(factor: y.factor))))
        }
        if let win = c.slidingWindow {
            u32("attention.sliding_window", win)
            w.set("\(a).attention.sliding_window_pattern", .array(c.slidingLayers.map { .bool($0) }), elementType: .bool)
        }
        if let b = c.ropeBaseLocal { w.set("\(a).rope.freq_base_swa", .float32(Float(b))) }
        if let cap = c.finalLogitSoftcap { w.set("\(a).final_logit_softcapping", .float32(cap)) }
        if let t = tokenizer {
            w.set("tokenizer.ggml.add_bos_token", .bool(t.addsBOS))
            w.set("tokenizer.ggml.add_eos_token", .bool(t.addsEOS))
            if let b = t.bos { w.set("tokenizer.ggml.bos_token_id", .uint32(UInt32(b))) }
            if let e = t.eos { w.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(e))) }
            if let s = t.chatTemplateSource { w.set("tokenizer.chat_template", .string(s)) }
        }
        // The weights' GGUF names, in llama.cpp's order, as empty placeholders (shape [0], no data): the weights
        // themselves live in the safetensors mapping, and `TrainableModel` takes its parameter names and order
        // from `model.file.tensors`, so `train.model(m)` and its GGUF export work on a checkpoint too.
        // llama3 scaling travels as llama.cpp's converter writes it: a real `rope_freqs.weight` tensor (F32), so a
        // `train` export of this model to GGUF keeps it.
        if let f = c.ropeFreqFactors {
            var bytes: [UInt8] = []
            for v in f { withUnsafeBytes(of: Float(v).bitPattern.littleEndian) { bytes += $0 } }
            try w.addTensor("rope_freqs.weight", shape: [f.count], type: .f32, bytes: bytes)
        }
        var names = ["token_embd.weight"]
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            names += ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output"].map { p + $0 + ".weight" }
            if c.qkvBias { names += ["attn_q", "attn_k", "attn_v"].map { p + $0 + ".bias" } }
            if c.qkNorm { names += [p + "attn_q_norm.weight", p + "attn_k_norm.weight"] }
            if c.sandwichNorms { names.append(p + "post_attention_norm.weight") }
            names += ["ffn_norm", "ffn_gate", "ffn_up", "ffn_down"].map { p + $0 + ".weight" }
            if c.sandwichNorms { names.append(p + "post_ffw_norm.weight") }
        }
        names.append("output_norm.weight")
        if !c.tiedEmbeddings { names.append("output.weight") }
        for n in names { try w.addTensor(n, shape: [0], type: .f32, bytes: []) }
        return try GGUFFile(data: try w.data(), path: directory.appendingPathComponent("config.json").path)
    }
}
