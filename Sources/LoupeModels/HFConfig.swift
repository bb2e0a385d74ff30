import Foundation

/// The fields of a Hugging Face `config.json` that the bert, llama, qwen2, qwen3 and gemma3 architectures need.
///
/// Every field is optional because configs differ by family (and older files omit defaults); architectures apply
/// their own defaults. A multimodal config's `text_config` is merged over the top level, so Gemma-3 checkpoints
/// with a vision tower read the same as text-only ones. `raw` keeps the whole object for anything else.
public struct HFConfig: @unchecked Sendable {
    public let path: String
    public let raw: [String: Any]

    public let modelType: String?
    public let architectures: [String]
    public let vocabSize: Int?
    public let hiddenSize: Int?
    public let intermediateSize: Int?
    public let numHiddenLayers: Int?
    public let numAttentionHeads: Int?
    public let numKeyValueHeads: Int?
    public let headDim: Int?
    public let maxPositionEmbeddings: Int?
    public let rmsNormEps: Double?
    public let layerNormEps: Double?
    public let ropeTheta: Double?
    /// Gemma-3: rope base of the sliding-window (local) layers.
    public let ropeLocalBaseFreq: Double?
    /// The raw `rope_scaling` object (type, factor, ...), if any.
    public let ropeScaling: [String: Any]?
    public let slidingWindow: Int?
    /// Gemma-3: every Nth layer is global.
    public let slidingWindowPattern: Int?
    /// Per-layer "sliding_attention" / "full_attention" (newer Gemma-3 and Qwen configs).
    public let layerTypes: [String]?
    public let queryPreAttnScalar: Double?
    public let finalLogitSoftcapping: Double?
    public let attnLogitSoftcapping: Double?
    public let tieWordEmbeddings: Bool?
    public let attentionBias: Bool?
    /// `hidden_act`, or Gemma's `hidden_activation`.
    public let hiddenAct: String?
    /// BERT: token type vocabulary and position embedding kind.
    public let typeVocabSize: Int?
    public let positionEmbeddingType: String?
    public let padTokenId: Int?
    public let bosTokenId: Int?
    /// `eos_token_id` may be one id or a list.
    public let eosTokenIds: [Int]
    public let torchDtype: String?

    /// Reads and parses `path`. Throws `ModelFileError` for unreadable files, bad JSON, or fields of the wrong type.
    public init(path: String) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelFileError.io(path: path, message: "cannot read: \(error.localizedDescription)")
        }
        try self.init(data: data, path: path)
    }

    public init(data: Data, path: String = "config.json") throws {
        guard let top = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelFileError.invalidField(path: path, field: "config", message: "not a JSON object")
        }
        var merged = top
        if let text = top["text_config"] as? [String: Any] {
            for (k, v) in text { merged[k] = v }
        }
        self.path = path
        raw = merged
        let r = Reader(dict: merged, path: path)
        modelType = try r.string("model_type")
        architectures = try r.strings("architectures") ?? []
        vocabSize = try r.int("vocab_size")
        hiddenSize = try r.int("hidden_size")
        intermediateSize = try r.int("intermediate_size")
        numHiddenLayers = try r.int("num_hidden_layers")
        numAttentionHeads = try r.int("num_attention_heads")
        numKeyValueHeads = try r.int("num_key_value_heads")
        headDim = try r.int("head_dim")
        maxPositionEmbeddings = try r.int("max_position_embeddings")
        rmsNormEps = try r.double("rms_norm_eps")
        layerNormEps = try r.double("layer_norm_eps")
        ropeTheta = try r.double("rope_theta")
        ropeLocalBaseFreq = try r.double("rope_local_base_freq")
        ropeScaling = merged["rope_scaling"] as? [String: Any]
        slidingWindow = try r.int("sliding_window")
        slidingWindowPattern = try r.int("sliding_window_pattern")
        layerTypes = try r.strings("layer_types")
        queryPreAttnScalar = try r.double("query_pre_attn_scalar")
        finalLogitSoftcapping = try r.double("final_logit_softcapping")
        attnLogitSoftcapping = try r.double("attn_logit_softcapping")
        tieWordEmbeddings = try r.bool("tie_word_embeddings")
        attentionBias = try r.bool("attention_bias")
        hiddenAct = try r.string("hidden_act") ?? r.string("hidden_activation")
        typeVocabSize = try r.int("type_vocab_size")
        positionEmbeddingType = try r.string("position_embedding_type")
        padTokenId = try r.int("pad_token_id")
        bosTokenId = try r.int("bos_token_id")
        if let one = try? r.int("eos_token_id") { eosTokenIds = [one] }
        else { eosTokenIds = try r.ints("eos_token_id") ?? [] }
        torchDtype = try r.string("torch_dtype")
    }

    /// Typed access with errors that name the key; JSON null counts as absent.
    struct Reader {
        let dict: [String: Any]
        let path: String

        private func value(_ key: String) -> Any? {
            guard let v = dict[key], !(v is NSNull) else { return nil }
            return v
        }

        private func wrong(_ key: String, _ expected: String, _ v: Any) -> ModelFileError {
            .wrongType(path: path, key: key, expected: expected, found: "\(v)")
        }

        private static func isBool(_ v: Any) -> Bool {
            (v as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
        }

        func string(_ key: String) throws -> String? {
            guard let v = value(key) else { return nil }
            guard let s = v as? String else { throw wrong(key, "string", v) }
            return s
        }

        func int(_ key: String) throws -> Int? {
            guard let v = value(key) else { return nil }
            guard !Reader.isBool(v), let i = v as? Int else { throw wrong(key, "integer", v) }
            return i
        }

        func double(_ key: String) throws -> Double? {
            guard let v = value(key) else { return nil }
            guard !Reader.isBool(v), let n = v as? NSNumber else { throw wrong(key, "number", v) }
            return n.doubleValue
        }

        func bool(_ key: String) throws -> Bool? {
            guard let v = value(key) else { return nil }
            guard Reader.isBool(v), let b = v as? Bool else { throw wrong(key, "true or false", v) }
            return b
        }

        func strings(_ key: String) throws -> [String]? {
            guard let v = value(key) else { return nil }
            guard let a = v as? [String] else { throw wrong(key, "list of strings", v) }
            return a
        }

        func ints(_ key: String) throws -> [Int]? {
            guard let v = value(key) else { return nil }
            guard let a = v as? [Any] else { throw wrong(key, "integer or list of integers", v) }
            return try a.map { x in
                guard !Reader.isBool(x), let i = x as? Int else { throw wrong(key, "list of integers", v) }
                return i
            }
        }
    }
}
