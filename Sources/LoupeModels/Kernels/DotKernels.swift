// Decode kernels: the dot product of one quantized row with a float32 activation vector, dequantizing each block in
// registers (never in memory). Every kernel walks its row once, front to back, and keeps the per-weight work to a
// handful of AVX2 instructions per eight weights (on two cores the nibble formats are bound by this work, not by
// memory bandwidth):
//
//   vpmovzxbd (8 bytes -> 8 int lanes) or, for Q4_0 / Q4_1, one in-lane variable shift of broadcast words;
//   vpand (nibble); vcvtdq2ps (-> float); vfmadd231ps (with x)
//
// The block scale is applied once per block (or sub-block) instead of once per weight:
//     sum_j (d q_j + m) x_j  =  d * sum_j q_j x_j  +  m * sum_j x_j
// and `sum_j x_j` over each block of x is computed once per product (`xsum`, shared by all rows: per 32 values, per
// 16 for Q6_K), so offsets (Q4_1's m, Q4_0's -8, Q5_0's -16, Q6_K's -32, the K-quants' mins) cost one vector
// multiply-add per four blocks or per superblock. Integer-to-float conversions are exact (small integers); the
// results differ from the exact `BlockDecode` values only by float rounding (tests: relative 1e-5 of sum |w x|).
//
// Measured (one core, thread CPU time, a loaded machine): Q4_1 576 wide 3.3-3.9 ns per block from L2 (was 3.8-4.6),
// Q8_0 from DRAM 3.9 ns per block (~8.7 GB/s, what one core streams), Q4_K 26 ns per superblock (was 45), Q6_K 38
// (was 46-95).

/// Eight floats of x at element `i`.
@inline(__always)
func loadX(_ x: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
    UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
}

enum Dot {
    // Plain formats: four independent accumulators hide the FMA latency.

    @inline(__always)
    static func f32(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let w = w.assumingMemoryBound(to: Float.self)
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            a0.addProduct(loadX(w, i), loadX(x, i))
            a1.addProduct(loadX(w, i + 8), loadX(x, i + 8))
            a2.addProduct(loadX(w, i + 16), loadX(x, i + 16))
            a3.addProduct(loadX(w, i + 24), loadX(x, i + 24))
            i += 32
        }
        while i + 8 <= n { a0.addProduct(loadX(w, i), loadX(x, i)); i += 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { s += w[i] * x[i]; i += 1 }
        return s
    }

