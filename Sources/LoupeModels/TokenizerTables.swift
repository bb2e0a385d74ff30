import Foundation

/// Hash tables for the tokenizers, keyed by raw bytes and by token-id pairs.
///
/// Why not `[String: Int]`: Swift's `String` compares by canonical equivalence, so `"é"` (U+00E9) and `"e\u{301}"`
/// are the same key, yet they are different tokens in real vocabularies; and `String` hashing normalizes, which is
/// slow. Tokenizers need byte equality, so these tables hash and compare UTF-8 bytes.

/// Many byte strings in one contiguous buffer, with the start of each: a vocabulary of 50k-260k token spellings
/// costs its bytes plus 4 bytes a token, where `[[UInt8]]` costs a heap object (~48-64 bytes) a token.
///
/// Append-only while a tokenizer is being built, read-only afterwards (then safe to share between threads).
/// Raw memory rather than arrays, like `ByteStringTable`: tokenizer loading appends hundreds of thousands of strings
/// and debug builds (where the tests run) pay for every array bounds and uniqueness check.
final class ByteStrings: @unchecked Sendable {
    private(set) var count = 0
    private var bytes: UnsafeMutablePointer<UInt8>
    private var byteCapacity: Int
    /// `offsets[i] ..< offsets[i + 1]` are string `i`'s bytes; `count + 1` entries are in use.
    private var offsets: UnsafeMutablePointer<Int32>
    private var offsetCapacity: Int

    /// Room for `capacity` strings of `byteCapacity` bytes together (both grow when exceeded).
    init(capacity: Int = 16, byteCapacity: Int = 256) {
        self.byteCapacity = max(byteCapacity, 16)
        offsetCapacity = max(capacity, 16) + 1
        bytes = .allocate(capacity: self.byteCapacity)
        offsets = .allocate(capacity: offsetCapacity)
        offsets[0] = 0
    }

    convenience init(_ strings: [[UInt8]]) {
        self.init(capacity: strings.count, byteCapacity: strings.reduce(0) { $0 + $1.count })
        for s in strings { append(s) }
    }

    deinit { bytes.deallocate(); offsets.deallocate() }

    /// Bytes of all strings together.
    var byteCount: Int { Int(offsets[count]) }

    /// Appends `n` bytes starting at `p` (`p` is not read when `n` is 0).
    func append(_ p: UnsafePointer<UInt8>?, _ n: Int) {
        let used = byteCount
        precondition(used + n <= Int(Int32.max), "ByteStrings: more than 2 GiB of strings")
        if used + n > byteCapacity {
            let c = max(byteCapacity * 2, used + n)
            let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
            nb.moveInitialize(from: bytes, count: used)
            bytes.deallocate()
            bytes = nb
            byteCapacity = c
        }
        if count + 2 > offsetCapacity {
            let c = offsetCapacity * 2
            let no = UnsafeMutablePointer<Int32>.allocate(capacity: c)
            no.moveInitialize(from: offsets, count: count + 1)
            offsets.deallocate()
            offsets = no
            offsetCapacity = c
        }
        if n > 0, let p { (bytes + used).update(from: p, count: n) }
        count += 1
        offsets[count] = Int32(used + n)
    }

    func append(_ b: UnsafeRawBufferPointer) {
        append(b.baseAddress?.assumingMemoryBound(to: UInt8.self), b.count)
    }

    func append(_ a: [UInt8]) { a.withUnsafeBufferPointer { append($0.baseAddress, $0.count) } }

