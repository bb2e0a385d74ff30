import Foundation
import XCTest

import LoupeTensor

/// numpy / JAX references written by Tests/Fixtures/make_linalg_fixtures.py (float32 inputs, float64 references).
private struct LinalgFixture: Decodable {
    struct T: Decodable {
        let shape: [Int]
        let data: [Double]
        var tensor: Tensor { try! Tensor(shape: shape, data: data.map { Float($0) }) }  // fixture shapes are valid
    }
    struct SVD: Decodable { let name: String; let fullMatrices: Bool; let a, u, s, vt: T }
    struct QR: Decodable { let name: String; let a, q, r: T }
    struct Eigh: Decodable { let name: String; let a, values, vectors: T }
    struct Solve: Decodable { let name: String; let a, b, x: T }
    struct Lstsq: Decodable { let name: String; let a, b, x, residuals, s: T; let rank: Int; let rcond: Double? }
    struct Grad: Decodable {
        let op, name: String
        let a: T
        let b, c, cs, cu, cv, d, cr, cq, cw: T?
        let loss: Double
        let gradA: T
        let gradB: T?
    }
    let svd: [SVD]
    let qr: [QR]
    let eigh: [Eigh]
    let solve: [Solve]
    let lstsq: [Lstsq]
    let grads: [Grad]

    static func load() throws -> LinalgFixture {
        let url = Bundle.module.url(forResource: "linalg", withExtension: "json", subdirectory: "Fixtures")
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/linalg.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(LinalgFixture.self, from: Data(contentsOf: url))
    }
}

// MARK: - Helpers

/// Largest |a - b|, scaled by max(1, largest |b|): float32 results against float64 references.
private func maxError(_ a: [Float], _ b: [Double]) -> Double {
    precondition(a.count == b.count)
    let scale = Swift.max(1, b.map(Swift.abs).max() ?? 0)
    return zip(a, b).map { Swift.abs(Double($0) - $1) }.max().map { $0 / scale } ?? 0
}

private func assertClose(_ a: Tensor, _ b: LinalgFixture.T, tol: Double, _ message: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "shape: " + message, file: file, line: line)
    guard a.shape == b.shape else { return }
    let err = maxError(a.scalars, b.data)
    XCTAssertLessThanOrEqual(err, tol, message, file: file, line: line)
}

private func assertClose(_ a: Tensor, _ b: Tensor, tol: Double, _ message: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.shape, b.shape, "shape: " + message, file: file, line: line)
    guard a.shape == b.shape else { return }
    XCTAssertLessThanOrEqual(maxError(a.scalars, b.scalars.map(Double.init)), tol, message, file: file, line: line)
}

/// Signs that make each column of `x` (shape [..., rows, cols], first `cols` columns compared) point the same way
/// as the matching column of `ref`; one sign per batch item and column.
private func columnSigns(_ x: [Float], _ ref: [Double], batch: Int, rows: Int, cols: Int, compare: Int) -> [Float] {
    var signs: [Float] = []
    for b in 0..<batch {
        for j in 0..<compare {
            var dot = 0.0
            for i in 0..<rows { dot += Double(x[b * rows * cols + i * cols + j]) * ref[b * rows * cols + i * cols + j] }
            signs.append(dot < 0 ? -1 : 1)
        }
    }
    return signs
}

/// Multiplies column j (or row j when `rows` is true) of each matrix by `signs[b * count + j]`, for j < count.
private func flip(_ x: [Float], signs: [Float], batch: Int, r: Int, c: Int, count: Int, rows: Bool) -> [Float] {
    var y = x
    for b in 0..<batch {
        for i in 0..<r {
            for j in 0..<c {
                let which = rows ? i : j
                if which < count { y[b * r * c + i * c + j] *= signs[b * count + which] }
            }
        }
    }
    return y
}

/// Max |XᵀX - I| over a batch of [rows, cols] matrices: how far the columns are from orthonormal.
private func orthonormalityError(_ x: Tensor) throws -> Float {
    let k = x.shape[x.rank - 1]
    let gram = try x.transpose(-2, -1).matmul(x)
    return try (gram - Tensor.eye(k)).abs().max().item()
}

