/// Vectorised transcendental functions on 8 lanes of Float32 (one AVX2 register).
///
/// libm's scalar `expf` costs ~20 cycles per call and cannot be vectorised by the compiler; these use the
/// Cephes polynomials (max error ~1-2 ulp over the float range) with branch-free range handling, so a loop of
/// them compiles to straight-line FMA code.
public typealias F8 = SIMD8<Float>
typealias I8 = SIMD8<Int32>

let magicRound: Float = 12_582_912.0  // 1.5 * 2^23: x + magic - magic rounds x to an integer

@inline(__always)
func bits(_ x: F8) -> I8 { unsafeBitCast(x, to: I8.self) }
@inline(__always)
func float(_ x: I8) -> F8 { unsafeBitCast(x, to: F8.self) }

/// a * b + c, fused (one vfmadd with -target-cpu haswell; `a * b + c` is not contracted by Swift).
@inline(__always)
func fma(_ a: F8, _ b: F8, _ c: F8) -> F8 { c.addingProduct(a, b) }

/// |x| by clearing the sign bit.
@inline(__always)
func vabs(_ x: F8) -> F8 { float(bits(x) & 0x7FFF_FFFF) }

/// Limits to [lo, hi] with compare-and-select. (The standard library's `clamped` calls out-of-line
/// `pointwiseMin`/`pointwiseMax` and made exp three times slower.)
@inline(__always)
func vclamp(_ x: F8, _ lo: Float, _ hi: Float) -> F8 {
    x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
}

/// e^x over the whole float range, as numpy computes it: results down to the smallest subnormal (x > -103.97)
/// and up to FLT_MAX (x < 88.72); beyond those, 0 and inf.
@inline(__always)
func vexp(_ x0: F8) -> F8 {
    // Clamping keeps n = round(x / ln 2) in [-150, 128]; e^-104 rounds to 0 and e^89 to inf by themselves.
    let x = vclamp(x0, -104, 89)
    // n = round(x / ln 2); r = x - n ln 2 in two parts for accuracy.
    let t = fma(x, F8(repeating: 1.44269504088896341), F8(repeating: magicRound))
    let n = t - magicRound
    var r = fma(n, F8(repeating: -0.693359375), x)
    r = fma(n, F8(repeating: 2.12194440e-4), r)
    // exp(r) on |r| <= ln2/2, Cephes coefficients.
    var p = F8(repeating: 1.9875691500e-4)
    p = fma(p, r, F8(repeating: 1.3981999507e-3))
    p = fma(p, r, F8(repeating: 8.3334519073e-3))
    p = fma(p, r, F8(repeating: 4.1665795894e-2))
    p = fma(p, r, F8(repeating: 1.6666665459e-1))
    p = fma(p, r, F8(repeating: 5.0000001201e-1))
    let r2 = r * r
    let e = fma(p, r2, r + 1)
    // 2^n from the integer n held in t's low mantissa bits, applied as 2^(n/2) * 2^(n - n/2): each factor is a
    // normal float for every n in [-150, 128], so the product rounds once, to a subnormal or to inf as it should.
    let ni = bits(t) &- 0x4B40_0000
    let n1 = ni &>> 1
    var y = e * float((n1 &+ 127) &<< 23) * float((ni &- n1 &+ 127) &<< 23)
    y.replace(with: x0, where: x0 .!= x0)  // NaN stays NaN
    return y
}

/// Natural log. log(0) = -inf, log(x<0) = NaN, log(inf) = inf.
@inline(__always)
func vlog(_ x0: F8) -> F8 {
    // Subnormals are scaled up first so that the exponent extraction below sees a normal number.
    let tiny = x0 .< Float.leastNormalMagnitude
    let xs = x0.replacing(with: x0 * 8_388_608.0, where: tiny)  // * 2^23
    let ib = bits(xs)
    var e = F8(((ib &>> 23) & 0xFF) &- 126)
    e.replace(with: e - 23, where: tiny)
    // Mantissa in [0.5, 1).
    var m = float((ib & 0x007F_FFFF) | 0x3F00_0000)
    // If m < sqrt(1/2), use 2m and e-1, so that m - 1 is in [-0.29, 0.41].
    let small = m .< 0.707106781186547524
    e.replace(with: e - 1, where: small)
    m = m.replacing(with: m + m - 1, where: small)
    m.replace(with: m - 1, where: .!small)
    let z = m * m
    var p = F8(repeating: 7.0376836292e-2)
    p = fma(p, m, F8(repeating: -1.1514610310e-1))
    p = fma(p, m, F8(repeating: 1.1676998740e-1))
    p = fma(p, m, F8(repeating: -1.2420140846e-1))
    p = fma(p, m, F8(repeating: 1.4249322787e-1))
    p = fma(p, m, F8(repeating: -1.6668057665e-1))
    p = fma(p, m, F8(repeating: 2.0000714765e-1))
    p = fma(p, m, F8(repeating: -2.4999993993e-1))
    p = fma(p, m, F8(repeating: 3.3333331174e-1))
    var y = p * m * z
    y = fma(e, F8(repeating: -2.12194440e-4), y)
    y = fma(z, F8(repeating: -0.5), y)
    var r = m + y
    r = fma(e, F8(repeating: 0.693359375), r)
    r.replace(with: -.infinity, where: x0 .== 0)
    r.replace(with: .nan, where: x0 .< 0)
    r.replace(with: x0, where: x0 .== .infinity)
    r.replace(with: x0, where: x0 .!= x0)
    return r
}

