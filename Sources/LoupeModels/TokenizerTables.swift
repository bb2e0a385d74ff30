import Foundation

/// Hash tables for the tokenizers, keyed by raw bytes and by token-id pairs.
///
/// Why not `[String: Int]`: Swift's `String` compares by canonical equivalence, so `"é"` (U+00E9) and `"e\u{301}"`
/// are the same key, yet they are different tokens in real vocabularies; and `String` hashing normalizes, which is
/// slow. Tokenizers need byte equality, so these tables hash and compare UTF-8 bytes.

/// Maps byte strings to token ids (open addressing, linear probing; keys live in one contiguous buffer).
///
/// Storage is raw memory rather than arrays: loading a 256k-token vocabulary inserts and looks up millions of keys,
/// and in debug builds (where the tests run) array bounds checks and copy-on-write checks cost more than the hashing.
final class ByteStringTable: @unchecked Sendable {
    /// One entry: where its key lives and its value (12 bytes together, so a hit costs one cache line here).
    private struct Entry { var start: Int32; var length: Int32; var value: Int32 }

    private var keyBytes: UnsafeMutablePointer<UInt8>
    private var keyBytesCapacity: Int
    private var keyBytesCount = 0
    private var entries: UnsafeMutablePointer<Entry>
    private var entryCapacity: Int
    private(set) var count = 0
    /// Per slot: the key's hash in the high 32 bits (a tag that rejects most mismatches without touching the key)
    /// and entry index + 1 in the low 32 bits; 0 is an empty slot.
    private var slots: UnsafeMutablePointer<UInt64>
    private var slotCount: Int
    private var mask: Int

    init(capacity: Int) {
        entryCapacity = max(capacity, 16)
        keyBytesCapacity = entryCapacity * 8
        keyBytes = .allocate(capacity: keyBytesCapacity)
        entries = .allocate(capacity: entryCapacity)
        var size = 16
        while size < entryCapacity * 2 { size <<= 1 }
        slotCount = size
        mask = size - 1
        slots = .allocate(capacity: size)
        slots.initialize(repeating: 0, count: size)
    }

    deinit {
        keyBytes.deallocate(); entries.deallocate(); slots.deallocate()
    }

    @inline(__always) static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        // FNV-1a, 64-bit, with a final mix: token strings are short, so a byte loop is as fast as anything fancier.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 0
        while i < n { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01B3; i += 1 }
        h ^= h >> 32
        h = h &* 0xd6e8_feb8_6659_fd93
        return h ^ (h >> 32)
    }

    @inline(__always) private func equals(_ e: Entry, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard Int(e.length) == n else { return false }
        let k = keyBytes + Int(e.start)
        var i = 0
        while i < n { if k[i] != p[i] { return false }; i += 1 }
        return true
    }

    /// Inserts or overwrites (a later duplicate wins, as in llama.cpp's `token_to_id[word] = i`).
    func insert(_ p: UnsafePointer<UInt8>, _ n: Int, value: Int32) {
        if count * 2 >= slotCount { growSlots() }
        let h = ByteStringTable.hash(p, n)
        let tag = h & 0xFFFF_FFFF_0000_0000
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] != 0 {
            let s = slots[i]
            if s & 0xFFFF_FFFF_0000_0000 == tag {
                let e = Int(s & 0xFFFF_FFFF) - 1
                if equals(entries[e], p, n) { entries[e].value = value; return }
            }
            i = (i + 1) & mask
        }
        if count == entryCapacity {
            let c = entryCapacity * 2
            let ne = UnsafeMutablePointer<Entry>.allocate(capacity: c)
            ne.moveInitialize(from: entries, count: count)
            entries.deallocate()
            entries = ne
            entryCapacity = c
        }
        if keyBytesCount + n > keyBytesCapacity {
            let c = max(keyBytesCapacity * 2, keyBytesCount + n)
            let nk = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            nk.moveInitialize(from: keyBytes, count: keyBytesCount)
            keyBytes.deallocate()
            keyBytes = nk
            keyBytesCapacity = c
        }
        (keyBytes + keyBytesCount).update(from: p, count: n)
        entries[count] = Entry(start: Int32(keyBytesCount), length: Int32(n), value: value)
        keyBytesCount += n
        count += 1
        slots[i] = tag | UInt64(count)
    }

    func insert(_ key: [UInt8], value: Int32) {
        key.withUnsafeBufferPointer { insert($0.baseAddress ?? UnsafePointer(keyBytes), $0.count, value: value) }
    }

    private func growSlots() {
        slots.deallocate()
        slotCount *= 2
        mask = slotCount - 1
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        for e in 0 ..< count {
            let h = ByteStringTable.hash(keyBytes + Int(entries[e].start), Int(entries[e].length))
            var i = Int(truncatingIfNeeded: h) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(e + 1)
        }
    }

    /// The id of the `n` bytes at `p`, or -1.
    @inline(__always) func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        let h = ByteStringTable.hash(p, n)
        let tag = h & 0xFFFF_FFFF_0000_0000
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s == 0 { return -1 }
            if s & 0xFFFF_FFFF_0000_0000 == tag {
                let e = entries[Int(s & 0xFFFF_FFFF) - 1]
                if equals(e, p, n) { return e.value }
            }
            i = (i + 1) & mask
        }
    }

    @inline(__always) func lookup(_ key: UnsafeRawBufferPointer) -> Int32 {
        guard let base = key.baseAddress else { return lookup(UnsafePointer(keyBytes), 0) }
        return lookup(base.assumingMemoryBound(to: UInt8.self), key.count)
    }

    func lookup(_ key: [UInt8]) -> Int32 {
        key.withUnsafeBufferPointer { lookup($0.baseAddress ?? UnsafePointer(keyBytes), $0.count) }
    }

    func lookup(_ key: String) -> Int32 {
        var s = key
        return s.withUTF8 { lookup($0.baseAddress ?? UnsafePointer(keyBytes), $0.count) }
    }
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