    /// Gives back the room that growing left unused (the tables live as long as their model).
    func shrinkToFit() {
        let used = byteCount
        if byteCapacity > used {
            let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: max(used, 1))
            nb.moveInitialize(from: bytes, count: used)
            bytes.deallocate()
            bytes = nb
            byteCapacity = max(used, 1)
        }
        if offsetCapacity > count + 1 {
            let no = UnsafeMutablePointer<Int32>.allocate(capacity: count + 1)
            no.moveInitialize(from: offsets, count: count + 1)
            offsets.deallocate()
            offsets = no
            offsetCapacity = count + 1
        }
    }

    /// Start of string `i`.
    @inline(__always) func start(_ i: Int) -> UnsafePointer<UInt8> { UnsafePointer(bytes + Int(offsets[i])) }
    /// Length of string `i` in bytes.
    @inline(__always) func length(_ i: Int) -> Int { Int(offsets[i + 1] - offsets[i]) }

    /// String `i`'s bytes: a view valid as long as this object lives and nothing is appended.
    @inline(__always) subscript(i: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: start(i), count: length(i))
    }

    /// String `i` as an array (a copy).
    func array(_ i: Int) -> [UInt8] { Array(self[i]) }
}

/// Maps byte strings to token ids (open addressing, linear probing).
///
/// Two kinds: a table that owns its keys (`init(capacity:)` and `insert`), and an index over a `ByteStrings`
/// vocabulary (`init(indexing:)`) where string `i` maps to id `i` and no key is copied: a vocabulary's
/// spelling -> id table then costs only its slots.
///
/// Storage is raw memory rather than arrays: loading a 256k-token vocabulary inserts and looks up millions of keys,
/// and in debug builds (where the tests run) array bounds checks and copy-on-write checks cost more than the hashing.
final class ByteStringTable: @unchecked Sendable {
    /// The key of each entry.
    private let keys: ByteStrings
    /// The value of each entry; nil for an index, whose entry numbers are the values.
    private var values: UnsafeMutablePointer<Int32>?
    private var valueCapacity: Int
    /// Number of distinct keys.
    private(set) var count = 0
    /// Per slot: the key's hash in the high 32 bits (a tag that rejects most mismatches without touching the key)
    /// and entry index + 1 in the low 32 bits; 0 is an empty slot.
    private var slots: UnsafeMutablePointer<UInt64>
    private var slotCount: Int
    private var mask: Int

    /// An empty table with its own keys, sized for `capacity` keys.
    init(capacity: Int) {
        valueCapacity = max(capacity, 16)
        keys = ByteStrings(capacity: valueCapacity, byteCapacity: valueCapacity * 8)
        values = .allocate(capacity: valueCapacity)
        (slots, slotCount) = ByteStringTable.makeSlots(for: valueCapacity)
        mask = slotCount - 1
    }

    /// An index over `strings`: string `i` maps to `i`; of equal strings the last wins (llama.cpp's
    /// `token_to_id[word] = i`). `strings` is shared, not copied, and must not grow afterwards.
    init(indexing strings: ByteStrings) {
        keys = strings
        values = nil
        valueCapacity = 0
        (slots, slotCount) = ByteStringTable.makeSlots(for: strings.count)
        mask = slotCount - 1
        for e in 0 ..< strings.count {
            let p = strings.start(e), n = strings.length(e)
            let h = ByteStringTable.hash(p, n)
            let i = find(h, p, n)
            if slots[i] == 0 { count += 1 }
            slots[i] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(e + 1)
        }
    }

    deinit {
        values?.deallocate(); slots.deallocate()
    }

    /// Slots for `n` keys at a load factor of at most 3/4 (the 32-bit hash tags keep probes past other keys
    /// cheap: a mismatch rarely touches the key's bytes).
    private static func makeSlots(for n: Int) -> (UnsafeMutablePointer<UInt64>, Int) {
        var size = 16
        while size * 3 < n * 4 { size <<= 1 }
        let s = UnsafeMutablePointer<UInt64>.allocate(capacity: size)
        s.initialize(repeating: 0, count: size)
        return (s, size)
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

    @inline(__always) private func equals(_ e: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        guard keys.length(e) == n else { return false }
        let k = keys.start(e)
        var i = 0
        while i < n { if k[i] != p[i] { return false }; i += 1 }
        return true
    }

    /// The slot holding the key (hash `h`), or the empty slot where it would go.
    @inline(__always) private func find(_ h: UInt64, _ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
        let tag = h & 0xFFFF_FFFF_0000_0000
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s == 0 { return i }
            if s & 0xFFFF_FFFF_0000_0000 == tag && equals(Int(s & 0xFFFF_FFFF) - 1, p, n) { return i }
            i = (i + 1) & mask
        }
    }

