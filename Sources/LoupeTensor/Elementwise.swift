import Foundation

// Elementwise operations with numpy broadcasting. Each forward is followed by its backward rule: the gradient
// of the output, mapped to each input and summed back over the dimensions that broadcasting stretched.

// MARK: - Arithmetic

extension Tensor {
    public static func + (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try binary(a, b, op: "add", { $0 + $1 }, { $0 + $1 })
        guard Autograd.tracks(a, b) else { return out }
        return Autograd.record(out, "add", [a, b]) { g in
            [try g.sumToShape(a.shape), try g.sumToShape(b.shape)]
        }
    }

    public static func - (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try binary(a, b, op: "sub", { $0 - $1 }, { $0 - $1 })
        guard Autograd.tracks(a, b) else { return out }
        return Autograd.record(out, "sub", [a, b]) { g in
            [try g.sumToShape(a.shape), try (-g).sumToShape(b.shape)]
        }
    }

    public static func * (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try binary(a, b, op: "mul", { $0 * $1 }, { $0 * $1 })
        guard Autograd.tracks(a, b) else { return out }
        return Autograd.record(out, "mul", [a, b]) { g in
            [try (g * b).sumToShape(a.shape), try (g * a).sumToShape(b.shape)]
        }
    }

    public static func / (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try binary(a, b, op: "div", { $0 / $1 }, { $0 / $1 })
        guard Autograd.tracks(a, b) else { return out }
        return Autograd.record(out, "div", [a, b]) { [out = out.detached()] g in
            // d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -out/b
            [try (g / b).sumToShape(a.shape), try (-(g * out) / b).sumToShape(b.shape)]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor {
        let out = try! a.unary(op: "neg") { -$0 }  // same shape as an existing tensor: cannot fail
        guard Autograd.tracks(a) else { return out }
        return Autograd.record(out, "neg", [a]) { g in [-g] }
    }

    /// a ** b, elementwise. Negative bases give NaN unless the exponent is an integer, as in numpy.
    public func pow(_ b: Tensor) throws -> Tensor {
        let a = self
        let out = try Tensor.binary(a, b, op: "pow", cost: 16, { x, y in
            var r = F8()
            for i in 0..<8 { r[i] = Foundation.pow(x[i], y[i]) }
            return r
        }, { Foundation.pow($0, $1) })
        guard Autograd.tracks(a, b) else { return out }
        return Autograd.record(out, "pow", [a, b]) { [out = out.detached()] g in
            // d/da = b a^(b-1); d/db = a^b log a (only where a > 0; 0 elsewhere, as JAX does for a = 0)
            let ga = try g * b * a.pow(b - Tensor(scalar: 1))
            let safeLog = try Tensor.where(a > Tensor(scalar: 0), a.log(), Tensor(scalar: 0))
            let gb = try g * out * safeLog
            return [try ga.sumToShape(a.shape), try gb.sumToShape(b.shape)]
        }
    }

    /// Elementwise maximum (NaN if either is NaN). The gradient goes to the larger input (to `a` on ties).
    public func maximum(_ b: Tensor) throws -> Tensor {
        let a = self
        let out = try Tensor.binary(a, b, op: "maximum",
            { x, y in
                var r = x.replacing(with: y, where: y .> x)
                r.replace(with: y, where: y .!= y)
                return r
            }, { x, y in x.isNaN || y.isNaN ? .nan : Swift.max(x, y) })
        guard Autograd.tracks(a, b) else { return out }
        return Autograd.record(out, "maximum", [a, b]) { g in
            let m = try a >= b
            return [try (g * m).sumToShape(a.shape), try (g * (Tensor(scalar: 1) - m)).sumToShape(b.shape)]
        }
    }

    /// Elementwise minimum (NaN if either is NaN). The gradient goes to the smaller input (to `a` on ties).
    public func minimum(_ b: Tensor) throws -> Tensor {
        let a = self
        let out = try Tensor.binary(a, b, op: "minimum",
            { x, y in
                var r = x.replacing(with: y, where: y .< x)
                r.replace(with: y, where: y .!= y)
                return r
            }, { x, y in x.isNaN || y.isNaN ? .nan : Swift.min(x, y) })
        guard Autograd.tracks(a, b) else { return out }
        return Autograd.record(out, "minimum", [a, b]) { g in
            let m = try a <= b
            return [try (g * m).sumToShape(a.shape), try (g * (Tensor(scalar: 1) - m)).sumToShape(b.shape)]
        }
    }

    // Scalars on either side.
    public static func + (a: Tensor, b: Float) throws -> Tensor { try a + Tensor(scalar: b) }
    public static func - (a: Tensor, b: Float) throws -> Tensor { try a - Tensor(scalar: b) }
    public static func * (a: Tensor, b: Float) throws -> Tensor { try a * Tensor(scalar: b) }
    public static func / (a: Tensor, b: Float) throws -> Tensor { try a / Tensor(scalar: b) }
    public static func + (a: Float, b: Tensor) throws -> Tensor { try Tensor(scalar: a) + b }
    public static func - (a: Float, b: Tensor) throws -> Tensor { try Tensor(scalar: a) - b }
    public static func * (a: Float, b: Tensor) throws -> Tensor { try Tensor(scalar: a) * b }
    public static func / (a: Float, b: Tensor) throws -> Tensor { try Tensor(scalar: a) / b }
    public func pow(_ b: Float) throws -> Tensor { try pow(Tensor(scalar: b)) }
}

// MARK: - Comparisons (1.0 where true, 0.0 where false; no gradient)

extension Tensor {
    @inline(__always)
    static func compare(_ a: Tensor, _ b: Tensor, _ op: String, _ v: (F8, F8) -> SIMDMask<SIMD8<Int32>>,
                        _ s: (Float, Float) -> Bool) throws -> Tensor {
        try binary(a, b, op: op, { x, y in F8(repeating: 0).replacing(with: 1, where: v(x, y)) }, { s($0, $1) ? 1 : 0 })
    }
    public static func == (a: Tensor, b: Tensor) throws -> Tensor { try compare(a, b, "equal", { $0 .== $1 }, { $0 == $1 }) }
    public static func != (a: Tensor, b: Tensor) throws -> Tensor { try compare(a, b, "not_equal", { $0 .!= $1 }, { $0 != $1 }) }
    public static func < (a: Tensor, b: Tensor) throws -> Tensor { try compare(a, b, "less", { $0 .< $1 }, { $0 < $1 }) }
    public static func <= (a: Tensor, b: Tensor) throws -> Tensor { try compare(a, b, "less_equal", { $0 .<= $1 }, { $0 <= $1 }) }
    public static func > (a: Tensor, b: Tensor) throws -> Tensor { try compare(a, b, "greater", { $0 .> $1 }, { $0 > $1 }) }
    public static func >= (a: Tensor, b: Tensor) throws -> Tensor { try compare(a, b, "greater_equal", { $0 .>= $1 }, { $0 >= $1 }) }

    public func isnan() -> Tensor { try! unary(op: "isnan") { F8(repeating: 0).replacing(with: 1, where: $0 .!= $0) } }
    public func isfinite() -> Tensor {
        try! unary(op: "isfinite") { x in
            let a = x.replacing(with: -x, where: x .< 0)
            return F8(repeating: 0).replacing(with: 1, where: a .< .infinity)  // NaN compares false
        }
    }

    /// `cond ? a : b` elementwise, broadcasting all three. `cond` is true where nonzero.
    public static func `where`(_ cond: Tensor, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let shape: [Int]
        do { shape = try Shape.broadcast(Shape.broadcast(cond.shape, a.shape, op: "where"), b.shape, op: "where") } catch {
            // Three shapes broadcast together exactly when each pair does: report a pair that does not, as the
            // user wrote them (not the broadcast of the first two).
            for (l, r) in [(cond.shape, a.shape), (cond.shape, b.shape), (a.shape, b.shape)] {
                _ = try Shape.broadcast(l, r, op: "where")
            }
            throw error
        }
        // The output first, so that an oversized result is reported as where's (not as broadcast_to's).
        let out = try Tensor(uninitialized: shape, op: "where")
        let c = try cond.broadcast(to: shape), x = try a.broadcast(to: shape), y = try b.broadcast(to: shape)
        let pc = c.dataPointer, px = x.dataPointer, py = y.dataPointer, po = out.dataPointer
        Parallel.forEach(out.count) { r in
            for i in r { po[i] = pc[i] != 0 ? px[i] : py[i] }
        }
        guard Autograd.tracks(a, b) else { return out }
        return Autograd.record(out, "where", [a, b]) { g in
            let m = try c != Tensor(scalar: 0)
            return [try (g * m).sumToShape(a.shape), try (g * (Tensor(scalar: 1) - m)).sumToShape(b.shape)]
        }
    }
}

// MARK: - Unary math

extension Tensor {
    public func abs() -> Tensor {
        let x = self
        let out = try! unary(op: "abs") { $0.replacing(with: -$0, where: $0 .< 0) }
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "abs", [x]) { g in
            // sign(x); 0 at 0
            let sign = try! x.unary(op: "sign") { v in
                F8(repeating: 0).replacing(with: 1, where: v .> 0).replacing(with: -1, where: v .< 0)
            }
            return [try g * sign]
        }
    }

    public func exp() -> Tensor {
        let x = self
        let out = try! unary(op: "exp", cost: 8, ExpKernel())
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "exp", [x]) { [out = out.detached()] g in [try g * out] }
    }

