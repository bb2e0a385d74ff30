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

    /// Indices that sort `keys` ascending, stably. 11-bit digits: six passes at most, and a pass whose digit is
    /// the same for every key is skipped (the top digits of nearby numbers usually are). Keys move together with
    /// their indices, so each pass reads sequentially instead of chasing indices.
    static func stableOrder(_ keys: [UInt64]) -> [Int] {
        let n = keys.count
        guard n > 1 else { return Array(0..<n) }
        var keyA = keys, keyB = [UInt64](repeating: 0, count: n)
        var idxA = [Int](0..<n), idxB = [Int](repeating: 0, count: n)
        let bitsPerDigit = 11, buckets = 1 << bitsPerDigit, mask = UInt64(buckets - 1)
        var counts = [Int](repeating: 0, count: buckets)
        var shift: UInt64 = 0
        while shift < 64 {
            keyA.withUnsafeBufferPointer { k in
                for b in 0..<buckets { counts[b] = 0 }
                for i in 0..<n { counts[Int((k[i] >> shift) & mask)] += 1 }
            }
            if counts[Int((keyA[0] >> shift) & mask)] != n {
                // Exclusive prefix sums: where each bucket starts.
                var total = 0
                for b in 0..<buckets { let c = counts[b]; counts[b] = total; total += c }
                // Hot loop: scatter in current order, so equal digits keep the order of earlier passes.
                keyA.withUnsafeBufferPointer { ks in
                    idxA.withUnsafeBufferPointer { xs in
                        keyB.withUnsafeMutableBufferPointer { kd in
                            idxB.withUnsafeMutableBufferPointer { xd in
                                counts.withUnsafeMutableBufferPointer { c in
                                    for i in 0..<n {
                                        let b = Int((ks[i] >> shift) & mask)
                                        let at = c[b]
                                        kd[at] = ks[i]; xd[at] = xs[i]
                                        c[b] = at + 1
                                    }
                                }
                            }
                        }
                    }
                }
                swap(&keyA, &keyB)
                swap(&idxA, &idxB)
            }
            shift += UInt64(bitsPerDigit)
        }
        return idxA
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
            sortKeys(&keys)
            return keys.map { k in .int(Int(Int64(bitPattern: (reverse ? ~k : k) ^ (1 << 63)))) }
        }
        var keys = [UInt64](); keys.reserveCapacity(items.count)
        var nans: [Value] = []
        for v in items {
            guard case let .float(d) = v, d.bitPattern != (1 << 63) else { return nil }
            if d.isNaN { nans.append(v); continue }
            keys.append(orderedBits(d, descending: reverse))
        }
        sortKeys(&keys)
        var out = keys.map { k -> Value in
            let up = reverse ? ~k : k
            return .float(Double(bitPattern: up & (1 << 63) != 0 ? up ^ (1 << 63) : ~up))
        }
        out.append(contentsOf: nans)  // nan last in both directions, in input order
        return out
    }

    /// LSD radix sort of the keys themselves (11-bit digits, uniform digits skipped).
    static func sortKeys(_ keys: inout [UInt64]) {
        let n = keys.count
        guard n > 1 else { return }
        var other = [UInt64](repeating: 0, count: n)
        let bitsPerDigit = 11, buckets = 1 << bitsPerDigit, mask = UInt64(buckets - 1)
        var counts = [Int](repeating: 0, count: buckets)
        var shift: UInt64 = 0
        while shift < 64 {
            keys.withUnsafeBufferPointer { k in
                for b in 0..<buckets { counts[b] = 0 }
                for i in 0..<n { counts[Int((k[i] >> shift) & mask)] += 1 }
            }
            if counts[Int((keys[0] >> shift) & mask)] != n {
                var total = 0
                for b in 0..<buckets { let c = counts[b]; counts[b] = total; total += c }
                keys.withUnsafeBufferPointer { src in
                    other.withUnsafeMutableBufferPointer { dst in
                        counts.withUnsafeMutableBufferPointer { c in
                            // Hot loop: stable scatter by the current digit.
                            for i in 0..<n {
                                let b = Int((src[i] >> shift) & mask)
                                dst[c[b]] = src[i]
                                c[b] += 1
                            }
                        }
                    }
                }
                swap(&keys, &other)
            }
            shift += UInt64(bitsPerDigit)
        }
    }
}