    /// Inserts or overwrites (a later duplicate wins, as in llama.cpp's `token_to_id[word] = i`). Only for a table
    /// that owns its keys.
    func insert(_ p: UnsafePointer<UInt8>, _ n: Int, value: Int32) {
        guard let vals = values else { preconditionFailure("ByteStringTable: insert into an index") }
        if (count + 1) * 4 > slotCount * 3 { growSlots() }
        let h = ByteStringTable.hash(p, n)
        let i = find(h, p, n)
        if slots[i] != 0 { vals[Int(slots[i] & 0xFFFF_FFFF) - 1] = value; return }
        if count == valueCapacity {
            let c = valueCapacity * 2
            let nv = UnsafeMutablePointer<Int32>.allocate(capacity: c)
            nv.moveInitialize(from: vals, count: count)
            vals.deallocate()
            values = nv
            valueCapacity = c
        }
        keys.append(p, n)
        values![count] = value
        count += 1
        slots[i] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(count)
    }

    func insert(_ key: [UInt8], value: Int32) {
        key.withUnsafeBufferPointer { insert($0.baseAddress ?? ByteStringTable.empty, $0.count, value: value) }
    }

    /// Gives back unused room in the keys (call once the table is complete).
    func shrinkToFit() { if values != nil { keys.shrinkToFit() } }

    private func growSlots() {
        slots.deallocate()
        slotCount *= 2
        mask = slotCount - 1
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        for e in 0 ..< count {
            let h = ByteStringTable.hash(keys.start(e), keys.length(e))
            var i = Int(truncatingIfNeeded: h) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = (h & 0xFFFF_FFFF_0000_0000) | UInt64(e + 1)
        }
    }

    /// A valid pointer for empty keys (never read).
    private static let empty: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    /// The id of the `n` bytes at `p`, or -1.
    @inline(__always) func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
        let h = ByteStringTable.hash(p, n)
        let tag = h & 0xFFFF_FFFF_0000_0000
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let s = slots[i]
            if s == 0 { return -1 }
            if s & 0xFFFF_FFFF_0000_0000 == tag {
                let e = Int(s & 0xFFFF_FFFF) - 1
                if equals(e, p, n) { return values.map { $0[e] } ?? Int32(e) }
            }
            i = (i + 1) & mask
        }
    }

    @inline(__always) func lookup(_ key: UnsafeRawBufferPointer) -> Int32 {
        guard let base = key.baseAddress else { return lookup(ByteStringTable.empty, 0) }
        return lookup(base.assumingMemoryBound(to: UInt8.self), key.count)
    }

    @inline(__always) func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Int32 {
        lookup(key.baseAddress ?? ByteStringTable.empty, key.count)
    }

    func lookup(_ key: [UInt8]) -> Int32 {
        key.withUnsafeBufferPointer { lookup($0.baseAddress ?? ByteStringTable.empty, $0.count) }
    }

    func lookup(_ key: String) -> Int32 {
        var s = key
        return s.withUTF8 { lookup($0.baseAddress ?? ByteStringTable.empty, $0.count) }
    }
}

/// Maps a pair of token ids to a merge: its rank (lower merges first) and the id of the merged token.
///
/// Open addressing with linear probing, filled to at most 3/4. A probe reads one slot holding the pair, the rank
/// and the result side by side. When every id and rank fits in 16 bits (vocabularies under 64k tokens, such as
/// SmolLM2's 49k with 49k merges) a slot is 8 bytes (512 KiB for SmolLM2), else 16.
struct MergeTable: Sendable {
    private struct Slot { var key: UInt64; var rank: Int32; var result: Int32 }
    private static let empty = UInt64.max
    /// Narrow slots: pair (left << 16 | right) in the high 32 bits, rank << 16 | result in the low 32 bits.
    private var narrow: [UInt64] = []
    private var wide: [Slot] = []
    private let isNarrow: Bool
    private var mask: Int
    private(set) var count = 0

