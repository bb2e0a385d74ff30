import Foundation

/// Rotary position embedding with precomputed cos/sin tables.
///
/// For position p and pair i (0 <= i < dims/2) the angle is p / scale * base^(-2i/dims) / factors[i], `factors`
/// being the per-pair frequency divisors of llama3 or YaRN scaling (none for plain RoPE); the tables hold
/// `magnitude` times cos and sin (YaRN's attention factor, 1 otherwise). The
/// tables hold cos and sin of every angle for positions 0..<capacity and grow (doubling) when a longer sequence
/// arrives, so decoding a token costs one table lookup per pair instead of a pow, a cos and a sin. Angles are
/// computed in double precision.
final class RoPETable {
    let base: Double
    let scale: Double
    let dims: Int
    let style: ModelConfig.RoPEStyle
    /// Per-pair divisors of the frequencies (length dims/2), nil for plain RoPE.
    let factors: [Double]?
    /// The factor on cos and sin.
    let magnitude: Double
    private(set) var capacity = 0
    /// [capacity, dims/2] each.
    private var cosTable: UnsafeMutablePointer<Float>
    private var sinTable: UnsafeMutablePointer<Float>

    init(base: Double, scale: Double, dims: Int, style: ModelConfig.RoPEStyle, factors: [Double]? = nil,
         magnitude: Double = 1, capacity: Int = 256) {
        precondition(factors == nil || factors!.count == dims / 2, "RoPE factors must have dims/2 entries")
        self.base = base; self.scale = scale; self.dims = dims; self.style = style; self.factors = factors
        self.magnitude = magnitude
        cosTable = .allocate(capacity: 1); sinTable = .allocate(capacity: 1)
        reserve(capacity)
    }

    deinit { cosTable.deallocate(); sinTable.deallocate() }

    /// Makes positions 0..<n available.
    func reserve(_ n: Int) {
        guard n > capacity else { return }
        let newCap = max(n, capacity * 2)
        let half = dims / 2
        let c = UnsafeMutablePointer<Float>.allocate(capacity: newCap * half)
        let s = UnsafeMutablePointer<Float>.allocate(capacity: newCap * half)
        let inv = Self.frequencies(base: base, scale: scale, dims: dims, factors: factors)
        for p in 0..<newCap {
            for i in 0..<half {
                let a = Double(p) * inv[i]
                // Without a magnitude the expression stays the plain one, so plain RoPE keeps its numbers bit for bit.
                if magnitude == 1 {
                    c[p * half + i] = Float(cos(a)); s[p * half + i] = Float(sin(a))
                } else {
                    c[p * half + i] = Float(magnitude * cos(a)); s[p * half + i] = Float(magnitude * sin(a))
                }
            }
        }
        cosTable.deallocate(); sinTable.deallocate()
        cosTable = c; sinTable = s; capacity = newCap
    }

    /// The angle per position of each pair: base^(-2i/dims) / scale / factors[i], in double. Without factors the
    /// expression is exactly the plain one (no division by 1), so plain RoPE keeps its numbers bit for bit.
    static func frequencies(base: Double, scale: Double, dims: Int, factors: [Double]?) -> [Double] {
        (0..<dims / 2).map { i in
            let f = pow(base, -2 * Double(i) / Double(dims)) / scale
            return factors.map { f / $0[i] } ?? f
        }
    }

    /// Rotates `count` head vectors of length `headDim` starting at `x` (stride `headDim`), all at position `pos`.
    @_optimize(speed)
    func apply(_ x: UnsafeMutablePointer<Float>, heads count: Int, headDim: Int, position pos: Int) {
        let half = dims / 2
        let c = cosTable + pos * half, s = sinTable + pos * half
        for h in 0..<count {
            let v = x + h * headDim
            switch style {
            case .adjacentPairs:
                for i in 0..<half {
                    let a = v[2 * i], b = v[2 * i + 1]
                    v[2 * i] = a * c[i] - b * s[i]
                    v[2 * i + 1] = a * s[i] + b * c[i]
                }
            case .halves:
                var i = 0
                while i + 8 <= half {
                    let cc = UnsafeRawPointer(c + i).loadUnaligned(as: SIMD8<Float>.self)
                    let ss = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD8<Float>.self)
                    let a = UnsafeRawPointer(v + i).loadUnaligned(as: SIMD8<Float>.self)
                    let b = UnsafeRawPointer(v + i + half).loadUnaligned(as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(v + i).storeBytes(of: a * cc - b * ss, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(v + i + half).storeBytes(of: a * ss + b * cc, as: SIMD8<Float>.self)
                    i += 8
                }
                while i < half {
                    let a = v[i], b = v[i + half]
                    v[i] = a * c[i] - b * s[i]
                    v[i + half] = a * s[i] + b * c[i]
                    i += 1
                }
            }
        }
    }
}
