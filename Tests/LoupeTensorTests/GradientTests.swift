import XCTest
@testable import LoupeTensor

// Every backward rule checked against central finite differences.
//
// The checker builds loss = sum_k sum(out_k * R_k) for fixed random R_k (one per output of the function under
// test), back-propagates it, and compares each input's analytic gradient with (L(x + eps e_j) - L(x - eps e_j)) /
// (2 eps), where L is evaluated with the Float32 engine but the weighted sum is accumulated in Double.
//
// Tolerances: |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|) with rtol = 2e-2, atol = 1e-3 by
// default. Gradients here are O(0.1 .. 10), so a wrong factor (x2, x0.5, sign) or a missing term is far outside
// that band, while the finite-difference noise is not: truncation error is eps^2/6 * f''' (~2e-5 for eps = 1e-2 and
// smooth O(1) functions) and Float32 round-off in L is ~ n_outputs * 6e-8 / (2 eps) (< 1e-4 for the sizes used).
// Inputs are drawn away from kinks (relu/abs at 0, clamp bounds, max/sort ties) by more than eps.

/// Namespaced helpers (other test files may define their own RNGs and checkers).
enum GradCheck {
    /// SplitMix64: deterministic, so every run checks the same points.
    struct RNG {
        var state: UInt64
        init(_ seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Uniform in [0, 1).
        mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
        mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    /// Uniform values in [lo, hi], redrawn while within `margin` of any point in `avoid`.
    static func rand(_ shape: [Int], _ rng: inout RNG, _ lo: Double = -1, _ hi: Double = 1,
                     avoid: [Double] = [], margin: Double = 0.05) -> Tensor {
        let data = (0..<count(shape)).map { _ -> Float in
            while true {
                let v = rng.uniform(lo, hi)
                if avoid.allSatisfy({ Swift.abs(v - $0) > margin }) { return Float(v) }
            }
        }
        return try! Tensor(shape: shape, data: data)
    }

    /// Magnitudes in [lo, hi] with random signs (never near 0).
    static func signed(_ shape: [Int], _ rng: inout RNG, _ lo: Double = 0.2, _ hi: Double = 1) -> Tensor {
        let data = (0..<count(shape)).map { _ in Float((rng.unit() < 0.5 ? -1 : 1) * rng.uniform(lo, hi)) }
        return try! Tensor(shape: shape, data: data)
    }

    /// A random permutation of evenly spaced values (no two closer than `spacing`), centred on 0.
    static func distinct(_ shape: [Int], _ rng: inout RNG, spacing: Double = 0.1) -> Tensor {
        let n = count(shape)
        var vals = (0..<n).map { (Double($0) - Double(n - 1) / 2) * spacing }
        for i in stride(from: n - 1, to: 0, by: -1) { vals.swapAt(i, rng.int(i + 1)) }
        return try! Tensor(shape: shape, data: vals.map(Float.init))
    }

    /// Checks the gradients of every input of `f` (which may return several outputs).
    static func checkMulti(_ name: String, _ inputs: [Tensor], eps: Float = 1e-2, rtol: Double = 2e-2, atol: Double = 1e-3,
                           seed: UInt64 = 12345, file: StaticString = #filePath, line: UInt = #line,
                           _ f: ([Tensor]) throws -> [Tensor]) {
        do {
            let leaves = inputs.map { $0.detached().requiringGrad() }
            let outs = try f(leaves)
            var rng = RNG(seed)
            let weights = outs.map { rand($0.shape, &rng, -1, 1) }
            var loss: Tensor?
            for (o, r) in zip(outs, weights) {
                XCTAssertTrue(o.requiresGrad, "\(name): output does not require grad", file: file, line: line)
                let term = try (o * r).sum()
                loss = try loss.map { try $0 + term } ?? term
            }
            guard let loss else { return XCTFail("\(name): no outputs", file: file, line: line) }
            try loss.backward()

            func evaluate(_ xs: [Tensor]) throws -> Double {
                try Autograd.noGrad {
                    let os = try f(xs)
                    var s = 0.0
                    for (o, r) in zip(os, weights) {
                        precondition(o.shape == r.shape)
                        for (a, b) in zip(o.scalars, r.scalars) { s += Double(a) * Double(b) }
                    }
                    return s
                }
            }

            var failures = 0
            for (i, x) in inputs.enumerated() {
                guard let analytic = leaves[i].grad else {
                    XCTFail("\(name): input \(i) got no gradient", file: file, line: line)
                    continue
                }
                XCTAssertEqual(analytic.shape, x.shape, "\(name): gradient shape of input \(i)", file: file, line: line)
                let ga = analytic.scalars
                var data = x.scalars
                for j in data.indices {
                    let orig = data[j]
                    var xs = inputs
                    data[j] = orig + eps
                    let xp = data[j]
                    xs[i] = try Tensor(shape: x.shape, data: data)
                    let lp = try evaluate(xs)
                    data[j] = orig - eps
                    let xm = data[j]
                    xs[i] = try Tensor(shape: x.shape, data: data)
                    let lm = try evaluate(xs)
                    data[j] = orig
                    let numeric = (lp - lm) / (Double(xp) - Double(xm))
                    let a = Double(ga[j])
                    let err = Swift.abs(a - numeric)
                    if !(err <= atol + rtol * Swift.max(Swift.abs(a), Swift.abs(numeric))) {
                        failures += 1
                        if failures <= 5 {
                            XCTFail("\(name): input \(i) \(x.shape) element \(j): analytic \(a), numeric \(numeric)",
                                    file: file, line: line)
                        }
                    }
                }
            }
            if failures > 5 { XCTFail("\(name): \(failures) mismatches in all", file: file, line: line) }
        } catch {
            XCTFail("\(name): threw \(error)", file: file, line: line)
        }
    }

    static func check(_ name: String, _ inputs: [Tensor], eps: Float = 1e-2, rtol: Double = 2e-2, atol: Double = 1e-3,
                      seed: UInt64 = 12345, file: StaticString = #filePath, line: UInt = #line,
                      _ f: ([Tensor]) throws -> Tensor) {
        checkMulti(name, inputs, eps: eps, rtol: rtol, atol: atol, seed: seed, file: file, line: line) { [try f($0)] }
    }
}

final class GradientTests: XCTestCase {
    typealias G = GradCheck

    // MARK: - Elementwise binary, with broadcasting (sumToShape)