/// Deterministic pseudo-random numbers (a 64-bit LCG with a Box-Muller transform): tests must not depend on
/// the engine's own generator.
private struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }
    mutating func uniform() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return (Double(state >> 11) + 0.5) / Double(1 << 53)
    }
    mutating func normal() -> Float {
        Float((-2 * Foundation.log(uniform())).squareRoot() * Foundation.cos(2 * Double.pi * uniform()))
    }
    mutating func tensor(_ shape: [Int]) -> Tensor {
        try! Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in normal() })
    }
    /// A matrix with singular values evenly spread over [0.8, 3]: well conditioned, with gaps of >= 0.2, so
    /// that float32 finite differences are accurate to ~1e-4.
    mutating func wellConditioned(_ m: Int, _ n: Int) throws -> Tensor {
        let k = Swift.min(m, n)
        let q1 = try tensor([m, m]).qr().q, q2 = try tensor([n, n]).qr().q
        let s = (0..<k).map { k == 1 ? Float(2) : Float(3 - 2.2 * Double($0) / Double(k - 1)) }
        let u = try q1.slice([.all, .range(0, k, 1)]) * Tensor(s)
        return try u.matmul(q2.slice([.all, .range(0, k, 1)]).transpose())
    }
    /// A symmetric matrix with eigenvalues evenly spread over [-2, 3].
    mutating func symmetric(_ n: Int) throws -> Tensor {
        let q = try tensor([n, n]).qr().q
        let w = (0..<n).map { n == 1 ? Float(1) : Float(-2 + 5 * Double($0) / Double(n - 1)) }
        let a = try (q * Tensor(w)).matmul(q.transpose())
        return try (a + a.transpose()) * 0.5
    }
}

/// Compares the gradients autograd gives for `f` at `inputs` with central differences of step `eps`.
///
/// The loss is float32, so the difference quotient carries a rounding error of about ulp(loss) / eps; with
/// eps = 1e-2 and losses of size ~10 that is ~1e-4, and the truncation error (eps² / 6 times a third derivative
/// of order one for well-conditioned inputs) is of the same size. `tol` (relative to max(1, largest gradient))
/// sits 5x above the largest error seen (2e-4) and far below the O(1) errors of a wrong formula.
private func checkGradients(_ inputs: [Tensor], eps: Float = 1e-2, tol: Double = 1e-3, _ what: String,
                            file: StaticString = #filePath, line: UInt = #line,
                            _ f: ([Tensor]) throws -> Tensor) throws {
    let leaves = inputs.map { $0.requiringGrad() }
    let loss = try f(leaves)
    try loss.backward()
    for (i, x) in inputs.enumerated() {
        let analytic = leaves[i].grad?.scalars ?? [Float](repeating: 0, count: x.count)
        var data = x.scalars
        var numeric = [Double](repeating: 0, count: data.count)
        for j in data.indices {
            func value(_ v: Float) throws -> Double {
                data[j] = v
                var args = inputs
                args[i] = try Tensor(shape: x.shape, data: data)
                return Double(try Autograd.noGrad { try f(args) }.item())
            }
            let x0 = data[j]
            numeric[j] = (try value(x0 + eps) - value(x0 - eps)) / Double(2 * eps)
            data[j] = x0
        }
        let err = maxError(analytic, numeric)
        XCTAssertLessThanOrEqual(err, tol, "\(what): gradient of input \(i)\nautograd: \(analytic)\nnumeric:  \(numeric)",
                                 file: file, line: line)
    }
}

/// Asserts that `body` throws a TensorError for which `matches` holds, and that its message names `op`.
private func assertTensorError(_ op: String, file: StaticString = #filePath, line: UInt = #line,
                               _ body: () throws -> Void, matches: (TensorError) -> Bool) {
    do {
        try body()
        XCTFail("\(op): expected an error", file: file, line: line)
    } catch let e as TensorError {
        XCTAssertTrue(matches(e), "\(op): unexpected error \(e)", file: file, line: line)
        XCTAssertTrue(e.description.hasPrefix(op), "message should name \(op): \(e)", file: file, line: line)
    } catch {
        XCTFail("\(op): not a TensorError: \(error)", file: file, line: line)
    }
}

private func isInvalidArgument(_ e: TensorError) -> Bool { if case .invalidArgument = e { return true }; return false }
private func isShapeMismatch(_ e: TensorError) -> Bool { if case .shapeMismatch = e { return true }; return false }
private func isLinalgFailed(_ e: TensorError) -> Bool { if case .linalgFailed = e { return true }; return false }

// MARK: - Losses shared by the JAX references and the finite-difference checks (all sign invariant but QR's)

