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

/// e^x over the whole float range, as numpy computes it: results down to the smallest subnormal (x > -103.97)
/// and up to FLT_MAX (x < 88.72); beyond those, 0 and inf.
@inline(__always)
func vexp(_ x0: F8) -> F8 {
    // Clamping keeps n = round(x / ln 2) in [-150, 128]; e^-104 rounds to 0 and e^89 to inf by themselves.
    let x = x0.clamped(lowerBound: F8(repeating: -104), upperBound: F8(repeating: 89))
    // n = round(x / ln 2); r = x - n ln 2 in two parts for accuracy.
    let t = x * 1.44269504088896341 + magicRound
    let n = t - magicRound
    var r = x - n * 0.693359375
    r = r - n * -2.12194440e-4
    // exp(r) on |r| <= ln2/2, Cephes coefficients.
    var p = F8(repeating: 1.9875691500e-4)
    p = p * r + 1.3981999507e-3
    p = p * r + 8.3334519073e-3
    p = p * r + 4.1665795894e-2
    p = p * r + 1.6666665459e-1
    p = p * r + 5.0000001201e-1
    let r2 = r * r
    let e = p * r2 + r + 1
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
    p = p * m + -1.1514610310e-1
    p = p * m + 1.1676998740e-1
    p = p * m + -1.2420140846e-1
    p = p * m + 1.4249322787e-1
    p = p * m + -1.6668057665e-1
    p = p * m + 2.0000714765e-1
    p = p * m + -2.4999993993e-1
    p = p * m + 3.3333331174e-1
    var y = p * m * z
    y = y + e * -2.12194440e-4
    y = y - z * 0.5
    var r = m + y
    r = r + e * 0.693359375
    r.replace(with: -.infinity, where: x0 .== 0)
    r.replace(with: .nan, where: x0 .< 0)
    r.replace(with: x0, where: x0 .== .infinity)
    r.replace(with: x0, where: x0 .!= x0)
    return r
}

/// tanh: a polynomial near zero (keeps relative accuracy), 1 - 2/(e^2x + 1) elsewhere.
@inline(__always)
func vtanh(_ x: F8) -> F8 {
    let a = x.replacing(with: -x, where: x .< 0)
    let e = vexp(a + a)
    var big = 1 - 2 / (e + 1)
    big.replace(with: -big, where: x .< 0)
    let z = x * x
    var p = F8(repeating: -5.70498872745e-3)
    p = p * z + 2.06390887954e-2
    p = p * z + -5.37397155531e-2
    p = p * z + 1.33314422036e-1
    p = p * z + -3.33332819422e-1
    let smallY = x + x * z * p
    var y = big.replacing(with: smallY, where: a .< 0.625)
    y.replace(with: x, where: x .!= x)
    return y
}

/// 1 / (1 + e^-x), written so that neither branch overflows.
@inline(__always)
func vsigmoid(_ x: F8) -> F8 {
    let a = x.replacing(with: -x, where: x .< 0)
    let e = vexp(-a)  // in (0, 1]
    let pos = 1 / (1 + e)
    var y = pos.replacing(with: e / (1 + e), where: x .< 0)
    y.replace(with: x, where: x .!= x)
    return y
}

/// Applies an 8-lane function to `n` floats from `src` into `dst`, the tail through a padded register so every
/// element goes through the same code.
@inline(__always)
func mapF8(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int, _ f: (F8) -> F8) {
    var i = 0
    // Hot loop: unaligned 8-wide loads/stores; the compiler keeps the polynomial in registers.
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
