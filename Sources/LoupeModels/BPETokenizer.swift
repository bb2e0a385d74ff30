import Foundation

/// Byte-pair encoding of one pre-tokenized word.
///
/// The word starts as one symbol per byte (byte-level BPE: GPT-2, LLaMA-3, Qwen, SmolLM, ...) or one symbol per
/// UTF-8 character (SentencePiece-style BPE: Gemma 4, or `tokenizer.json` BPE without a byte-level pre-tokenizer).
/// Adjacent pairs that form a merge go into a priority queue ordered by merge rank (then by position, leftmost
/// first); the best pair is merged, its neighbours' pairs are queued, and stale queue entries (a side already merged
/// into something else) are skipped. That is O(n log n) per word, where rescanning for the best pair after each
/// merge would be O(n^2). Same algorithm and tie-breaking as llama.cpp's `llm_tokenizer_bpe_session`.
///
/// Symbols carry token ids rather than strings; a merge is looked up by the pair of ids. This equals llama.cpp's
/// string lookup because token text determines the id and every merge result is itself a token.
final class BPEModel: @unchecked Sendable {
    /// Token id of each byte string: the raw bytes a token stands for, or (`alphabetSpelled`) its spelling in
    /// GPT-2's byte-level alphabet.
    let vocab: ByteStringTable
    /// The vocabulary is spelled in the byte-level alphabet (a GGUF byte-level vocabulary, looked up through its
    /// own spelling index rather than through a second table of raw bytes): a whole word is looked up by its
    /// spelling, `ByteLevel.encode(word)`.
    let alphabetSpelled: Bool
    /// The token of each single byte, for the first symbols when `symbolPerByte` (-1: none).
    private let byteIds: [Int32]
    let merges: MergeTable
    /// One initial symbol per byte (byte-level) or per UTF-8 character.
    let symbolPerByte: Bool
    /// Use a word's own token when the whole word is in the vocabulary, skipping merges (LLaMA-3's `ignore_merges`).
    let ignoreMerges: Bool
    /// Gemma 4: a word made only of newlines is one token when the vocabulary has it.
    let newlineRunsWhole: Bool
    /// The token to emit for a byte no merge covers, or -1 (dropped, as llama.cpp does).
    let byteFallback: [Int32]

    private var cache: [[UInt8]: [Int32]] = [:]
    private let cacheLimit = 50_000
    private let lock = NSLockLike()

    init(vocab: ByteStringTable, merges: MergeTable, symbolPerByte: Bool, ignoreMerges: Bool,
         newlineRunsWhole: Bool, byteFallback: [Int32], alphabetSpelled: Bool = false) {
        self.vocab = vocab
        self.alphabetSpelled = alphabetSpelled
        byteIds = (0 ..< 256).map { b in
            vocab.lookup(alphabetSpelled ? ByteLevel.encode([UInt8(b)]) : [UInt8(b)])
        }
        self.merges = merges
        self.symbolPerByte = symbolPerByte
        self.ignoreMerges = ignoreMerges
        self.newlineRunsWhole = newlineRunsWhole
        self.byteFallback = byteFallback
    }

    private struct Bigram: Comparable {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftId: Int32
        var rightId: Int32
        var result: Int32
        static func < (a: Bigram, b: Bigram) -> Bool { a.rank < b.rank || (a.rank == b.rank && a.left < b.left) }
        static func == (a: Bigram, b: Bigram) -> Bool { a.rank == b.rank && a.left == b.left }
    }

    /// Appends the tokens of `word` to `out`.
    func encode(word: [UInt8], into out: inout [Int32]) {
        if word.isEmpty { return }
        if let hit = lock.withLock({ cache[word] }) { out.append(contentsOf: hit); return }
        var tokens: [Int32] = []
        encodeUncached(word, &tokens)
        lock.withLock {
            if cache.count >= cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[word] = tokens
        }
        out.append(contentsOf: tokens)
    }

    private func encodeUncached(_ word: [UInt8], _ out: inout [Int32]) {
        if ignoreMerges || (newlineRunsWhole && word.allSatisfy { $0 == 0x0A }) {
            let whole = vocab.lookup(alphabetSpelled ? ByteLevel.encode(word) : word)
            if whole >= 0 { out.append(whole); return }
        }
        word.withUnsafeBytes { w in
            let n = w.count
            // Symbols as parallel arrays: byte start, byte length (0 once merged away), token id, list links.
            var start: [Int32] = [], len: [Int32] = [], id: [Int32] = [], prev: [Int32] = [], next: [Int32] = []
            start.reserveCapacity(n); len.reserveCapacity(n); id.reserveCapacity(n)
            var offset = 0
            while offset < n {
                let l = symbolPerByte ? 1 : min(n - offset, UnicodeTables.utf8Length(w[offset]))
                start.append(Int32(offset))
                len.append(Int32(l))
                id.append(symbolPerByte ? byteIds[Int(w[offset])]
                                        : vocab.lookup(UnsafeRawBufferPointer(rebasing: w[offset ..< offset + l])))
                offset += l
            }
            let count = start.count
            for i in 0 ..< count {
                prev.append(Int32(i - 1))
                next.append(i + 1 < count ? Int32(i + 1) : -1)
            }
            var queue = MinHeap<Bigram>()
            queue.items.reserveCapacity(count)
            @inline(__always) func addPair(_ l: Int32, _ r: Int32) {
                guard l >= 0, r >= 0 else { return }
                let a = id[Int(l)], b = id[Int(r)]
                guard a >= 0, b >= 0, let m = merges.lookup(a, b) else { return }
                queue.push(Bigram(rank: m.rank, left: l, right: r, leftId: a, rightId: b, result: m.result))
            }
            for i in 1 ..< max(count, 1) { addPair(Int32(i - 1), Int32(i)) }
            while !queue.isEmpty {
                let bg = queue.pop()
                let l = Int(bg.left), r = Int(bg.right)
                // Stale: one side was merged away or grew since this pair was queued.
                if len[l] == 0 || len[r] == 0 || id[l] != bg.leftId || id[r] != bg.rightId { continue }
                len[l] += len[r]
                len[r] = 0
                id[l] = bg.result
                next[l] = next[r]
                if next[r] >= 0 { prev[Int(next[r])] = Int32(l) }
                addPair(prev[l], Int32(l))
                addPair(Int32(l), next[l])
            }
            var i: Int32 = 0
            while i >= 0 {
                let s = Int(i)
                if id[s] >= 0 {
                    out.append(id[s])
                } else {
                    for j in Int(start[s]) ..< Int(start[s] + len[s]) {
                        let t = byteFallback[Int(w[j])]
                        if t >= 0 { out.append(t) }
                    }
                }
                i = next[s]
            }
        }
    }
}

/// A tiny mutex so a shared tokenizer's word cache is safe across threads.
final class NSLockLike: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    @inline(__always) func withLock<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