private func svdLoss(_ a: Tensor, cs: Tensor, cu: Tensor, cv: Tensor, d: Tensor, cr: Tensor) throws -> Tensor {
    let (u, s, vt) = try a.svd()
    return try (s * cs).sum() + (u * u * cu).sum() + (vt * vt * cv).sum() + ((u * d).matmul(vt) * cr).sum()
}

private func qrLoss(_ a: Tensor, cq: Tensor, cr: Tensor) throws -> Tensor {
    let (q, r) = try a.qr()
    return try (q * cq).sum() + (r * cr).sum()
}

private func eighLoss(_ a: Tensor, cw: Tensor, cv: Tensor) throws -> Tensor {
    let (w, v) = try a.eigh()
    return try (w * cw).sum() + (v * v * cv).sum()
}

final class LinalgTests: XCTestCase {
    // MARK: - Forward against numpy

    func testSVDMatchesNumpy() throws {
        let fixture = try LinalgFixture.load()
        XCTAssertEqual(fixture.svd.count, 6)
        for c in fixture.svd {
            let a = c.a.tensor
            let (u, s, vt) = try a.svd(fullMatrices: c.fullMatrices)
            let m = a.shape[a.rank - 2], n = a.shape[a.rank - 1], k = Swift.min(m, n)
            let batch = a.count / (m * n)
            assertClose(s, c.s, tol: 1e-5, "\(c.name): singular values")
            XCTAssertEqual(u.shape, c.u.shape, c.name)
            XCTAssertEqual(vt.shape, c.vt.shape, c.name)
            // Singular vectors are unique up to a sign shared by u[:, i] and vt[i, :]: align u on numpy's and
            // apply the same signs to vt, which checks the pairing too.
            let ucols = u.shape[u.rank - 1], vtrows = vt.shape[vt.rank - 2]
            let signs = columnSigns(u.scalars, c.u.data, batch: batch, rows: m, cols: ucols, compare: k)
            let uAligned = flip(u.scalars, signs: signs, batch: batch, r: m, c: ucols, count: k, rows: false)
            let vtAligned = flip(vt.scalars, signs: signs, batch: batch, r: vtrows, c: n, count: k, rows: true)
            let uk = try Tensor(shape: u.shape, data: uAligned).slice([.ellipsis, .range(0, k, 1)])
            let vk = try Tensor(shape: vt.shape, data: vtAligned).slice([.ellipsis, .range(0, k, 1), .all])
            let uRef = try c.u.tensor.slice([.ellipsis, .range(0, k, 1)])
            let vRef = try c.vt.tensor.slice([.ellipsis, .range(0, k, 1), .all])
            assertClose(uk, uRef, tol: 1e-4, "\(c.name): u")
            assertClose(vk, vRef, tol: 1e-4, "\(c.name): vt")
            // Reconstruction, and orthonormality of the full factors (whose extra vectors are any basis).
            let usv = try (uk * s.unsqueeze(-2)).matmul(vk)
            assertClose(usv, c.a.tensor, tol: 1e-5, "\(c.name): u s vt")
            XCTAssertLessThan(try orthonormalityError(u), 1e-5, "\(c.name): uᵀu")
            XCTAssertLessThan(try orthonormalityError(vt.transpose(-2, -1)), 1e-5, "\(c.name): vt vtᵀ")
        }
    }

    func testQRMatchesNumpy() throws {
        let fixture = try LinalgFixture.load()
        XCTAssertEqual(fixture.qr.count, 4)
        for c in fixture.qr {
            let a = c.a.tensor
            let (q, r) = try a.qr()
            XCTAssertEqual(q.shape, c.q.shape, c.name)
            XCTAssertEqual(r.shape, c.r.shape, c.name)
            let m = a.shape[a.rank - 2], n = a.shape[a.rank - 1], k = Swift.min(m, n), batch = a.count / (m * n)
            // Upper triangular exactly (the zeros are written, not computed).
            let rv = r.scalars
            for b in 0..<batch { for i in 0..<k { for j in 0..<Swift.min(i, n) { XCTAssertEqual(rv[b * k * n + i * n + j], 0) } } }
            assertClose(try q.matmul(r), a, tol: 1e-5, "\(c.name): q r")
            XCTAssertLessThan(try orthonormalityError(q), 1e-5, "\(c.name): qᵀq")
            // Same LAPACK algorithm as numpy, so normally the same signs; align them anyway (column j of q with
            // row j of r) so that the test is about the decomposition, not the convention.
            let signs = columnSigns(q.scalars, c.q.data, batch: batch, rows: m, cols: k, compare: k)
            let qa = try Tensor(shape: q.shape, data: flip(q.scalars, signs: signs, batch: batch, r: m, c: k, count: k, rows: false))
            let ra = try Tensor(shape: r.shape, data: flip(r.scalars, signs: signs, batch: batch, r: k, c: n, count: k, rows: true))
            assertClose(qa, c.q, tol: 1e-5, "\(c.name): q")
            assertClose(ra, c.r, tol: 1e-5, "\(c.name): r")
        }
    }

