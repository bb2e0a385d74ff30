/// SentencePiece BPE as llama.cpp runs it for `tokenizer.ggml.model = llama` (LLaMA-1/2, Mistral, Phi-3, Gemma 1-3).
///
/// The text (spaces already written as `▁` U+2581) starts as one symbol per UTF-8 character. Every adjacent pair
/// whose concatenation is a vocabulary token is queued by that token's score; the highest score merges first (ties:
/// leftmost first), its neighbours' pairs are queued, and stale entries are skipped. A symbol left that is not a
/// token is written as byte tokens `<0xNN>` (byte fallback). Port of `llm_tokenizer_spm_session`.
///
/// Speed: llama.cpp runs one queue over a whole text. Merges in two stretches of text are independent when no
/// token can span the point between them, so the text is cut before every `▁` whose preceding character never
/// precedes a `▁` inside a vocabulary token (for Gemma 3 only `>` does, in `>▁</`); each piece is encoded on its
/// own, with the same result, and cached like a BPE word.
final class SentencePieceModel: @unchecked Sendable {
    let vocab: ByteStringTable
    let scores: [Float]
    /// `<0xNN>` token of each byte (or the single-byte token, or -1).
    let byteTokens: [Int32]
    /// Characters that some token has right before an inner `▁`: never cut between them and the `▁`.
    private let joinsSpace: Set<UInt32>
    private var cache: [[UInt8]: [Int32]] = [:]
    private let cacheLimit = 50_000
    private let lock = NSLockLike()

    init(vocab: ByteStringTable, scores: [Float], byteTokens: [Int32], tokens: ByteStrings) {
        self.vocab = vocab
        self.scores = scores
        self.byteTokens = byteTokens
        var joins = Set<UInt32>()
        let mark: [UInt8] = [0xE2, 0x96, 0x81]
        for k in 0 ..< tokens.count where tokens.length(k) > 3 {
            let t = tokens[k]
            var i = 1
            while i + 3 <= t.count {
                if t[i] == mark[0] && t[i + 1] == mark[1] && t[i + 2] == mark[2] {
                    var j = i - 1
                    while j > 0 && t[j] & 0xC0 == 0x80 { j -= 1 }
                    let c = UnicodeTables.codepoints(t[j ..< i]).first ?? 0
                    if c != 0x2581 { joins.insert(c) }
                }
                i += 1
            }
        }
        joinsSpace = joins
    }

    /// Encodes `text` (spaces already written as `▁`).
    func encode(_ text: [UInt8], into out: inout [Int32]) {
        var start = 0
        var i = 1
        let n = text.count
        while i + 3 <= n {
            if text[i] == 0xE2 && text[i + 1] == 0x96 && text[i + 2] == 0x81 {
                var j = i - 1
                while j > start && text[j] & 0xC0 == 0x80 { j -= 1 }
                let prev = UnicodeTables.codepoints(text[j ..< i]).first ?? 0
                if prev != 0x2581 && !joinsSpace.contains(prev) {
                    encodePiece(Array(text[start ..< i]), into: &out)
                    start = i
                }
                i += 3
            } else {
                i += 1
            }
        }
        if start < n { encodePiece(Array(text[start ..< n]), into: &out) }
    }

    private func encodePiece(_ piece: [UInt8], into out: inout [Int32]) {
        if let hit = lock.withLock({ cache[piece] }) { out.append(contentsOf: hit); return }
        var tokens: [Int32] = []
        encodeOneQueue(piece, into: &tokens)
        lock.withLock {
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[piece] = tokens
        }
        out.append(contentsOf: tokens)
    }

    private struct Bigram: Comparable {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32
        // Min-heap order: best (highest score, then leftmost) first.
        static func < (a: Bigram, b: Bigram) -> Bool { a.score > b.score || (a.score == b.score && a.left < b.left) }
        static func == (a: Bigram, b: Bigram) -> Bool { a.score == b.score && a.left == b.left }
    }

    /// llama.cpp's algorithm on `text` as one queue (no cutting, no cache).
    func encodeOneQueue(_ text: [UInt8], into out: inout [Int32]) {
        if text.isEmpty { return }
        text.withUnsafeBytes { t in
            let n = t.count
            var start: [Int32] = [], len: [Int32] = [], prev: [Int32] = [], next: [Int32] = []
            start.reserveCapacity(n); len.reserveCapacity(n)
            var offset = 0
            while offset < n {
                let l = min(n - offset, UnicodeTables.utf8Length(t[offset]))
                start.append(Int32(offset))
                len.append(Int32(l))
                offset += l
            }
            let count = start.count
            prev.reserveCapacity(count); next.reserveCapacity(count)
            for i in 0 ..< count {
                prev.append(Int32(i - 1))
                next.append(i + 1 < count ? Int32(i + 1) : -1)
            }
            var queue = MinHeap<Bigram>()
            queue.items.reserveCapacity(count)
            @inline(__always) func addPair(_ l: Int32, _ r: Int32) {
                guard l >= 0, r >= 0 else { return }
                let a = Int(start[Int(l)]), size = Int(len[Int(l)] + len[Int(r)])
                let tok = vocab.lookup(UnsafeRawBufferPointer(rebasing: t[a ..< a + size]))
                guard tok >= 0 else { return }
                queue.push(Bigram(score: scores[Int(tok)], left: l, right: r, size: Int32(size)))
            }
            for i in 1 ..< max(count, 1) { addPair(Int32(i - 1), Int32(i)) }
            while !queue.isEmpty {
                let bg = queue.pop()
                let l = Int(bg.left), r = Int(bg.right)
                if len[l] == 0 || len[r] == 0 || len[l] + len[r] != bg.size { continue }
                len[l] += len[r]
                len[r] = 0
                next[l] = next[r]
                if next[r] >= 0 { prev[Int(next[r])] = Int32(l) }
                addPair(prev[l], Int32(l))
                addPair(Int32(l), next[l])
            }
            var i: Int32 = 0
            while i >= 0 {
                let s = Int(i)
                let a = Int(start[s]), b = a + Int(len[s])
                let tok = vocab.lookup(UnsafeRawBufferPointer(rebasing: t[a ..< b]))
                if tok >= 0 {
                    out.append(tok)
                } else {
                    for j in a ..< b where byteTokens[Int(t[j])] >= 0 { out.append(byteTokens[Int(t[j])]) }
                }
                i = next[s]
            }
        }
    }
}
