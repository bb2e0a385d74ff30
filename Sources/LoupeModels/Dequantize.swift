import Foundation
import LoupeTensor

/// Conversion of ggml tensor data to Float32.
///
/// Every block decoder follows gguf-python's `gguf.quants.dequantize` operation for operation (same products, same
/// order, no fused multiply-add), so the results are bit-identical to it; the fixtures made by
/// Tests/Fixtures/make_gguf_fixtures.py check that. Block layouts are those of ggml-common.h.
public enum Dequantize {
    /// The types `rows` converts.
    public static let supported: Set<GGMLType> = [
        .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K,
    ]

    public static func isSupported(_ type: GGMLType) -> Bool { supported.contains(type) }

    /// Converts `count` elements of `type` stored in `bytes` to Float32 at `out`.
    ///
    /// `count` must be a whole number of blocks and `bytes` must hold at least their bytes; `path` and `tensor`
    /// only label errors.
    public static func rows(_ type: GGMLType, _ bytes: UnsafeRawBufferPointer, into out: UnsafeMutablePointer<Float>,
                            count: Int, path: String = "<memory>", tensor: String = "<data>") throws {
        guard isSupported(type) else {
            throw ModelFileError.unknownTensorType(path: path, tensor: tensor, type: type.name + " (no dequantizer)")
        }
        guard count >= 0, count % type.blockSize == 0, let need = type.byteCount(elements: count) else {
            throw ModelFileError.badTensorShape(
                path: path, tensor: tensor,
                message: "\(count) elements is not a whole number of \(type.name) blocks of \(type.blockSize)")
        }
        guard bytes.count >= need else {
            throw ModelFileError.badTensorShape(
                path: path, tensor: tensor, message: "\(count) \(type.name) elements need \(need) bytes, got \(bytes.count)")
        }
        guard count > 0 else { return }
        let src = bytes.baseAddress!
        // Plain types in one loop each (a copy for F32): these are most of a safetensors model's bytes.
        switch type {
        case .f32:
            UnsafeMutableRawPointer(out).copyMemory(from: src, byteCount: count * 4)
            return
        case .f16, .bf16:
            // Unaligned loads: a safetensors tensor may start at any byte offset.
            let isF16 = type == .f16
            Parallel.forEach(count, cost: 2) { range in
                Half.table.withUnsafeBufferPointer { table in
                    for i in range {
                        let bits = UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                        out[i] = isF16 ? table[Int(bits)] : Float(bitPattern: UInt32(bits) << 16)
                    }
                }
            }
            return
        default: break
        }
        let blocks = count / type.blockSize
        let bs = type.blockSize, ts = type.typeSize
        // Big tensors are split across cores by blocks; each block is independent.
        Parallel.forEach(blocks, cost: bs) { range in
            for b in range {
                decode(type, src + b * ts, out + b * bs)
            }
        }
    }

    /// Converts a tensor of a GGUF file (its whole data) to Float32 at `out`, which must hold `info.elementCount`.
    public static func rows(_ info: GGUFTensorInfo, _ bytes: UnsafeRawBufferPointer,
                            into out: UnsafeMutablePointer<Float>, count: Int, path: String = "<memory>") throws {
        try rows(info.type, bytes, into: out, count: count, path: path, tensor: info.name)
    }

