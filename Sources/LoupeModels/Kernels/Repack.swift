import Foundation

// Decode layouts: a matrix re-laid out at load into the format whose decode kernel is fastest on this CPU, holding
// exactly the same values.
//
// Q5_0 -> Q8_0. A Q5_0 value is d * (q - 16) with q a 5-bit integer: four bits in a nibble and the fifth in a
// 32-bit word per block. With float32 activations the fifth bits cost three vector operations per eight weights
// (shift, mask, merge) beside the nibble's four, and Q5_0 decode was bound by that work, not by memory: Gemma-3
// 270M's 81 Q5_0 matrices (43.6 MB) took 7.4 ms per token on two cores (5.9 GB/s). The same values as Q8_0
// blocks (the same half-precision d, the integers q - 16 in -16...15 as signed bytes) are 55% more bytes but need
// one widening, one conversion and one multiply-add per eight weights: 3.8 ms (17.7 GB/s, near what two cores
// stream). Exact: every row dequantizes to the same floats, bit for bit (KernelTests). The copy costs resident
// memory: +24 MB for Gemma-3 (its mapped Q5_0 pages are handed back), still 1.3x the file.
//
// Q5_1 (d * q + m) has no Q8_0 equivalent, since Q8_0 blocks have no offset, and stays as it is.

extension WeightMatrix {
    /// The same values in the format whose decode kernel is fastest here: Q5_0 matrices become Q8_0 (exact, see
    /// above), every other format is returned as it is. When the source is a GGUF file's mapping, the source pages
    /// are handed back to the kernel afterwards (a later read faults them back in from the file).
    public func repackedForDecode() -> WeightMatrix {
        guard type == .q5_0, rows > 0 else { return self }
        let blocks = rows * (cols / 32)
        let out = OwnedBytes(count: blocks * GGMLType.q8_0.typeSize)
        let src = base, dst = out.pointer
        KernelPool.shared.run(count: blocks, chunk: Swift.max(1024, blocks / 24), parallel: blocks >= 1 << 14) { range in
            for b in range { Repack.q5_0AsQ8_0(src + 22 * b, into: dst + 34 * b) }
        }
        // The shape and format are valid by construction (same rows and cols, Q8_0 has Q5_0's block size).
        let m = try! WeightMatrix(bytes: UnsafeRawPointer(dst), type: .q8_0, rows: rows, cols: cols, owner: out,
                                  name: name)
        (owner as? GGUFFile)?.releasePages(UnsafeRawBufferPointer(start: base, count: byteCount))
        return m
    }
}

enum Repack {
    /// Writes the Q5_0 block at `p` (d, 4 bytes of fifth bits, 16 bytes of nibbles) as a Q8_0 block (d, 32 signed
    /// bytes) at `q`: value j is (nibble j | fifth bit j << 4) - 16, its d unchanged.
    @inline(__always)
    static func q5_0AsQ8_0(_ p: UnsafeRawPointer, into q: UnsafeMutableRawPointer) {
        q.storeBytes(of: p.loadUnaligned(as: UInt16.self), as: UInt16.self)
        let qh = SIMD16<UInt32>(repeating: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        let bytes = p.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self)
        let lane = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        // Byte j holds value j in its low nibble and value j + 16 in its high one; qh bit j is value j's fifth bit.
        let fifthLo = SIMD16<UInt8>(truncatingIfNeeded: ((qh &>> lane) & 1) &<< 4)
        let fifthHi = SIMD16<UInt8>(truncatingIfNeeded: ((qh &>> (lane &+ 16)) & 1) &<< 4)
        let lo = ((bytes & 0x0F) | fifthLo) &- 16, hi = ((bytes &>> 4) | fifthHi) &- 16  // wraps to q - 16 as Int8
        q.storeBytes(of: lo, toByteOffset: 2, as: SIMD16<UInt8>.self)
        q.storeBytes(of: hi, toByteOffset: 18, as: SIMD16<UInt8>.self)
    }
}
