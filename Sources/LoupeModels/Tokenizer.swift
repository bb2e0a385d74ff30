import Foundation

/// Text to token ids and back, for the model families Loupe loads.
///
/// Built from a GGUF file's `tokenizer.ggml.*` metadata (`init(gguf:)`) or from a Hugging Face `tokenizer.json`
/// (`init(tokenizerJSON:)`). Four algorithms:
/// - byte-level BPE (`tokenizer.ggml.model = gpt2`: GPT-2, LLaMA-3, Qwen, SmolLM, StarCoder, Falcon, DeepSeek, ...),
///   with the word splitter named by `tokenizer.ggml.pre` (see `PreTokenizer`);
/// - SentencePiece-style BPE on raw UTF-8 with `▁` for spaces (`gemma4`; the `tokenizer.json`s of Llama 2, Mistral,
///   Gemma);
/// - SentencePiece scores (`llama`: LLaMA-1/2, Mistral, Phi-3, Gemma 1-3), with `<0xNN>` byte fallback;
/// - WordPiece (`bert`, and BERT `tokenizer.json`s such as all-MiniLM-L6-v2).
///
/// Special tokens (control, user-defined and unknown tokens; added tokens of a `tokenizer.json`) are cut out of the
/// text first, longest first, as llama.cpp's `tokenizer_st_partition` does; with `parseSpecial: false` control
/// tokens are left as text. The results match llama.cpp's tokenizer (and through it Hugging Face's) on llama.cpp's
/// own test vectors for every family above.
///
/// Thread-safe: encoding keeps a small word cache behind a lock.
public final class Tokenizer: @unchecked Sendable {
    /// The algorithm, as named in this file's doc comment.
    public enum Algorithm: String, Sendable {
        case byteLevelBPE, sentencePieceBPE, sentencePiece, wordPiece
    }

    /// A token's role, as GGUF's `tokenizer.ggml.token_type` writes it.
    public enum TokenType: Int, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public let algorithm: Algorithm
    /// Number of tokens in the vocabulary.
    public var vocabSize: Int { tokenTexts.count }
    /// The beginning-of-sequence token (for BERT, `[CLS]`), if the vocabulary has one.
    public let bos: Int?
    /// The end-of-sequence token, if any.
    public let eos: Int?
    /// The unknown token, if any.
    public let unk: Int?
    /// The padding token, if any.
    public let pad: Int?
    /// The separator token (BERT's `[SEP]`), if any.
    public let sep: Int?
    /// Whether the model expects a BOS at the start of a prompt (`tokenizer.ggml.add_bos_token`).
    public let addsBOS: Bool
    /// Whether the model expects an EOS at the end (`tokenizer.ggml.add_eos_token`).
    public let addsEOS: Bool
    /// SentencePiece's "add dummy prefix": a space is put before the text (and before text after a special token).
    public let addSpacePrefix: Bool
    /// The chat template the model file carries (`tokenizer.chat_template`), parsed; nil when the file has none
    /// or when it uses Jinja beyond `ChatTemplate`'s subset (then `chatTemplateSource` still has the text and
    /// `ChatTemplate(source:)` says what is unsupported, with its position).
    public let chatTemplate: ChatTemplate?
    /// The chat template's source text as the file carries it.
    public let chatTemplateSource: String?
    /// The type of each token.
    public let tokenTypes: [TokenType]

    // Vocabulary
    // One contiguous buffer each (`ByteStrings`): a per-token array would cost ~50 bytes of heap object a token.
    let tokenTexts: ByteStrings    // the vocabulary's own spelling of each token
    let pieces: ByteStrings        // the bytes each token stands for in text (when `pieceRule` is nil)
    /// How a GGUF vocabulary's pieces follow from its spellings and token types (llama.cpp's `token_to_piece` with
    /// special = true); `appendPiece` applies it when asked, so no second copy of the vocabulary is kept. Nil:
    /// `pieces` holds them (tokenizer.json).
    enum PieceRule {
        /// Normal tokens are spelled in GPT-2's byte alphabet.
        case byteLevel
        /// Normal tokens write spaces as `▁` (SentencePiece, WordPiece, Gemma 4).
        case escaped
    }
    let pieceRule: PieceRule?
    let literal: ByteStringTable   // token spelling -> id (for GGUF an index over tokenTexts: no copy of the keys)

