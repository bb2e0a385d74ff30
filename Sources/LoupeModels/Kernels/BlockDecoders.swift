// Exact block decoders: one quantized block in, its float32 values out, computed with the same float operations in
// the same order as PyPI gguf's `dequantize` (and ggml's reference C), so `WeightMatrix.row` and `dequantized()` are
// bit-exact against it. Used for embedding rows, full dequantization, and the float32 rows that prefill products multiply.
//
// The layouts (ggml-common.h), per block:
//   Q8_0  (32 values, 34 bytes):  f16 d, int8 q[32]                      w = q * d
//   Q4_0  (32, 18):  f16 d, u8 qs[16]                                    w = d * (nibble - 8)
//   Q4_1  (32, 20):  f16 d, f16 m, u8 qs[16]                             w = d * nibble + m
//   Q5_0  (32, 22):  f16 d, u32 qh, u8 qs[16]                            w = d * ((nibble | bit << 4) - 16)
//   Q5_1  (32, 24):  f16 d, f16 m, u32 qh, u8 qs[16]                     w = d * (nibble | bit << 4) + m
// In the 32-value formats, value j < 16 is the low nibble of qs[j] and value j + 16 its high nibble; bit j of qh is
// value j's fifth bit.
//   Q4_K (256, 144): f16 d, f16 dmin, u8 scales[12] (8 six-bit scales and mins), u8 qs[128]
//   Q5_K (256, 176): as Q4_K plus u8 qh[32] before qs            w = (d * sc) * q - (dmin * m) per 32 values
//   Q6_K (256, 210): u8 ql[128], u8 qh[64], i8 scales[16], f16 d        w = (d * sc) * (q - 32) per 16 values
//
// Swift does not contract `a * b + c` into a fused multiply-add, so each product and sum here rounds as numpy's does.

/// Reads a little-endian IEEE half at `p + offset` as a Float (one vcvtph2ps with -target-cpu haswell).
@inline(__always)
func loadHalf(_ p: UnsafeRawPointer, _ offset: Int = 0) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

// Lane conversions, written out instead of calling the standard library's generic SIMD initializers
// (`SIMD8<UInt32>(truncatingIfNeeded:)`, `SIMD8<Float>(_:)`). Those are specialized once per module, into whichever
// source file first needs them, and since each file is its own LLVM module, calls from the other files stay calls:
// a call, a split of the vector into two halves and a vzeroupper per eight weights in the hot loops (measured: the
// Q8_0 head product of a Gemma-3 prefill took twice as long once the specializations moved to another file).
// Forced inlining puts each loop in its caller, where LLVM turns it into the one instruction named.

/// Zero-extends 8-bit lanes to 32 bits (vpmovzxbd).
@inline(__always)
func widen(_ v: SIMD8<UInt8>) -> SIMD8<UInt32> {
    var r = SIMD8<UInt32>()
    for i in 0..<8 { r[i] = UInt32(v[i]) }
    return r
}

/// Sign-extends 8-bit lanes to 32 bits (vpmovsxbd).
@inline(__always)
func widen(_ v: SIMD8<Int8>) -> SIMD8<Int32> {
    var r = SIMD8<Int32>()
    for i in 0..<8 { r[i] = Int32(v[i]) }
    return r
}

/// Zero-extends 16-bit lanes to 32 bits (vpmovzxwd).
@inline(__always)
func widen(_ v: SIMD8<UInt16>) -> SIMD8<UInt32> {
    var r = SIMD8<UInt32>()
    for i in 0..<8 { r[i] = UInt32(v[i]) }
    return r
}

/// Half-precision lanes to floats, exactly (vcvtph2ps).
@inline(__always)
func toFloat(_ v: SIMD8<Float16>) -> SIMD8<Float> {
    var r = SIMD8<Float>()
    for i in 0..<8 { r[i] = Float(v[i]) }
    return r
}

