import Foundation

extension Tokenizer {
    /// Builds the tokenizer a GGUF file describes in its `tokenizer.ggml.*` metadata, following llama.cpp's
    /// `llama_vocab::load`: the algorithm from `tokenizer.ggml.model`, the word splitter from `tokenizer.ggml.pre`,
    /// special token ids and `add_bos_token` / `add_eos_token` / `add_space_prefix` flags with llama.cpp's defaults
    /// per algorithm, token types, and the chat template (`tokenizer.chat_template`). A vocabulary-only file (no
    /// tensors) is enough.
    public convenience init(gguf: GGUFFile) throws {
        let path = gguf.path
        guard let model = gguf.string("tokenizer.ggml.model") else {
            throw TokenizerError.missing(path: path, key: "tokenizer.ggml.model")
        }
        // Token spellings straight from the mapped file into one buffer of the exact size (no per-token arrays, no
        // decoded copy, no slack): a first pass over the lengths sizes it.
        // llama.cpp renames empty tokens so that every token has a spelling.
        func spelling(_ i: Int, _ t: UnsafeRawBufferPointer) -> [UInt8]? { t.isEmpty ? Array("[EMPTY_\(i)]".utf8) : nil }
        var totalBytes = 0
        guard let n = gguf.forEachString("tokenizer.ggml.tokens", { i, t in
            totalBytes += spelling(i, t)?.count ?? t.count
        }) else {
            throw TokenizerError.missing(path: path, key: "tokenizer.ggml.tokens")
        }
        let tokenTexts = ByteStrings(capacity: n, byteCapacity: totalBytes)
        gguf.forEachString("tokenizer.ggml.tokens") { i, t in
            if let s = spelling(i, t) { tokenTexts.append(s) } else { tokenTexts.append(t) }
        }
        var types = [TokenType](repeating: .normal, count: n)
        if let raw = gguf.intArray("tokenizer.ggml.token_type") {
            guard raw.count >= n else {
                throw TokenizerError.invalid(path: path, key: "tokenizer.ggml.token_type",
                                             message: "\(raw.count) types for \(n) tokens")
            }
            for i in 0 ..< n { types[i] = TokenType(rawValue: raw[i]) ?? .undefined }
        }
        // Scores: only SentencePiece (`llama`) uses them.
        func scores() throws -> [Float] {
            guard let s = gguf.floatArray("tokenizer.ggml.scores") else { return [Float](repeating: 0, count: n) }
            guard s.count >= n else {
                throw TokenizerError.invalid(path: path, key: "tokenizer.ggml.scores",
                                             message: "\(s.count) scores for \(n) tokens")
            }
            return s.count == n ? s : Array(s[0 ..< n])
        }
        let literal = ByteStringTable(indexing: tokenTexts)
        func lookup(_ s: String) -> Int32 { literal.lookup(s) }
        func byteTokenTable() -> [Int32] {
            (0 ..< 256).map { b -> Int32 in
                let hex = lookup(String(format: "<0x%02X>", b))
                return hex >= 0 ? hex : literal.lookup([UInt8(b)])
            }
        }

        var p = Parts(algorithm: .sentencePiece, tokenTexts: tokenTexts, literal: literal, pieces: tokenTexts,
                      types: types, engine: .spm(SentencePieceModel(vocab: literal, scores: [], byteTokens: [],
                                                                    tokens: ByteStrings())),
                      specials: [])
        var bos: Int32 = -1, eos: Int32 = -1, unk: Int32 = -1, sep: Int32 = -1, pad: Int32 = -1
        var addBOS = false, addEOS = false, addSpacePrefix = false
        let pre = gguf.string("tokenizer.ggml.pre") ?? ""
        // Byte-level BPE: whether each token's spelling is in the alphabet (then its piece is the bytes it decodes to).
        var byteLevelValid: [Bool] = []

        switch model {
        case "llama":
            p.algorithm = .sentencePiece
            bos = 1; eos = 2; unk = 0
            addBOS = true; addSpacePrefix = true
            p.engine = .spm(SentencePieceModel(vocab: literal, scores: try scores(), byteTokens: byteTokenTable(),
                                               tokens: tokenTexts))
        case "bert":
            p.algorithm = .wordPiece
            bos = 101; unk = 100; sep = 102; pad = 0
            addBOS = true
            let lowercase = gguf.bool("tokenizer.ggml.normalizer.lowercase") ?? true
            let strip = gguf.bool("tokenizer.ggml.normalizer.strip_accents") ?? lowercase
            let maxLen = (0 ..< n).map { tokenTexts.length($0) }.max() ?? 0
            let unkId = Int32(gguf.int("tokenizer.ggml.unknown_token_id") ?? 100)
            p.engine = .wordPiece(WordPieceModel(
                vocab: literal, style: .wordStartMarker, unk: unkId, maxTokenBytes: maxLen, maxWordChars: Int.max,
                lowercase: lowercase, stripAccents: strip, splitCJK: true))
        case "gpt2", "gemma4":
            let isGemma4 = model == "gemma4"
            guard gguf.arrayElementTypes["tokenizer.ggml.merges"] == .string else {
                throw TokenizerError.missing(path: path, key: "tokenizer.ggml.merges")
            }
            let preName = isGemma4 ? "gemma4" : pre
            guard let preTokenizer = try PreTokenizer.forGGUF(pre: preName) else {
                throw TokenizerError.unsupportedComponent(path: path, kind: "pre-tokenizer (tokenizer.ggml.pre)",
                                                          name: pre)
            }
            // Merges straight from the mapped file: no list of merge strings is built.
            var merges = MergeTable(capacity: gguf.metadata.deferredCount("tokenizer.ggml.merges") ?? 256, idLimit: n)
            var scratch: [UInt8] = []
            gguf.forEachString("tokenizer.ggml.merges") { rank, m in
                Tokenizer.addMerge(m, rank: rank, literal: literal, to: &merges, scratch: &scratch)
            }
            if isGemma4 {
                p.algorithm = .sentencePieceBPE
                addBOS = true   // llama.cpp forces add_bos for Gemma 4
                p.engine = .bpe(BPEModel(vocab: literal, merges: merges, symbolPerByte: false, ignoreMerges: false,
                                         newlineRunsWhole: true, byteFallback: byteTokenTable()),
                                preTokenizer, .escapingSpaces)
            } else {
                p.algorithm = .byteLevelBPE
                bos = 11; eos = 11
                // Byte-level tokens are spelled in GPT-2's alphabet; BPE runs on the raw bytes they stand for.
                byteLevelValid = [Bool](repeating: false, count: n)
                var canonical = true
                for i in 0 ..< n {
                    byteLevelValid[i] = ByteLevel.decodes(tokenTexts[i])
                    if byteLevelValid[i] && !ByteLevel.isCanonical(tokenTexts[i]) { canonical = false }
                }
                // The alphabet is a bijection, so raw bytes map to a token exactly when their spelling does: BPE looks
                // tokens up through the spelling index (`literal`), and no second table keyed by raw bytes is built.
                // Only a vocabulary with a token spelled in malformed UTF-8 (which still decodes) needs that table.
                var vocab = literal
                if !canonical {
                    vocab = ByteStringTable(capacity: n)
                    for i in 0 ..< n where byteLevelValid[i] {
                        vocab.insert(ByteLevel.decode(Array(tokenTexts[i]))!, value: Int32(i))
                    }
                    vocab.shrinkToFit()
                }
                let fallback = (0 ..< 256).map {
                    canonical ? literal.lookup(ByteLevel.encode([UInt8($0)])) : vocab.lookup([UInt8($0)])
                }
                let ignoreMerges = ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
                                    "lfm2", "jina-v5-nano", "minicpm5", "youtu", "hunyuan-dense"].contains(pre)
                p.engine = .bpe(BPEModel(vocab: vocab, merges: merges, symbolPerByte: true, ignoreMerges: ignoreMerges,
                                         newlineRunsWhole: false, byteFallback: fallback, alphabetSpelled: canonical),
                                preTokenizer, TextRule())
            }
        default:
            throw TokenizerError.unsupportedModel(path: path, model: model)
        }
        addSpacePrefix = gguf.bool("tokenizer.ggml.add_space_prefix") ?? addSpacePrefix
        func specialId(_ key: String, _ dflt: Int32) -> Int32 {
            if let v = gguf.int("tokenizer.ggml." + key), v >= 0, v < n { return Int32(v) }
            return dflt >= 0 && Int(dflt) < n ? dflt : -1
        }
        bos = specialId("bos_token_id", bos)
        eos = specialId("eos_token_id", eos)
        unk = specialId("unknown_token_id", unk)
        sep = specialId("seperator_token_id", sep)   // sic: llama.cpp's key
        pad = specialId("padding_token_id", pad)
        addBOS = gguf.bool("tokenizer.ggml.add_bos_token") ?? addBOS
        addEOS = gguf.bool("tokenizer.ggml.add_eos_token") ?? addEOS
        if model == "gemma4" { addBOS = true }