    @inline(__always)
    static func f16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        @inline(__always) func h(_ i: Int) -> SIMD8<Float> {
            toFloat(w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self))  // vcvtph2ps
        }
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            a0.addProduct(h(i), loadX(x, i))
            a1.addProduct(h(i + 8), loadX(x, i + 8))
            a2.addProduct(h(i + 16), loadX(x, i + 16))
            a3.addProduct(h(i + 24), loadX(x, i + 24))
            i += 32
        }
        while i + 8 <= n { a0.addProduct(h(i), loadX(x, i)); i += 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n { s += loadHalf(w, 2 * i) * x[i]; i += 1 }
        return s
    }

    @inline(__always)
    static func bf16(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        @inline(__always) func h(_ i: Int) -> SIMD8<Float> {  // bf16 is the top half of a float32
            let u = widen(w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self))
            return unsafeBitCast(u &<< 16, to: SIMD8<Float>.self)
        }
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var i = 0
        while i + 32 <= n {
            a0.addProduct(h(i), loadX(x, i))
            a1.addProduct(h(i + 8), loadX(x, i + 8))
            a2.addProduct(h(i + 16), loadX(x, i + 16))
            a3.addProduct(h(i + 24), loadX(x, i + 24))
            i += 32
        }
        while i + 8 <= n { a0.addProduct(h(i), loadX(x, i)); i += 8 }
        var s = ((a0 + a1) + (a2 + a3)).sum()
        while i < n {
            s += Float(bitPattern: UInt32(w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) * x[i]
            i += 1
        }
        return s
    }

    // 256-value K-quant superblocks: eight 32-value sub-blocks, each with its own 6-bit scale and min. The 12 packed
    // scale bytes are unpacked with 32-bit masks (as ggml's kmask trick) into eight scales and eight mins, converted
    // as vectors, so a superblock costs one vector multiply per scale set instead of sixteen scalar unpackings; the
    // mins meet the eight per-sub-block sums of x in one vector multiply-add.

    @inline(__always)
    static func q4_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), off = SIMD8<Float>()
        for b in 0..<blocks {
            let p = w + 144 * b, xb = x + 256 * b
            let (sc, mn) = scalesMinsK4(p + 4)
            let ds = sc * SIMD8(repeating: loadHalf(p))
            off.addProduct(mn * SIMD8(repeating: loadHalf(p, 2)), loadX(xsum, 8 * b))
            let qs = p + 16
            for c in 0..<4 {
                // 32 bytes: low nibbles are sub-block 2c (x[64c ..< 64c+32]), high nibbles sub-block 2c + 1.
                let q = qs + 32 * c, xc = xb + 64 * c
                let b0 = loadBytes8(q, 0), b1 = loadBytes8(q, 8), b2 = loadBytes8(q, 16), b3 = loadBytes8(q, 24)
                var s = toFloat(b0 & 0x0F) * loadX(xc, 0)
                var t = toFloat(b0 &>> 4) * loadX(xc, 32)
                s.addProduct(toFloat(b1 & 0x0F), loadX(xc, 8))
                t.addProduct(toFloat(b1 &>> 4), loadX(xc, 40))
                s.addProduct(toFloat(b2 & 0x0F), loadX(xc, 16))
                t.addProduct(toFloat(b2 &>> 4), loadX(xc, 48))
                s.addProduct(toFloat(b3 & 0x0F), loadX(xc, 24))
                t.addProduct(toFloat(b3 &>> 4), loadX(xc, 56))
                acc0.addProduct(s, SIMD8(repeating: ds[2 * c]))
                acc1.addProduct(t, SIMD8(repeating: ds[2 * c + 1]))
            }
        }
        return hsum(acc0 + acc1) - hsum(off)
    }

    @inline(__always)
    static func q5_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), off = SIMD8<Float>()
        for b in 0..<blocks {
            let p = w + 176 * b, xb = x + 256 * b
            let (sc, mn) = scalesMinsK4(p + 4)
            let ds = sc * SIMD8(repeating: loadHalf(p))
            off.addProduct(mn * SIMD8(repeating: loadHalf(p, 2)), loadX(xsum, 8 * b))
            let qh = p + 16, qs = p + 48
            for c in 0..<4 {
                let q = qs + 32 * c, xc = xb + 64 * c
                let sl = UInt32(2 * c), sh = UInt32(2 * c + 1)
                var s = SIMD8<Float>(), t = SIMD8<Float>()
                for g in 0..<4 {
                    let v = loadBytes8(q, 8 * g), h = loadBytes8(qh, 8 * g)
                    s.addProduct(toFloat((v & 0x0F) | (((h &>> sl) & 1) &<< 4)), loadX(xc, 8 * g))
                    t.addProduct(toFloat((v &>> 4) | (((h &>> sh) & 1) &<< 4)), loadX(xc, 32 + 8 * g))
                }
                acc0.addProduct(s, SIMD8(repeating: ds[2 * c]))
                acc1.addProduct(t, SIMD8(repeating: ds[2 * c + 1]))
            }
        }
        return hsum(acc0 + acc1) - hsum(off)
    }

    /// Q6_K. The quants are stored as q + 32 (0..63): the kernel multiplies the unsigned values and takes the 32
    /// back out per 16-value group with the group sums of x (`xsum16`), one vector multiply-add per superblock.
    @inline(__always)
    static func q6_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum16: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        var off = SIMD8<Float>()
        for b in 0..<blocks {
            let p = w + 210 * b, xb = x + 256 * b
            let d = SIMD8<Float>(repeating: loadHalf(p, 208))
            // Scales 0..7 cover values 0..127 in groups of 16, scales 8..15 values 128..255.
            let dsLo = toFloat(loadSignedBytes8(p, 192)) * d, dsHi = toFloat(loadSignedBytes8(p, 200)) * d
            off.addProduct(dsLo, loadX(xsum16, 16 * b))
            off.addProduct(dsHi, loadX(xsum16, 16 * b + 8))
            for half in 0..<2 {
                let ql = p + 64 * half, qh = p + 128 + 32 * half, xh = xb + 128 * half
                let ds = half == 0 ? dsLo : dsHi
                for pair in 0..<2 {  // 16 values per scale: two 8-lane groups share one
                    var u1 = SIMD8<Float>(), u2 = SIMD8<Float>(), u3 = SIMD8<Float>(), u4 = SIMD8<Float>()
                    for k in 0..<2 {
                        let g = 2 * pair + k
                        let a = loadBytes8(ql, 8 * g), bb = loadBytes8(ql, 32 + 8 * g), h = loadBytes8(qh, 8 * g)
                        let q1 = (a & 0x0F) | ((h &<< 4) & 0x30)
                        let q2 = (bb & 0x0F) | ((h &<< 2) & 0x30)
                        let q3 = (a &>> 4) | (h & 0x30)
                        let q4 = (bb &>> 4) | ((h &>> 2) & 0x30)
                        u1.addProduct(toFloat(q1), loadX(xh, 8 * g))
                        u2.addProduct(toFloat(q2), loadX(xh, 32 + 8 * g))
                        u3.addProduct(toFloat(q3), loadX(xh, 64 + 8 * g))
                        u4.addProduct(toFloat(q4), loadX(xh, 96 + 8 * g))
                    }
                    acc0.addProduct(u1, SIMD8(repeating: ds[pair]))
                    acc1.addProduct(u2, SIMD8(repeating: ds[pair + 2]))
                    acc2.addProduct(u3, SIMD8(repeating: ds[pair + 4]))
                    acc3.addProduct(u4, SIMD8(repeating: ds[pair + 6]))
                }
            }
        }
        return hsum((acc0 + acc1) + (acc2 + acc3)) - 32 * hsum(off)
    }
}