    /// Room for `capacity` merges whose ids are below `idLimit` (ranks are below `capacity`).
    init(capacity: Int, idLimit: Int = Int(Int32.max)) {
        var size = 16
        while size * 3 < capacity * 4 { size <<= 1 }
        isNarrow = idLimit < 0xFFFF && capacity <= 0x10000
        if isNarrow {
            narrow = [UInt64](repeating: MergeTable.empty, count: size)
        } else {
            wide = [Slot](repeating: Slot(key: MergeTable.empty, rank: 0, result: 0), count: size)
        }
        mask = size - 1
    }

    @inline(__always) private static func slot(_ key: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask
    }

    /// Inserts the merge unless the pair already has one (the first, lowest-ranked, merge of a pair wins).
    mutating func insert(left: Int32, right: Int32, rank: Int32, result: Int32) {
        let size = isNarrow ? narrow.count : wide.count
        if (count + 1) * 4 > size * 3 { grow() }
        if isNarrow {
            precondition(left < 0xFFFF && right < 0xFFFF && result < 0x10000 && rank < 0x10000 && left >= 0 && right >= 0,
                         "MergeTable: id or rank beyond the narrow table's 16 bits")
            let key = UInt64(left) << 16 | UInt64(right)
            var i = MergeTable.slot(key, mask)
            while narrow[i] != MergeTable.empty {
                if narrow[i] >> 32 == key { return }
                i = (i + 1) & mask
            }
            narrow[i] = key << 32 | UInt64(rank) << 16 | UInt64(result)
        } else {
            let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
            var i = MergeTable.slot(key, mask)
            while wide[i].key != MergeTable.empty {
                if wide[i].key == key { return }
                i = (i + 1) & mask
            }
            wide[i] = Slot(key: key, rank: rank, result: result)
        }
        count += 1
    }

    private mutating func grow() {
        if isNarrow {
            let old = narrow
            narrow = [UInt64](repeating: MergeTable.empty, count: old.count * 2)
            mask = narrow.count - 1
            for s in old where s != MergeTable.empty {
                var i = MergeTable.slot(s >> 32, mask)
                while narrow[i] != MergeTable.empty { i = (i + 1) & mask }
                narrow[i] = s
            }
        } else {
            let old = wide
            wide = [Slot](repeating: Slot(key: MergeTable.empty, rank: 0, result: 0), count: old.count * 2)
            mask = wide.count - 1
            for s in old where s.key != MergeTable.empty {
                var i = MergeTable.slot(s.key, mask)
                while wide[i].key != MergeTable.empty { i = (i + 1) & mask }
                wide[i] = s
            }
        }
    }

    /// The merge of `left` then `right`: (rank, merged id), or nil.
    @inline(__always) func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, result: Int32)? {
        if isNarrow {
            guard left >= 0 && left < 0xFFFF && right >= 0 && right < 0xFFFF else { return nil }
            let key = UInt64(left) << 16 | UInt64(right)
            var i = MergeTable.slot(key, mask)
            return narrow.withUnsafeBufferPointer { s in
                while true {
                    let v = s[i]
                    if v >> 32 == key { return (Int32(v >> 16 & 0xFFFF), Int32(v & 0xFFFF)) }
                    if v == MergeTable.empty { return nil }
                    i = (i + 1) & mask
                }
            }
        }
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        var i = MergeTable.slot(key, mask)
        return wide.withUnsafeBufferPointer { s in
            while true {
                let k = s[i].key
                if k == key { return (s[i].rank, s[i].result) }
                if k == MergeTable.empty { return nil }
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