    func testArithmeticSameShape() {
        var r = G.RNG(1)
        let a = G.rand([3, 4], &r), b = G.rand([3, 4], &r)
        let bPos = G.signed([3, 4], &r, 0.5, 1.5)
        G.check("add", [a, b]) { try $0[0] + $0[1] }
        G.check("sub", [a, b]) { try $0[0] - $0[1] }
        G.check("mul", [a, b]) { try $0[0] * $0[1] }
        G.check("div", [a, bPos]) { try $0[0] / $0[1] }
        G.check("neg", [a]) { -$0[0] }
        // Reusing one input in several places: both paths must accumulate.
        G.check("x*x+x", [a]) { try $0[0] * $0[0] + $0[0] }
        G.check("x/x^2 diamond", [bPos]) { x in let y = try x[0] * x[0]; return try (y + x[0]) / y }
    }

    func testArithmeticBroadcasting() {
        var r = G.RNG(2)
        let col = G.rand([3, 1], &r), row = G.rand([1, 4], &r)
        let m = G.rand([3, 4], &r), v = G.rand([4], &r), s = G.rand([], &r)
        let pos3 = G.signed([3, 1], &r, 0.5, 1.5), posRow = G.signed([4], &r, 0.5, 1.5)
        let big = G.rand([2, 1, 4], &r)
        G.check("[3,1]+[1,4]", [col, row]) { try $0[0] + $0[1] }
        G.check("[3,1]-[1,4]", [col, row]) { try $0[0] - $0[1] }
        G.check("[3,1]*[1,4]", [col, row]) { try $0[0] * $0[1] }
        G.check("[1,4]/[3,1]", [row, pos3]) { try $0[0] / $0[1] }
        G.check("[3,4]-[4]", [m, v]) { try $0[0] - $0[1] }
        G.check("[4]*[3,4]", [v, m]) { try $0[0] * $0[1] }
        G.check("[3,4]/[4]", [m, posRow]) { try $0[0] / $0[1] }
        G.check("scalar*tensor", [s, m]) { try $0[0] * $0[1] }
        G.check("tensor+scalar", [m, s]) { try $0[0] + $0[1] }
        G.check("[2,1,4]*[3,1]", [big, pos3]) { try $0[0] * $0[1] }
        G.check("[2,1,4]/[3,1]", [big, pos3]) { try $0[0] / $0[1] }
        G.check("float literal ops", [m]) { x in try (2 - x[0]) * 3 / 1.5 + 0.5 - (1 / (x[0] + 4)) }
    }

    func testPow() {
        var r = G.RNG(3)
        let a = G.rand([3, 4], &r, 0.5, 1.5), b = G.rand([3, 4], &r, -1.5, 1.5)
        let bRow = G.rand([4], &r, -1.5, 1.5), bs = G.rand([], &r, 0.5, 2)
        G.check("pow", [a, b]) { try $0[0].pow($0[1]) }
        G.check("pow broadcast exponent [4]", [a, bRow]) { try $0[0].pow($0[1]) }
        G.check("pow scalar exponent", [a, bs]) { try $0[0].pow($0[1]) }
        G.check("pow float exponent", [a]) { try $0[0].pow(2.5) }
        // Negative bases with integer exponents: d/da only (a^b is not differentiable in b there).
        let neg = G.rand([2, 3], &r, -1.5, -0.5)
        let ints = try! Tensor(shape: [3], data: [2, 3, -1])
        G.check("pow negative base integer exponent", [neg]) { try $0[0].pow(ints) }
    }

    func testMaximumMinimum() {
        var r = G.RNG(4)
        let a = G.rand([3, 4], &r)
        let delta = G.signed([3, 4], &r, 0.1, 0.5)
        let b = try! a + delta  // never within 0.1 of a
        G.check("maximum", [a, b]) { try $0[0].maximum($0[1]) }
        G.check("minimum", [a, b]) { try $0[0].minimum($0[1]) }
        // Broadcast: [3,4] against [4], kept apart from every element.
        let row = try! Tensor(shape: [4], data: [0.05, -0.45, 0.55, -0.95])
        let grid = try! Tensor(shape: [3, 4], data: [0.3, -0.2, 0.1, -0.7, -0.3, 0.8, 0.9, -0.5, 0.6, -0.8, 0.2, 0.4])
        G.check("maximum broadcast", [grid, row]) { try $0[0].maximum($0[1]) }
        G.check("minimum broadcast", [grid, row]) { try $0[0].minimum($0[1]) }
    }

    func testMaximumMinimumTiesGoToFirst() throws {
        let a = try Tensor(shape: [3], data: [1, 2, 3]).requiringGrad()
        let b = try Tensor(shape: [3], data: [1, 1, 4]).requiringGrad()
        try a.maximum(b).sum().backward()
        XCTAssertEqual(a.grad?.scalars, [1, 1, 0])
        XCTAssertEqual(b.grad?.scalars, [0, 0, 1])
        let c = try Tensor(shape: [3], data: [1, 2, 3]).requiringGrad()
        let d = try Tensor(shape: [3], data: [1, 1, 4]).requiringGrad()
        try c.minimum(d).sum().backward()
        XCTAssertEqual(c.grad?.scalars, [1, 0, 1])
        XCTAssertEqual(d.grad?.scalars, [0, 1, 0])
    }

    func testWhere() {
        var r = G.RNG(5)
        let a = G.rand([3, 4], &r), b = G.rand([3, 4], &r), row = G.rand([4], &r), s = G.rand([], &r)
        let cond = try! Tensor(shape: [3, 4], data: [1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0])
        let condCol = try! Tensor(shape: [3, 1], data: [1, 0, 1])
        G.check("where", [a, b]) { try Tensor.where(cond, $0[0], $0[1]) }
        G.check("where broadcast [4] / scalar", [row, s]) { try Tensor.where(cond, $0[0], $0[1]) }
        G.check("where cond [3,1] broadcast", [row, a]) { try Tensor.where(condCol, $0[0], $0[1]) }
    }

    // MARK: - Unary

    func testUnaryMath() {
        var r = G.RNG(6)
        let x = G.rand([3, 5], &r, -2, 2)
        let pos = G.rand([3, 5], &r, 0.3, 2)
        let nz = G.signed([3, 5], &r, 0.1, 1.5)
        G.check("abs", [nz]) { $0[0].abs() }
        G.check("exp", [x]) { $0[0].exp() }
        G.check("log", [pos]) { $0[0].log() }
        G.check("log1p", [G.rand([3, 5], &r, -0.6, 2)]) { $0[0].log1p() }
        G.check("sqrt", [pos]) { $0[0].sqrt() }
        G.check("rsqrt", [pos]) { $0[0].rsqrt() }
        G.check("tanh", [x]) { $0[0].tanh() }
        G.check("sigmoid", [x]) { $0[0].sigmoid() }
        G.check("silu", [x]) { $0[0].silu() }
        G.check("relu", [nz]) { $0[0].relu() }
        G.check("gelu tanh", [x]) { $0[0].gelu(approximate: true) }
        G.check("gelu erf", [x]) { $0[0].gelu(approximate: false) }
        let c = G.rand([3, 5], &r, -1, 1, avoid: [-0.5, 0.5], margin: 0.05)
        G.check("clamp both", [c]) { try $0[0].clamp(min: -0.5, max: 0.5) }
        G.check("clamp min", [c]) { try $0[0].clamp(min: -0.5) }
        G.check("clamp max", [c]) { try $0[0].clamp(max: 0.5) }
        // Compositions exercise chains of rules.
        G.check("tanh(exp(x)) * sigmoid(x)", [x]) { try $0[0].exp().tanh() * $0[0].sigmoid() }
    }