    func testEighMatchesNumpy() throws {
        let fixture = try LinalgFixture.load()
        XCTAssertEqual(fixture.eigh.count, 4)
        for c in fixture.eigh {
            let a = c.a.tensor
            let (w, v) = try a.eigh()
            let n = a.shape[a.rank - 1], batch = a.count / (n * n)
            assertClose(w, c.values, tol: 1e-5, "\(c.name): eigenvalues")
            let signs = columnSigns(v.scalars, c.vectors.data, batch: batch, rows: n, cols: n, compare: n)
            let va = try Tensor(shape: v.shape, data: flip(v.scalars, signs: signs, batch: batch, r: n, c: n, count: n, rows: false))
            assertClose(va, c.vectors, tol: 1e-4, "\(c.name): eigenvectors")
            XCTAssertLessThan(try orthonormalityError(v), 1e-5, "\(c.name): vᵀv")
            if c.name != "lower_triangle_only" {
                // A v = v diag(w): eigenvectors are the columns.
                assertClose(try a.matmul(v), try v * w.unsqueeze(-2), tol: 1e-5, "\(c.name): A v = v w")
            }
        }
    }

    func testSolveMatchesNumpy() throws {
        let fixture = try LinalgFixture.load()
        XCTAssertEqual(fixture.solve.count, 5)
        for c in fixture.solve {
            let x = try Tensor.solve(c.a.tensor, c.b.tensor)
            assertClose(x, c.x, tol: 1e-5, c.name)
        }
    }

    func testLstsqMatchesNumpy() throws {
        let fixture = try LinalgFixture.load()
        XCTAssertEqual(fixture.lstsq.count, 5)
        for c in fixture.lstsq {
            let r = try Tensor.lstsq(c.a.tensor, c.b.tensor, rcond: c.rcond.map { Float($0) })
            assertClose(r.solution, c.x, tol: 1e-5, "\(c.name): solution")
            XCTAssertEqual(r.rank, c.rank, "\(c.name): rank")
            assertClose(r.singularValues, c.s, tol: 1e-5, "\(c.name): singular values")
            assertClose(r.residuals, c.residuals, tol: 1e-5, "\(c.name): residuals")
        }
    }

    // MARK: - Gradients against JAX

    func testGradientsMatchJAX() throws {
        let fixture = try LinalgFixture.load()
        XCTAssertEqual(fixture.grads.count, 14)
        for c in fixture.grads {
            let a = c.a.tensor.requiringGrad()
            let b = c.b?.tensor.requiringGrad()
            let loss: Tensor
            switch c.op {
            case "svd":
                loss = try svdLoss(a, cs: c.cs!.tensor, cu: c.cu!.tensor, cv: c.cv!.tensor, d: c.d!.tensor, cr: c.cr!.tensor)
            case "qr":
                loss = try qrLoss(a, cq: c.cq!.tensor, cr: c.cr!.tensor)
            case "eigh":
                loss = try eighLoss(a, cw: c.cw!.tensor, cv: c.cv!.tensor)
            case "solve":
                loss = try (Tensor.solve(a, b!) * c.c!.tensor).sum()
            case "lstsq":
                loss = try (Tensor.lstsq(a, b!).solution * c.c!.tensor).sum()
            default:
                XCTFail("unknown op \(c.op)"); continue
            }
            let what = "\(c.op) \(c.name)"
            XCTAssertEqual(Double(try loss.item()), c.loss, accuracy: 1e-4 * Swift.max(1, Swift.abs(c.loss)), what)
            try loss.backward()
            assertClose(try XCTUnwrap(a.grad, what), c.gradA, tol: 2e-4, "\(what): grad a")
            if let gb = c.gradB { assertClose(try XCTUnwrap(b?.grad, what), gb, tol: 2e-4, "\(what): grad b") }
        }
    }

