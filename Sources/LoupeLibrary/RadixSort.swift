import LoupeLang

/// Stable least-significant-digit radix sort of 64-bit keys, for sorting numbers: linear time, and equal keys
/// keep their input order (the stability `sort` promises) without a comparison tie-break.
enum RadixSort {
    /// A key whose unsigned order is the order of `d` (ascending, or descending when asked). -0.0 maps to the
    /// same key as 0.0: they compare equal, so a stable sort keeps them in input order.
    @inline(__always)
    static func orderedBits(_ d: Double, descending: Bool) -> UInt64 {
        let bits = (d == 0 ? 0.0 : d).bitPattern
        // Positive: flip the sign bit (above every negative); negative: flip all bits (larger magnitude first).
        let up = bits & (1 << 63) == 0 ? bits | (1 << 63) : ~bits
        return descending ? ~up : up
    }

    /// Indices that sort `keys` ascending, stably. Keys move together with their indices, so each pass reads
    /// sequentially instead of chasing indices.
    static func stableOrder(_ keys: [UInt64]) -> [Int] {
        var k = keys
        var order = [Int](0..<keys.count)
        sort(&k, carrying: &order)
        return order
    }

    /// LSD radix sort of `keys` (11-bit digits: six passes at most; a pass whose digit is the same for every key
    /// is skipped, as the top digits of nearby numbers usually are). `payload`, when not empty, is permuted along.
    static func sort(_ keys: inout [UInt64], carrying payload: inout [Int]) {
        let n = keys.count
        guard n > 1 else { return }
        let carry = !payload.isEmpty
        var otherKeys = [UInt64](repeating: 0, count: n)
        var otherPayload = [Int](repeating: 0, count: carry ? n : 0)
        let bitsPerDigit = 11, buckets = 1 << bitsPerDigit, mask = UInt64(buckets - 1)
        var counts = [Int](repeating: 0, count: buckets)
        var shift: UInt64 = 0
        while shift < 64 {
            keys.withUnsafeBufferPointer { k in
                for b in 0..<buckets { counts[b] = 0 }
                for i in 0..<n { counts[Int((k[i] >> shift) & mask)] += 1 }
            }
            if counts[Int((keys[0] >> shift) & mask)] != n {
                // Exclusive prefix sums: where each bucket starts.
                var total = 0
                for b in 0..<buckets { let c = counts[b]; counts[b] = total; total += c }
                keys.withUnsafeBufferPointer { ks in
                    payload.withUnsafeBufferPointer { ps in
                        otherKeys.withUnsafeMutableBufferPointer { kd in
                            otherPayload.withUnsafeMutableBufferPointer { pd in
                                counts.withUnsafeMutableBufferPointer { c in
                                    // Hot loop: stable scatter by the current digit.
                                    for i in 0..<n {
                                        let b = Int((ks[i] >> shift) & mask)
                                        let at = c[b]
                                        kd[at] = ks[i]
                                        if carry { pd[at] = ps[i] }
                                        c[b] = at + 1
                                    }
                                }
                            }
                        }
                    }
                }
                swap(&keys, &otherKeys)
                if carry { swap(&payload, &otherPayload) }
            }
            shift += UInt64(bitsPerDigit)
        }
    }
}

extension RadixSort {
    /// Sorts a list that holds only ints, or only floats, by sorting their keys alone and decoding them back:
    /// sequential passes and no gather of the original values (which, for a large list, is a cache miss per
    /// element). Equal keys are then bit-identical values, so stability is preserved. Returns nil for lists
    /// this does not cover (mixed types, -0.0, which shares 0.0's key), leaving them to the index sort.
    static func sortedNumbers(_ items: [Value], reverse: Bool) -> [Value]? {
        guard let first = items.first else { return [] }
        if case .int = first {
            var keys = [UInt64](); keys.reserveCapacity(items.count)
            for v in items {
                guard case let .int(x) = v else { return nil }
                let up = UInt64(bitPattern: Int64(x)) ^ (1 << 63)
                keys.append(reverse ? ~up : up)
            }
            var none: [Int] = []
            sort(&keys, carrying: &none)
            return keys.map { k in .int(Int(Int64(bitPattern: (reverse ? ~k : k) ^ (1 << 63)))) }
        }
        var keys = [UInt64](); keys.reserveCapacity(items.count)
        var nans: [Value] = []
        for v in items {
            guard case let .float(d) = v, d.bitPattern != (1 << 63) else { return nil }
            if d.isNaN { nans.append(v); continue }
            keys.append(orderedBits(d, descending: reverse))
        }
        var none: [Int] = []
        sort(&keys, carrying: &none)
        var out = keys.map { k -> Value in
            let up = reverse ? ~k : k
            return .float(Double(bitPattern: up & (1 << 63) != 0 ? up ^ (1 << 63) : ~up))
        }
        out.append(contentsOf: nans)  // nan last in both directions, in input order
        return out
    }
}
