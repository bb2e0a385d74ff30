import Foundation
import LoupeTensor

/// Why a `SentenceEncoder` could not encode its input.
public enum SentenceEncoderError: Error, CustomStringConvertible, Equatable {
    /// The tokenizer produced an id the embedding table does not have.
    case tokenOutOfVocabulary(text: String, id: Int, vocabSize: Int)
    /// `embed` was given no texts.
    case noTexts

    public var description: String {
        switch self {
        case let .tokenOutOfVocabulary(text, id, vocabSize):
            return "token id \(id) of \"\(text.prefix(40))\" is outside the model's vocabulary of \(vocabSize)"
        case .noTexts:
            return "embed needs at least one text"
        }
    }
}

extension SentenceEncoderError: LocalizedError {
    public var errorDescription: String? { description }
}

/// A sentence-transformers model (such as all-MiniLM-L6-v2): a BERT encoder, pooling over its last hidden state,
/// and optionally L2 normalisation, as the model folder's `modules.json` lists them.
///
/// ```swift
/// let enc = try SentenceEncoder.load(path: "~/.loupe/models/all-minilm-l6-v2")
/// let e = try enc.embed(["A man is eating food.", "A man is eating a piece of bread."])   // [2, 384]
/// ```
///
/// Texts are tokenized with the folder's `tokenizer.json` (`[CLS] text [SEP]`), cut to `max_seq_length`
/// (`sentence_bert_config.json`, else `max_position_embeddings`), sorted by length and encoded in batches padded
/// to their longest member; padding is masked out of attention and pooling, so a text's embedding does not depend
/// on what it was batched with (up to float rounding).
public final class SentenceEncoder: @unchecked Sendable {
    /// How token vectors become one sentence vector (sentence-transformers' `Pooling` modes).
    public enum Pooling: String, Sendable {
        /// Average over the real (non-padding) tokens, [CLS] and [SEP] included.
        case mean
        /// The first token's vector ([CLS]).
        case cls
        /// Element-wise maximum over the real tokens.
        case max
        /// Sum over the real tokens divided by sqrt(token count).
        case meanSqrtLen
    }

    /// The encoder's hyper-parameters (from config.json).
    public let config: BertConfig
    public let tokenizer: Tokenizer
    public let pooling: Pooling
    /// Whether embeddings are scaled to unit length (a `Normalize` module in modules.json).
    public let normalize: Bool
    /// Longest token sequence fed to the encoder; longer texts are truncated, keeping the final [SEP].
    public let maxSequenceLength: Int
    /// Texts encoded together in one forward pass (sentence-transformers' default batch size).
    public var batchSize = 32
    /// The folder the model was loaded from.
    public let directory: URL
    let encoder: BertEncoder

    /// Width of the embeddings.
    public var dimension: Int { config.hiddenSize }

    init(directory: URL, config: BertConfig, tokenizer: Tokenizer, encoder: BertEncoder, pooling: Pooling,
         normalize: Bool, maxSequenceLength: Int) {
        self.directory = directory
        self.config = config
        self.tokenizer = tokenizer
        self.encoder = encoder
        self.pooling = pooling
        self.normalize = normalize
        self.maxSequenceLength = maxSequenceLength
    }