        // Tokens that end a turn are control tokens even when a converter marked them otherwise (llama.cpp does
        // the same by name, so that parse_special=false treats them alike).
        let endOfTurn: Set<String> = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                      "<|end_of_text|>", "<EOT>", "<|eom_id|>"]
        for name in endOfTurn {
            let i = lookup(name)
            if i >= 0 && types[Int(i)] != .control && types[Int(i)] != .unknown && types[Int(i)] != .byte {
                types[Int(i)] = .control
            }
        }
        p.types = types

        // Pieces (what each token contributes to decoded text) follow from the spelling and the type, so they are
        // worked out when asked for (`Tokenizer.appendPiece`) rather than stored as a second copy of the vocabulary.
        let escaped = p.algorithm == .sentencePiece || p.algorithm == .wordPiece || p.algorithm == .sentencePieceBPE
        p.pieceRule = escaped ? .escaped : .byteLevel
        p.pieces = tokenTexts

        // Special tokens for partitioning; Phi-3 files want trailing white space after most of them stripped.
        let name = (gguf.string("general.name") ?? "").lowercased()
        let isPhi3 = name.contains("phi-3") || name.contains("phi3")
        var specials: [Special] = []
        for i in 0 ..< n where types[i] == .control || types[i] == .userDefined || types[i] == .unknown {
            var rstrip = isPhi3
            let text = String(decoding: tokenTexts[i], as: UTF8.self)
            if isPhi3 && ["<unk>", "<s>", "<|endoftext|>"].contains(text) { rstrip = false }
            specials.append(Special(id: Int32(i), bytes: tokenTexts.array(i), lstrip: false, rstrip: rstrip,
                                    needsParseSpecial: types[i] != .userDefined))
        }
        p.specials = specials

        p.bos = bos >= 0 ? Int(bos) : nil
        p.eos = eos >= 0 ? Int(eos) : nil
        p.unk = unk >= 0 ? Int(unk) : nil
        p.sep = sep >= 0 ? Int(sep) : nil
        p.pad = pad >= 0 ? Int(pad) : nil
        p.addsBOS = addBOS
        p.addsEOS = addEOS
        p.addSpacePrefix = p.algorithm == .sentencePiece ? addSpacePrefix : false
        if p.algorithm == .wordPiece {
            p.prefixIds = bos >= 0 ? [bos] : []
            p.suffixIds = sep >= 0 ? [sep] : []
        } else {
            p.prefixIds = addBOS && bos >= 0 ? [bos] : []
            p.suffixIds = addEOS && eos >= 0 ? [eos] : []
        }
        if let source = gguf.string("tokenizer.chat_template") {
            p.chatTemplateSource = source
            p.chatTemplate = try? ChatTemplate(source: source)
        }
        self.init(p)
    }

    /// Appends `t` with each `▁` (U+2581) turned back into a space.
    static func appendUnescapingSpaces(_ t: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        var i = 0
        while i < t.count {
            if i + 2 < t.count && t[i] == 0xE2 && t[i + 1] == 0x96 && t[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(t[i])
                i += 1
            }
        }
    }

    /// Merges ("left right", in rank order) as a table from token-id pairs to (rank, merged id).
    static func mergeTable(_ merges: [[UInt8]], literal: ByteStringTable, path: String) throws -> MergeTable {
        var table = MergeTable(capacity: merges.count)
        var scratch: [UInt8] = []
        for (rank, m) in merges.enumerated() {
            m.withUnsafeBytes { addMerge($0, rank: rank, literal: literal, to: &table, scratch: &scratch) }
        }
        return table
    }

    /// Adds merge `m` ("left right") of rank `rank` to `table`. A merge whose sides or result are not tokens can
    /// never apply and is left out. `scratch` is a reusable buffer for the joined spelling.
    static func addMerge(_ m: UnsafeRawBufferPointer, rank: Int, literal: ByteStringTable, to table: inout MergeTable,
                         scratch joined: inout [UInt8]) {
        // Split at the first space after the first byte (llama.cpp: word.find(' ', 1)).
        let n = m.count
        guard n > 2, let base = m.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var sp = 1
        while sp < n && base[sp] != 0x20 { sp += 1 }
        guard sp < n else { return }
        let l = literal.lookup(base, sp), r = literal.lookup(base + sp + 1, n - sp - 1)
        guard l >= 0 && r >= 0 else { return }
        if joined.count < n { joined = [UInt8](repeating: 0, count: max(n, 256)) }
        let res = joined.withUnsafeMutableBufferPointer { j -> Int32 in
            let jp = j.baseAddress!
            jp.update(from: base, count: sp)
            (jp + sp).update(from: base + sp + 1, count: n - sp - 1)
            return literal.lookup(UnsafePointer(jp), n - 1)
        }
        if res >= 0 { table.insert(left: l, right: r, rank: Int32(rank), result: res) }
    }
}
