// Decode kernels: the dot product of one quantized row with a float32 activation vector, dequantizing each block in
// registers (never in memory). Decode is bound by memory bandwidth, so every kernel walks its row once, front to
// back, and keeps the per-weight work to a handful of AVX2 instructions:
//
//   vpmovzxbd (8 bytes -> 8 int lanes), vpand / vpsrld (nibble), vcvtdq2ps (-> float), vfmadd231ps (with x)
//
// The block scale is applied once per block (or sub-block) instead of once per weight:
//     sum_j (d q_j + m) x_j  =  d * sum_j q_j x_j  +  m * sum_j x_j
// and `sum_j x_j` over each 32-value block of x is computed once per product (`xsum`, shared by all rows), so offsets
// (Q4_1's m, Q4_0's -8, the K-quants' mins) cost one scalar multiply-add per block. The results differ from the
// exact `BlockDecode` values only by float rounding (tests: relative 1e-5 of sum |w x|).

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
            SIMD8<Float>(w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self))  // vcvtph2ps
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
            let u = SIMD8<UInt32>(truncatingIfNeeded: w.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self))
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

    // 32-value block formats. Per block: s = sum q x over the low/high halves, then acc += d * s.

    @inline(__always)
    static func q8_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        for b in 0..<blocks {
            let p = w + 34 * b, xb = x + 32 * b
            // Hot loop: 4 x (vpmovsxbd, vcvtdq2ps, vfmadd) per 32 weights, two chains, then one scaled add.
            var s = toFloat(loadSignedBytes8(p, 2)) * loadX(xb, 0)
            var t = toFloat(loadSignedBytes8(p, 10)) * loadX(xb, 8)
            s.addProduct(toFloat(loadSignedBytes8(p, 18)), loadX(xb, 16))
            t.addProduct(toFloat(loadSignedBytes8(p, 26)), loadX(xb, 24))
            let d = SIMD8<Float>(repeating: loadHalf(p))
            acc0.addProduct(s, d)
            acc1.addProduct(t, d)
        }
        return (acc0 + acc1).sum()
    }

    /// The unscaled dot of 16 packed nibble bytes at `q` with x[0..<32] (low nibbles -> x[0..<16], high -> x[16..<32]),
    /// as two partial vectors. `fifth` adds Q5's fifth bits (zero for Q4).
    @inline(__always)
    static func nibbleDot(_ q: UnsafeRawPointer, _ x: UnsafePointer<Float>, fifth qh: UInt32?)
        -> (SIMD8<Float>, SIMD8<Float>) {
        let b0 = loadBytes8(q, 0), b1 = loadBytes8(q, 8)
        var l0 = b0 & 0x0F, l1 = b1 & 0x0F, h0 = b0 &>> 4, h1 = b1 &>> 4
        if let qh {
            l0 |= fifthBits(qh, first: 0); l1 |= fifthBits(qh, first: 8)
            h0 |= fifthBits(qh, first: 16); h1 |= fifthBits(qh, first: 24)
        }
        var s = toFloat(l0) * loadX(x, 0)
        var t = toFloat(h0) * loadX(x, 16)
        s.addProduct(toFloat(l1), loadX(x, 8))
        t.addProduct(toFloat(h1), loadX(x, 24))
        return (s, t)
    }

    @inline(__always)
    static func q4_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var off: Float = 0
        for b in 0..<blocks {
            let p = w + 18 * b
            // sum d (q - 8) x = d * sum q x - 8 d * sum x
            let (s, t) = nibbleDot(p + 2, x + 32 * b, fifth: nil)
            let d = loadHalf(p)
            acc0.addProduct(s, SIMD8(repeating: d))
            acc1.addProduct(t, SIMD8(repeating: d))
            off += d * xsum[b]
        }
        return (acc0 + acc1).sum() - 8 * off
    }

    @inline(__always)
    static func q4_1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var off: Float = 0
        for b in 0..<blocks {
            let p = w + 20 * b
            // sum (d q + m) x = d * sum q x + m * sum x
            let (s, t) = nibbleDot(p + 4, x + 32 * b, fifth: nil)
            let d = SIMD8<Float>(repeating: loadHalf(p))
            acc0.addProduct(s, d)
            acc1.addProduct(t, d)
            off += loadHalf(p, 2) * xsum[b]
        }
        return (acc0 + acc1).sum() + off
    }

    @inline(__always)
    static func q5_0(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var off: Float = 0
        for b in 0..<blocks {
            let p = w + 22 * b
            let (s, t) = nibbleDot(p + 6, x + 32 * b, fifth: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let d = loadHalf(p)
            acc0.addProduct(s, SIMD8(repeating: d))
            acc1.addProduct(t, SIMD8(repeating: d))
            off += d * xsum[b]
        }
        return (acc0 + acc1).sum() - 16 * off
    }

    @inline(__always)
    static func q5_1(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var off: Float = 0
        for b in 0..<blocks {
            let p = w + 24 * b
            let (s, t) = nibbleDot(p + 8, x + 32 * b, fifth: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let d = SIMD8<Float>(repeating: loadHalf(p))
            acc0.addProduct(s, d)
            acc1.addProduct(t, d)
            off += loadHalf(p, 2) * xsum[b]
        }
        return (acc0 + acc1).sum() + off
    }

    // 256-value K-quant superblocks: eight 32-value sub-blocks, each with its own 6-bit scale and min.

    @inline(__always)
    static func q4_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var off: Float = 0
        for b in 0..<blocks {
            let p = w + 144 * b, xb = x + 256 * b, xs = xsum + 8 * b
            let d = loadHalf(p), dmin = loadHalf(p, 2)
            let scales = p + 4, qs = p + 16
            var mins: Float = 0
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
                let (s0, m0) = scaleMinK4(scales, 2 * c), (s1, m1) = scaleMinK4(scales, 2 * c + 1)
                acc0.addProduct(s, SIMD8(repeating: d * Float(s0)))
                acc1.addProduct(t, SIMD8(repeating: d * Float(s1)))
                mins += Float(m0) * xs[2 * c] + Float(m1) * xs[2 * c + 1]
            }
            off += dmin * mins
        }
        return (acc0 + acc1).sum() - off
    }

    @inline(__always)
    static func q5_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ xsum: UnsafePointer<Float>,
                     _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var off: Float = 0
        for b in 0..<blocks {
            let p = w + 176 * b, xb = x + 256 * b, xs = xsum + 8 * b
            let d = loadHalf(p), dmin = loadHalf(p, 2)
            let scales = p + 4, qh = p + 16, qs = p + 48
            var mins: Float = 0
            for c in 0..<4 {
                let q = qs + 32 * c, xc = xb + 64 * c
                let sl = UInt32(2 * c), sh = UInt32(2 * c + 1)
                var s = SIMD8<Float>(), t = SIMD8<Float>()
                for g in 0..<4 {
                    let v = loadBytes8(q, 8 * g), h = loadBytes8(qh, 8 * g)
                    s.addProduct(toFloat((v & 0x0F) | (((h &>> sl) & 1) &<< 4)), loadX(xc, 8 * g))
                    t.addProduct(toFloat((v &>> 4) | (((h &>> sh) & 1) &<< 4)), loadX(xc, 32 + 8 * g))
                }
                let (s0, m0) = scaleMinK4(scales, 2 * c), (s1, m1) = scaleMinK4(scales, 2 * c + 1)
                acc0.addProduct(s, SIMD8(repeating: d * Float(s0)))
                acc1.addProduct(t, SIMD8(repeating: d * Float(s1)))
                mins += Float(m0) * xs[2 * c] + Float(m1) * xs[2 * c + 1]
            }
            off += dmin * mins
        }
        return (acc0 + acc1).sum() - off
    }

    @inline(__always)
    static func q6_K(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ blocks: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>(), acc2 = SIMD8<Float>(), acc3 = SIMD8<Float>()
        for b in 0..<blocks {
            let p = w + 210 * b, xb = x + 256 * b
            let d = loadHalf(p, 208)
            let sc = (p + 192).assumingMemoryBound(to: Int8.self)
            for half in 0..<2 {
                let ql = p + 64 * half, qh = p + 128 + 32 * half, s = sc + 8 * half, xh = xb + 128 * half
                for pair in 0..<2 {  // 16 values per scale: two 8-lane groups share one
                    var u1 = SIMD8<Float>(), u2 = SIMD8<Float>(), u3 = SIMD8<Float>(), u4 = SIMD8<Float>()
                    for k in 0..<2 {
                        let g = 2 * pair + k
                        let a = loadBytes8(ql, 8 * g), bb = loadBytes8(ql, 32 + 8 * g), h = loadBytes8(qh, 8 * g)
                        // Six-bit quants minus 32, as exact small integers, then one convert and FMA each.
                        let q1 = SIMD8<Int32>(truncatingIfNeeded: (a & 0x0F) | ((h & 3) &<< 4)) &- 32
                        let q2 = SIMD8<Int32>(truncatingIfNeeded: (bb & 0x0F) | (((h &>> 2) & 3) &<< 4)) &- 32
                        let q3 = SIMD8<Int32>(truncatingIfNeeded: (a &>> 4) | (((h &>> 4) & 3) &<< 4)) &- 32
                        let q4 = SIMD8<Int32>(truncatingIfNeeded: (bb &>> 4) | (((h &>> 6) & 3) &<< 4)) &- 32
                        u1.addProduct(toFloat(q1), loadX(xh, 8 * g))
                        u2.addProduct(toFloat(q2), loadX(xh, 32 + 8 * g))
                        u3.addProduct(toFloat(q3), loadX(xh, 64 + 8 * g))
                        u4.addProduct(toFloat(q4), loadX(xh, 96 + 8 * g))
                    }
                    acc0.addProduct(u1, SIMD8(repeating: d * Float(s[pair])))
                    acc1.addProduct(u2, SIMD8(repeating: d * Float(s[pair + 2])))
                    acc2.addProduct(u3, SIMD8(repeating: d * Float(s[pair + 4])))
                    acc3.addProduct(u4, SIMD8(repeating: d * Float(s[pair + 6])))
                }
            }
        }
        return ((acc0 + acc1) + (acc2 + acc3)).sum()
    }
}