    func testReluAndAbsValuesAtKinks() throws {
        // Subgradient conventions: relu'(0) = 0, abs'(0) = 0.
        let x = try Tensor(shape: [3], data: [-1, 0, 2]).requiringGrad()
        try x.relu().sum().backward()
        XCTAssertEqual(x.grad?.scalars, [0, 0, 1])
        let y = try Tensor(shape: [3], data: [-1, 0, 2]).requiringGrad()
        try y.abs().sum().backward()
        XCTAssertEqual(y.grad?.scalars, [-1, 0, 1])
    }

    // MARK: - Reductions

    func testSumMean() {
        var r = G.RNG(7)
        let x = G.rand([2, 3, 4], &r)
        for keep in [false, true] {
            G.check("sum all keep=\(keep)", [x]) { try $0[0].sum(axes: nil, keepDims: keep) }
            G.check("sum [1] keep=\(keep)", [x]) { try $0[0].sum(axes: [1], keepDims: keep) }
            G.check("sum [-1] keep=\(keep)", [x]) { try $0[0].sum(axes: [-1], keepDims: keep) }
            G.check("sum [0,2] keep=\(keep)", [x]) { try $0[0].sum(axes: [0, 2], keepDims: keep) }
            G.check("sum [0,1] keep=\(keep)", [x]) { try $0[0].sum(axes: [0, 1], keepDims: keep) }
            G.check("mean all keep=\(keep)", [x]) { try $0[0].mean(axes: nil, keepDims: keep) }
            G.check("mean [1] keep=\(keep)", [x]) { try $0[0].mean(axis: 1, keepDims: keep) }
            G.check("mean [0,2] keep=\(keep)", [x]) { try $0[0].mean(axes: [0, 2], keepDims: keep) }
        }
    }

    func testMaxMin() {
        var r = G.RNG(8)
        let x = G.distinct([2, 3, 4], &r)
        for keep in [false, true] {
            G.check("max all keep=\(keep)", [x]) { try $0[0].max(axes: nil, keepDims: keep) }
            G.check("max [1] keep=\(keep)", [x]) { try $0[0].max(axis: 1, keepDims: keep) }
            G.check("max [-1] keep=\(keep)", [x]) { try $0[0].max(axis: -1, keepDims: keep) }
            G.check("max [0,2] keep=\(keep)", [x]) { try $0[0].max(axes: [0, 2], keepDims: keep) }
            G.check("min all keep=\(keep)", [x]) { try $0[0].min(axes: nil, keepDims: keep) }
            G.check("min [0] keep=\(keep)", [x]) { try $0[0].min(axis: 0, keepDims: keep) }
            G.check("min [1,2] keep=\(keep)", [x]) { try $0[0].min(axes: [1, 2], keepDims: keep) }
        }
    }

    func testMaxMinTiesShareGradientEqually() throws {
        // As JAX: tied extrema share the gradient equally.
        let x = try Tensor(shape: [2, 3], data: [1, 3, 3, 2, 2, 0]).requiringGrad()
        try x.max(axis: 1).sum().backward()
        XCTAssertEqual(x.grad?.scalars, [0, 0.5, 0.5, 0.5, 0.5, 0])
        let y = try Tensor(shape: [2, 3], data: [1, 3, 3, 2, 2, 0]).requiringGrad()
        try (y.min(axis: 0) * Tensor([1, 2, 3])).sum().backward()
        XCTAssertEqual(y.grad?.scalars, [1, 0, 0, 0, 2, 3])
        let z = try Tensor(shape: [2, 3], data: [5, 1, 5, 5, 0, 2]).requiringGrad()
        try (z.max() * 6).backward()
        XCTAssertEqual(z.grad?.scalars, [2, 0, 2, 2, 0, 0])
        let w = try Tensor(shape: [2, 3], data: [0, 1, 0, 5, 0, 2]).requiringGrad()
        try w.min(axes: nil, keepDims: true).sum().backward()
        let third: Float = 1.0 / 3.0
        XCTAssertEqual(w.grad?.scalars, [third, 0, third, 0, third, 0])
        // Ties along a strided (non-last) axis inside a 3-d tensor.
        let t = try Tensor(shape: [2, 2, 2], data: [1, 4, 1, 3, 7, 7, 7, 8]).requiringGrad()
        try t.max(axis: 1).sum().backward()
        XCTAssertEqual(t.grad?.scalars, [0.5, 1, 0.5, 0, 0.5, 0, 0.5, 1])
    }

    func testVarianceStd() {
        var r = G.RNG(9)
        let x = G.rand([3, 5], &r)
        for ddof in [0, 1] {
            G.check("variance all ddof=\(ddof)", [x]) { try $0[0].variance(ddof: ddof) }
            G.check("variance [1] ddof=\(ddof)", [x]) { try $0[0].variance(axes: [1], ddof: ddof) }
            G.check("variance [0] keep ddof=\(ddof)", [x]) { try $0[0].variance(axes: [0], keepDims: true, ddof: ddof) }
            G.check("std all ddof=\(ddof)", [x]) { try $0[0].std(ddof: ddof) }
            G.check("std [1] ddof=\(ddof)", [x]) { try $0[0].std(axes: [1], ddof: ddof) }
            G.check("std [0] keep ddof=\(ddof)", [x]) { try $0[0].std(axes: [0], keepDims: true, ddof: ddof) }
        }
    }

    func testLogsumexp() {
        var r = G.RNG(10)
        let x = G.rand([2, 3, 4], &r, -3, 3)
        for keep in [false, true] {
            G.check("logsumexp all keep=\(keep)", [x]) { try $0[0].logsumexp(axes: nil, keepDims: keep) }
            G.check("logsumexp [2] keep=\(keep)", [x]) { try $0[0].logsumexp(axes: [2], keepDims: keep) }
            G.check("logsumexp [0] keep=\(keep)", [x]) { try $0[0].logsumexp(axes: [0], keepDims: keep) }
            G.check("logsumexp [0,2] keep=\(keep)", [x]) { try $0[0].logsumexp(axes: [0, 2], keepDims: keep) }
        }
        // Large values: the shift must keep both forward and gradient finite.
        let big = try! G.rand([2, 4], &r, -1, 1) + 80
        G.check("logsumexp large", [big]) { try $0[0].logsumexp(axes: [1]) }
    }

