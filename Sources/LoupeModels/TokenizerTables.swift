/// Hash tables for the tokenizers, keyed by raw bytes and by token-id pairs.
///
/// Why not `[String: Int]`: Swift's `String` compares by canonical equivalence, so `"é"` (U+00E9) and `"e\u{301}"`
/// are the same key, yet they are different tokens in real vocabularies; and `String` hashing normalizes, which is
/// slow. Tokenizers need byte equality, so these tables hash and compare UTF-8 bytes.

/// Maps byte strings to token ids (open addressing, linear probing; keys live in one contiguous buffer).
struct ByteStringTable: Sendable {
    private var keyBytes: [UInt8] = []
    private var keyStart: [Int32] = []   // per entry: offset in keyBytes
    private var keyLength: [Int32] = []
    private var values: [Int32] = []
    private var slots: [Int32] = []       // entry index or -1
    private var mask: Int = 0

    /// The number of keys.
    var count: Int { values.count }

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        keyStart.reserveCapacity(capacity)
        keyLength.reserveCapacity(capacity)
        values.reserveCapacity(capacity)
    }

    @inline(__always) static func hash(_ p: UnsafeRawBufferPointer) -> Int {
        // FNV-1a, 64-bit: token strings are short, so a byte loop is as fast as anything fancier.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in p { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    /// Inserts or overwrites (a later duplicate wins, as in llama.cpp's `token_to_id[word] = i`).
    mutating func insert(_ key: [UInt8], value: Int32) {
        if values.count * 2 >= slots.count { grow() }
        key.withUnsafeBytes { k in
            var i = ByteStringTable.hash(k) & mask
            while slots[i] >= 0 {
                let e = Int(slots[i])
                if equals(entry: e, k) { values[e] = value; return }
                i = (i + 1) & mask
            }
            slots[i] = Int32(values.count)
            keyStart.append(Int32(keyBytes.count))
            keyLength.append(Int32(k.count))
            keyBytes.append(contentsOf: k)
            values.append(value)
        }
    }

    @inline(__always) private func equals(entry e: Int, _ k: UnsafeRawBufferPointer) -> Bool {
        let n = Int(keyLength[e])
        guard n == k.count else { return false }
        let s = Int(keyStart[e])
        return keyBytes.withUnsafeBufferPointer { kb in
            for j in 0 ..< n where kb[s + j] != k[j] { return false }
            return true
        }
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: -1, count: size)
        mask = size - 1
        keyBytes.withUnsafeBytes { kb in
            for e in 0 ..< values.count {
                let k = UnsafeRawBufferPointer(rebasing: kb[Int(keyStart[e]) ..< Int(keyStart[e] + keyLength[e])])
                var i = ByteStringTable.hash(k) & mask
                while slots[i] >= 0 { i = (i + 1) & mask }
                slots[i] = Int32(e)
            }
        }
    }

    /// The id of `key`, or -1.
    @inline(__always) func lookup(_ key: UnsafeRawBufferPointer) -> Int32 {
        var i = ByteStringTable.hash(key) & mask
        return slots.withUnsafeBufferPointer { sl in
            while true {
                let e = Int(sl[i])
                if e < 0 { return -1 }
                if equals(entry: e, key) { return values[e] }
                i = (i + 1) & mask
            }
        }
    }

    func lookup(_ key: [UInt8]) -> Int32 { key.withUnsafeBytes { lookup($0) } }
    func lookup(_ key: String) -> Int32 { var s = key; return s.withUTF8 { lookup(UnsafeRawBufferPointer($0)) } }
}

/// Maps a pair of token ids to a merge: its rank (lower merges first) and the id of the merged token.
struct MergeTable: Sendable {
    private var keys: [UInt64]
    private var ranks: [Int32]
    private var results: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: .max, count: size)
        ranks = [Int32](repeating: 0, count: size)
        results = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask
    }

    /// Inserts the merge unless the pair already has one (the first, lowest-ranked, merge of a pair wins).
    mutating func insert(left: Int32, right: Int32, rank: Int32, result: Int32) {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var i = MergeTable.slot(key, mask)
        while keys[i] != .max {
            if keys[i] == key { return }
            i = (i + 1) & mask
        }
        keys[i] = key
        ranks[i] = rank
        results[i] = result
        count += 1
    }

    /// The merge of `left` then `right`: (rank, merged id), or nil.
    @inline(__always) func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, result: Int32)? {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var i = MergeTable.slot(key, mask)
        return keys.withUnsafeBufferPointer { ks in
            while true {
                let k = ks[i]
                if k == key { return (ranks[i], results[i]) }
                if k == .max { return nil }
                i = (i + 1) & mask
            }
        }
    }
}

/// A binary min-heap (the BPE and SentencePiece work queues: the smallest element is the next merge to apply).
struct MinHeap<Element: Comparable> {
    var items: [Element] = []

    @inline(__always) private func less(_ a: Element, _ b: Element) -> Bool { a < b }

    var isEmpty: Bool { items.isEmpty }
    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) >> 1
            if !less(items[i], items[p]) { break }
            items.swapAt(i, p)
            i = p
        }
    }

    mutating func pop() -> Element {
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                var c = l
                if l + 1 < n && less(items[l + 1], items[l]) { c = l + 1 }
                if !less(items[c], items[i]) { break }
                items.swapAt(i, c)
                i = c
            }
        }
        return top
    }
}