    /// Loads a sentence-transformers folder: `config.json`, `model.safetensors` (or a sharded index),
    /// `tokenizer.json`, and when present `modules.json`, the pooling module's `config.json` and
    /// `sentence_bert_config.json`. `~` is expanded.
    ///
    /// Throws `ModelFileError`: a missing file by name; a config field that is missing or unsupported; a tensor
    /// that is missing or whose shape disagrees with config.json (naming the file, the tensor and both shapes).
    public static func load(path: String) throws -> SentenceEncoder {
        let dir = URL(fileURLWithPath: (path as NSString).expandingTildeInPath)
        let fm = FileManager.default
        func file(_ name: String) -> URL { dir.appendingPathComponent(name) }
        func require(_ name: String) throws -> URL {
            let u = file(name)
            guard fm.fileExists(atPath: u.path) else {
                throw ModelFileError.missing(path: dir.path, what: "file", name: name)
            }
            return u
        }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw ModelFileError.io(path: dir.path, message: "not a folder (a sentence encoder is a model folder)")
        }
        let hf = try HFConfig(path: try require("config.json").path)
        let config = try BertConfig(hf)
        let tokenizer = try Tokenizer(tokenizerJSON: try require("tokenizer.json"))
        guard tokenizer.vocabSize <= config.vocabSize else {
            throw ModelFileError.invalidField(
                path: file("tokenizer.json").path, field: "model.vocab",
                message: "\(tokenizer.vocabSize) tokens, more than config.json's vocab_size \(config.vocabSize)")
        }
        if fm.fileExists(atPath: file("model.safetensors").path) == false
            && fm.fileExists(atPath: file("model.safetensors.index.json").path) == false {
            throw ModelFileError.missing(path: dir.path, what: "file", name: "model.safetensors")
        }
        let encoder = try BertEncoder(model: try SafetensorsModel(directory: dir), config: config)
        let (pooling, normalize) = try readModules(dir)