    func testNorms() {
        var r = G.RNG(11)
        let x = G.signed([3, 4], &r, 0.2, 1)
        // Distinct magnitudes for the inf-norm (its maximum must not tie under perturbation).
        let mags = G.distinct([3, 4], &r, spacing: 0.1)
        let sg = G.signed([3, 4], &r, 1, 1)
        let xinf = try! (mags.abs() + 0.1) * sg
        for keep in [false, true] {
            G.check("norm2 all keep=\(keep)", [x]) { try $0[0].norm(p: 2, keepDims: keep) }
            G.check("norm2 [1] keep=\(keep)", [x]) { try $0[0].norm(p: 2, axes: [1], keepDims: keep) }
            G.check("norm1 all keep=\(keep)", [x]) { try $0[0].norm(p: 1, keepDims: keep) }
            G.check("norm1 [0] keep=\(keep)", [x]) { try $0[0].norm(p: 1, axes: [0], keepDims: keep) }
            G.check("norm inf all keep=\(keep)", [xinf]) { try $0[0].norm(p: .infinity, keepDims: keep) }
            G.check("norm inf [1] keep=\(keep)", [xinf]) { try $0[0].norm(p: .infinity, axes: [1], keepDims: keep) }
        }
        G.check("norm p=3 [1]", [x]) { try $0[0].norm(p: 3, axes: [1]) }
    }

    func testCumsum() {
        var r = G.RNG(12)
        let x = G.rand([3, 4, 2], &r)
        for axis in [0, 1, 2, -1, -3] {
            G.check("cumsum axis \(axis)", [x]) { try $0[0].cumsum(axis: axis) }
        }
        G.check("cumsum 1-d", [G.rand([6], &r)]) { try $0[0].cumsum() }
    }

    // MARK: - Softmax

    func testSoftmax() {
        var r = G.RNG(13)
        let x = G.rand([2, 3, 4], &r, -2, 2)
        for axis in [0, 1, 2, -1, -2] {
            G.check("softmax axis \(axis)", [x]) { try $0[0].softmax(axis: axis) }
            G.check("logSoftmax axis \(axis)", [x]) { try $0[0].logSoftmax(axis: axis) }
        }
        let v = G.rand([9], &r, -2, 2)  // 9 > 8: SIMD body plus tail
        G.check("softmax 1-d", [v]) { try $0[0].softmax() }
        G.check("logSoftmax 1-d", [v]) { try $0[0].logSoftmax() }
    }

    func testSoftmaxLargeLogits() {
        var r = G.RNG(31)
        let big = try! G.rand([3, 5], &r, -2, 2) + 60
        G.check("softmax large", [big]) { try $0[0].softmax(axis: -1) }
        G.check("logSoftmax large", [big]) { try $0[0].logSoftmax(axis: 0) }
    }

    func testScalarInputs() {
        // 0-d tensors through every op that accepts them.
        let s = Tensor(scalar: 0.7)
        G.check("scalar sum", [s]) { try $0[0].sum() }
        G.check("scalar mean", [s]) { try $0[0].mean() }
        G.check("scalar max", [s]) { try $0[0].max() }
        G.check("scalar logsumexp", [s]) { try $0[0].logsumexp() }
        G.check("scalar softmax", [s]) { try $0[0].softmax() * 3 }
        G.check("scalar logSoftmax", [s]) { try $0[0].logSoftmax() }
        G.check("scalar cumsum", [s]) { try $0[0].cumsum() }
        G.check("scalar reshape", [s]) { try $0[0].reshape([1, 1]) }
        G.check("scalar broadcast", [s]) { try $0[0].broadcast(to: [2, 3]) }
        G.check("scalar exp*tanh", [s]) { try $0[0].exp() * $0[0].tanh() }
    }

    // MARK: - Shape ops

    func testReshapeFamily() {
        var r = G.RNG(14)
        let x = G.rand([2, 3, 4], &r)
        G.check("reshape", [x]) { try $0[0].reshape([4, -1]) * $0[0].reshape([4, 6]) }
        G.check("flatten", [x]) { $0[0].flatten() }
        G.check("permute", [x]) { try $0[0].permute([2, 0, 1]) }
        G.check("permute twice", [x]) { try $0[0].permute([1, 2, 0]).permute([2, 0, 1]) * $0[0] }
        G.check("transpose default", [x]) { try $0[0].transpose() }
        G.check("transpose 0,2", [x]) { try $0[0].transpose(0, 2) }
        G.check("T", [G.rand([3, 5], &r)]) { try $0[0].T }
        let y = G.rand([2, 1, 3, 1], &r)
        G.check("squeeze all", [y]) { try $0[0].squeeze() }
        G.check("squeeze [1]", [y]) { try $0[0].squeeze(axes: [1]) }
        G.check("unsqueeze 0", [x]) { try $0[0].unsqueeze(0) }
        G.check("unsqueeze -1", [x]) { try $0[0].unsqueeze(-1) }
        G.check("unsqueeze 2", [x]) { try $0[0].unsqueeze(2) }
    }

    func testBroadcastExpand() {
        var r = G.RNG(15)
        G.check("broadcast [3,1]->[2,3,4]", [G.rand([3, 1], &r)]) { try $0[0].broadcast(to: [2, 3, 4]) }
        G.check("broadcast [4]->[3,4]", [G.rand([4], &r)]) { try $0[0].broadcast(to: [3, 4]) }
        G.check("broadcast scalar->[2,3]", [G.rand([], &r)]) { try $0[0].broadcast(to: [2, 3]) }
        G.check("broadcast [1,3,1]->[2,3,4]", [G.rand([1, 3, 1], &r)]) { try $0[0].broadcast(to: [2, 3, 4]) }
        G.check("expand [3,1]->[2,-1,4]", [G.rand([3, 1], &r)]) { try $0[0].expand([2, -1, 4]) }
    }