/// Sum of eight lanes as a tree (three dependent adds instead of `sum()`'s seven).
@inline(__always)
func hsum(_ v: SIMD8<Float>) -> Float {
    let q = v.lowHalf + v.highHalf
    let h = q.lowHalf + q.highHalf
    return h[0] + h[1]
}

/// The eight 6-bit scales and eight 6-bit mins of a Q4_K / Q5_K superblock (the 12 bytes at `p`), as floats
/// (ggml's get_scale_min_k4 for j = 0..<8, done on 32-bit words).
@inline(__always)
func scalesMinsK4(_ p: UnsafeRawPointer) -> (scales: SIMD8<Float>, mins: SIMD8<Float>) {
    let a = p.loadUnaligned(as: UInt32.self), b = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
    let c = p.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
    let scLo = a & 0x3F3F_3F3F, mnLo = b & 0x3F3F_3F3F
    let scHi = (c & 0x0F0F_0F0F) | (((a >> 6) & 0x0303_0303) << 4)
    let mnHi = ((c >> 4) & 0x0F0F_0F0F) | (((b >> 6) & 0x0303_0303) << 4)
    let sc = unsafeBitCast(SIMD2<UInt32>(scLo, scHi), to: SIMD8<UInt8>.self)
    let mn = unsafeBitCast(SIMD2<UInt32>(mnLo, mnHi), to: SIMD8<UInt8>.self)
    return (toFloat(widen(sc)), toFloat(widen(mn)))
}

/// The two half-precision words at `p + offset` of four records `stride` bytes apart (four block headers) as
/// floats: lanes 2k and 2k + 1 are the halves at `offset` and `offset + 2` of record k (one vcvtph2ps for four).
@inline(__always)
func halves4(_ p: UnsafeRawPointer, _ stride: Int, _ offset: Int) -> SIMD8<Float> {
    let v = SIMD4<UInt32>(p.loadUnaligned(fromByteOffset: offset, as: UInt32.self),
                          p.loadUnaligned(fromByteOffset: stride + offset, as: UInt32.self),
                          p.loadUnaligned(fromByteOffset: 2 * stride + offset, as: UInt32.self),
                          p.loadUnaligned(fromByteOffset: 3 * stride + offset, as: UInt32.self))
    return toFloat(unsafeBitCast(v, to: SIMD8<Float16>.self))
}