    // MARK: - Gradients against finite differences

    func testSVDGradientFiniteDifferences() throws {
        var rng = TestRandom(1)
        for (m, n) in [(5, 3), (3, 5), (4, 4)] {
            let k = Swift.min(m, n)
            let a = try rng.wellConditioned(m, n)
            let (cs, cu, cv, d, cr) = (rng.tensor([k]), rng.tensor([m, k]), rng.tensor([k, n]), rng.tensor([k]), rng.tensor([m, n]))
            try checkGradients([a], "svd \(m)x\(n)") { try svdLoss($0[0], cs: cs, cu: cu, cv: cv, d: d, cr: cr) }
            // Each output alone, so that a wrong term cannot hide behind another.
            try checkGradients([a], "svd \(m)x\(n) s") { try ($0[0].svd().s * cs).sum() }
            try checkGradients([a], "svd \(m)x\(n) u") { try ($0[0].svd().u.pow(2) * cu).sum() }
            try checkGradients([a], "svd \(m)x\(n) vt") { try ($0[0].svd().vt.pow(2) * cv).sum() }
        }
        // Batched.
        let batch = try Tensor.stack([rng.wellConditioned(3, 4), rng.wellConditioned(3, 4)])
        let (cu, cs) = (rng.tensor([2, 3, 3]), rng.tensor([2, 3]))
        try checkGradients([batch], "svd batched") { x in
            let (u, s, vt) = try x[0].svd()
            return try (u * u * cu).sum() + (s * cs).sum() + (vt * vt).sum(axes: [-1]).sum()
        }
        // Full matrices: a loss on s and on the determined columns of u still differentiates.
        let tall = try rng.wellConditioned(5, 3)
        let cu3 = rng.tensor([5, 3])
        try checkGradients([tall], "svd full") { x in
            let (u, s, _) = try x[0].svd(fullMatrices: true)
            return try s.sum() + (u.slice([.all, .range(0, 3, 1)]).pow(2) * cu3).sum()
        }
    }