    func testConcatStackSplit() {
        var r = G.RNG(16)
        let a = G.rand([2, 3], &r), b = G.rand([2, 1], &r), c = G.rand([2, 4], &r), d = G.rand([4, 3], &r)
        G.check("concat axis 1", [a, b, c]) { try Tensor.concat($0, axis: 1) }
        G.check("concat axis -1", [a, b, c]) { try Tensor.concat($0, axis: -1) }
        G.check("concat axis 0", [a, d]) { try Tensor.concat($0, axis: 0) }
        G.check("concat same input twice", [a]) { try Tensor.concat([$0[0], $0[0]], axis: 0) }
        let p = G.rand([2, 3], &r), q = G.rand([2, 3], &r)
        for axis in [0, 1, 2, -1] {
            G.check("stack axis \(axis)", [p, q, a]) { try Tensor.stack($0, axis: axis) }
        }
        let x = G.rand([3, 5, 2], &r)
        G.checkMulti("split sizes axis 1", [x]) { try $0[0].split(sizes: [1, 3, 1], axis: 1) }
        G.checkMulti("split sizes with empty piece", [x]) { try $0[0].split(sizes: [2, 0, 1], axis: 0) }
        G.checkMulti("split sections axis -1", [x]) { try $0[0].split(sections: 2, axis: -1) }
        // Only some pieces used: the others contribute zero gradient.
        G.check("split partial use", [x]) { try $0[0].split(sections: 5, axis: 1)[3] }
    }

    func testSliceAndFlip() {
        var r = G.RNG(17)
        let x = G.rand([4, 5, 3], &r)
        let cases: [(String, [SliceIndex])] = [
            ("1::2, ::-1, 1", [.range(1, nil, 2), .range(nil, nil, -1), .index(1)]),
            ("..., -1:0:-2", [.ellipsis, .range(-1, 0, -2)]),
            ("None, -1, 3:0:-1", [.newAxis, .index(-1), .range(3, 0, -1)]),
            ("::-3, 4:1:-2, :", [.range(nil, nil, -3), .range(4, 1, -2), .all]),
            ("2", [.index(2)]),
            (":, 1:4, None, ::2", [.all, .range(1, 4, 1), .newAxis, .range(nil, nil, 2)]),
            ("-10:10, -2", [.range(-10, 10, nil), .index(-2)]),
        ]
        for (name, idx) in cases {
            G.check("slice [\(name)]", [x]) { try $0[0].slice(idx) }
        }
        for axis in [0, 1, 2, -1] {
            G.check("flip axis \(axis)", [x]) { try $0[0].flip(axis: axis) }
        }
    }

    // MARK: - Indexing

    func testTakeAlongAxisGather() throws {
        var r = G.RNG(18)
        let x = G.rand([3, 4], &r)
        // Repeated indices must accumulate their gradients.
        let i1 = try IndexTensor(shape: [3, 5], data: [0, 3, 3, 1, 0, 2, 2, 2, 1, -1, 3, 0, 1, 1, 0])
        G.check("takeAlongAxis axis 1 with repeats", [x]) { try $0[0].takeAlongAxis(i1, axis: 1) }
        let i0 = try IndexTensor(shape: [2, 4], data: [2, 0, 1, 1, 2, 2, 0, 1])
        G.check("takeAlongAxis axis 0", [x]) { try $0[0].takeAlongAxis(i0, axis: 0) }
        G.check("gather axis 0", [x]) { try $0[0].gather(axis: 0, index: i0) }
        // Index broadcast against x in the non-axis dimension.
        let ib = try IndexTensor(shape: [2, 1], data: [1, 1])
        G.check("takeAlongAxis broadcast index", [x]) { try $0[0].takeAlongAxis(ib, axis: 0) }
        let x3 = G.rand([2, 3, 4], &r)
        let i3 = try IndexTensor(shape: [2, 5, 4], data: (0..<40).map { ($0 * 7 + 1) % 3 })
        G.check("takeAlongAxis rank 3 axis 1", [x3]) { try $0[0].takeAlongAxis(i3, axis: 1) }
    }

    func testTakeAlongAxisForwardValues() throws {
        // Finite differences cannot see a forward that reads the wrong element (the backward scatters to the
        // same place), so pin the forward to numpy's take_along_axis.
        let x = try Tensor(shape: [3, 4], data: (0..<12).map(Float.init))
        let i1 = try IndexTensor(shape: [3, 2], data: [3, 0, 1, 1, 2, 3])
        XCTAssertEqual(try x.takeAlongAxis(i1, axis: 1).scalars, [3, 0, 5, 5, 10, 11])
        let i0 = try IndexTensor(shape: [1, 4], data: [2, 0, 1, 2])
        XCTAssertEqual(try x.takeAlongAxis(i0, axis: 0).scalars, [8, 1, 6, 11])
        XCTAssertEqual(try x.sort(axis: 1, descending: true).scalars, [3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8])
    }

    func testIndexSelectEmbedding() throws {
        var r = G.RNG(19)
        let x = G.rand([3, 4, 2], &r)
        G.check("indexSelect axis 1 with repeats", [x]) { try $0[0].indexSelect(axis: 1, indices: [2, 0, 2, -1]) }
        G.check("indexSelect axis 0", [x]) { try $0[0].indexSelect(axis: 0, indices: [1, 1, 2]) }
        G.check("indexSelect axis -1", [x]) { try $0[0].indexSelect(axis: -1, indices: [1, 0, 1]) }
        let table = G.rand([5, 3], &r)
        let ids = try IndexTensor(shape: [2, 3], data: [1, 4, 1, 0, 1, 1])
        G.check("embedding repeated ids", [table]) { try $0[0].embedding(ids) }
        // Exact accumulation: each row's gradient is the number of times it was used.
        let t = table.requiringGrad()
        try t.embedding(ids).sum().backward()
        XCTAssertEqual(t.grad?.scalars, [1, 1, 1, 4, 4, 4, 0, 0, 0, 0, 0, 0, 1, 1, 1])
    }

    func testSortTopk() {
        var r = G.RNG(20)
        let x = G.distinct([3, 5], &r)
        G.check("sort axis -1", [x]) { try $0[0].sort() }
        G.check("sort axis 0 descending", [x]) { try $0[0].sort(axis: 0, descending: true) }
        G.check("sort 1-d", [G.distinct([7], &r)]) { try $0[0].sort() }
        G.check("topk 2 axis -1", [x]) { try $0[0].topk(2, axis: -1).values }
        G.check("topk 2 smallest axis 0", [x]) { try $0[0].topk(2, axis: 0, largest: false).values }
        G.check("topk rank 3 axis 1", [G.distinct([2, 4, 3], &r)]) { try $0[0].topk(3, axis: 1).values }
    }

    // MARK: - Matmul