// The 32-value block formats: one row, four blocks per pass. The four block headers (d, and m where the format has
// one) are converted by one vcvtph2ps, and their offsets advance by one vector multiply-add; each of the four blocks
// has its own accumulator, so four dependency chains run side by side. Rows are walked one at a time, front to
// back: a variant that shared x between four interleaved rows was faster from L2 but 2.3x slower from DRAM (the
// prefetchers stream one sequential row best), and decode reads its weights from DRAM.
extension Dot {
    /// sum_j nibble_j x_j over one block's 16 packed bytes at `q`, with x in lane order (`laneOrder`).
    ///
    /// The 16 bytes are broadcast to both halves of a vector of eight 32-bit words (word j holds bytes 4j ..< 4j+4;
    /// byte i carries value i in its low nibble and value i + 16 in its high one). Shifting every word right by
    /// 8k (lower half) or 8k + 4 (upper half) and masking leaves values k, 4 + k, 8 + k, 12 + k, 16 + k, ..., 28 + k
    /// in the eight lanes: each group of eight costs one in-lane variable shift, one mask, one conversion and one
    /// multiply-add. The byte-to-lane widenings this replaces (vpmovzxbd) cross the vector's halves and were the
    /// kernel's bottleneck: one core, Q4_1 576 wide, 2.96 ns per block from L2 against 3.30.
    @inline(__always)
    static func nibbles(_ q: UnsafeRawPointer, _ xl: UnsafePointer<Float>) -> SIMD8<Float> {
        let words = q.loadUnaligned(as: SIMD4<UInt32>.self)
        let v = SIMD8<UInt32>(lowHalf: words, highHalf: words)
        let mask = SIMD8<UInt32>(repeating: 0x0F)
        var s = toFloat((v &>> SIMD8<UInt32>(0, 0, 0, 0, 4, 4, 4, 4)) & mask) * loadX(xl, 0)
        s.addProduct(toFloat((v &>> SIMD8<UInt32>(8, 8, 8, 8, 12, 12, 12, 12)) & mask), loadX(xl, 8))
        s.addProduct(toFloat((v &>> SIMD8<UInt32>(16, 16, 16, 16, 20, 20, 20, 20)) & mask), loadX(xl, 16))
        s.addProduct(toFloat((v &>> SIMD8<UInt32>(24, 24, 24, 24, 28, 28, 28, 28)) & mask), loadX(xl, 24))
        return s
    }

    /// The value index that lane `lane` of group `k` of `nibbles` holds, within its block of 32.
    @inline(__always)
    static func laneValue(group k: Int, lane: Int) -> Int { lane < 4 ? 4 * lane + k : 4 * (lane - 4) + k + 16 }

