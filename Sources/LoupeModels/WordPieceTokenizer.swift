/// BERT's WordPiece: normalize, split into words at white space and punctuation, then cover each word greedily with
/// the longest vocabulary pieces, left to right; a word that cannot be covered becomes the unknown token.
///
/// Two vocabularies spell pieces differently:
/// - Hugging Face `tokenizer.json` (and `vocab.txt`): a word's first piece as is, later pieces with `##` in front.
/// - llama.cpp GGUF (`tokenizer.ggml.model = bert`): a word's first piece with `▁` in front, later pieces as is;
///   matching runs over "▁" + word, which is the same search.
struct WordPieceModel: Sendable {
    enum Style: Sendable {
        /// Continuation pieces start with this prefix (`##`).
        case continuationPrefix(String)
        /// Word-initial pieces start with `▁` (llama.cpp's GGUF convention).
        case wordStartMarker
    }

    let vocab: ByteStringTable
    let style: Style
    let unk: Int32
    /// Longest token in bytes (bounds the search, as llama.cpp's `max_token_len`).
    let maxTokenBytes: Int
    /// Words longer than this many characters are unknown outright (Hugging Face's `max_input_chars_per_word`).
    let maxWordChars: Int
    let lowercase: Bool
    let stripAccents: Bool
    /// Put spaces around CJK ideographs (BertNormalizer's `handle_chinese_chars`).
    let splitCJK: Bool

    /// BertNormalizer + BertPreTokenizer: the words of `text` as code points.
    func words(_ text: [UInt8]) -> [[UInt32]] {
        // clean_text: drop NUL, U+FFFD and other control characters; white space becomes a word break.
        var cps: [UInt32] = []
        for cp in UnicodeTables.codepoints(text) {
            let f = UnicodeTables.flags(cp)
            let isWS = cp == 0x09 || cp == 0x0A || cp == 0x0D || f.isWhitespace
            if cp == 0 || cp == 0xFFFD || (f.isControl && !(cp == 0x09 || cp == 0x0A || cp == 0x0D)) { continue }
            cps.append(isWS ? 0x20 : cp)
        }
        if stripAccents {
            // NFD, then drop non-spacing marks (Mn), as Hugging Face's strip_accents does.
            cps = UnicodeTables.nfd(cps).filter {
                guard let s = Unicode.Scalar($0) else { return true }
                return s.properties.generalCategory != .nonspacingMark
            }
        }
        if lowercase {
            var lowered: [UInt32] = []
            lowered.reserveCapacity(cps.count)
            for cp in cps { UnicodeTables.lowercased(cp, into: &lowered) }
            cps = lowered
        }
        var words: [[UInt32]] = []
        var current: [UInt32] = []
        for cp in cps {
            let f = UnicodeTables.flags(cp)
            if cp == 0x20 || f.isWhitespace {
                if !current.isEmpty { words.append(current); current = [] }
                continue
            }
            if f.isPunctuation || (cp < 0x7F && f.isSymbol) || (splitCJK && WordPieceModel.isCJK(cp)) {
                if !current.isEmpty { words.append(current); current = [] }
                words.append([cp])
            } else {
                current.append(cp)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// The CJK Unified Ideograph blocks BERT isolates (the 0x2B920 start matches Hugging Face's Rust code).
    static func isCJK(_ cp: UInt32) -> Bool {
        (0x4E00 ... 0x9FFF).contains(cp) || (0x3400 ... 0x4DBF).contains(cp) || (0x20000 ... 0x2A6DF).contains(cp)
            || (0x2A700 ... 0x2B73F).contains(cp) || (0x2B740 ... 0x2B81F).contains(cp)
            || (0x2B920 ... 0x2CEAF).contains(cp) || (0xF900 ... 0xFAFF).contains(cp)
            || (0x2F800 ... 0x2FA1F).contains(cp)
    }

    func encode(_ text: [UInt8], into out: inout [Int32]) {
        for word in words(text) { encodeWord(word, into: &out) }
    }

    private func encodeWord(_ word: [UInt32], into out: inout [Int32]) {
        if word.count > maxWordChars { out.append(unk); return }
        var bytes: [UInt8] = []
        var charStarts: [Int] = []   // byte offset of each character, plus the end
        for cp in word { charStarts.append(bytes.count); UnicodeTables.appendUTF8(cp, to: &bytes) }
        charStarts.append(bytes.count)
        let mark: [UInt8]
        let prefix: [UInt8]
        switch style {
        case let .continuationPrefix(p): mark = []; prefix = Array(p.utf8)
        case .wordStartMarker: mark = Array("▁".utf8); prefix = []
        }
        var pieces: [Int32] = []
        var ci = 0   // character index where the next piece starts
        while ci < word.count {
            var found: Int32 = -1
            var end = word.count
            var key: [UInt8] = []
            while end > ci {
                key.removeAll(keepingCapacity: true)
                if ci == 0 { key += mark } else { key += prefix }
                key += bytes[charStarts[ci] ..< charStarts[end]]
                if key.count <= maxTokenBytes || maxTokenBytes == 0 {
                    let t = vocab.lookup(key)
                    if t >= 0 { found = t; break }
                }
                end -= 1
            }
            if found < 0 { out.append(unk); return }
            pieces.append(found)
            ci = end
        }
        out.append(contentsOf: pieces)
    }
}
