import Foundation

extension Tokenizer {
    /// Builds a tokenizer from a Hugging Face `tokenizer.json`.
    ///
    /// Supported: `model` WordPiece (with `BertNormalizer` + `BertPreTokenizer`, as BERT, MiniLM, BGE ship) and BPE:
    /// byte-level, with `ByteLevel`, `Digits` and `Split` pre-tokenizers (GPT-2, Llama 3, Qwen, SmolLM), or
    /// SentencePiece-style on raw UTF-8 with `▁` for spaces and `byte_fallback` (Llama 2, Mistral, Gemma), whose
    /// spaces come from a `Prepend` / `Replace` normalizer (a `Sequence` of them) or a `Metaspace` pre-tokenizer
    /// (`prepend_scheme` always / first / never, `split`), decoded by `Replace` / `ByteFallback` / `Fuse` / `Strip`;
    /// `added_tokens` (cut out of the raw text first); the `TemplateProcessing` / `BertProcessing` /
    /// `RobertaProcessing` post-processors (what `encode(_:addSpecial:)` adds); `WordPiece` and `ByteLevel`
    /// decoders. Padding and truncation settings are ignored: they shape batches, not tokens. Anything else throws
    /// `TokenizerError.unsupportedComponent` naming it.
    public convenience init(tokenizerJSON url: URL) throws {
        let path = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TokenizerError.invalid(path: path, key: "(file)", message: "cannot read: \(error.localizedDescription)")
        }
        try self.init(tokenizerJSONData: data, path: path)
    }

    /// Builds a tokenizer from the bytes of a `tokenizer.json`; `path` labels errors.
    public convenience init(tokenizerJSONData data: Data, path: String = "tokenizer.json") throws {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw TokenizerError.invalid(path: path, key: "(file)", message: "not a JSON object")
        }
        guard let model = root["model"] as? [String: Any] else { throw TokenizerError.missing(path: path, key: "model") }
        let type = model["type"] as? String ?? (model["merges"] != nil ? "BPE" : "")
        guard let vocabDict = model["vocab"] as? [String: Any] else {
            throw TokenizerError.missing(path: path, key: "model.vocab")
        }

        // Vocabulary, including added tokens (which may lie past the model's vocabulary).
        var byId: [Int: String] = [:]
        for (t, v) in vocabDict {
            guard let i = (v as? NSNumber)?.intValue, i >= 0 else {
                throw TokenizerError.invalid(path: path, key: "model.vocab.\(t)", message: "id is not a non-negative integer")
            }
            byId[i] = t
        }
        struct Added { let id: Int; let content: String; let special: Bool; let lstrip: Bool; let rstrip: Bool }
        var added: [Added] = []
        for (k, item) in ((root["added_tokens"] as? [[String: Any]]) ?? []).enumerated() {
            guard let id = (item["id"] as? NSNumber)?.intValue, let content = item["content"] as? String else {
                throw TokenizerError.invalid(path: path, key: "added_tokens[\(k)]", message: "needs 'id' and 'content'")
            }
            added.append(Added(id: id, content: content, special: item["special"] as? Bool ?? false,
                               lstrip: item["lstrip"] as? Bool ?? false, rstrip: item["rstrip"] as? Bool ?? false))
            byId[id] = content
        }
        let n = (byId.keys.max() ?? -1) + 1
        var tokenTexts = [[UInt8]](repeating: [], count: n)
        for (i, t) in byId { tokenTexts[i] = Array(t.utf8) }
        var types = [TokenType](repeating: .normal, count: n)
        for (i, t) in tokenTexts.enumerated() where t.isEmpty { types[i] = .unused }
        for a in added { types[a.id] = a.special ? .control : .userDefined }
        let literal = ByteStringTable(capacity: n)
        for (i, t) in tokenTexts.enumerated() where !t.isEmpty { literal.insert(t, value: Int32(i)) }

        // Pre-tokenizer (and whether the vocabulary is byte-level).
        var stages: [PreTokenizer.Stage] = []
        var byteLevel = false
        // The normalizer's and Metaspace's steps, in the order Hugging Face runs them (normalizer first).
        var normalizerSteps: [TextRule.Step] = [], textSteps: [TextRule.Step] = []
        var metaspace = false
        var addPrefixSpace = false
        func addPre(_ p: [String: Any]?, _ key: String) throws {
            guard let p = p else { return }
            let t = p["type"] as? String ?? ""
            switch t {
            case "Sequence":
                for (i, q) in ((p["pretokenizers"] as? [[String: Any]]) ?? []).enumerated() {
                    try addPre(q, "\(key).pretokenizers[\(i)]")
                }
            case "ByteLevel":
                byteLevel = true
                addPrefixSpace = p["add_prefix_space"] as? Bool ?? false
                if p["use_regex"] as? Bool ?? true { stages.append(.gpt2) }
            case "Digits":
                if p["individual_digits"] as? Bool ?? false {
                    stages.append(.eachNumber)
                } else {
                    stages.append(try PreTokenizer.makeStage("\\p{N}+"))
                }
            case "Split":
                let pattern = p["pattern"] as? [String: Any]
                let behavior = p["behavior"] as? String ?? "Isolated"
                guard behavior == "Isolated", !(p["invert"] as? Bool ?? false) else {
                    throw TokenizerError.unsupportedComponent(path: path, kind: "Split behavior", name: behavior)
                }
                if let re = pattern?["Regex"] as? String {
                    stages.append(try PreTokenizer.makeStage(re))
                } else if let s = pattern?["String"] as? String {
                    stages.append(try PreTokenizer.makeStage(NSRegularExpression.escapedPattern(for: s)))
                } else {
                    throw TokenizerError.invalid(path: path, key: "\(key).pattern", message: "needs Regex or String")
                }
            case "BertPreTokenizer":
                break   // WordPieceModel splits at white space and punctuation itself
            case "Metaspace":
                // Spaces become the replacement (▁), which is put in front of the text as `prepend_scheme` says
                // (older files: `add_prefix_space`) unless already there; `split` cuts before each ▁.
                let mark = Array((p["replacement"] as? String ?? "\u{2581}").utf8)
                guard !mark.isEmpty else {
                    throw TokenizerError.invalid(path: path, key: "\(key).replacement", message: "is empty")
                }
                let scheme = p["prepend_scheme"] as? String
                    ?? ((p["add_prefix_space"] as? Bool ?? true) ? "always" : "never")
                textSteps.append(.replace([0x20], mark))
                switch scheme {
                case "always": textSteps.append(.prependUnlessPresent(mark, firstOnly: false))
                case "first": textSteps.append(.prependUnlessPresent(mark, firstOnly: true))
                case "never": break
                default: throw TokenizerError.unsupportedComponent(path: path, kind: "Metaspace prepend_scheme", name: scheme)
                }
                if p["split"] as? Bool ?? true {
                    let m = NSRegularExpression.escapedPattern(for: String(decoding: mark, as: UTF8.self))
                    stages.append(try PreTokenizer.makeStage("\(m)(?:(?!\(m)).)*|(?:(?!\(m)).)+"))
                }
                metaspace = true
            default:
                throw TokenizerError.unsupportedComponent(path: path, kind: "pre-tokenizer", name: t)
            }
        }
        try addPre(root["pre_tokenizer"] as? [String: Any], "pre_tokenizer")

        // Normalizer.
        var bert: (clean: Bool, cjk: Bool, strip: Bool, lower: Bool)? = nil
        func addNormalizer(_ norm: [String: Any], _ key: String, top: Bool) throws {
            let t = norm["type"] as? String ?? ""
            switch t {
            case "BertNormalizer" where top:
                let lower = norm["lowercase"] as? Bool ?? true
                bert = (norm["clean_text"] as? Bool ?? true, norm["handle_chinese_chars"] as? Bool ?? true,
                        norm["strip_accents"] as? Bool ?? lower, lower)
            case "Sequence":
                for (i, q) in ((norm["normalizers"] as? [[String: Any]]) ?? []).enumerated() {
                    try addNormalizer(q, "\(key).normalizers[\(i)]", top: false)
                }
            case "Prepend":
                guard let text = norm["prepend"] as? String else {
                    throw TokenizerError.invalid(path: path, key: "\(key).prepend", message: "needs a string")
                }
                normalizerSteps.append(.prepend(Array(text.utf8)))
            case "Replace":
                guard let from = (norm["pattern"] as? [String: Any])?["String"] as? String, !from.isEmpty else {
                    throw TokenizerError.unsupportedComponent(path: path, kind: "normalizer Replace pattern",
                                                              name: "\(norm["pattern"] ?? "none") (only a String)")
                }
                normalizerSteps.append(.replace(Array(from.utf8), Array((norm["content"] as? String ?? "").utf8)))
            default:
                throw TokenizerError.unsupportedComponent(path: path, kind: "normalizer", name: t)
            }
        }
        if let norm = root["normalizer"] as? [String: Any] { try addNormalizer(norm, "normalizer", top: true) }
        let rule = TextRule(steps: normalizerSteps + textSteps)

        let packedTexts = ByteStrings(tokenTexts)
        var p = Parts(algorithm: .wordPiece, tokenTexts: packedTexts, literal: literal, pieces: packedTexts,
                      types: types, engine: .spm(SentencePieceModel(vocab: literal, scores: [], byteTokens: [],
                                                                    tokens: ByteStrings())),
                      specials: [])
        switch type {
        case "WordPiece":
            let prefix = model["continuing_subword_prefix"] as? String ?? "##"
            let unkName = model["unk_token"] as? String ?? "[UNK]"
            let unk = literal.lookup(unkName)
            guard unk >= 0 else {
                throw TokenizerError.invalid(path: path, key: "model.unk_token", message: "'\(unkName)' is not in the vocabulary")
            }
            let b = bert ?? (true, true, false, false)
            p.algorithm = .wordPiece
            p.engine = .wordPiece(WordPieceModel(
                vocab: literal, style: .continuationPrefix(prefix), unk: unk, maxTokenBytes: 0,
                maxWordChars: (model["max_input_chars_per_word"] as? NSNumber)?.intValue ?? 100,
                lowercase: b.lower, stripAccents: b.strip, splitCJK: b.cjk))
            p.unk = Int(unk)
        case "BPE":
            guard bert == nil else {
                throw TokenizerError.unsupportedComponent(path: path, kind: "normalizer for BPE", name: "BertNormalizer")
            }
            var mergeList: [[UInt8]] = []
            for (k, m) in ((model["merges"] as? [Any]) ?? []).enumerated() {
                if let s = m as? String {
                    mergeList.append(Array(s.utf8))
                } else if let pair = m as? [String], pair.count == 2 {
                    mergeList.append(Array((pair[0] + " " + pair[1]).utf8))
                } else {
                    throw TokenizerError.invalid(path: path, key: "model.merges[\(k)]", message: "not a merge")
                }
            }
            let merges = try Tokenizer.mergeTable(mergeList, literal: literal, path: path)
            let ignoreMerges = model["ignore_merges"] as? Bool ?? false
            if byteLevel {
                guard rule.steps.isEmpty else {
                    throw TokenizerError.unsupportedComponent(
                        path: path, kind: "byte-level BPE with", name: metaspace ? "Metaspace" : "a Prepend/Replace normalizer")
                }
                p.algorithm = .byteLevelBPE
                let raw = ByteStringTable(capacity: n)
                let decoded = tokenTexts.map { ByteLevel.decode($0) }
                for (i, r) in decoded.enumerated() where types[i] == .normal { if let r = r { raw.insert(r, value: Int32(i)) } }
                p.engine = .bpe(BPEModel(vocab: raw, merges: merges, symbolPerByte: true, ignoreMerges: ignoreMerges,
                                         newlineRunsWhole: false, byteFallback: (0 ..< 256).map { raw.lookup([UInt8($0)]) }),
                                PreTokenizer(stages: stages), TextRule())
                p.pieces = ByteStrings(tokenTexts.enumerated().map { i, t in types[i] == .normal ? (decoded[i] ?? t) : t })
            } else {
                p.algorithm = .sentencePieceBPE
                let fallback = model["byte_fallback"] as? Bool ?? false
                let byteIds: [Int32] = (0 ..< 256).map { fallback ? literal.lookup(String(format: "<0x%02X>", $0)) : -1 }
                p.engine = .bpe(BPEModel(vocab: literal, merges: merges, symbolPerByte: false, ignoreMerges: ignoreMerges,
                                         newlineRunsWhole: false, byteFallback: byteIds),
                                PreTokenizer(stages: stages), rule)
                try Tokenizer.sentencePieceDecoder(root["decoder"] as? [String: Any], byteIds: byteIds, into: &p, path: path)
            }
            if let u = model["unk_token"] as? String, literal.lookup(u) >= 0 { p.unk = Int(literal.lookup(u)) }
        default:
            throw TokenizerError.unsupportedModel(path: path, model: type)
        }
        p.specials = added.map {
            Special(id: Int32($0.id), bytes: Array($0.content.utf8), lstrip: $0.lstrip, rstrip: $0.rstrip,
                    needsParseSpecial: $0.special)
        }

        // Post-processor: the ids around a single sequence.
        func ids(_ name: String) -> [Int32] { let i = literal.lookup(name); return i >= 0 ? [i] : [] }
        func addPost(_ pp: [String: Any]?) throws {
            guard let pp = pp else { return }
            let t = pp["type"] as? String ?? ""
            switch t {
            case "TemplateProcessing":
                let specialsMap = pp["special_tokens"] as? [String: [String: Any]] ?? [:]
                var before = true
                for item in (pp["single"] as? [[String: Any]]) ?? [] {
                    if item["Sequence"] != nil { before = false; continue }
                    guard let st = item["SpecialToken"] as? [String: Any], let name = st["id"] as? String else { continue }
                    let tokIds = (specialsMap[name]?["ids"] as? [NSNumber])?.map { Int32($0.intValue) } ?? ids(name)
                    if before { p.prefixIds += tokIds } else { p.suffixIds += tokIds }
                }
            case "BertProcessing", "RobertaProcessing":
                if let cls = pp["cls"] as? [Any], cls.count == 2, let i = (cls[1] as? NSNumber)?.intValue {
                    p.prefixIds = [Int32(i)]
                }
                if let sep = pp["sep"] as? [Any], sep.count == 2, let i = (sep[1] as? NSNumber)?.intValue {
                    p.suffixIds = [Int32(i)]
                }
            case "ByteLevel":
                break
            case "Sequence":
                for q in (pp["processors"] as? [[String: Any]]) ?? [] { try addPost(q) }
            default:
                throw TokenizerError.unsupportedComponent(path: path, kind: "post-processor", name: t)
            }
        }
        try addPost(root["post_processor"] as? [String: Any])

        if let dec = root["decoder"] as? [String: Any], dec["type"] as? String == "WordPiece" {
            p.decodeStyle = .wordPiece(prefix: Array((dec["prefix"] as? String ?? "##").utf8),
                                       cleanup: dec["cleanup"] as? Bool ?? true)
        }
        p.bos = p.prefixIds.first.map { Int($0) }
        p.sep = p.suffixIds.last.map { Int($0) }
        p.eos = p.suffixIds.last.map { Int($0) }
        if p.algorithm == .wordPiece {
            p.pad = ids("[PAD]").first.map { Int($0) }
        }
        p.addsBOS = !p.prefixIds.isEmpty
        p.addsEOS = !p.suffixIds.isEmpty
        p.prefixSpace = addPrefixSpace
        self.init(p)
    }

    /// The decoder of a SentencePiece-style BPE file (Llama-2, Mistral, Gemma): `Replace` of `▁` by a space,
    /// `ByteFallback` (`<0xNN>` tokens are bytes), `Fuse`, and `Strip` of one leading space (the space the
    /// normalizer or Metaspace put in front), usually in a `Sequence`. Without a decoder, pieces are joined as
    /// spelled.
    static func sentencePieceDecoder(_ dec: [String: Any]?, byteIds: [Int32], into p: inout Parts, path: String) throws {
        guard let dec else { return }
        var unescape = false, bytes = false, strip = 0
        func visit(_ d: [String: Any], _ key: String) throws {
            let t = d["type"] as? String ?? ""
            switch t {
            case "Sequence":
                for (i, q) in ((d["decoders"] as? [[String: Any]]) ?? []).enumerated() { try visit(q, "\(key).decoders[\(i)]") }
            case "Replace":
                guard (d["pattern"] as? [String: Any])?["String"] as? String == "\u{2581}", d["content"] as? String == " " else {
                    throw TokenizerError.unsupportedComponent(path: path, kind: "decoder Replace",
                                                              name: "\(d["pattern"] ?? "none") (only ▁ to a space)")
                }
                unescape = true
            case "ByteFallback": bytes = true
            case "Fuse": break   // pieces are joined anyway
            case "Strip":
                guard d["content"] as? String == " ", (d["stop"] as? NSNumber)?.intValue ?? 0 == 0 else {
                    throw TokenizerError.unsupportedComponent(path: path, kind: "decoder Strip", name: "other than leading spaces")
                }
                strip = (d["start"] as? NSNumber)?.intValue ?? 0
            default:
                throw TokenizerError.unsupportedComponent(path: path, kind: "decoder", name: t)
            }
        }
        try visit(dec, "decoder")
        guard strip <= 1 else {
            throw TokenizerError.unsupportedComponent(path: path, kind: "decoder Strip", name: "start \(strip)")
        }
        if unescape { p.pieceRule = .escaped }
        if bytes { for id in byteIds where id >= 0 && p.types[Int(id)] == .normal { p.types[Int(id)] = .byte } }
        // Decoding drops the first space of the text, as SentencePiece's dummy prefix does.
        p.addSpacePrefix = strip == 1
    }
}
