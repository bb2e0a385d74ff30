import Foundation

/// Conversion of Float32 values to ggml tensor data, for the writers.
///
/// Each encoder follows gguf-python's `gguf.quants.quantize` (itself bit-exact with ggml-quants.c's reference
/// quantizers) operation for operation, so a tensor Loupe writes has the same bytes as one gguf-python writes.
public enum Quantize {
    /// The types `rows` produces.
    public static let supported: Set<GGMLType> = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1]

    public static func isSupported(_ type: GGMLType) -> Bool { supported.contains(type) }

    /// Encodes `count` floats at `src` as `type` into `out`, which must hold `type.byteCount(elements: count)` bytes.
    public static func rows(_ type: GGMLType, _ src: UnsafePointer<Float>, count: Int,
                            into out: UnsafeMutableRawBufferPointer, tensor: String = "<data>") throws {
        guard isSupported(type) else {
            throw ModelFileError.unknownTensorType(path: "<quantize>", tensor: tensor, type: type.name + " (no quantizer)")
        }
        guard let need = type.byteCount(elements: count) else {
            throw ModelFileError.badTensorShape(
                path: "<quantize>", tensor: tensor,
                message: "\(count) elements is not a whole number of \(type.name) blocks of \(type.blockSize)")
        }
        guard out.count >= need else {
            throw ModelFileError.badTensorShape(
                path: "<quantize>", tensor: tensor, message: "output holds \(out.count) bytes, \(need) needed")
        }
        guard count > 0, let dst = out.baseAddress else { return }
        let bs = type.blockSize, ts = type.typeSize
        for b in 0 ..< count / bs {
            encode(type, src + b * bs, dst + b * ts)
        }
    }

    /// Encodes `values` as `type`, returning the bytes.
    public static func bytes(_ type: GGMLType, _ values: [Float], tensor: String = "<data>") throws -> [UInt8] {
        guard let need = type.byteCount(elements: values.count) else {
            throw ModelFileError.badTensorShape(
                path: "<quantize>", tensor: tensor,
                message: "\(values.count) elements is not a whole number of \(type.name) blocks of \(type.blockSize)")
        }
        var out = [UInt8](repeating: 0, count: need)
        try values.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBytes { dst in
                guard let s = src.baseAddress else { return }
                try rows(type, s, count: values.count, into: dst, tensor: tensor)
            }
        }
        return out
    }

    static func encode(_ type: GGMLType, _ x: UnsafePointer<Float>, _ p: UnsafeMutableRawPointer) {
        switch type {
        case .f32: p.storeBytes(of: x[0].bitPattern.littleEndian, as: UInt32.self)
        case .f16: p.storeBytes(of: Half.fromFloat(x[0]).littleEndian, as: UInt16.self)
        case .bf16: p.storeBytes(of: Half.bf16FromFloat(x[0]).littleEndian, as: UInt16.self)
        case .q8_0: q8_0(x, p)
        case .q4_0: q4_0(x, p)
        case .q4_1: q4_1(x, p)
        case .q5_0: q5_0(x, p)
        case .q5_1: q5_1(x, p)
        default: break  // excluded by `supported`
        }
    }

    @inline(__always) static func storeHalf(_ v: Float, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: Half.fromFloat(v).littleEndian, toByteOffset: offset, as: UInt16.self)
    }

    /// numpy's `argmax(abs(x))` (first index of the largest magnitude) and the signed value there.
    @inline(__always) static func signedAbsMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        var best = x[0]
        for j in 1 ..< n where abs(x[j]) > abs(best) { best = x[j] }
        return best
    }

    /// 1/d, or 0 where d is 0 (`np.where(d == 0, 0, 1 / d)`).
    @inline(__always) static func inverse(_ d: Float) -> Float { d == 0 ? 0 : 1 / d }

    /// numpy's `trunc(v).astype(np.uint8).clip(0, hi)` for the non-negative values the quantizers produce.
    @inline(__always) static func truncClip(_ v: Float, _ hi: UInt8) -> UInt8 {
        let t = v.rounded(.towardZero)
        guard t > 0 else { return 0 }  // NaN and negatives (a zero block gives 8.5 etc., never negative)
        return t >= Float(hi) ? hi : UInt8(t)
    }

    /// Q8_0: d = max|x| / 127, q = round-half-away(x / d).
    static func q8_0(_ x: UnsafePointer<Float>, _ p: UnsafeMutableRawPointer) {
        var amax: Float = 0
        for j in 0 ..< 32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id = inverse(d)
        storeHalf(d, p, 0)
        for j in 0 ..< 32 {
            let q = (x[j] * id).rounded(.toNearestOrAwayFromZero)
            // |q| <= 127 for finite input; NaN (from inf or NaN input) stores 0 rather than trapping.
            let b: Int8 = q.isNaN ? 0 : Int8(max(-128, min(127, q)))
            p.storeBytes(of: b, toByteOffset: 2 + j, as: Int8.self)
        }
    }

    /// Q4_0: d = (the signed value of largest magnitude) / -8, q = trunc(x / d + 8.5) clipped to 0...15.
    static func q4_0(_ x: UnsafePointer<Float>, _ p: UnsafeMutableRawPointer) {
        let d = signedAbsMax(x, 32) / -8
        let id = inverse(d)
        storeHalf(d, p, 0)
        for j in 0 ..< 16 {
            let lo = truncClip(x[j] * id + 8.5, 15)
            let hi = truncClip(x[j + 16] * id + 8.5, 15)
            p.storeBytes(of: lo | hi << 4, toByteOffset: 2 + j, as: UInt8.self)
        }
    }

    /// Q4_1: d = (max - min) / 15, m = min, q = trunc((x - min) / d + 0.5) clipped to 0...15.
    static func q4_1(_ x: UnsafePointer<Float>, _ p: UnsafeMutableRawPointer) {
        var lo = x[0], hi = x[0]
        for j in 1 ..< 32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
        let d = (hi - lo) / 15
        let id = inverse(d)
        storeHalf(d, p, 0)
        storeHalf(lo, p, 2)
        for j in 0 ..< 16 {
            let a = truncClip((x[j] - lo) * id + 0.5, 15)
            let b = truncClip((x[j + 16] - lo) * id + 0.5, 15)
            p.storeBytes(of: a | b << 4, toByteOffset: 4 + j, as: UInt8.self)
        }
    }

    /// Q5_0: d = (the signed value of largest magnitude) / -16, q = trunc(x / d + 16.5) clipped to 0...31.
    static func q5_0(_ x: UnsafePointer<Float>, _ p: UnsafeMutableRawPointer) {
        let d = signedAbsMax(x, 32) / -16
        let id = inverse(d)
        storeHalf(d, p, 0)
        var qh: UInt32 = 0
        for j in 0 ..< 16 {
            let a = truncClip(x[j] * id + 16.5, 31)
            let b = truncClip(x[j + 16] * id + 16.5, 31)
            p.storeBytes(of: (a & 0x0F) | b << 4, toByteOffset: 6 + j, as: UInt8.self)
            qh |= UInt32(a >> 4) << UInt32(j) | UInt32(b >> 4) << UInt32(j + 16)
        }
        p.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
    }

    /// Q5_1: d = (max - min) / 31, m = min, q = trunc((x - min) / d + 0.5) clipped to 0...31.
    static func q5_1(_ x: UnsafePointer<Float>, _ p: UnsafeMutableRawPointer) {
        var lo = x[0], hi = x[0]
        for j in 1 ..< 32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
        let d = (hi - lo) / 31
        let id = inverse(d)
        storeHalf(d, p, 0)
        storeHalf(lo, p, 2)
        var qh: UInt32 = 0
        for j in 0 ..< 16 {
            let a = truncClip((x[j] - lo) * id + 0.5, 31)
            let b = truncClip((x[j + 16] - lo) * id + 0.5, 31)
            p.storeBytes(of: (a & 0x0F) | b << 4, toByteOffset: 8 + j, as: UInt8.self)
            qh |= UInt32(a >> 4) << UInt32(j) | UInt32(b >> 4) << UInt32(j + 16)
        }
        p.storeBytes(of: qh.littleEndian, toByteOffset: 4, as: UInt32.self)
    }
}