    func testMatmulForms() {
        var r = G.RNG(21)
        let m34 = G.rand([3, 4], &r), m45 = G.rand([4, 5], &r)
        let v4 = G.rand([4], &r), v3 = G.rand([3], &r)
        G.check("matmul 2d@2d", [m34, m45]) { try $0[0].matmul($0[1]) }
        G.check("matmul 1d@2d", [v4, m45]) { try $0[0].matmul($0[1]) }
        G.check("matmul 2d@1d", [m34, v4]) { try $0[0].matmul($0[1]) }
        G.check("matmul 1d@1d", [v4, G.rand([4], &r)]) { try $0[0].matmul($0[1]) }
        G.check("outer", [v3, v4]) { try Tensor.outer($0[0], $0[1]) }
        let a = G.rand([2, 3, 4], &r), b = G.rand([2, 4, 5], &r)
        G.check("matmul batched", [a, b]) { try $0[0].matmul($0[1]) }
        G.check("matmul shared right operand", [a, m45]) { try $0[0].matmul($0[1]) }
        G.check("matmul shared left operand", [m34, b]) { try $0[0].matmul($0[1]) }
        G.check("matmul batched @ 1d", [a, v4]) { try $0[0].matmul($0[1]) }
        G.check("matmul 1d @ batched", [v3, a]) { try $0[0].matmul($0[1]) }
        let a4 = G.rand([2, 1, 3, 4], &r), b3 = G.rand([3, 4, 2], &r)
        G.check("matmul broadcast batch [2,1]x[3]", [a4, b3]) { try $0[0].matmul($0[1]) }
        let c4 = G.rand([1, 2, 3, 4], &r), d4 = G.rand([2, 1, 4, 2], &r)
        G.check("matmul broadcast batch [1,2]x[2,1]", [c4, d4]) { try $0[0].matmul($0[1]) }
        G.check("matmul same input x @ x^T", [m34]) { try $0[0].matmul($0[0].T) }
    }

    func testBatchedMatmulTransposedOperands() {
        // The transposed forms are what attention and matmul's own backward use.
        var r = G.RNG(22)
        let a = G.rand([2, 3, 4], &r), at = G.rand([2, 4, 3], &r)
        let b = G.rand([2, 4, 5], &r), bt = G.rand([2, 5, 4], &r), bShared = G.rand([5, 4], &r)
        G.check("bmm A B", [a, b]) { try Tensor.batchedMatmul($0[0], false, $0[1], false, op: "t") }
        G.check("bmm A^T B", [at, b]) { try Tensor.batchedMatmul($0[0], true, $0[1], false, op: "t") }
        G.check("bmm A B^T", [a, bt]) { try Tensor.batchedMatmul($0[0], false, $0[1], true, op: "t") }
        G.check("bmm A^T B^T", [at, bt]) { try Tensor.batchedMatmul($0[0], true, $0[1], true, op: "t") }
        G.check("bmm A B^T shared", [a, bShared]) { try Tensor.batchedMatmul($0[0], false, $0[1], true, op: "t") }
        G.check("bmm A^T B^T shared", [at, bShared]) { try Tensor.batchedMatmul($0[0], true, $0[1], true, op: "t") }
    }

    // MARK: - Fused NN ops

    func testLayerNorm() {
        var r = G.RNG(23)
        let x = G.rand([2, 3, 8], &r, -2, 2), w = G.rand([8], &r, 0.5, 1.5), b = G.rand([8], &r)
        G.check("layerNorm w+b", [x, w, b]) { try $0[0].layerNorm(weight: $0[1], bias: $0[2]) }
        G.check("layerNorm w", [x, w]) { try $0[0].layerNorm(weight: $0[1], bias: nil) }
        G.check("layerNorm b", [x, b]) { try $0[0].layerNorm(weight: nil, bias: $0[1]) }
        G.check("layerNorm plain", [x]) { try $0[0].layerNorm(weight: nil, bias: nil) }
        G.check("layerNorm eps 0.5", [x, w, b]) { try $0[0].layerNorm(weight: $0[1], bias: $0[2], eps: 0.5) }
        G.check("layerNorm 1-d", [G.rand([6], &r), G.rand([6], &r)]) { try $0[0].layerNorm(weight: $0[1], bias: nil) }
        // Only the weight requires grad (x is a constant): the rule must still give the right parts.
        G.check("layerNorm weight only", [w]) { try x.layerNorm(weight: $0[0], bias: nil) }
    }

    func testLayerNormBackwardAfterIntermediatesReleased() throws {
        // The backward must keep the per-row statistics alive on its own (the forward's locals are gone).
        var r = G.RNG(24)
        let xs = G.rand([16, 64], &r, -2, 2)
        let x = xs.requiringGrad()
        let y = try x.layerNorm(weight: nil, bias: nil)
        let y2 = try x.rmsNorm(weight: nil)
        // Churn the allocator so freed buffers get reused.
        for n in [16, 32, 16, 32, 16, 32] { _ = try Tensor.full([n], 123) * Tensor.full([n], 7) }
        try (y.sum(axis: -1).sum() + y2.sum()).backward()
        let rms = try Autograd.noGrad { try (xs * xs).mean(axis: -1, keepDims: true) + 1e-5 }.rsqrt()
        // d/dx sum(layerNorm(x)) = 0 exactly; d/dx sum(rmsNorm(x)) = r - x r^3 mean(x).
        let expected = try rms - xs * rms * rms * rms * xs.mean(axis: -1, keepDims: true)
        let worst = zip(x.grad!.scalars, expected.scalars).map { Swift.abs($0 - $1) / Swift.max(1, Swift.abs($1)) }.max()!
        XCTAssertLessThan(worst, 1e-4, "layer/RMS norm backward read freed statistics")
    }

    func testRMSNorm() {
        var r = G.RNG(25)
        let x = G.rand([2, 3, 8], &r, -2, 2), w = G.rand([8], &r, 0.5, 1.5)
        G.check("rmsNorm w", [x, w]) { try $0[0].rmsNorm(weight: $0[1]) }
        G.check("rmsNorm plain", [x]) { try $0[0].rmsNorm(weight: nil) }
        G.check("rmsNorm eps 0.3", [x, w]) { try $0[0].rmsNorm(weight: $0[1], eps: 0.3) }
        G.check("rmsNorm weight only", [w]) { try x.rmsNorm(weight: $0[0]) }
    }

    func testCrossEntropy() throws {
        var r = G.RNG(26)
        let logits = G.rand([4, 5], &r, -2, 2)
        let t = IndexTensor([0, 4, 2, 4])
        G.check("crossEntropy [4,5]", [logits]) { try $0[0].crossEntropy(t) }
        let l3 = G.rand([2, 3, 6], &r, -2, 2)
        let t3 = try IndexTensor(shape: [2, 3], data: [5, 0, 1, 1, 3, 5])
        G.check("crossEntropy [2,3,6]", [l3]) { try $0[0].crossEntropy(t3) }
        // Scaled: the incoming gradient is not 1.
        G.check("crossEntropy * 3", [logits]) { try $0[0].crossEntropy(t) * 3 }
        G.check("crossEntropy of computed logits", [logits, G.rand([5, 5], &r)]) { try $0[0].matmul($0[1]).crossEntropy(t) }
    }