    /// x in the order `nibbles` consumes it: out[32 b + 8 k + lane] = x[32 b + laneValue(k, lane)]. Once per
    /// product, shared by every row.
    static func laneOrder(_ x: UnsafePointer<Float>, _ blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let xb = x + 32 * b, ob = out + 32 * b
            for k in 0..<4 {
                for lane in 0..<8 { ob[8 * k + lane] = xb[laneValue(group: k, lane: lane)] }
            }
        }
    }

    /// As `nibbles`, with the fifth bits of Q5_0 / Q5_1 from the 32-bit `qh` (bit j is value j's fifth bit).
    @inline(__always)
    static func nibbles5(_ q: UnsafeRawPointer, _ qh: UInt32, _ x: UnsafePointer<Float>) -> SIMD8<Float> {
        // Bit j of qh moved to bit j + 4 (j < 16) or j - 12 (j >= 16) once, then each lane shifts right by its own
        // offset: bit 4 is value j's bit.
        let lo = SIMD8<UInt32>(repeating: qh &<< 4), hi = SIMD8<UInt32>(repeating: qh &>> 12)
        let f0 = (lo &>> SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)) & 0x10
        let f1 = (lo &>> SIMD8<UInt32>(8, 9, 10, 11, 12, 13, 14, 15)) & 0x10
        let f2 = (hi &>> SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)) & 0x10
        let f3 = (hi &>> SIMD8<UInt32>(8, 9, 10, 11, 12, 13, 14, 15)) & 0x10
        let b0 = loadBytes8(q, 0), b1 = loadBytes8(q, 8)
        var s = toFloat((b0 & 0x0F) | f0) * loadX(x, 0)
        s.addProduct(toFloat((b1 & 0x0F) | f1), loadX(x, 8))
        s.addProduct(toFloat((b0 &>> 4) | f2), loadX(x, 16))
        s.addProduct(toFloat((b1 &>> 4) | f3), loadX(x, 24))
        return s
    }

    @inline(__always)
    static func q8(_ q: UnsafeRawPointer, _ x: UnsafePointer<Float>) -> SIMD8<Float> {
        var s = toFloat(loadSignedBytes8(q, 0)) * loadX(x, 0)
        s.addProduct(toFloat(loadSignedBytes8(q, 8)), loadX(x, 8))
        s.addProduct(toFloat(loadSignedBytes8(q, 16)), loadX(x, 16))
        s.addProduct(toFloat(loadSignedBytes8(q, 24)), loadX(x, 24))
        return s
    }

    @inline(__always)
    static func q8_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ blocks: Int) -> Float {
        // Each block's d is read on its own (one vpinsrw and vcvtph2ps): gathering four blocks' d with `halves4`
        // overlapped the first quants' load, which LLVM then rebuilt from the gathered words with five shuffles.
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>()
        var b = 0
        while b + 2 <= blocks {
            let p = w + 34 * b, xb = x + 32 * b
            a0.addProduct(q8(p + 2, xb), SIMD8(repeating: loadHalf(p)))
            a1.addProduct(q8(p + 36, xb + 32), SIMD8(repeating: loadHalf(p, 34)))
            b += 2
        }
        if b < blocks { a0.addProduct(q8(w + 34 * b + 2, x + 32 * b), SIMD8(repeating: loadHalf(w + 34 * b))) }
        return hsum(a0 + a1)
    }

    /// The shared loop of the nibble formats: `bytes` per block, header halves at 0 (d, and m for the _1 formats),
    /// quants at `quants`, the fifth bits (Q5) as a 32-bit word at `fifthAt`. Without fifth bits, `x` must be in
    /// lane order (`nibbles`). Returns sum_b d_b (sum q x) and the header lanes dotted with the block sums of x
    /// (lanes 2k: sum d xsum, lanes 2k + 1: sum m xsum, summed over k by the caller).
    @inline(__always)
    static func nibbleRow(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                          _ blocks: Int, bytes: Int, quants: Int, fifthAt: Int?) -> (Float, SIMD8<Float>) {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var off = SIMD8<Float>()
        @inline(__always) func block(_ p: UnsafeRawPointer, _ xb: UnsafePointer<Float>) -> SIMD8<Float> {
            if let f = fifthAt {
                return nibbles5(p + quants, p.loadUnaligned(fromByteOffset: f, as: UInt32.self), xb)
            }
            return nibbles(p + quants, xb)
        }
        var b = 0
        while b + 4 <= blocks {
            let p = w + bytes * b, xb = x + 32 * b
            let h = halves4(p, bytes, 0)
            let xs = UnsafeRawPointer(xsum + b).loadUnaligned(as: SIMD4<Float>.self)
            off.addProduct(h, SIMD8(xs[0], xs[0], xs[1], xs[1], xs[2], xs[2], xs[3], xs[3]))
            a0.addProduct(block(p, xb), SIMD8(repeating: h[0]))
            a1.addProduct(block(p + bytes, xb + 32), SIMD8(repeating: h[2]))
            a2.addProduct(block(p + 2 * bytes, xb + 64), SIMD8(repeating: h[4]))
            a3.addProduct(block(p + 3 * bytes, xb + 96), SIMD8(repeating: h[6]))
            b += 4
        }
        while b < blocks {
            let p = w + bytes * b
            let h = SIMD8<Float>(loadHalf(p), loadHalf(p, 2), 0, 0, 0, 0, 0, 0)
            off.addProduct(h, SIMD8(repeating: xsum[b]))
            a0.addProduct(block(p, x + 32 * b), SIMD8(repeating: h[0]))
            b += 1
        }
        return (hsum((a0 + a1) + (a2 + a3)), off)
    }

    /// Sum of lanes 0, 2, 4, 6 (the d lanes of `halves4`) and of lanes 1, 3, 5, 7 (the m lanes).
    @inline(__always) static func dLanes(_ v: SIMD8<Float>) -> Float { (v[0] + v[2]) + (v[4] + v[6]) }
    @inline(__always) static func mLanes(_ v: SIMD8<Float>) -> Float { (v[1] + v[3]) + (v[5] + v[7]) }

    /// Q4_0 and Q4_1 read x in lane order (`laneOrder`); the block sums are order-free.
    @inline(__always)
    static func q4_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        // sum d (q - 8) x = d * sum q x - 8 * sum d xsum
        let (s, off) = nibbleRow(w, x, xsum, blocks, bytes: 18, quants: 2, fifthAt: nil)
        return s - 8 * dLanes(off)
    }

    @inline(__always)
    static func q4_1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        // sum (d q + m) x = d * sum q x + sum m xsum
        let (s, off) = nibbleRow(w, x, xsum, blocks, bytes: 20, quants: 4, fifthAt: nil)
        return s + mLanes(off)
    }

    @inline(__always)
    static func q5_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        let (s, off) = nibbleRow(w, x, xsum, blocks, bytes: 22, quants: 6, fifthAt: 2)
        return s - 16 * dLanes(off)
    }

    @inline(__always)
    static func q5_1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        let (s, off) = nibbleRow(w, x, xsum, blocks, bytes: 24, quants: 8, fifthAt: 4)
        return s + mLanes(off)
    }
}