/// Eight bytes at `p + offset`, zero-extended to 32-bit lanes (one vpmovzxbd).
@inline(__always)
func loadBytes8(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> {
    widen(p.loadUnaligned(fromByteOffset: offset, as: SIMD8<UInt8>.self))
}

/// Eight signed bytes at `p + offset`, sign-extended to 32-bit lanes (one vpmovsxbd).
@inline(__always)
func loadSignedBytes8(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<Int32> {
    widen(p.loadUnaligned(fromByteOffset: offset, as: SIMD8<Int8>.self))
}

/// Integer lanes to floats (one vcvtdq2ps). The lanes hold small values (< 2^24), so the conversion is exact.
@inline(__always)
func toFloat(_ v: SIMD8<UInt32>) -> SIMD8<Float> { toFloat(unsafeBitCast(v, to: SIMD8<Int32>.self)) }

@inline(__always)
func toFloat(_ v: SIMD8<Int32>) -> SIMD8<Float> {
    var r = SIMD8<Float>()
    for i in 0..<8 { r[i] = Float(v[i]) }
    return r
}

/// Small integer lanes (|v| < 2^22) to floats, exactly: v added to the bit pattern of 1.5 * 2^23 (whose unit in
/// the last place is 1) is the float 1.5 * 2^23 + v; subtracting 1.5 * 2^23 leaves v. Two adds instead of one
/// vcvtdq2ps, but always inlined: in the block decoders the optimizer left the standard library's generic
/// conversion as an out-of-line lane-by-lane call (3% of a Gemma-3 prefill).
@inline(__always)
func smallToFloat(_ v: SIMD8<Int32>) -> SIMD8<Float> {
    unsafeBitCast(v &+ 0x4B40_0000, to: SIMD8<Float>.self) - 12_582_912
}

@inline(__always)
func smallToFloat(_ v: SIMD8<UInt32>) -> SIMD8<Float> { smallToFloat(asInt32(v)) }

/// Eight bytes at `p + offset` in 32-bit lanes, by shifts of two broadcast words: the block decoders' form of
/// `loadBytes8`, whose generic widening the optimizer left out of line in them.
@inline(__always)
func bytes8(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD8<UInt32> {
    let w = p.loadUnaligned(fromByteOffset: offset, as: SIMD2<UInt32>.self)
    let v = SIMD8<UInt32>(lowHalf: SIMD4(repeating: w[0]), highHalf: SIMD4(repeating: w[1]))
    return (v &>> SIMD8<UInt32>(0, 8, 16, 24, 0, 8, 16, 24)) & 0xFF
}

/// The same lanes read as signed (a bit cast, not a conversion).
@inline(__always)
func asInt32(_ v: SIMD8<UInt32>) -> SIMD8<Int32> { unsafeBitCast(v, to: SIMD8<Int32>.self) }

@inline(__always)
func storeFloats(_ v: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(out + i).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// Bit `lane + first` of `bits` for each of eight lanes, moved to bit 4 (the fifth bit of a 5-bit quant).
/// The scalar shifts put bit `first + k` at bit `4 + k` before the broadcast, so each lane needs one variable shift
/// right by its lane number and one mask (vpbroadcastd, vpsrlvd, vpand).
@inline(__always)
func fifthBits(_ bits: UInt32, first: UInt32) -> SIMD8<UInt32> {
    let v = SIMD8<UInt32>(repeating: ((bits &>> first) & 0xFF) &<< 4)
    return (v &>> SIMD8<UInt32>(0, 1, 2, 3, 4, 5, 6, 7)) & 0x10
}

/// The six-bit scale and min of sub-block `j` (0..<8) of a Q4_K / Q5_K block (ggml's get_scale_min_k4).
@inline(__always)
func scaleMinK4(_ scales: UnsafeRawPointer, _ j: Int) -> (scale: UInt8, min: UInt8) {
    let q = scales.assumingMemoryBound(to: UInt8.self)
    if j < 4 {
        return (q[j] & 63, q[j + 4] & 63)
    }
    return ((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
}

/// Decoders that write one block's values to `out` exactly as gguf's dequantize computes them.
enum BlockDecode {
    @inline(__always)
    static func q8_0(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD8<Float>(repeating: loadHalf(p))
        for g in 0..<4 { storeFloats(smallToFloat(loadSignedBytes8(p, 2 + 8 * g)) * d, out, 8 * g) }
    }

    @inline(__always)
    static func q4_0(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD8<Float>(repeating: loadHalf(p))
        for g in 0..<2 {
            let b = bytes8(p, 2 + 8 * g)
            let lo = asInt32(b & 0x0F) &- 8
            let hi = asInt32(b &>> 4) &- 8
            storeFloats(d * smallToFloat(lo), out, 8 * g)
            storeFloats(d * smallToFloat(hi), out, 16 + 8 * g)
        }
    }

    @inline(__always)
    static func q4_1(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD8<Float>(repeating: loadHalf(p)), m = SIMD8<Float>(repeating: loadHalf(p, 2))
        for g in 0..<2 {
            let b = bytes8(p, 4 + 8 * g)
            storeFloats(d * smallToFloat(b & 0x0F) + m, out, 8 * g)
            storeFloats(d * smallToFloat(b &>> 4) + m, out, 16 + 8 * g)
        }
    }

    @inline(__always)
    static func q5_0(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD8<Float>(repeating: loadHalf(p))
        let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        for g in 0..<2 {
            let b = bytes8(p, 6 + 8 * g)
            let lo = (b & 0x0F) | fifthBits(qh, first: UInt32(8 * g))
            let hi = (b &>> 4) | fifthBits(qh, first: UInt32(16 + 8 * g))
            storeFloats(d * smallToFloat(asInt32(lo) &- 16), out, 8 * g)
            storeFloats(d * smallToFloat(asInt32(hi) &- 16), out, 16 + 8 * g)
        }
    }

    @inline(__always)
    static func q5_1(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = SIMD8<Float>(repeating: loadHalf(p)), m = SIMD8<Float>(repeating: loadHalf(p, 2))
        let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        for g in 0..<2 {
            let b = bytes8(p, 8 + 8 * g)
            let lo = (b & 0x0F) | fifthBits(qh, first: UInt32(8 * g))
            let hi = (b &>> 4) | fifthBits(qh, first: UInt32(16 + 8 * g))
            storeFloats(d * smallToFloat(lo) + m, out, 8 * g)
            storeFloats(d * smallToFloat(hi) + m, out, 16 + 8 * g)
        }
    }

    @inline(__always)
    static func q4_K(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadHalf(p), dmin = loadHalf(p, 2)
        let scales = p + 4, qs = p + 16
        for c in 0..<4 {  // 32 bytes of qs hold sub-block 2c (low nibbles) and 2c + 1 (high nibbles)
            let (s0, m0) = scaleMinK4(scales, 2 * c), (s1, m1) = scaleMinK4(scales, 2 * c + 1)
            let d0 = SIMD8<Float>(repeating: d * Float(s0)), dm0 = SIMD8<Float>(repeating: dmin * Float(m0))
            let d1 = SIMD8<Float>(repeating: d * Float(s1)), dm1 = SIMD8<Float>(repeating: dmin * Float(m1))
            for g in 0..<4 {
                let b = bytes8(qs, 32 * c + 8 * g)
                storeFloats(d0 * smallToFloat(b & 0x0F) - dm0, out, 64 * c + 8 * g)
                storeFloats(d1 * smallToFloat(b &>> 4) - dm1, out, 64 * c + 32 + 8 * g)
            }
        }
    }

    @inline(__always)
    static func q5_K(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadHalf(p), dmin = loadHalf(p, 2)
        let scales = p + 4, qh = p + 16, qs = p + 48
        for c in 0..<4 {
            let (s0, m0) = scaleMinK4(scales, 2 * c), (s1, m1) = scaleMinK4(scales, 2 * c + 1)
            let d0 = SIMD8<Float>(repeating: d * Float(s0)), dm0 = SIMD8<Float>(repeating: dmin * Float(m0))
            let d1 = SIMD8<Float>(repeating: d * Float(s1)), dm1 = SIMD8<Float>(repeating: dmin * Float(m1))
            for g in 0..<4 {
                let b = bytes8(qs, 32 * c + 8 * g), h = bytes8(qh, 8 * g)
                let lo = (b & 0x0F) | (((h &>> UInt32(2 * c)) & 1) &<< 4)
                let hi = (b &>> 4) | (((h &>> UInt32(2 * c + 1)) & 1) &<< 4)
                storeFloats(d0 * smallToFloat(lo) - dm0, out, 64 * c + 8 * g)
                storeFloats(d1 * smallToFloat(hi) - dm1, out, 64 * c + 32 + 8 * g)
            }
        }
    }

    @inline(__always)
    static func q6_K(_ p: UnsafeRawPointer, _ out: UnsafeMutablePointer<Float>) {
        let d = loadHalf(p, 208)
        let sc = (p + 192).assumingMemoryBound(to: Int8.self)
        for half in 0..<2 {  // each half: 64 bytes of ql, 32 of qh, 8 scales, 128 values
            let ql = p + 64 * half, qh = p + 128 + 32 * half
            let s = sc + 8 * half, y = 128 * half
            for g in 0..<4 {  // values l = 8g ..< 8g + 8 and l + 32, l + 64, l + 96
                let si = g / 2  // 16 values per scale
                let a = bytes8(ql, 8 * g), b = bytes8(ql, 32 + 8 * g), h = bytes8(qh, 8 * g)
                let q1 = asInt32((a & 0x0F) | ((h & 3) &<< 4)) &- 32
                let q2 = asInt32((b & 0x0F) | (((h &>> 2) & 3) &<< 4)) &- 32
                let q3 = asInt32((a &>> 4) | (((h &>> 4) & 3) &<< 4)) &- 32
                let q4 = asInt32((b &>> 4) | (((h &>> 6) & 3) &<< 4)) &- 32
                storeFloats(SIMD8(repeating: d * Float(s[si])) * smallToFloat(q1), out, y + 8 * g)
                storeFloats(SIMD8(repeating: d * Float(s[si + 2])) * smallToFloat(q2), out, y + 32 + 8 * g)
                storeFloats(SIMD8(repeating: d * Float(s[si + 4])) * smallToFloat(q3), out, y + 64 + 8 * g)
                storeFloats(SIMD8(repeating: d * Float(s[si + 6])) * smallToFloat(q4), out, y + 96 + 8 * g)
            }
        }
    }

    /// Decodes `count` consecutive values of a row in `format`, starting at a block boundary.
    static func row(_ format: GGMLType, _ src: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        let blocks = count / format.blockSize
        switch format {
        case .f32:
            out.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            var i = 0
            while i + 8 <= count {
                storeFloats(toFloat(src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<Float16>.self)), out, i)
                i += 8
            }
            while i < count { out[i] = loadHalf(src, 2 * i); i += 1 }
        case .bf16:
            var i = 0
            while i + 8 <= count {
                let h = widen(src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD8<UInt16>.self))
                storeFloats(unsafeBitCast(h &<< 16, to: SIMD8<Float>.self), out, i)
                i += 8
            }
            while i < count {
                out[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
                i += 1
            }
        case .q8_0: blocksQ8_0(src, blocks, out)
        case .q4_0: blocksQ4_0(src, blocks, out)
        case .q4_1: blocksQ4_1(src, blocks, out)
        case .q5_0: blocksQ5_0(src, blocks, out)
        case .q5_1: blocksQ5_1(src, blocks, out)
        case .q4_K: blocksQ4_K(src, blocks, out)
        case .q5_K: blocksQ5_K(src, blocks, out)
        case .q6_K: blocksQ6_K(src, blocks, out)
        default:
            preconditionFailure("WeightMatrix admits only the formats it decodes; \(format) slipped through")
        }
    }

    // One small function per format's loop. With all eight loops inlined into `row`, the optimizer stopped inlining
    // the integer-to-float conversions inside them and called the standard library's generic lane-by-lane versions
    // (3% of a Gemma-3 prefill, on top of the decoders' own 10%).
    @inline(never) static func blocksQ8_0(_ src: UnsafeRawPointer, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<n { q8_0(src + 34 * b, out + 32 * b) }
    }
    @inline(never) static func blocksQ4_0(_ src: UnsafeRawPointer, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<n { q4_0(src + 18 * b, out + 32 * b) }
    }
    @inline(never) static func blocksQ4_1(_ src: UnsafeRawPointer, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<n { q4_1(src + 20 * b, out + 32 * b) }
    }
    @inline(never) static func blocksQ5_0(_ src: UnsafeRawPointer, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<n { q5_0(src + 22 * b, out + 32 * b) }
    }
    @inline(never) static func blocksQ5_1(_ src: UnsafeRawPointer, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<n { q5_1(src + 24 * b, out + 32 * b) }
    }
    @inline(never) static func blocksQ4_K(_ src: UnsafeRawPointer, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<n { q4_K(src + 144 * b, out + 256 * b) }
    }
    @inline(never) static func blocksQ5_K(_ src: UnsafeRawPointer, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<n { q5_K(src + 176 * b, out + 256 * b) }
    }
    @inline(never) static func blocksQ6_K(_ src: UnsafeRawPointer, _ n: Int, _ out: UnsafeMutablePointer<Float>) {
        for b in 0..<n { q6_K(src + 210 * b, out + 256 * b) }
    }
}