    func testSVDFullMatricesRefusesGradientOnArbitraryVectors() throws {
        var rng = TestRandom(2)
        let a = try rng.wellConditioned(5, 3).requiringGrad()
        let (u, _, _) = try a.svd(fullMatrices: true)
        let loss = try (u * u * rng.tensor([5, 5])).sum()
        XCTAssertThrowsError(try loss.backward()) { error in
            guard case let .autograd(message)? = error as? TensorError else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("svd"), message)
        }
    }

    func testQRGradientFiniteDifferences() throws {
        var rng = TestRandom(3)
        for (m, n) in [(5, 3), (4, 4), (3, 5)] {
            let k = Swift.min(m, n)
            let a = try rng.wellConditioned(m, n)
            let (cq, cr) = (rng.tensor([m, k]), rng.tensor([k, n]))
            try checkGradients([a], "qr \(m)x\(n)") { try qrLoss($0[0], cq: cq, cr: cr) }
            try checkGradients([a], "qr \(m)x\(n) q") { try ($0[0].qr().q * cq).sum() }
            try checkGradients([a], "qr \(m)x\(n) r") { try ($0[0].qr().r * cr).sum() }
        }
        let batch = try Tensor.stack([rng.wellConditioned(4, 3), rng.wellConditioned(4, 3)])
        let (cq, cr) = (rng.tensor([2, 4, 3]), rng.tensor([2, 3, 3]))
        try checkGradients([batch], "qr batched") { try qrLoss($0[0], cq: cq, cr: cr) }
    }

    func testEighGradientFiniteDifferences() throws {
        var rng = TestRandom(4)
        for n in [3, 5] {
            // Perturbations S enter symmetrically, A = base + S + Sᵀ: eigh reads only one triangle, so only
            // symmetric perturbations have a meaning, and the gradient for S is then 2 sym(gA).
            let base = try rng.symmetric(n)
            let (cw, cv) = (rng.tensor([n]), rng.tensor([n, n]))
            let zero = try Tensor.zeros([n, n])
            try checkGradients([zero], "eigh \(n)") { x in
                try eighLoss(base + x[0] + x[0].transpose(), cw: cw, cv: cv)
            }
            try checkGradients([zero], "eigh \(n) vectors") { x in
                try ((base + x[0] + x[0].transpose()).eigh().vectors.pow(2) * cv).sum()
            }
            // The gradient itself is symmetric.
            let a = base.requiringGrad()
            try eighLoss(a, cw: cw, cv: cv).backward()
            let g = try XCTUnwrap(a.grad)
            assertClose(g, try g.transpose(), tol: 0, "eigh: symmetric gradient")
        }
        let base = try Tensor.stack([rng.symmetric(3), rng.symmetric(3)])
        let cv = rng.tensor([2, 3, 3])
        try checkGradients([try Tensor.zeros([2, 3, 3])], "eigh batched") { x in
            try eighLoss(base + x[0] + x[0].transpose(), cw: Tensor([1, -2, 0.5]), cv: cv)
        }
    }

    func testSolveGradientFiniteDifferences() throws {
        var rng = TestRandom(5)
        let a = try rng.wellConditioned(4, 4)
        for bshape in [[4], [4, 2], [3, 4, 2]] {
            let b = rng.tensor(bshape), c = rng.tensor(bshape)
            try checkGradients([a, b], "solve b \(bshape)") { x in try (Tensor.solve(x[0], x[1]) * c).sum() }
        }
        // Batched a against a shared vector b.
        let batch = try Tensor.stack([rng.wellConditioned(3, 3), rng.wellConditioned(3, 3)])
        let b = rng.tensor([3]), c = rng.tensor([2, 3])
        try checkGradients([batch, b], "solve batched") { x in try (Tensor.solve(x[0], x[1]) * c).sum() }
    }

    func testLstsqGradientFiniteDifferences() throws {
        var rng = TestRandom(6)
        for (m, n, bshape) in [(6, 3, [6, 2]), (5, 3, [5]), (3, 5, [3]), (4, 4, [4, 2])] {
            let a = try rng.wellConditioned(m, n), b = rng.tensor(bshape)
            let c = rng.tensor([n] + bshape.dropFirst())
            try checkGradients([a, b], "lstsq \(m)x\(n)") { x in try (Tensor.lstsq(x[0], x[1]).solution * c).sum() }
        }
        // The residuals of an overdetermined system.
        let a = try rng.wellConditioned(6, 3), b = rng.tensor([6, 2])
        try checkGradients([a, b], "lstsq residuals") { x in
            let r = try Tensor.lstsq(x[0], x[1])
            return try r.residuals.sum() + r.solution.sum()
        }
    }

    /// The fixtures are small; LAPACK switches to blocked and divide-and-conquer code (and larger workspaces)
    /// above ~25 rows, so these sizes check the same invariants on those paths.
    func testLargerMatricesTakeLapackBlockedPaths() throws {
        var rng = TestRandom(7)
        let a = rng.tensor([70, 45])
        let (u, s, vt) = try a.svd()
        XCTAssertEqual([u.shape, s.shape, vt.shape], [[70, 45], [45], [45, 45]])
        assertClose(try (u * s).matmul(vt), a, tol: 2e-5, "svd 70x45: u s vt")
        XCTAssertLessThan(try orthonormalityError(u), 1e-4)
        XCTAssertLessThan(try orthonormalityError(vt.transpose()), 1e-4)
        let sv = s.scalars
        XCTAssertEqual(sv, sv.sorted(by: >), "descending singular values")
        let full = try a.transpose().svd(fullMatrices: true)
        XCTAssertEqual([full.u.shape, full.vt.shape], [[45, 45], [70, 70]])
        XCTAssertLessThan(try orthonormalityError(full.vt.transpose()), 1e-4)
        assertClose(full.s, s, tol: 1e-5, "svd of the transpose")

        let (q, r) = try a.qr()
        assertClose(try q.matmul(r), a, tol: 2e-5, "qr 70x45")
        XCTAssertLessThan(try orthonormalityError(q), 1e-4)

        let sym = try a.transpose().matmul(a) * (1 / 70)
        let (w, v) = try sym.eigh()
        assertClose(try sym.matmul(v), try v * w, tol: 2e-5, "eigh 45x45: A v = v w")
        XCTAssertLessThan(try orthonormalityError(v), 1e-4)
        // The eigenvalues of AᵀA / 70 are the squared singular values of A / sqrt(70), ascending.
        assertClose(w, try (s * s * (1 / 70)).flip(axis: 0), tol: 1e-5, "eigh vs svd")

        let square = try rng.tensor([50, 50]) + Tensor.eye(50) * 10
        let rhs = rng.tensor([50, 3])
        let x = try Tensor.solve(square, rhs)
        assertClose(try square.matmul(x), rhs, tol: 1e-5, "solve 50x50")

        // Least squares: the residual is orthogonal to the columns of A (normal equations).
        let b = rng.tensor([70, 2])
        let ls = try Tensor.lstsq(a, b)
        XCTAssertEqual(ls.rank, 45)
        let resid = try a.matmul(ls.solution) - b
        XCTAssertLessThan(try a.transpose().matmul(resid).abs().max().item(), 1e-3)
        assertClose(ls.residuals, try (resid * resid).sum(axes: [0]), tol: 1e-4, "lstsq residuals")
        assertClose(ls.singularValues, s, tol: 1e-5, "lstsq singular values")
    }

    // MARK: - Edge cases and errors

    func testEmptyMatricesFollowNumpy() throws {
        for (shape, full, u, s, vt) in [([0, 3], false, [0, 0], [0], [0, 3]), ([0, 3], true, [0, 0], [0], [3, 3]),
                                        ([3, 0], false, [3, 0], [0], [0, 0]), ([3, 0], true, [3, 3], [0], [0, 0]),
                                        ([2, 0, 0], false, [2, 0, 0], [2, 0], [2, 0, 0])] {
            let r = try Tensor.zeros(shape).svd(fullMatrices: full)
            XCTAssertEqual([r.u.shape, r.s.shape, r.vt.shape], [u, s, vt], "svd \(shape) full: \(full)")
            if full { XCTAssertEqual(r.u.count > 0 ? r.u.scalars : r.vt.scalars, try Tensor.eye(3).scalars) }
        }
        for (shape, q, r) in [([0, 3], [0, 0], [0, 3]), ([3, 0], [3, 0], [0, 0]), ([0, 0], [0, 0], [0, 0])] {
            let out = try Tensor.zeros(shape).qr()
            XCTAssertEqual([out.q.shape, out.r.shape], [q, r], "qr \(shape)")
        }
        let e = try Tensor.zeros([0, 0]).eigh()
        XCTAssertEqual([e.values.shape, e.vectors.shape], [[0], [0, 0]])
        XCTAssertEqual(try Tensor.solve(Tensor.zeros([0, 0]), Tensor.zeros([0])).shape, [0])
        XCTAssertEqual(try Tensor.solve(Tensor.zeros([0, 0]), Tensor.zeros([0, 2])).shape, [0, 2])
        XCTAssertEqual(try Tensor.solve(Tensor.eye(2), Tensor.zeros([2, 0])).shape, [2, 0])
        // numpy: x is zeros (n, k); residuals are |b|² per column when rank 0 == n < m.
        let wide = try Tensor.lstsq(Tensor.zeros([0, 3]), Tensor.zeros([0, 2]))
        XCTAssertEqual([wide.solution.shape, wide.residuals.shape, wide.singularValues.shape], [[3, 2], [0], [0]])
        XCTAssertEqual(wide.solution.scalars, [Float](repeating: 0, count: 6))
        let tall = try Tensor.lstsq(Tensor.zeros([3, 0]), Tensor.ones([3, 2]))
        XCTAssertEqual(tall.solution.shape, [0, 2])
        XCTAssertEqual(tall.residuals.scalars, [3, 3])
        XCTAssertEqual(tall.rank, 0)
        // No right-hand sides: still the rank and singular values of a.
        let none = try Tensor.lstsq(Tensor.eye(3) * 2, Tensor.zeros([3, 0]))
        XCTAssertEqual(none.solution.shape, [3, 0])
        XCTAssertEqual(none.rank, 3)
        XCTAssertEqual(none.singularValues.scalars, [2, 2, 2])
    }

    func testBadShapesThrow() throws {
        let rect = try Tensor.ones([2, 3])
        assertTensorError("solve", { _ = try Tensor.solve(rect, Tensor.ones([2])) }, matches: isInvalidArgument)
        assertTensorError("solve", { _ = try Tensor.solve(Tensor.eye(3), Tensor.ones([2])) }, matches: isShapeMismatch)
        assertTensorError("solve", { _ = try Tensor.solve(Tensor.eye(3), Tensor.ones([2, 2])) }, matches: isShapeMismatch)
        assertTensorError("solve", { _ = try Tensor.solve(Tensor.ones([2, 3, 3]), Tensor.ones([4, 3, 1])) },
                          matches: isShapeMismatch)
        assertTensorError("solve", { _ = try Tensor.solve(Tensor(scalar: 2), Tensor(scalar: 1)) }, matches: isInvalidArgument)
        assertTensorError("eigh", { _ = try rect.eigh() }, matches: isInvalidArgument)
        assertTensorError("svd", { _ = try Tensor([1, 2, 3]).svd() }, matches: isInvalidArgument)
        assertTensorError("qr", { _ = try Tensor(scalar: 1).qr() }, matches: isInvalidArgument)
        assertTensorError("lstsq", { _ = try Tensor.lstsq(Tensor.ones([2, 2, 2]), Tensor.ones([2])) }, matches: isInvalidArgument)
        assertTensorError("lstsq", { _ = try Tensor.lstsq(rect, Tensor.ones([3])) }, matches: isShapeMismatch)
        assertTensorError("lstsq", { _ = try Tensor.lstsq(rect, Tensor.ones([2, 1, 1])) }, matches: isInvalidArgument)
        assertTensorError("lstsq", { _ = try Tensor.lstsq(Tensor.eye(2), Tensor.ones([2]), rcond: .nan) }, matches: isInvalidArgument)
    }

    func testSingularSolveThrowsLinalgFailed() throws {
        let singular = try Tensor(shape: [2, 2], data: [1, 2, 2, 4])
        assertTensorError("solve", { _ = try Tensor.solve(singular, Tensor([1, 1])) }, matches: { e in
            guard case let .linalgFailed(op, info, message) = e else { return false }
            return op == "solve" && info == 2 && message.contains("singular")
        })
        // In a batch, the message says which matrix.
        let batch = try Tensor.stack([Tensor.eye(2), singular])
        assertTensorError("solve", { _ = try Tensor.solve(batch, Tensor.ones([2, 2, 1])) }, matches: { e in
            guard case let .linalgFailed(_, _, message) = e else { return false }
            return message.contains("matrix 1 of the batch")
        })
        assertTensorError("solve", { _ = try Tensor.solve(Tensor.zeros([3, 3]), Tensor.ones([3])) }, matches: isLinalgFailed)
    }

    func testNonFiniteInputNeverCrashes() throws {
        var data: [Float] = [1, 0, 0, 0, 1, 0, 0, 0, 1]
        data[4] = .nan
        let nanMatrix = try Tensor(shape: [3, 3], data: data)
        // The iterative routines refuse it (LAPACK may not converge, or loop forever as numpy's lstsq does).
        assertTensorError("svd", { _ = try nanMatrix.svd() }, matches: isInvalidArgument)
        assertTensorError("eigh", { _ = try nanMatrix.eigh() }, matches: isInvalidArgument)
        assertTensorError("lstsq", { _ = try Tensor.lstsq(nanMatrix, Tensor.ones([3])) }, matches: isInvalidArgument)
        assertTensorError("lstsq", { _ = try Tensor.lstsq(Tensor.eye(3), Tensor([1, .infinity, 1])) }, matches: isInvalidArgument)
        // The direct ones propagate NaN like numpy.
        let (q, r) = try nanMatrix.qr()
        XCTAssertTrue(q.scalars.contains { $0.isNaN } || r.scalars.contains { $0.isNaN })
        let x = try Tensor.solve(nanMatrix, Tensor.ones([3]))
        XCTAssertTrue(x.scalars.contains { $0.isNaN })
    }

    func testRankDeficientQRBackwardExplains() throws {
        // Q is not differentiable when A is rank deficient; backward must say so instead of returning garbage.
        let a = try Tensor(shape: [3, 2], data: [1, 0, 2, 0, 3, 0]).requiringGrad()
        let loss = try a.qr().q.sum()
        XCTAssertThrowsError(try loss.backward()) { error in
            guard case .autograd? = error as? TensorError else { return XCTFail("\(error)") }
        }
    }

    func testOutputsDoNotRequireGradOutsideRecording() throws {
        let a = try Tensor.eye(3).requiringGrad()
        let (u, s, vt) = try Autograd.noGrad { try a.svd() }
        XCTAssertFalse(u.requiresGrad || s.requiresGrad || vt.requiresGrad)
        let (w, v) = try a.eigh()
        XCTAssertTrue(w.requiresGrad && v.requiresGrad)
    }
}
