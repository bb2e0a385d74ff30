// Benchmark inputs that Loupe and the Python peers compute identically (bench/peers/block_jax.py, det_values),
// so both sides time the same numbers and results can be cross-checked.

enum BenchData {
    /// offset + scale * u with u uniform in [-1, 1): a counter-based splitmix64 hash of (seed, i), turned into a
    /// 24-bit fraction, then float64 arithmetic rounded once to float32. numpy does exactly the same operations.
    static func values(_ count: Int, seed: UInt64, scale: Double, offset: Double = 0) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let golden: UInt64 = 0x9E37_79B9_7F4A_7C15
        out.withUnsafeMutableBufferPointer { p in
            let base = seed &<< 32
            for i in 0..<count {
                var z = (base &+ UInt64(i)) &* golden &+ golden
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                let u = Double(z >> 40) * 0x1p-24
                p[i] = Float(offset + scale * (2.0 * u - 1.0))
            }
        }
        return out
    }
}