    // Algorithm
    enum Engine {
        case bpe(BPEModel, PreTokenizer, TextRule)
        case spm(SentencePieceModel)
        case wordPiece(WordPieceModel)
    }
    let engine: Engine

    // Special tokens
    struct Special {
        let id: Int32
        let bytes: [UInt8]
        let lstrip: Bool
        let rstrip: Bool
        /// Control and unknown tokens are matched only with `parseSpecial`; user-defined tokens always.
        let needsParseSpecial: Bool
    }
    let specials: [Special]         // in matching priority: longest first
    private let trie: SpecialTrie

    // What `encode(_:addSpecial:)` adds, and how `decode` joins pieces.
    let prefixIds: [Int32]
    let suffixIds: [Int32]
    enum DecodeStyle { case concatenate, wordPiece(prefix: [UInt8], cleanup: Bool) }
    let decodeStyle: DecodeStyle
    /// Byte-level `add_prefix_space`: a space goes before text that does not start with one.
    let prefixSpace: Bool

    struct Parts {
        var algorithm: Algorithm
        var tokenTexts: ByteStrings
        var literal: ByteStringTable
        var pieces: ByteStrings
        var types: [TokenType]
        var engine: Engine
        var specials: [Special]
        var bos: Int?, eos: Int?, unk: Int?, pad: Int?, sep: Int?
        var addsBOS = false, addsEOS = false, addSpacePrefix = false
        var prefixIds: [Int32] = [], suffixIds: [Int32] = []
        var decodeStyle: DecodeStyle = .concatenate
        var chatTemplate: ChatTemplate?
        var chatTemplateSource: String?
        var prefixSpace = false
        var pieceRule: PieceRule? = nil
    }

    init(_ p: Parts) {
        algorithm = p.algorithm
        tokenTexts = p.tokenTexts
        pieces = p.pieces
        pieceRule = p.pieceRule
        tokenTypes = p.types
        engine = p.engine
        literal = p.literal
        // Longest first; among equals, lower id first (llama.cpp's std::sort leaves that order unspecified).
        specials = p.specials.sorted { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        trie = SpecialTrie(specials.map { $0.bytes })
        bos = p.bos; eos = p.eos; unk = p.unk; pad = p.pad; sep = p.sep
        addsBOS = p.addsBOS; addsEOS = p.addsEOS; addSpacePrefix = p.addSpacePrefix
        prefixIds = p.prefixIds; suffixIds = p.suffixIds
        decodeStyle = p.decodeStyle
        chatTemplate = p.chatTemplate
        chatTemplateSource = p.chatTemplateSource
        prefixSpace = p.prefixSpace
    }

    // MARK: - Public API

    /// Token ids of `text`.
    /// - Parameters:
    ///   - addBOS: put the BOS token first (when the vocabulary has one).
    ///   - parseSpecial: recognise control tokens written in the text (`<|im_start|>`, `<start_of_turn>`, ...)
    ///     as single tokens; when false they are tokenized as plain text. User-defined tokens are always recognised.
    public func encode(_ text: String, addBOS: Bool = false, parseSpecial: Bool = true) -> [Int] {
        var out: [Int32] = []
        if addBOS, let b = bos { out.append(Int32(b)) }
        encodeBody(text, parseSpecial: parseSpecial, into: &out)
        return out.map { Int($0) }
    }

    /// Token ids of `text` with the model's own special tokens around it when `addSpecial` is true: for a
    /// `tokenizer.json`, its post-processor (BERT: `[CLS] text [SEP]`); for GGUF, BOS/EOS as
    /// `add_bos_token`/`add_eos_token` say (BERT: `[CLS] ... [SEP]`), as llama.cpp's `add_special` does.
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool = true) -> [Int] {
        var out: [Int32] = []
        if addSpecial { out += prefixIds }
        encodeBody(text, parseSpecial: parseSpecial, into: &out)
        if addSpecial { out += suffixIds }
        return out.map { Int($0) }
    }