    /// Decodes one block of `type` at `p` into `type.blockSize` floats at `o`.
    @inline(__always)
    static func decode(_ type: GGMLType, _ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32: o[0] = Float(bitPattern: p.loadUnaligned(as: UInt32.self))
        case .f16: o[0] = Half.toFloat(p.loadUnaligned(as: UInt16.self))
        case .bf16: o[0] = Half.bf16ToFloat(p.loadUnaligned(as: UInt16.self))
        case .q4_0: q4_0(p, o)
        case .q4_1: q4_1(p, o)
        case .q5_0: q5_0(p, o)
        case .q5_1: q5_1(p, o)
        case .q8_0: q8_0(p, o)
        case .q2_K: q2_K(p, o)
        case .q3_K: q3_K(p, o)
        case .q4_K: q4_K(p, o)
        case .q5_K: q5_K(p, o)
        case .q6_K: q6_K(p, o)
        case .q8_K: q8_K(p, o)
        default: break  // excluded by `supported`
        }
    }

    @inline(__always) static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Half.toFloat(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always) static func byte(_ p: UnsafeRawPointer, _ offset: Int) -> UInt8 {
        p.load(fromByteOffset: offset, as: UInt8.self)
    }

    // MARK: Legacy 32-element blocks

    /// Q4_0: d (f16) | 16 bytes of nibbles; element j is the low nibble of byte j, element j+16 the high one.
    /// x = d * (q - 8).
    static func q4_0(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 0)
        for j in 0 ..< 16 {
            let q = byte(p, 2 + j)
            o[j] = d * Float(Int(q & 0x0F) - 8)
            o[j + 16] = d * Float(Int(q >> 4) - 8)
        }
    }

    /// Q4_1: d (f16) | m (f16) | 16 bytes of nibbles. x = d * q + m.
    static func q4_1(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), m = half(p, 2)
        for j in 0 ..< 16 {
            let q = byte(p, 4 + j)
            o[j] = d * Float(q & 0x0F) + m
            o[j + 16] = d * Float(q >> 4) + m
        }
    }

    /// Q5_0: d (f16) | qh (u32: the fifth bit of element i is bit i) | 16 bytes of nibbles. x = d * (q - 16).
    static func q5_0(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 0)
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        for j in 0 ..< 16 {
            let q = byte(p, 6 + j)
            let lo = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
            let hi = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            o[j] = d * Float(lo - 16)
            o[j + 16] = d * Float(hi - 16)
        }
    }

    /// Q5_1: d (f16) | m (f16) | qh (u32) | 16 bytes of nibbles. x = d * q + m.
    static func q5_1(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), m = half(p, 2)
        let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        for j in 0 ..< 16 {
            let q = byte(p, 8 + j)
            let lo = UInt32(q & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
            let hi = UInt32(q >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
            o[j] = d * Float(lo) + m
            o[j + 16] = d * Float(hi) + m
        }
    }

    /// Q8_0: d (f16) | 32 signed bytes. x = q * d.
    static func q8_0(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 0)
        for j in 0 ..< 32 { o[j] = Float(p.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
    }

    // MARK: k-quants (256-element super-blocks)

    /// Q2_K: scales[16] (low nibble: scale, high nibble: min, per 16 elements) | qs[64] (2-bit) | d | dmin.
    /// Element h*128 + s*32 + l is bits 2s..2s+1 of qs[h*32 + l]. x = (d*sc) * q - (dmin*m).
    static func q2_K(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 80), dmin = half(p, 82)
        for h in 0 ..< 2 {
            for s in 0 ..< 4 {
                for l in 0 ..< 32 {
                    let i = h * 128 + s * 32 + l
                    let sc = byte(p, i / 16)
                    let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                    let q = (byte(p, 16 + h * 32 + l) >> UInt8(2 * s)) & 3
                    o[i] = dl * Float(q) - ml
                }
            }
        }
    }

    /// Q3_K: hmask[32] | qs[64] (low 2 bits) | scales[12] (sixteen 6-bit scales, offset 32) | d.
    /// The high bit of element s*32 + l is bit s of hmask[l], and subtracts 4 when CLEAR. x = (d*sc) * q.
    static func q3_K(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 108)
        var dl = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0),
                  Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
        withUnsafeMutableBytes(of: &dl) { raw in
            let dls = raw.bindMemory(to: Float.self)
            for i in 0 ..< 16 {
                let low = i < 8 ? byte(p, 96 + i) & 0x0F : byte(p, 96 + i - 8) >> 4
                let high = (byte(p, 96 + 8 + i % 4) >> UInt8(2 * (i / 4))) & 3
                let sc = Int(Int8(bitPattern: low | high << 4)) - 32
                dls[i] = d * Float(sc)
            }
            for h in 0 ..< 2 {
                for s in 0 ..< 4 {
                    for l in 0 ..< 32 {
                        let i = h * 128 + s * 32 + l
                        let ql = Int((byte(p, 32 + h * 32 + l) >> UInt8(2 * s)) & 3)
                        let hbit = Int((byte(p, l) >> UInt8(i / 32)) & 1) ^ 1
                        o[i] = dls[i / 16] * Float(ql - (hbit << 2))
                    }
                }
            }
        }
    }

    /// The eight 6-bit scales and mins of Q4_K / Q5_K packed in 12 bytes at `p + offset`.
    @inline(__always)
    static func scaleMin(_ p: UnsafeRawPointer, _ offset: Int, _ j: Int) -> (sc: UInt8, m: UInt8) {
        let s = { (k: Int) in byte(p, offset + k) }
        if j < 4 { return (s(j) & 0x3F, s(j + 4) & 0x3F) }
        return ((s(j + 4) & 0x0F) | ((s(j - 4) >> 2) & 0x30), (s(j + 4) >> 4) | ((s(j) >> 2) & 0x30))
    }

    /// Q4_K: d | dmin | scales[12] | qs[128]. Sub-block j = 2g + s (32 elements) is nibble s of qs[g*32 + l].
    /// x = (d*sc) * q - (dmin*m).
    static func q4_K(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), dmin = half(p, 2)
        for j in 0 ..< 8 {
            let (sc, m) = scaleMin(p, 4, j)
            let dj = d * Float(sc), mj = dmin * Float(m)
            let g = j / 2, shift = UInt8(4 * (j % 2))
            for l in 0 ..< 32 {
                let q = (byte(p, 16 + g * 32 + l) >> shift) & 0x0F
                o[j * 32 + l] = dj * Float(q) - mj
            }
        }
    }

    /// Q5_K: d | dmin | scales[12] | qh[32] (bit j of qh[l] is the fifth bit of sub-block j) | qs[128].
    static func q5_K(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 0), dmin = half(p, 2)
        for j in 0 ..< 8 {
            let (sc, m) = scaleMin(p, 4, j)
            let dj = d * Float(sc), mj = dmin * Float(m)
            let g = j / 2, shift = UInt8(4 * (j % 2))
            for l in 0 ..< 32 {
                let ql = (byte(p, 48 + g * 32 + l) >> shift) & 0x0F
                let qh = (byte(p, 16 + l) >> UInt8(j)) & 1
                o[j * 32 + l] = dj * Float(ql | qh << 4) - mj
            }
        }
    }

    /// Q6_K: ql[128] | qh[64] | scales[16] (int8, per 16 elements) | d.
    /// Element h*128 + s*64 + l has low nibble s of ql[h*64 + l]; element h*128 + s*32 + l has high bits
    /// 2s..2s+1 of qh[h*32 + l]. x = (d*sc) * (q - 32).
    static func q6_K(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(p, 208)
        for h in 0 ..< 2 {
            for i in 0 ..< 128 {
                let e = h * 128 + i
                let low = (byte(p, h * 64 + i % 64) >> UInt8(4 * (i / 64))) & 0x0F
                let high = (byte(p, 128 + h * 32 + i % 32) >> UInt8(2 * (i / 32))) & 3
                let q = Int(low | high << 4) - 32
                let sc = Float(p.load(fromByteOffset: 192 + e / 16, as: Int8.self))
                o[e] = (d * sc) * Float(q)
            }
        }
    }

    /// Q8_K (ggml's activation format): d (f32) | qs[256] (int8) | bsums[16]. x = d * q.
    static func q8_K(_ p: UnsafeRawPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
        for j in 0 ..< 256 { o[j] = d * Float(p.load(fromByteOffset: 4 + j, as: Int8.self)) }
    }
}

extension GGUFFile {
    /// A tensor converted to Float32, with its numpy-order shape (`[rows, rowLength]` for a matrix).
    public func tensorF32(named name: String) throws -> Tensor {
        let info = try requireTensor(name)
        let t = try Tensor.zeros(info.shape)
        // The tensor was just made and is not shared: filling it in place is safe.
        try t.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            try Dequantize.rows(info, bytes(of: info), into: UnsafeMutablePointer(mutating: base),
                                count: info.elementCount, path: path)
        }
        return t
    }

    /// A tensor converted to Float32 as a flat array (for callers that do not want a `Tensor`).
    public func floats(of info: GGUFTensorInfo) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: info.elementCount) { buf, n in
            if let base = buf.baseAddress {
                try Dequantize.rows(info, bytes(of: info), into: base, count: info.elementCount, path: path)
            }
            n = info.elementCount
        }
    }
}