/// tanh: a polynomial near zero (keeps relative accuracy), 1 - 2/(e^2x + 1) elsewhere.
@inline(__always)
func vtanh(_ x: F8) -> F8 {
    let a = vabs(x)
    let e = vexp(a + a)
    var big = 1 - 2 / (e + 1)
    big.replace(with: -big, where: x .< 0)
    let z = x * x
    var p = F8(repeating: -5.70498872745e-3)
    p = fma(p, z, F8(repeating: 2.06390887954e-2))
    p = fma(p, z, F8(repeating: -5.37397155531e-2))
    p = fma(p, z, F8(repeating: 1.33314422036e-1))
    p = fma(p, z, F8(repeating: -3.33332819422e-1))
    let smallY = fma(x * z, p, x)
    var y = big.replacing(with: smallY, where: a .< 0.625)
    y.replace(with: x, where: x .!= x)
    return y
}

/// 1 / (1 + e^-x), written so that neither branch overflows.
@inline(__always)
func vsigmoid(_ x: F8) -> F8 {
    let a = vabs(x)
    let e = vexp(-a)  // in (0, 1]
    let pos = 1 / (1 + e)
    var y = pos.replacing(with: e / (1 + e), where: x .< 0)
    y.replace(with: x, where: x .!= x)
    return y
}

/// An 8-lane function as a type, so that generic kernels specialise on it and inline it into their loops.
protocol UnaryKernel {
    func callAsFunction(_ x: F8) -> F8
}

// The transcendental ops, where the inlining is worth ~30% (measured on exp over 16M floats).
struct ExpKernel: UnaryKernel { @inline(__always) func callAsFunction(_ x: F8) -> F8 { vexp(x) } }
struct LogKernel: UnaryKernel { @inline(__always) func callAsFunction(_ x: F8) -> F8 { vlog(x) } }
struct TanhKernel: UnaryKernel { @inline(__always) func callAsFunction(_ x: F8) -> F8 { vtanh(x) } }
struct SigmoidKernel: UnaryKernel { @inline(__always) func callAsFunction(_ x: F8) -> F8 { vsigmoid(x) } }
struct SiluKernel: UnaryKernel { @inline(__always) func callAsFunction(_ x: F8) -> F8 { x * vsigmoid(x) } }
/// GELU, tanh form: 0.5 x (1 + tanh(u)) = x sigmoid(2u) exactly; the sigmoid never subtracts nearly equal
/// numbers, so negative x keeps full relative accuracy.
struct GeluTanhKernel: UnaryKernel {
    @inline(__always) func callAsFunction(_ x: F8) -> F8 {
        let c: Float = 0.7978845608028654  // sqrt(2/pi)
        let u2: F8 = (2 * c) * fma(0.044715 * x * x, x, x)
        return x * vsigmoid(u2)
    }
}

/// Applies an 8-lane kernel to `n` floats from `src` into `dst`, the tail through a padded register so every
/// element goes through the same code.
@inline(__always)
func mapF8<K: UnaryKernel>(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ f: K) {
    var i = 0
    // Hot loop: unaligned 8-wide loads/stores, the kernel inlined.
    while i + 8 <= n {
        let v = UnsafeRawPointer(src + i).loadUnaligned(as: F8.self)
        UnsafeMutableRawPointer(dst + i).storeBytes(of: f(v), as: F8.self)
        i += 8
    }
    if i < n {
        var v = F8(repeating: 0)
        for j in 0..<(n - i) { v[j] = src[i + j] }
        let r = f(v)
        for j in 0..<(n - i) { dst[i + j] = r[j] }
    }
}

/// A closure as a kernel, for the ops not worth a type of their own (called once per 8 elements).
struct ClosureKernel: UnaryKernel {
    let f: (F8) -> F8
    @inline(__always) func callAsFunction(_ x: F8) -> F8 { f(x) }
}

/// `mapF8` for a closure.
@inline(__always)
func mapF8(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ f: (F8) -> F8) {
    withoutActuallyEscaping(f) { mapF8(src, dst, n, ClosureKernel(f: $0)) }
}