    func testAttention() throws {
        var r = G.RNG(27)
        let q = G.rand([2, 3, 5, 4], &r), k = G.rand([2, 3, 5, 4], &r), v = G.rand([2, 3, 5, 3], &r)
        G.check("attention", [q, k, v]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2]) }
        G.check("attention causal", [q, k, v]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], causal: true) }
        G.check("attention scale 0.7", [q, k, v]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], scale: 0.7) }
        // Longer keys than queries (KV cache): causal mask aligned at the end.
        let k7 = G.rand([2, 3, 7, 4], &r), v7 = G.rand([2, 3, 7, 3], &r)
        G.check("attention causal Tk>Tq", [q, k7, v7]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], causal: true) }
        // Additive mask, broadcast over batch and heads, with some keys hidden entirely.
        var md = G.rand([5, 7], &r, -1, 1).scalars
        for (i, j) in [(0, 6), (1, 0), (3, 2), (4, 4)] { md[i * 7 + j] = -.infinity }
        let mask = try Tensor(shape: [5, 7], data: md)
        G.check("attention mask", [q, k7, v7]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], mask: mask) }
        G.check("attention mask + causal", [q, k7, v7]) {
            try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], causal: true, mask: mask)
        }
        // Grouped-query attention: k and v with one head broadcast over q's 3 heads.
        let kg = G.rand([2, 1, 5, 4], &r), vg = G.rand([2, 1, 5, 3], &r)
        G.check("attention GQA broadcast heads", [q, kg, vg]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2]) }
        G.check("attention GQA causal", [q, kg, vg]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], causal: true) }
        // k, v shared by all batch entries and heads (rank 2 against rank 4).
        let k2 = G.rand([5, 4], &r), v2 = G.rand([5, 3], &r)
        G.check("attention shared rank-2 k v", [q, k2, v2]) { try Tensor.attention(q: $0[0], k: $0[1], v: $0[2], causal: true) }
        // Plain rank-2 (single head, no batch).
        G.check("attention rank 2", [G.rand([4, 4], &r), G.rand([6, 4], &r), G.rand([6, 2], &r)]) {
            try Tensor.attention(q: $0[0], k: $0[1], v: $0[2])
        }
    }

    func testAttentionCausalMoreQueriesThanKeys() throws {
        // Tq > Tk with the end-aligned causal mask: the last query sees every key, the earliest see none (NaN, as
        // a softmax over nothing). Masking one batch entry must not write into the previous one.
        var r = G.RNG(30)
        let q = G.rand([2, 4, 3], &r), k = G.rand([2, 2, 3], &r), v = G.rand([2, 2, 3], &r)
        let causal = try Tensor.attention(q: q, k: k, v: v, causal: true).scalars
        let full = try Tensor.attention(q: q, k: k, v: v).scalars
        for b in 0..<2 {
            for c in 0..<3 {
                let i = (b * 4 + 3) * 3 + c
                XCTAssertEqual(causal[i], full[i], accuracy: 1e-6, "batch \(b) last query")
                XCTAssertTrue(causal[(b * 4 + 0) * 3 + c].isNaN, "batch \(b) first query sees no key")
            }
        }
    }

    func testAttentionMatchesUnfusedComposition() throws {
        // The fused op against the same computation written with primitive ops (forward and gradients).
        var r = G.RNG(28)
        let q0 = G.rand([2, 2, 4, 3], &r), k0 = G.rand([2, 1, 6, 3], &r), v0 = G.rand([2, 1, 6, 5], &r)
        let mask = G.rand([4, 6], &r)
        let causal = try Tensor(shape: [4, 6], data: (0..<24).map { i in i % 6 > i / 6 + 2 ? -Float.infinity : 0 })
        func leaves() -> [Tensor] { [q0, k0, v0].map { $0.requiringGrad() } }
        let (a, b) = (leaves(), leaves())
        let fused = try Tensor.attention(q: a[0], k: a[1], v: a[2], causal: true, mask: mask)
        let scores = try b[0].matmul(b[1].transpose()) * (1 / Float(3).squareRoot()) + mask + causal
        let plain = try scores.softmax(axis: -1).matmul(b[2])
        for (x, y) in zip(fused.scalars, plain.scalars) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        let w = G.rand(fused.shape, &r)
        try (fused * w).sum().backward()
        try (plain * w).sum().backward()
        for i in 0..<3 {
            for (x, y) in zip(a[i].grad!.scalars, b[i].grad!.scalars) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }
    }

    func testTinyTransformerBlock() throws {
        var r = G.RNG(29)
        let (d, hidden) = (4, 8)
        let shapes: [[Int]] = [[d], [d], [d, 3 * d], [3 * d], [d, d], [d], [d], [d], [d, hidden], [hidden], [hidden, d], [d]]
        let params = shapes.map { G.rand($0, &r, -0.8, 0.8) }
        let x = G.rand([1, 3, d], &r, -1, 1)
        G.check("transformer block (tiny)", [x] + params) { inputs in
            try TransformerBlock(d: d, heads: 2, parameters: Array(inputs.dropFirst())).forward(inputs[0])
        }
    }

    // MARK: - Autograd engine

    func testNoGradRecordsNothing() throws {
        let x = try Tensor(shape: [2, 2], data: [1, 2, 3, 4]).requiringGrad()
        let y = try Autograd.noGrad { try (x * x).exp().sum(axis: 0).matmul(Tensor([1, 1])) }
        XCTAssertFalse(y.requiresGrad)
        XCTAssertNil(y.node)
        XCTAssertThrowsError(try y.backward())
        // Nested: grad mode comes back after noGrad, and is off inside nested calls.
        Autograd.noGrad { Autograd.noGrad { XCTAssertFalse(Autograd.isEnabled) }; XCTAssertFalse(Autograd.isEnabled) }
        XCTAssertTrue(Autograd.isEnabled)
        XCTAssertTrue(try (x * 2).requiresGrad)
        // Nothing requires grad: nothing recorded even in grad mode.
        let c = try Tensor([1, 2]) * Tensor([3, 4])
        XCTAssertFalse(c.requiresGrad)
        XCTAssertNil(c.node)
        // Detached values are constants.
        let dx = try (x.detached() * x).sum()
        try dx.backward()
        XCTAssertEqual(x.grad?.scalars, [1, 2, 3, 4])
    }

    func testGradientAccumulatesAcrossBackwardCalls() throws {
        let x = try Tensor(shape: [3], data: [1, -2, 3]).requiringGrad()
        try (x * x).sum().backward()
        XCTAssertEqual(x.grad?.scalars, [2, -4, 6])
        try (x * 3).sum().backward()
        XCTAssertEqual(x.grad?.scalars, [5, -1, 9])
        x.zeroGrad()
        XCTAssertNil(x.grad)
        try x.sum().backward()
        XCTAssertEqual(x.grad?.scalars, [1, 1, 1])
        // Constants and intermediates get no grad.
        let c = Tensor([1, 2, 3])
        let y = try x * c
        try y.sum().backward()
        XCTAssertNil(c.grad)
        XCTAssertNil(y.grad)
    }

    func testBackwardSeeds() throws {
        let x = try Tensor(shape: [2, 2], data: [1, 2, 3, 4]).requiringGrad()
        let y = try x * x
        XCTAssertThrowsError(try y.backward()) { error in
            guard case TensorError.autograd = error else { return XCTFail("unexpected error \(error)") }
        }
        XCTAssertThrowsError(try y.backward(Tensor([1, 1])))  // wrong seed shape
        try y.backward(Tensor(shape: [2, 2], data: [1, 0, 0.5, -1]))
        XCTAssertEqual(x.grad?.scalars, [2, 0, 3, -8])
        // A one-element non-scalar is a valid loss.
        let z = try Tensor(shape: [1, 1], data: [3]).requiringGrad()
        try (z * z).backward()
        XCTAssertEqual(z.grad?.scalars, [6])
        // A leaf may be the loss itself.
        let w = Tensor(scalar: 5).requiringGrad()
        try w.backward()
        XCTAssertEqual(w.grad?.scalars, [1])
        // Constants cannot be back-propagated.
        XCTAssertThrowsError(try Tensor(scalar: 1).backward())
    }

    func testDeepChainDoesNotOverflowStack() throws {
        let x = Tensor(scalar: 1).requiringGrad()
        var y = x
        for _ in 0..<10_000 { y = try y * 1.0001 + 0 }
        try y.backward()
        XCTAssertEqual(Double(x.grad!.scalars[0]), Foundation.pow(1.0001, 10_000), accuracy: 2e-3)
        // The graph is released when `y` goes away; a recursive teardown must not overflow either.
        y = Tensor(scalar: 0)
        // Same with each op using its input twice, and with a graph that is kept alive by a tensor in the middle.
        var z = x
        var middle: Tensor?
        for i in 0..<20_000 {
            z = try (z * z).sqrt()
            if i == 10_000 { middle = z }
        }
        z = Tensor(scalar: 0)
        XCTAssertTrue(middle!.requiresGrad)
        try middle!.backward()  // the kept half of the graph still works
        XCTAssertEqual(Double(x.grad!.scalars[0]), Foundation.pow(1.0001, 10_000) + 1, accuracy: 2e-3)
        middle = nil
    }

    func testGraphIsReleasedAfterUse() throws {
        // Backward closures must not keep their own result alive (a result -> node -> closure -> result cycle
        // would leak every graph that contains the op).
        let ops: [(String, (Tensor) throws -> Tensor)] = [
            ("div", { try $0 / ($0 + 3) }), ("pow", { try ($0 + 3).pow($0) }), ("exp", { $0.exp() }),
            ("sqrt", { try ($0 + 3).sqrt() }), ("rsqrt", { try ($0 + 3).rsqrt() }), ("tanh", { $0.tanh() }),
            ("sigmoid", { $0.sigmoid() }), ("max", { try $0.max(axis: 0) }), ("min", { try $0.min() }),
            ("softmax", { try $0.softmax(axis: 0) }), ("logSoftmax", { try $0.logSoftmax(axis: 0) }),
            ("silu", { $0.silu() }), ("gelu", { $0.gelu() }), ("cumsum", { try $0.cumsum() }),
            ("layerNorm", { try $0.layerNorm(weight: $0, bias: $0) }), ("rmsNorm", { try $0.rmsNorm(weight: $0) }),
            ("attention", { x in let m = try x.reshape([1, 3]); return try Tensor.attention(q: m, k: m, v: m, causal: true) }),
            ("crossEntropy", { try $0.reshape([1, 3]).crossEntropy(IndexTensor([1])) }),
            ("matmul", { try $0.matmul($0) }), ("sort", { try $0.sort() }), ("slice", { try $0.flip(axis: 0) }),
        ]
        for (name, op) in ops {
            weak var weakResult: Tensor?
            weak var weakLeaf: Tensor?
            try {
                let x = try Tensor(shape: [3], data: [0.5, -0.25, 1]).requiringGrad()
                let y = try op(x)
                weakResult = y; weakLeaf = x
                try y.sum().backward()
            }()
            XCTAssertNil(weakResult, "\(name): the result (and its graph) leaked")
            XCTAssertNil(weakLeaf, "\(name): the leaf leaked")
        }
    }

    func testZeroSizeTensorsBackpropagate() throws {
        // Nothing to perturb, but backward must run and give correctly shaped (zero) gradients.
        let e = try Tensor.zeros([0, 3]).requiringGrad()
        let w = try Tensor(shape: [3], data: [1, 2, 3]).requiringGrad()
        let y = try (e * w).sum(axis: 0) + e.mean() * 0 + Tensor.concat([e, w.reshape([1, 3])], axis: 0).sum(axis: 0)
        try y.sum().backward()
        XCTAssertEqual(e.grad?.shape, [0, 3])
        XCTAssertEqual(w.grad?.scalars, [1, 1, 1])
        let a = try Tensor.zeros([2, 0]).requiringGrad(), b = try Tensor.zeros([0, 3]).requiringGrad()
        try a.matmul(b).sum().backward()
        XCTAssertEqual(a.grad?.shape, [2, 0])
        XCTAssertEqual(b.grad?.shape, [0, 3])
        let s = try Tensor(shape: [4], data: [1, 2, 3, 4]).requiringGrad()
        try (s.slice([.range(3, 1, 1)]).sum() + s.indexSelect(axis: 0, indices: []).sum() + s.sum()).backward()
        XCTAssertEqual(s.grad?.scalars, [1, 1, 1, 1])
    }

    func testWideFanOutAccumulates() throws {
        // One leaf feeding 1000 uses, plus a diamond: each path adds.
        let x = try Tensor(shape: [2], data: [0.5, -1]).requiringGrad()
        var acc = try x * 0
        for i in 0..<1000 { acc = try acc + x * Float(i % 3) }
        try acc.sum().backward()
        XCTAssertEqual(x.grad?.scalars, [999, 999])
    }
}
