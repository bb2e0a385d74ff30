/// IEEE half (binary16) and bfloat16 conversions done on bit patterns, so they behave the same on every platform
/// (Swift's `Float16` is missing on Intel Macs) and match numpy's `astype` bit for bit on finite values and
/// infinities.
public enum Half {
    /// Every half bit pattern widened to Float, built on first use (256 KiB); dequantization reads scales from it.
    public static let table: [Float] = (0 ... 0xFFFF).map { toFloatSlow(UInt16($0)) }

    /// The Float value of half bits `h` (exact: every half is a Float).
    @inline(__always)
    public static func toFloat(_ h: UInt16) -> Float { table.withUnsafeBufferPointer { $0[Int(h)] } }

    /// Widening by bit manipulation; `table` is made from this.
    static func toFloatSlow(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = UInt32(h >> 10) & 0x1F
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            // Zero or subnormal: mant * 2^-24, exact in Float.
            let v = Float(mant) * 0x1p-24
            return Float(bitPattern: v.bitPattern | sign)
        }
        if exp == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }  // inf, NaN (payload kept)
        return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
    }

    /// Float to half bits, rounding to nearest with ties to even (IEEE default, as numpy and F16C do); values too
    /// large become infinity, NaN stays a (quiet) NaN.
    public static func fromFloat(_ f: Float) -> UInt16 {
        let x = f.bitPattern
        let sign = UInt16((x >> 16) & 0x8000)
        let exp = Int((x >> 23) & 0xFF)
        var mant = x & 0x7F_FFFF
        if exp == 0xFF { return mant == 0 ? sign | 0x7C00 : sign | 0x7E00 | UInt16(mant >> 13) }
        let e = exp - 127 + 15
        if e >= 0x1F { return sign | 0x7C00 }
        if e <= 0 {
            // Half subnormal (units of 2^-24); below 2^-25 everything rounds to zero.
            if e < -10 { return sign }
            mant |= 0x80_0000
            let shift = UInt32(14 - e)
            var h = mant >> shift
            let rem = mant & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if rem > halfway || (rem == halfway && h & 1 == 1) { h += 1 }
            return sign | UInt16(h)  // a carry lands in the exponent field: the smallest normal, as it should
        }
        var h = UInt32(e) << 10 | (mant >> 13)
        let rem = mant & 0x1FFF
        if rem > 0x1000 || (rem == 0x1000 && h & 1 == 1) { h += 1 }  // a carry may round up to infinity: correct
        return sign | UInt16(h)
    }

    /// The Float value of bfloat16 bits (the top half of a Float).
    @inline(__always)
    public static func bf16ToFloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// Float to bfloat16 bits as ggml's `ggml_compute_fp32_to_bf16` and gguf-python's BF16 quantize: NaN forced
    /// quiet, otherwise round to nearest even.
    public static func bf16FromFloat(_ f: Float) -> UInt16 {
        let n = f.bitPattern
        if n & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16((n >> 16) | 64) }
        return UInt16((UInt64(n) + UInt64(0x7FFF + ((n >> 16) & 1))) >> 16)
    }
}