    public func log() -> Tensor {
        let x = self
        let out = try! unary(op: "log", cost: 8, LogKernel())
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "log", [x]) { g in [try g / x] }
    }

    /// log(1 + x), accurate for small x: log(u) * x / (u - 1) with u = 1 + x (Goldberg's trick).
    public func log1p() -> Tensor {
        let x = self
        let out = try! unary(op: "log1p", cost: 10) { x in
            let u = x + 1
            let d = u - 1
            // x / d first: it is ~1, whereas log(u) * x overflows for x near FLT_MAX.
            var r = vlog(u) * (x / d)
            r.replace(with: x, where: d .== 0)
            r.replace(with: vlog(u), where: u .== .infinity)
            return r
        }
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "log1p", [x]) { g in [try g / (x + 1)] }
    }

    public func sqrt() -> Tensor {
        let x = self
        let out = try! unary(op: "sqrt", cost: 2) { $0.squareRoot() }
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "sqrt", [x]) { [out = out.detached()] g in [try g * 0.5 / out] }
    }

    /// 1 / sqrt(x), exactly rounded through a true division (not the 12-bit hardware estimate).
    public func rsqrt() -> Tensor {
        let x = self
        let out = try! unary(op: "rsqrt", cost: 2) { 1 / $0.squareRoot() }
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "rsqrt", [x]) { [out = out.detached()] g in [try g * -0.5 * out * out * out] }
    }

    public func tanh() -> Tensor {
        let x = self
        let out = try! unary(op: "tanh", cost: 10, TanhKernel())
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "tanh", [x]) { [out = out.detached()] g in [try g * (1 - out * out)] }
    }

    public func sigmoid() -> Tensor {
        let x = self
        let out = try! unary(op: "sigmoid", cost: 10, SigmoidKernel())
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "sigmoid", [x]) { [out = out.detached()] g in [try g * out * (1 - out)] }
    }

    /// x * sigmoid(x) (SwiGLU's gate).
    public func silu() -> Tensor {
        let x = self
        let out = try! unary(op: "silu", cost: 10, SiluKernel())
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "silu", [x]) { g in
            let s = x.detached().sigmoid()
            return [try g * s * (1 + x * (1 - s))]
        }
    }

    public func relu() -> Tensor {
        let x = self
        let out = try! unary(op: "relu") { $0.replacing(with: 0, where: $0 .< 0) }
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "relu", [x]) { g in [try g * (x > Tensor(scalar: 0))] }
    }

    /// GELU. `approximate: true` is the tanh form used by GPT-2 and Gemma; false is the exact erf form.
    ///
    /// Both are evaluated in forms that keep full relative accuracy for negative x, where the textbook
    /// `0.5 x (1 + tanh(u))` and `0.5 x (1 + erf(x / sqrt 2))` cancel to garbage (1 + t with t near -1).
    public func gelu(approximate: Bool = true) -> Tensor {
        let x = self
        let c: Float = 0.7978845608028654  // sqrt(2/pi)
        if approximate {
            let out = try! unary(op: "gelu", cost: 12, GeluTanhKernel())
            guard Autograd.tracks(x) else { return out }
            return Autograd.record(out, "gelu", [x]) { g in
                let d = try! x.unary(op: "gelu_grad", cost: 12) { (x: F8) -> F8 in
                    let x2: F8 = x * x
                    let t: F8 = vtanh(c * (x + 0.044715 * x2 * x))
                    let dInner: F8 = c * (1 + 3 * 0.044715 * x2)
                    let left: F8 = 0.5 * (1 + t)
                    return left + 0.5 * x * (1 - t * t) * dInner
                }
                return [try g * d]
            }
        }
        let out = try! unary(op: "gelu_erf", cost: 20) { x in
            var r = F8()
            // 1 + erf(z) = erfc(-z), which stays accurate where erf(z) is near -1.
            for i in 0..<8 { r[i] = 0.5 * x[i] * Foundation.erfc(-x[i] * 0.7071067811865476) }
            return r
        }
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "gelu_erf", [x]) { g in
            let d = try! x.unary(op: "gelu_erf_grad", cost: 20) { x in
                var r = F8()
                for i in 0..<8 {
                    let cdf = 0.5 * (1 + Foundation.erf(x[i] * 0.7071067811865476))
                    let pdf = Foundation.exp(-0.5 * x[i] * x[i]) * 0.3989422804014327
                    r[i] = cdf + x[i] * pdf
                }
                return r
            }
            return [try g * d]
        }
    }

    /// Limits values to [lo, hi]; the gradient passes where the value was inside the range.
    public func clamp(min lo: Float? = nil, max hi: Float? = nil) throws -> Tensor {
        if let lo, let hi, lo > hi {
            throw TensorError.invalidArgument(op: "clamp", message: "min \(lo) is greater than max \(hi)")
        }
        let x = self
        let l = F8(repeating: lo ?? -.infinity), h = F8(repeating: hi ?? .infinity)
        let out = try unary(op: "clamp") { v in
            v.replacing(with: l, where: v .< l).replacing(with: h, where: v .> h)
        }
        guard Autograd.tracks(x) else { return out }
        return Autograd.record(out, "clamp", [x]) { g in
            let inside = try! x.unary(op: "clamp_grad") { v in
                F8(repeating: 1).replacing(with: 0, where: v .< l).replacing(with: 0, where: v .> h)
            }
            return [try g * inside]
        }
    }
}
