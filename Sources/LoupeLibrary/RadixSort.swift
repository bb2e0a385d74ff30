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