        var maxLen = config.maxPositions
        let sbert = file("sentence_bert_config.json")
        if fm.fileExists(atPath: sbert.path) {
            let obj = try jsonObject(sbert)
            if let v = obj["max_seq_length"], !(v is NSNull) {
                guard let n = v as? Int, n >= 2 else {
                    throw ModelFileError.wrongType(path: sbert.path, key: "max_seq_length",
                                                   expected: "integer >= 2", found: "\(v)")
                }
                maxLen = min(n, config.maxPositions)
            }
        }
        return SentenceEncoder(directory: dir, config: config, tokenizer: tokenizer, encoder: encoder,
                               pooling: pooling, normalize: normalize, maxSequenceLength: maxLen)
    }

    /// The pooling mode and whether a Normalize module follows, from modules.json and the Pooling module's
    /// config. Without modules.json, sentence-transformers builds Transformer + mean Pooling and no Normalize.
    static func readModules(_ dir: URL) throws -> (Pooling, Bool) {
        let modulesURL = dir.appendingPathComponent("modules.json")
        guard FileManager.default.fileExists(atPath: modulesURL.path) else { return (.mean, false) }
        let data: Data
        do { data = try Data(contentsOf: modulesURL) } catch {
            throw ModelFileError.io(path: modulesURL.path, message: "cannot read: \(error.localizedDescription)")
        }
        guard let modules = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] else {
            throw ModelFileError.invalidField(path: modulesURL.path, field: "modules", message: "not a JSON list of objects")
        }
        var pooling = Pooling.mean, normalize = false
        for (i, m) in modules.enumerated() {
            let type = m["type"] as? String ?? ""
            switch type.split(separator: ".").last.map(String.init) ?? "" {
            case "Transformer":
                continue
            case "Pooling":
                let sub = m["path"] as? String ?? ""
                let url = dir.appendingPathComponent(sub).appendingPathComponent("config.json")
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw ModelFileError.missing(path: dir.path, what: "file",
                                                 name: (sub.isEmpty ? "" : sub + "/") + "config.json")
                }
                pooling = try poolingMode(url)
            case "Normalize":
                normalize = true
            default:
                throw ModelFileError.invalidField(path: modulesURL.path, field: "[\(i)].type",
                                                  message: "module '\(type)' is not supported (Transformer, Pooling, Normalize)")
            }
        }
        return (pooling, normalize)
    }

    /// The one pooling mode a Pooling config turns on.
    static func poolingMode(_ url: URL) throws -> Pooling {
        let obj = try jsonObject(url)
        let modes: [(String, Pooling)] = [("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls),
                                          ("pooling_mode_max_tokens", .max),
                                          ("pooling_mode_mean_sqrt_len_tokens", .meanSqrtLen)]
        let on = modes.filter { (obj[$0.0] as? Bool) == true }
        let others = obj.keys.filter { $0.hasPrefix("pooling_mode_") && !modes.map(\.0).contains($0)
            && (obj[$0] as? Bool) == true }
        guard on.count == 1, others.isEmpty else {
            let names = (on.map(\.0) + others).sorted()
            throw ModelFileError.invalidField(
                path: url.path, field: "pooling_mode_*",
                message: names.isEmpty ? "no pooling mode is on"
                    : "\(names.joined(separator: ", ")): only one of mean, cls, max or mean_sqrt_len is supported")
        }
        return on[0].1
    }

    static func jsonObject(_ url: URL) throws -> [String: Any] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelFileError.io(path: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelFileError.invalidField(path: url.path, field: "config", message: "not a JSON object")
        }
        return obj
    }

    // MARK: - Encoding

    /// The token ids the encoder sees for `text`: `[CLS] text [SEP]`, cut to `maxSequenceLength` with the last
    /// token kept (as a tokenizer with truncation keeps [SEP]).
    public func tokenIds(_ text: String) -> [Int] {
        var ids = tokenizer.encode(text, addSpecial: true)
        if ids.count > maxSequenceLength, let last = ids.last {
            ids = Array(ids.prefix(maxSequenceLength - 1)) + [last]
        }
        return ids
    }

    /// Sentence embeddings of `texts`: [N, dimension], unit length when the model normalises.
    public func embed(_ texts: [String]) throws -> Tensor {
        guard !texts.isEmpty else { throw SentenceEncoderError.noTexts }
        let ids = try texts.map { try checkedIds($0) }
        let d = dimension
        var out = [Float](repeating: 0, count: texts.count * d)
        // Longest first, as sentence-transformers does: batches of similar lengths waste little on padding.
        let order = ids.indices.sorted { ids[$0].count > ids[$1].count }
        for start in stride(from: 0, to: order.count, by: Swift.max(1, batchSize)) {
            let members = Array(order[start..<Swift.min(start + Swift.max(1, batchSize), order.count)])
            let hidden = try encoder.forward(members.map { ids[$0] })
            let t = hidden.shape[1]
            hidden.withUnsafeBufferPointer { h in
                for (row, index) in members.enumerated() {
                    pool(h.baseAddress! + row * t * d, tokens: ids[index].count, into: &out, at: index * d)
                }
            }
        }
        return try Tensor(shape: [texts.count, d], data: out)
    }

    /// The encoder's last hidden state for one text: [T, dimension], T counting [CLS] and [SEP].
    public func hiddenStates(_ text: String) throws -> Tensor {
        let ids = try checkedIds(text)
        return try encoder.forward([ids]).reshape([ids.count, dimension])
    }

    private func checkedIds(_ text: String) throws -> [Int] {
        let ids = tokenIds(text)
        if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
            throw SentenceEncoderError.tokenOutOfVocabulary(text: text, id: bad, vocabSize: config.vocabSize)
        }
        return ids
    }

    /// Pools the first `tokens` rows of one sequence's hidden state `h` ([T, d]) into `out[at ..< at + d]`,
    /// then normalises it if the model does. Accumulates in Double: 256 rows of float sums would lose digits.
    private func pool(_ h: UnsafePointer<Float>, tokens n: Int, into out: inout [Float], at: Int) {
        let d = dimension
        var acc = [Double](repeating: pooling == .max ? -.infinity : 0, count: d)
        switch pooling {
        case .cls:
            for i in 0..<d { acc[i] = Double(h[i]) }
        case .max:
            for r in 0..<n { for i in 0..<d { acc[i] = Swift.max(acc[i], Double(h[r * d + i])) } }
        case .mean, .meanSqrtLen:
            for r in 0..<n { for i in 0..<d { acc[i] += Double(h[r * d + i]) } }
            let div = pooling == .mean ? Double(n) : Double(n).squareRoot()
            for i in 0..<d { acc[i] /= div }
        }
        if normalize {
            // sentence-transformers' Normalize is F.normalize: x / max(||x||, 1e-12).
            let norm = Swift.max(acc.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for i in 0..<d { acc[i] /= norm }
        }
        for i in 0..<d { out[at + i] = Float(acc[i]) }
    }
}