    /// The text of `ids`. Control and unknown tokens are written as their own text unless `skipSpecial`.
    /// Bytes that do not form valid UTF-8 on their own (a character split across tokens at the end) become U+FFFD.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        var kept: [Int] = []
        kept.reserveCapacity(ids.count)
        for id in ids where id >= 0 && id < vocabSize {
            if skipSpecial && isSpecialForDecode(id) { continue }
            kept.append(id)
        }
        switch decodeStyle {
        case .concatenate:
            var bytes: [UInt8] = []
            for (n, id) in kept.enumerated() {
                let start = bytes.count
                appendPiece(id, to: &bytes)
                // SentencePiece's dummy prefix: the text's first space was added by encode.
                if n == 0 && addSpacePrefix && id != bos && bytes.count > start && bytes[start] == 0x20 {
                    bytes.remove(at: start)
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        case let .wordPiece(prefix, cleanup):
            // Hugging Face's WordPiece decoder: pieces joined with spaces, "##" pieces glued on; the cleanup runs on
            // each piece with its leading space (so " ." becomes "." but " ' " never forms).
            var out = ""
            for (n, id) in kept.enumerated() {
                var p: [UInt8] = []
                appendPiece(id, to: &p)
                var piece: String
                if !prefix.isEmpty && p.starts(with: prefix) {
                    piece = String(decoding: p.dropFirst(prefix.count), as: UTF8.self)
                } else {
                    piece = (n > 0 ? " " : "") + String(decoding: p, as: UTF8.self)
                }
                if cleanup { piece = Tokenizer.cleanUpTokenization(piece) }
                out += piece
            }
            return out
        }
    }

    /// The text token `id` stands for (a control token's own spelling; `""` for an id out of range).
    public func piece(_ id: Int) -> String {
        guard id >= 0 && id < vocabSize else { return "" }
        var bytes: [UInt8] = []
        appendPiece(id, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the bytes token `id` stands for in text.
    func appendPiece(_ id: Int, to out: inout [UInt8]) {
        guard let rule = pieceRule else { out.append(contentsOf: pieces[id]); return }
        let t = tokenTexts[id]
        switch tokenTypes[id] {
        case .control, .unknown, .userDefined:
            out.append(contentsOf: t)
        case .normal:
            switch rule {
            case .escaped: Tokenizer.appendUnescapingSpaces(t, to: &out)
            case .byteLevel: if !ByteLevel.decode(t, appendingTo: &out) { out.append(contentsOf: t) }
            }
        case .byte:
            // "<0xNN>"
            if t.count == 6, let v = UInt8(String(decoding: t[3 ..< 5], as: UTF8.self), radix: 16) {
                out.append(v)
            } else {
                out.append(contentsOf: t)
            }
        case .unused, .undefined:
            break
        }
    }

    /// The vocabulary's spelling of token `id` (`Ġhello`, `▁hello`, `##ing`, `<0x0A>`).
    public func token(_ id: Int) -> String {
        guard id >= 0 && id < vocabSize else { return "" }
        return String(decoding: tokenTexts[id], as: UTF8.self)
    }

    /// The id of the token spelled exactly `text` in the vocabulary (byte equality), or nil.
    public func id(of text: String) -> Int? {
        let i = literal.lookup(text)
        return i >= 0 ? Int(i) : nil
    }

    /// Whether `id` is a control token (or unknown token): what `decode(skipSpecial: true)` drops.
    public func isSpecial(_ id: Int) -> Bool { id >= 0 && id < vocabSize && isSpecialForDecode(id) }

    private func isSpecialForDecode(_ id: Int) -> Bool {
        let t = tokenTypes[id]
        return t == .control || t == .unknown
    }

    /// Hugging Face's `cleanup` of the WordPiece decoder: no space before `. ? ! ,` and English contractions.
    static func cleanUpTokenization(_ s: String) -> String {
        var r = s
        for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                       (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            r = r.replacingOccurrences(of: a, with: b)
        }
        return r
    }

    // MARK: - Encoding

    enum Fragment { case text(Range<Int>), token(Int32) }

    private func encodeBody(_ text: String, parseSpecial: Bool, into out: inout [Int32]) {
        let bytes = Array(text.utf8)
        if bytes.isEmpty { return }
        let fragments = partition(bytes, parseSpecial: parseSpecial)
        switch engine {
        case let .spm(model):
            var prevSpecial = true   // the text's start counts as "after a special token"
            for f in fragments {
                switch f {
                case let .token(t):
                    out.append(t)
                    prevSpecial = true
                case let .text(r):
                    var t: [UInt8] = []
                    t.reserveCapacity(r.count + 3)
                    if addSpacePrefix && prevSpecial { t += [0xE2, 0x96, 0x81] }
                    Tokenizer.appendEscapingSpaces(bytes[r], to: &t)
                    model.encode(t, into: &out)
                    prevSpecial = false
                }
            }
        case let .bpe(model, pre, rule):
            for f in fragments {
                switch f {
                case let .token(t): out.append(t)
                case let .text(r):
                    var t: [UInt8]
                    if rule.steps.isEmpty {
                        t = Array(bytes[r])
                        if prefixSpace && t.first != 0x20 { t.insert(0x20, at: 0) }
                    } else {
                        t = rule.apply(bytes[r], atTextStart: r.lowerBound == 0)
                    }
                    encodeBPE(t, model: model, pre: pre, into: &out)
                }
            }
        case let .wordPiece(model):
            for f in fragments {
                switch f {
                case let .token(t): out.append(t)
                case let .text(r): model.encode(Array(bytes[r]), into: &out)
                }
            }
        }
    }

    /// How the text between special tokens becomes what a SentencePiece-style BPE model reads: the steps of a
    /// `tokenizer.json`'s normalizer and Metaspace pre-tokenizer, in order (GGUF's Gemma 4: spaces as `▁`).
    struct TextRule: Sendable {
        enum Step: Sendable {
            /// Every fragment gets this in front (normalizer `Prepend`).
            case prepend([UInt8])
            /// Every occurrence of the first byte string becomes the second (normalizer `Replace` with a string).
            case replace([UInt8], [UInt8])
            /// Metaspace's prefix: put in front unless the fragment already starts with it; `firstOnly`
            /// (`prepend_scheme: first`) limits it to a fragment at the very start of the text.
            case prependUnlessPresent([UInt8], firstOnly: Bool)
        }
        var steps: [Step] = []

        static let spaceMark: [UInt8] = [0xE2, 0x96, 0x81]   // ▁
        static let escapingSpaces = TextRule(steps: [.replace([0x20], spaceMark)])

        /// The fragment `bytes` after every step; `atTextStart`: the fragment begins the text (no special token
        /// before it).
        func apply(_ bytes: ArraySlice<UInt8>, atTextStart: Bool) -> [UInt8] {
            var t = Array(bytes)
            for step in steps {
                switch step {
                case let .prepend(p):
                    if !t.isEmpty { t.insert(contentsOf: p, at: 0) }
                case let .replace(from, to):
                    t = TextRule.replacing(from, with: to, in: t)
                case let .prependUnlessPresent(p, firstOnly):
                    if (!firstOnly || atTextStart) && !t.starts(with: p) { t.insert(contentsOf: p, at: 0) }
                }
            }
            return t
        }

        static func replacing(_ from: [UInt8], with to: [UInt8], in t: [UInt8]) -> [UInt8] {
            guard let first = from.first else { return t }
            var out: [UInt8] = []
            out.reserveCapacity(t.count + t.count / 4)
            var i = 0
            while i < t.count {
                if t[i] == first && (from.count == 1 || t[i...].starts(with: from)) {
                    out += to
                    i += from.count
                } else {
                    out.append(t[i])
                    i += 1
                }
            }
            return out
        }
    }

    /// Writes `bytes` with every space as `▁` (U+2581).
    static func appendEscapingSpaces(_ bytes: ArraySlice<UInt8>, to out: inout [UInt8]) {
        for b in bytes {
            if b == 0x20 { out += [0xE2, 0x96, 0x81] } else { out.append(b) }
        }
    }

    private func encodeBPE(_ text: [UInt8], model: BPEModel, pre: PreTokenizer, into out: inout [Int32]) {
        // Code points and the byte offset where each starts (the text is valid UTF-8: it came from a String).
        var cps: [UInt32] = []
        var byteStart: [Int] = []
        cps.reserveCapacity(text.count)
        byteStart.reserveCapacity(text.count + 1)
        text.withUnsafeBufferPointer { t in
            var i = 0
            while i < t.count {
                let b0 = t[i]
                let n = UnicodeTables.utf8Length(b0)
                var cp: UInt32
                switch n {
                case 1: cp = UInt32(b0)
                case 2: cp = UInt32(b0 & 0x1F) << 6 | UInt32(t[i + 1] & 0x3F)
                case 3: cp = UInt32(b0 & 0x0F) << 12 | UInt32(t[i + 1] & 0x3F) << 6 | UInt32(t[i + 2] & 0x3F)
                default:
                    cp = UInt32(b0 & 0x07) << 18 | UInt32(t[i + 1] & 0x3F) << 12 | UInt32(t[i + 2] & 0x3F) << 6
                        | UInt32(t[i + 3] & 0x3F)
                }
                cps.append(cp)
                byteStart.append(i)
                i += n
            }
            byteStart.append(t.count)
        }
        var start = 0
        for end in pre.split(cps) {
            model.encode(word: Array(text[byteStart[start] ..< byteStart[end]]), into: &out)
            start = end
        }
    }

    /// Cuts special tokens out of `bytes`, emulating llama.cpp's order exactly: each special token in priority
    /// order (longest first) is cut at all its non-overlapping, left-to-right occurrences in the text that is
    /// still plain, before the next token is looked for. Candidate positions come from one trie scan.
    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        let n = bytes.count
        if specials.isEmpty { return [.text(0 ..< n)] }
        var found: [Int32: [Int]] = [:]   // special index -> start positions, ascending
        bytes.withUnsafeBufferPointer { b in
            trie.scan(b) { special, pos in
                let s = specials[Int(special)]
                if parseSpecial || !s.needsParseSpecial { found[special, default: []].append(pos) }
            }
        }
        if found.isEmpty { return [.text(0 ..< n)] }
        var consumed = [Bool](repeating: false, count: n)
        var tokenAt: [Int: (id: Int32, length: Int)] = [:]   // start position -> token
        @inline(__always) func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        for special in found.keys.sorted() {
            let s = specials[Int(special)]
            let len = s.bytes.count
            for p in found[special]! {
                if (p ..< p + len).contains(where: { consumed[$0] }) { continue }
                for i in p ..< p + len { consumed[i] = true }
                tokenAt[p] = (s.id, len)
                if s.lstrip {
                    var i = p - 1
                    while i >= 0 && !consumed[i] && isSpace(bytes[i]) { consumed[i] = true; i -= 1 }
                }
                if s.rstrip {
                    var i = p + len
                    while i < n && !consumed[i] && isSpace(bytes[i]) { consumed[i] = true; i += 1 }
                }
            }
        }
        var fragments: [Fragment] = []
        var i = 0
        while i < n {
            if consumed[i] {
                if let t = tokenAt[i] {
                    fragments.append(.token(t.id))
                    i += t.length
                } else {
                    i += 1   // a stripped space
                }
            } else {
                let a = i
                while i < n && !consumed[i] { i += 1 }
                fragments.append(.text(a ..< i))
            }
        }
        return fragments
    }
}

/// A byte trie over the special tokens' spellings, to find every occurrence of every special token in one pass.
struct SpecialTrie {
    private var root = [Int32](repeating: -1, count: 256)
    private var children: [[UInt8: Int32]] = []
    private var terminal: [Int32] = []

    init(_ keys: [[UInt8]]) {
        for (k, key) in keys.enumerated() where !key.isEmpty {
            var node = root[Int(key[0])]
            if node < 0 { node = newNode(); root[Int(key[0])] = node }
            for b in key.dropFirst() {
                if let c = children[Int(node)][b] {
                    node = c
                } else {
                    let c = newNode()
                    children[Int(node)][b] = c
                    node = c
                }
            }
            if terminal[Int(node)] < 0 { terminal[Int(node)] = Int32(k) }
        }
    }

    private mutating func newNode() -> Int32 {
        children.append([:])
        terminal.append(-1)
        return Int32(children.count - 1)
    }

    /// Calls `hit(keyIndex, position)` for every occurrence of every key, by ascending position.
    func scan(_ text: UnsafeBufferPointer<UInt8>, _ hit: (Int32, Int) -> Void) {
        for p in 0 ..< text.count {
            var node = root[Int(text[p])]
            var i = p + 1
            while node >= 0 {
                if terminal[Int(node)] >= 0 { hit(terminal[Int(node)], p) }
                guard i < text.count, let c = children[Int(node)][text[i]] else { break }
                node = c
                i += 1
            }
        }
    }
}
