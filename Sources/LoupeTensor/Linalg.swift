// Linear algebra through LAPACK (opened with OpenBLAS, see CBLAS.h): svd, qr, eigh, solve, lstsq.
//
// LAPACK is column-major and Loupe is row-major. A row-major m x n buffer *is* the column-major n x m matrix Aᵀ,
// so each routine either works on Aᵀ directly when the algebra allows it (svd: Aᵀ = V S Uᵀ swaps the roles of U
// and Vᵀ; eigh: Aᵀ = A, with the triangles swapped) or copies the input transposed (qr, solve, lstsq) into the
// scratch buffer LAPACK overwrites anyway, so the transpose costs no extra allocation.
//
// Every operation accepts a batch of matrices (leading dimensions) except lstsq, which is 2-D like numpy's.
// Each differentiable operation records its backward rule right after its forward. Decompositions with several
// outputs record one node per output: the backward formulas are linear in the output gradients, so the engine's
// sum of the per-output contributions equals the joint formula, and an unused output costs nothing.

import CBLAS

// MARK: - LAPACK plumbing

/// Checks and conversions shared by the LAPACK wrappers.
enum Lapack {
    /// LAPACK takes 32-bit integers; a larger dimension must be refused before it silently wraps.
    static func int32(_ v: Int, op: String) throws -> Int32 {
        guard v <= Int(Int32.max) else {
            throw TensorError.invalidArgument(op: op, message: "size \(v) is too large for LAPACK's 32-bit integers")
        }
        return Int32(v)
    }

    /// The element count a workspace query (lwork = -1) reported in `work[0]`. The count arrives as a Float,
    /// which cannot hold integers above 2^24 exactly and may have been rounded down; a little slack covers that.
    static func workspace(_ w: Float, op: String) throws -> Int {
        guard w.isFinite, w >= 0 else {
            throw TensorError.linalgFailed(op: op, info: 0, message: "LAPACK reported an invalid workspace size \(w)")
        }
        let n = Swift.max(1, Int((Double(w) * (1 + 2.4e-7)).rounded(.up)))
        _ = try int32(n, op: op)
        return n
    }

    /// Turns a nonzero `info` into an error. Positive values mean something about the input and are explained by
    /// `positive`; negative values mean Loupe passed a bad argument, which is a bug, not user error.
    static func check(_ info: Int32, op: String, routine: String, batch: Int?, _ positive: (Int) -> String) throws {
        if info == 0 { return }
        let item = batch.map { " (matrix \($0) of the batch)" } ?? ""
        if info < 0 {
            throw TensorError.linalgFailed(
                op: op, info: Int(info),
                message: "LAPACK \(routine) rejected argument \(-info); this is a bug in Loupe" + item)
        }
        throw TensorError.linalgFailed(op: op, info: Int(info), message: positive(Int(info)) + item)
    }

    /// The iterative routines (SVD, symmetric eigensolver, least squares) can fail to converge or even loop
    /// forever on NaN or infinity (numpy's lstsq hangs on NaN), so such input is refused up front.
    static func requireFinite(_ t: Tensor, op: String, what: String) throws {
        let finite = t.withUnsafeBufferPointer { buf in buf.allSatisfy { $0.isFinite } }
        guard finite else {
            throw TensorError.invalidArgument(op: op, message: "\(what) contains NaN or infinity")
        }
    }

    /// Splits a shape `[..., rows, cols]`; `op` needs a matrix or a batch of them.
    static func matrixShape(_ t: Tensor, op: String) throws -> (batch: [Int], rows: Int, cols: Int) {
        guard t.rank >= 2 else {
            throw TensorError.invalidArgument(
                op: op, message: "expected a matrix or a batch of matrices, got shape \(fmt(t.shape))")
        }
        return (Array(t.shape.dropLast(2)), t.shape[t.rank - 2], t.shape[t.rank - 1])
    }

    /// Copies a row-major rows x cols matrix into column-major order (`dst[j * ld + i] = src[i * cols + j]`).
    static func toColumnMajor(_ src: UnsafePointer<Float>, rows: Int, cols: Int,
                              _ dst: UnsafeMutablePointer<Float>, ld: Int) {
        for i in 0..<rows {
            let row = src + i * cols
            for j in 0..<cols { dst[j * ld + i] = row[j] }
        }
    }

    /// Copies the top-left rows x cols block of a column-major matrix into row-major order.
    static func fromColumnMajor(_ src: UnsafePointer<Float>, ld: Int, rows: Int, cols: Int,
                                _ dst: UnsafeMutablePointer<Float>) {
        for i in 0..<rows {
            let row = dst + i * cols
            for j in 0..<cols { row[j] = src[j * ld + i] }
        }
    }
}

// MARK: - Helpers for backward rules (batched over leading dimensions through broadcasting)

private extension Tensor {
    /// Transpose of the last two axes.
    var mT: Tensor { get throws { try transpose(-2, -1) } }

    /// The mask `1 - I` divided by `e + I`: 1 / e off the diagonal, 0 on it. Off-diagonal zeros of `e` (repeated
    /// eigen/singular values) give infinities, as in every implementation of these formulas.
    func offDiagonalReciprocal() throws -> Tensor {
        let k = shape[rank - 1]
        let eye = try Tensor.eye(k)
        return try (1 - eye) / (self + eye)
    }

    /// `tril(self) + tril(self, -1)ᵀ`: the symmetric matrix whose lower triangle is this one's.
    func copyLowerToUpper() throws -> Tensor {
        let k = shape[rank - 1]
        var lower = [Float](repeating: 0, count: k * k), strict = lower
        for i in 0..<k {
            for j in 0...i { lower[i * k + j] = 1 }
            for j in 0..<i { strict[i * k + j] = 1 }
        }
        return try self * Tensor(shape: [k, k], data: lower) + (self * Tensor(shape: [k, k], data: strict)).mT
    }

    /// Columns `0..<k` of the last axis.
    func leadingColumns(_ k: Int) throws -> Tensor {
        shape[rank - 1] == k ? self : try slice([.ellipsis, .range(0, k, 1)])
    }

    /// Rows `0..<k` of the second-to-last axis.
    func leadingRows(_ k: Int) throws -> Tensor {
        shape[rank - 2] == k ? self : try slice([.ellipsis, .range(0, k, 1), .all])
    }
}

// MARK: - SVD

extension Tensor {
    /// Singular value decomposition `A = U diag(S) Vᵀ`, with numpy.linalg.svd's shapes and conventions.
    ///
    /// For `A` of shape `[..., m, n]` and `k = min(m, n)`: `s` has shape `[..., k]` in descending order; with
    /// `fullMatrices: false` (the default) `u` is `[..., m, k]` and `vt` is `[..., k, n]`; with `true` they are
    /// square, `[..., m, m]` and `[..., n, n]`. Computed by LAPACK's divide-and-conquer `sgesdd`.
    ///
    /// Differentiable for distinct, nonzero singular values (the reduced-SVD formula of JAX and PyTorch). As
    /// there, singular vectors are defined only up to a joint sign flip of `u[:, i]` and `vt[i, :]`, so only
    /// losses invariant to that flip have meaningful gradients. With `fullMatrices: true` the extra columns of
    /// `u` / rows of `vt` are arbitrary, and backward refuses a nonzero gradient on them.
    ///
    /// Throws `invalidArgument` for rank < 2 or non-finite input (LAPACK cannot decompose it; numpy raises
    /// "SVD did not converge"), `linalgFailed` when LAPACK does not converge.
    public func svd(fullMatrices: Bool = false) throws -> (u: Tensor, s: Tensor, vt: Tensor) {
        let op = "svd"
        let (batch, m, n) = try Lapack.matrixShape(self, op: op)
        let k = Swift.min(m, n)
        let (ucols, vtrows) = fullMatrices ? (m, n) : (k, k)
        let u = try Tensor(uninitialized: batch + [m, ucols], op: op)
        let s = try Tensor(uninitialized: batch + [k], op: op)
        let vt = try Tensor(uninitialized: batch + [vtrows, n], op: op)
        let nb = batch.reduce(1, *)

        if k == 0 {
            // Nothing to decompose; the square factors of an empty-by-something matrix are identities (numpy).
            for (t, d) in [(u, ucols), (vt, vtrows)] where t.count > 0 {
                t.dataPointer.initialize(repeating: 0, count: t.count)
                for b in 0..<nb { for i in 0..<d { t.dataPointer[b * d * d + i * d + i] = 1 } }
            }
        } else {
            try BLAS.ensureLoaded()
            try Lapack.requireFinite(self, op: op, what: "the matrix")
            // LAPACK sees the row-major m x n buffer as the column-major n x m matrix Aᵀ = V S Uᵀ. Its "U" is
            // our V, stored column-major n x vtrows: exactly vt in row-major. Its "Vᵀ" is our Uᵀ, stored
            // column-major ucols x m: exactly u in row-major. So the outputs land in place without copies.
            let (lm, ln) = (try Lapack.int32(n, op: op), try Lapack.int32(m, op: op))
            let jobz: CChar = fullMatrices ? CChar(UInt8(ascii: "A")) : CChar(UInt8(ascii: "S"))
            let ldvt = Int32(ucols)
            var a = [Float](repeating: 0, count: m * n)
            var iwork = [Int32](repeating: 0, count: 8 * k)
            var query: Float = 0
            let qinfo = loupe_sgesdd(jobz, lm, ln, &a, lm, s.dataPointer, vt.dataPointer, lm, u.dataPointer, ldvt,
                                     &query, -1, &iwork)
            try Lapack.check(qinfo, op: op, routine: "sgesdd", batch: nil) { _ in "workspace query failed" }
            var work = [Float](repeating: 0, count: try Lapack.workspace(query, op: op))
            let lwork = Int32(work.count)
            for b in 0..<nb {
                a.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: dataPointer + b * m * n, count: m * n) }
                let info = loupe_sgesdd(jobz, lm, ln, &a, lm, s.dataPointer + b * k, vt.dataPointer + b * vtrows * n,
                                        lm, u.dataPointer + b * m * ucols, ldvt, &work, lwork, &iwork)
                try Lapack.check(info, op: op, routine: "sgesdd", batch: nb > 1 ? b : nil) { _ in
                    "the SVD did not converge"
                }
            }
        }

        let x = self
        let (ud, sd, vtd) = (u.detached(), s.detached(), vt.detached())
        let su = Autograd.record(s, op, [x]) { g in
            [try Tensor.svdBackward(ud, sd, vtd, k: k, gU: nil, gS: g, gVt: nil)]
        }
        let uu = Autograd.record(u, op, [x]) { g in
            [try Tensor.svdBackward(ud, sd, vtd, k: k, gU: g, gS: nil, gVt: nil)]
        }
        let vv = Autograd.record(vt, op, [x]) { g in
            [try Tensor.svdBackward(ud, sd, vtd, k: k, gU: nil, gS: nil, gVt: g)]
        }
        return (uu, su, vv)
    }

    /// Gradient of A from the gradients of U, S, Vᵀ (any may be nil), as in PyTorch's `svd_backward` (real case).
    ///
    /// With E_ij = s_j² - s_i² and F = 1/E off the diagonal (0 on it):
    ///   gA = U [diag(gS) + (F ∘ skew(UᵀgU)) S + S (F ∘ skew(VᵀgV))] Vᵀ
    ///        + (I - UUᵀ) gU S⁻¹ Vᵀ          (only when m > n: the part of gU outside span(U))
    ///        + U S⁻¹ gVᵀ (I - VVᵀ)          (only when m < n: likewise for V)
    /// where skew(X) = X - Xᵀ. Only the skew part of UᵀgU matters because UᵀdU is skew for orthonormal U.
    static func svdBackward(_ u: Tensor, _ s: Tensor, _ vt: Tensor, k: Int,
                            gU: Tensor?, gS: Tensor?, gVt: Tensor?) throws -> Tensor {
        let m = u.shape[u.rank - 2], n = vt.shape[vt.rank - 1]
        // Full matrices: only the first k columns of U (rows of Vᵀ) are determined by A.
        func reduced(_ g: Tensor, cols: Bool) throws -> Tensor {
            let extra = try cols ? g.slice([.ellipsis, .range(k, nil, 1)]) : g.slice([.ellipsis, .range(k, nil, 1), .all])
            guard extra.withUnsafeBufferPointer({ $0.allSatisfy { $0 == 0 } }) else {
                throw TensorError.autograd(
                    "svd: with fullMatrices: true the extra singular vectors are arbitrary, so they cannot carry a "
                        + "gradient; use fullMatrices: false")
            }
            return try cols ? g.leadingColumns(k) : g.leadingRows(k)
        }
        let U = try u.leadingColumns(k), Vt = try vt.leadingRows(k)
        if let gS {
            return try (U * gS.unsqueeze(-2)).matmul(Vt)
        }
        let s2 = try s * s
        let F = try (s2.unsqueeze(-2) - s2.unsqueeze(-1)).offDiagonalReciprocal()
        if let gU {
            let g = try reduced(gU, cols: true)
            let X = try U.mT.matmul(g)
            var gA = try U.matmul((F * (X - X.mT)) * s.unsqueeze(-2)).matmul(Vt)
            if m > n {
                let gUS = try g / s.unsqueeze(-2)
                gA = try gA + (gUS - U.matmul(U.mT.matmul(gUS))).matmul(Vt)
            }
            return gA
        }
        guard let gVt else { throw TensorError.autograd("svd: backward called without a gradient") }
        let g = try reduced(gVt, cols: false)
        let X = try Vt.matmul(g.mT)  // Vᵀ gV with V = Vtᵀ, gV = gVtᵀ
        var gA = try U.matmul(s.unsqueeze(-1) * (F * (X - X.mT))).matmul(Vt)
        if m < n {
            let Y = try g / s.unsqueeze(-1)  // (gV S⁻¹)ᵀ
            gA = try gA + U.matmul(Y - Y.matmul(Vt.mT).matmul(Vt))
        }
        return gA
    }
}

// MARK: - QR

extension Tensor {
    /// Reduced QR decomposition `A = Q R` (numpy.linalg.qr with mode='reduced').
    ///
    /// For `A` of shape `[..., m, n]` and `k = min(m, n)`: `q` is `[..., m, k]` with orthonormal columns and `r`
    /// is `[..., k, n]`, upper triangular. Computed by LAPACK's Householder `sgeqrf` and `sorgqr`; as in numpy,
    /// the diagonal of `r` may be negative.
    ///
    /// Differentiable when the leading k x k block of `A` has full rank (PyTorch's formula; for m < n the
    /// trailing columns are handled by splitting A = [X | Y]).
    public func qr() throws -> (q: Tensor, r: Tensor) {
        let op = "qr"
        let (batch, m, n) = try Lapack.matrixShape(self, op: op)
        let k = Swift.min(m, n)
        let q = try Tensor(uninitialized: batch + [m, k], op: op)
        let r = try Tensor(uninitialized: batch + [k, n], op: op)
        let nb = batch.reduce(1, *)
        if k > 0 {
            try BLAS.ensureLoaded()
            // Householder QR of the transpose would be an LQ of A, so the input is copied column-major instead.
            let (lm, ln, lk) = (try Lapack.int32(m, op: op), try Lapack.int32(n, op: op), Int32(k))
            var a = [Float](repeating: 0, count: m * n)
            var tau = [Float](repeating: 0, count: k)
            var q1: Float = 0, q2: Float = 0
            try Lapack.check(loupe_sgeqrf(lm, ln, &a, lm, &tau, &q1, -1), op: op, routine: "sgeqrf", batch: nil) { _ in "" }
            try Lapack.check(loupe_sorgqr(lm, lk, lk, &a, lm, tau, &q2, -1), op: op, routine: "sorgqr", batch: nil) { _ in "" }
            var work = [Float](repeating: 0, count: Swift.max(try Lapack.workspace(q1, op: op), try Lapack.workspace(q2, op: op)))
            let lwork = Int32(work.count)
            for b in 0..<nb {
                try a.withUnsafeMutableBufferPointer { ab in
                    let ap = ab.baseAddress!
                    Lapack.toColumnMajor(dataPointer + b * m * n, rows: m, cols: n, ap, ld: m)
                    let batchItem = nb > 1 ? b : nil
                    try Lapack.check(loupe_sgeqrf(lm, ln, ap, lm, &tau, &work, lwork), op: op, routine: "sgeqrf",
                                     batch: batchItem) { _ in "" }
                    // R is the upper triangle of the first k rows, read before sorgqr overwrites it with Q.
                    let rp = r.dataPointer + b * k * n
                    for i in 0..<k {
                        for j in 0..<n { rp[i * n + j] = j >= i ? ap[j * m + i] : 0 }
                    }
                    try Lapack.check(loupe_sorgqr(lm, lk, lk, ap, lm, tau, &work, lwork), op: op, routine: "sorgqr",
                                     batch: batchItem) { _ in "" }
                    Lapack.fromColumnMajor(ap, ld: m, rows: m, cols: k, q.dataPointer + b * m * k)
                }
            }
        }
        let x = self
        let (qd, rd) = (q.detached(), r.detached())
        let qq = Autograd.record(q, op, [x]) { g in [try Tensor.qrBackward(x.detached(), qd, rd, gQ: g, gR: nil)] }
        let rr = Autograd.record(r, op, [x]) { g in [try Tensor.qrBackward(x.detached(), qd, rd, gQ: nil, gR: g)] }
        return (qq, rr)
    }

    /// Gradient of A from the gradients of Q and R (either may be nil).
    ///
    /// For m >= n (Liao et al. 2019, as in PyTorch): with M = R gRᵀ - gQᵀ Q and copyltu(M) the symmetric matrix
    /// with M's lower triangle, gA = (gQ + Q copyltu(M)) R⁻ᵀ. For m < n, A = [X | Y] with X square gives
    /// Q R_X = X and R = [R_X | QᵀY]; then gY = Q gR_Y and gX follows from the square case with gQ + Y gR_Yᵀ.
    static func qrBackward(_ a: Tensor, _ q: Tensor, _ r: Tensor, gQ: Tensor?, gR: Tensor?) throws -> Tensor {
        let m = a.shape[a.rank - 2], n = a.shape[a.rank - 1]
        if m == 0 || n == 0 { return try Tensor.zeros(a.shape) }
        // The square/tall case: gradient of the input whose factors are q (m x c) and rx (c x c).
        func tall(_ q: Tensor, _ rx: Tensor, _ gQ: Tensor?, _ gR: Tensor?) throws -> Tensor {
            var M: Tensor?
            if let gR { M = try rx.matmul(gR.mT) }
            if let gQ { M = try M.map { try $0 - gQ.mT.matmul(q) } ?? -gQ.mT.matmul(q) }
            guard let M else { throw TensorError.autograd("qr: backward called without a gradient") }
            var lhs = try q.matmul(M.copyLowerToUpper())
            if let gQ { lhs = try lhs + gQ }
            // lhs R⁻ᵀ = (R⁻¹ lhsᵀ)ᵀ. R is singular exactly when A is rank deficient, where Q is not differentiable.
            do { return try solveMatrices(rx, lhs.mT).mT } catch let TensorError.linalgFailed(_, info, _) {
                throw TensorError.autograd(
                    "qr: the gradient needs R to be invertible, but R[\(info - 1), \(info - 1)] is zero "
                        + "(the input is rank deficient)")
            }
        }
        if m >= n { return try tall(q, r, gQ, gR) }
        // Wide: split off the trailing columns Y, whose R block is QᵀY.
        let rx = try r.slice([.ellipsis, .range(0, m, 1)])
        let y = try a.slice([.ellipsis, .range(m, nil, 1)])
        let gRX = try gR.map { try $0.slice([.ellipsis, .range(0, m, 1)]) }
        let gRY = try gR.map { try $0.slice([.ellipsis, .range(m, nil, 1)]) }
        var gQX = gQ
        if let gRY { gQX = try (gQX.map { try $0 + y.matmul(gRY.mT) } ?? y.matmul(gRY.mT)) }
        let gX = try tall(q, rx, gQX, gRX)
        let gY = try gRY.map { try q.matmul($0) } ?? Tensor.zeros(y.shape)
        return try Tensor.concat([gX, gY], axis: -1)
    }
}

// MARK: - Symmetric eigendecomposition

extension Tensor {
    /// Eigenvalues and eigenvectors of a symmetric matrix, like numpy.linalg.eigh (UPLO='L').
    ///
    /// For `A` of shape `[..., n, n]`: `values` is `[..., n]` in ascending order and `vectors` is `[..., n, n]`
    /// with the eigenvector of `values[i]` in column `i`. Only the lower triangle of `A` is read; the upper one
    /// is assumed to mirror it. Computed by LAPACK's divide-and-conquer `ssyevd`.
    ///
    /// Differentiable for distinct eigenvalues (each eigenvector only up to sign, so losses should not depend on
    /// it). The input gradient is symmetrized, (G + Gᵀ) / 2, the gradient for symmetric perturbations, as JAX
    /// and PyTorch return it.
    ///
    /// Throws `invalidArgument` for a non-square matrix or non-finite input, `linalgFailed` when LAPACK does
    /// not converge.
    public func eigh() throws -> (values: Tensor, vectors: Tensor) {
        let op = "eigh"
        let (batch, m, n) = try Lapack.matrixShape(self, op: op)
        guard m == n else {
            throw TensorError.invalidArgument(op: op, message: "expected a square matrix, got shape \(fmt(shape))")
        }
        let w = try Tensor(uninitialized: batch + [n], op: op)
        let v = try Tensor(uninitialized: batch + [n, n], op: op)
        let nb = batch.reduce(1, *)
        if n > 0 {
            try BLAS.ensureLoaded()
            try Lapack.requireFinite(self, op: op, what: "the matrix")
            // The row-major buffer is the column-major Aᵀ, whose upper triangle holds A's lower triangle.
            let uplo = CChar(UInt8(ascii: "U")), jobz = CChar(UInt8(ascii: "V"))
            let ln = try Lapack.int32(n, op: op)
            var a = [Float](repeating: 0, count: n * n)
            var query: Float = 0
            var iquery: Int32 = 0
            try Lapack.check(loupe_ssyevd(jobz, uplo, ln, &a, ln, w.dataPointer, &query, -1, &iquery, -1),
                             op: op, routine: "ssyevd", batch: nil) { _ in "" }
            var work = [Float](repeating: 0, count: try Lapack.workspace(query, op: op))
            var iwork = [Int32](repeating: 0, count: Swift.max(Int(iquery), 3 + 5 * n))
            let (lwork, liwork) = (Int32(work.count), try Lapack.int32(iwork.count, op: op))
            for b in 0..<nb {
                try a.withUnsafeMutableBufferPointer { ab in
                    let ap = ab.baseAddress!
                    ap.update(from: dataPointer + b * n * n, count: n * n)
                    let info = loupe_ssyevd(jobz, uplo, ln, ap, ln, w.dataPointer + b * n, &work, lwork, &iwork, liwork)
                    try Lapack.check(info, op: op, routine: "ssyevd", batch: nb > 1 ? b : nil) { _ in
                        "the eigenvalue algorithm did not converge"
                    }
                    // LAPACK left eigenvector j in column j, column-major; a row-major copy keeps it a column.
                    Lapack.fromColumnMajor(ap, ld: n, rows: n, cols: n, v.dataPointer + b * n * n)
                }
            }
        }
        let x = self
        let (wd, vd) = (w.detached(), v.detached())
        let ww = Autograd.record(w, op, [x]) { g in [try Tensor.eighBackward(wd, vd, gW: g, gV: nil)] }
        let vv = Autograd.record(v, op, [x]) { g in [try Tensor.eighBackward(wd, vd, gW: nil, gV: g)] }
        return (ww, vv)
    }

    /// gA = V (diag(gλ) + F ∘ (Vᵀ gV)) Vᵀ with F_ij = 1 / (λ_j - λ_i) off the diagonal and 0 on it,
    /// then symmetrized (only symmetric perturbations of A keep it in eigh's domain).
    static func eighBackward(_ w: Tensor, _ v: Tensor, gW: Tensor?, gV: Tensor?) throws -> Tensor {
        let inner: Tensor
        if let gW {
            inner = try Tensor.eye(w.shape[w.rank - 1]) * gW.unsqueeze(-2)
        } else if let gV {
            let F = try (w.unsqueeze(-2) - w.unsqueeze(-1)).offDiagonalReciprocal()
            inner = try F * v.mT.matmul(gV)
        } else {
            throw TensorError.autograd("eigh: backward called without a gradient")
        }
        let gA = try v.matmul(inner).matmul(v.mT)
        return try (gA + gA.mT) * 0.5
    }
}

// MARK: - Linear systems

extension Tensor {
    /// Solves `a @ x = b` for x, like numpy.linalg.solve (numpy 2 rules).
    ///
    /// `a` is `[..., n, n]`. `b` is either a vector `[n]` (then x is `[..., n]`) or `[..., n, k]` (then x is
    /// `[..., n, k]`); the leading dimensions of `a` and a matrix `b` broadcast. LU with partial pivoting
    /// (LAPACK `sgesv`). Differentiable in both arguments.
    ///
    /// Throws `invalidArgument` when `a` is not square, `shapeMismatch` when `b` does not fit, and
    /// `linalgFailed` when `a` is singular (a zero pivot; nearly singular matrices give large, inaccurate
    /// results as in numpy).
    public static func solve(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let op = "solve"
        let (aBatch, m, n) = try Lapack.matrixShape(a, op: op)
        guard m == n else {
            throw TensorError.invalidArgument(op: op, message: "a must be a square matrix, got shape \(fmt(a.shape))")
        }
        if b.rank == 1 {
            guard b.shape[0] == n else { throw TensorError.shapeMismatch(op: op, lhs: a.shape, rhs: b.shape) }
            let x = try solve(a, b.reshape([n, 1]))
            return try x.reshape(Array(x.shape.dropLast()))
        }
        guard b.rank >= 2, b.shape[b.rank - 2] == n else {
            throw TensorError.shapeMismatch(op: op, lhs: a.shape, rhs: b.shape)
        }
        let k = b.shape[b.rank - 1]
        let batch: [Int]
        do { batch = try Shape.broadcast(aBatch, Array(b.shape.dropLast(2)), op: op) } catch {
            throw TensorError.shapeMismatch(op: op, lhs: a.shape, rhs: b.shape)
        }
        // Broadcasting through the differentiable op leaves summing the batch gradients to its backward.
        return try solveMatrices(a.broadcast(to: batch + [n, n]), b.broadcast(to: batch + [n, k]))
    }

    /// `a⁻¹ b` for `a` of shape `[..., n, n]` and `b` of `[..., n, k]` with the same leading dimensions.
    static func solveMatrices(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        let op = "solve"
        let n = a.shape[a.rank - 1], k = b.shape[b.rank - 1]
        let x = try Tensor(uninitialized: b.shape, op: op)
        let nb = n == 0 ? 0 : a.count / (n * n)
        if n > 0 && k > 0 {
            try BLAS.ensureLoaded()
            // sgesv has no transposed mode, so both operands are copied column-major (LAPACK overwrites them).
            let (ln, lk) = (try Lapack.int32(n, op: op), try Lapack.int32(k, op: op))
            var lu = [Float](repeating: 0, count: n * n)
            var rhs = [Float](repeating: 0, count: n * k)
            var ipiv = [Int32](repeating: 0, count: n)
            for i in 0..<nb {
                Lapack.toColumnMajor(a.dataPointer + i * n * n, rows: n, cols: n, &lu, ld: n)
                Lapack.toColumnMajor(b.dataPointer + i * n * k, rows: n, cols: k, &rhs, ld: n)
                let info = loupe_sgesv(ln, lk, &lu, ln, &ipiv, &rhs, ln)
                try Lapack.check(info, op: op, routine: "sgesv", batch: nb > 1 ? i : nil) { info in
                    "matrix is singular (pivot U[\(info - 1), \(info - 1)] of its LU factorization is exactly zero)"
                }
                Lapack.fromColumnMajor(rhs, ld: n, rows: n, cols: k, x.dataPointer + i * n * k)
            }
        } else if x.count > 0 {
            x.dataPointer.initialize(repeating: 0, count: x.count)
        }
        let xd = x.detached()
        return Autograd.record(x, op, [a, b]) { [a = a.detached()] g in
            // x = A⁻¹B:  gB = A⁻ᵀ g,  gA = -gB xᵀ.
            let gb = try solveMatrices(a.mT, g)
            return [try -gb.matmul(xd.mT), gb]
        }
    }

    /// Least-squares solution of `a @ x ≈ b`, like numpy.linalg.lstsq (LAPACK `sgelsd`, SVD-based).
    ///
    /// `a` is `[m, n]`; `b` is `[m]` or `[m, k]`; `solution` is `[n]` or `[n, k]`, the minimum-norm minimizer of
    /// ‖a x - b‖. Singular values `<= rcond * s_max` count as zero; `rcond` defaults (nil) to numpy's
    /// `eps * max(m, n)`, and a negative value means machine precision. As in numpy, `residuals` holds the
    /// squared residual norm of each column (shape `[k]`, `[1]` for a vector `b`) when `rank == n` and `m > n`,
    /// and is empty otherwise; `singularValues` are those of `a`, descending.
    ///
    /// `solution` is differentiable in `a` and `b` (the pseudo-inverse formula, valid where the rank does not
    /// change); `residuals` is too while recording, being recomputed from the solution. `rank` and
    /// `singularValues` are not differentiable (use `svd` for the latter).
    ///
    /// Throws `invalidArgument` for non-2-D `a`, a `b` of the wrong rank, or non-finite input (LAPACK can loop
    /// forever on NaN), `shapeMismatch` when the row counts differ, `linalgFailed` when LAPACK fails.
    public static func lstsq(_ a: Tensor, _ b: Tensor, rcond: Float? = nil)
        throws -> (solution: Tensor, residuals: Tensor, rank: Int, singularValues: Tensor)
    {
        let op = "lstsq"
        guard a.rank == 2 else {
            throw TensorError.invalidArgument(op: op, message: "a must be a matrix, got shape \(fmt(a.shape))")
        }
        guard b.rank == 1 || b.rank == 2 else {
            throw TensorError.invalidArgument(op: op, message: "b must be a vector or a matrix, got shape \(fmt(b.shape))")
        }
        let m = a.shape[0], n = a.shape[1], k = b.rank == 1 ? 1 : b.shape[1], kmin = Swift.min(m, n)
        guard b.shape[0] == m else { throw TensorError.shapeMismatch(op: op, lhs: a.shape, rhs: b.shape) }
        try Lapack.requireFinite(a, op: op, what: "a")
        try Lapack.requireFinite(b, op: op, what: "b")
        if let rcond, rcond.isNaN { throw TensorError.invalidArgument(op: op, message: "rcond is NaN") }
        let cutoff = rcond ?? Float.ulpOfOne * Float(Swift.max(m, n))
        let b2 = b.rank == 1 ? try b.reshape([m, 1]) : b

        let x = try Tensor.zeros([n, k])
        let sv = try Tensor(uninitialized: [kmin], op: op)
        var rank = 0
        // Column-major right-hand side padded to max(m, n) rows: LAPACK returns the solution in its first n rows
        // and, when m > n and rank == n, the residual components in rows n..<m.
        let ldb = Swift.max(1, m, n)
        // slalsd rejects NRHS = 0, so no right-hand side runs as one zero column (the rank and singular values
        // are still wanted).
        let nrhs = Swift.max(k, 1)
        var rhs = [Float](repeating: 0, count: ldb * nrhs)
        if m > 0 { Lapack.toColumnMajor(b2.dataPointer, rows: m, cols: k, &rhs, ld: ldb) }
        if kmin > 0 {
            try BLAS.ensureLoaded()
            let (lm, ln, lk, lb) = (try Lapack.int32(m, op: op), try Lapack.int32(n, op: op),
                                    try Lapack.int32(nrhs, op: op), try Lapack.int32(ldb, op: op))
            var lhs = [Float](repeating: 0, count: m * n)
            Lapack.toColumnMajor(a.dataPointer, rows: m, cols: n, &lhs, ld: m)
            var r32: Int32 = 0
            var query: Float = 0
            var iquery: Int32 = 0
            try Lapack.check(loupe_sgelsd(lm, ln, lk, &lhs, lm, &rhs, lb, sv.dataPointer, cutoff, &r32, &query, -1, &iquery),
                             op: op, routine: "sgelsd", batch: nil) { _ in "" }
            var work = [Float](repeating: 0, count: try Lapack.workspace(query, op: op))
            // The documented minimum, in case the query's IWORK(1) answer is missing (older LAPACKs).
            // NLVL = int(log2(minmn / 26)) + 1 is at most the bit length of minmn.
            let nlvl = Int.bitWidth - kmin.leadingZeroBitCount
            var iwork = [Int32](repeating: 0, count: Swift.max(Int(iquery), 3 * kmin * nlvl + 11 * kmin, 1))
            let info = loupe_sgelsd(lm, ln, lk, &lhs, lm, &rhs, lb, sv.dataPointer, cutoff, &r32, &work,
                                    Int32(work.count), &iwork)
            try Lapack.check(info, op: op, routine: "sgelsd", batch: nil) { _ in "the SVD did not converge" }
            rank = Int(r32)
            Lapack.fromColumnMajor(rhs, ld: ldb, rows: n, cols: k, x.dataPointer)
        }
        // numpy reports residuals only for a full-rank overdetermined system (elsewhere they are not the
        // minimum, or are zero by construction).
        let hasResiduals = rank == n && m > n
        var res = [Float](repeating: 0, count: hasResiduals ? k : 0)
        for j in 0..<res.count {
            var acc: Double = 0
            for i in n..<m { acc += Double(rhs[j * ldb + i]) * Double(rhs[j * ldb + i]) }
            res[j] = Float(acc)
        }
        var residuals = try Tensor(shape: [res.count], data: res)

        let ad = a.detached(), bd = b2.detached(), xd = x.detached()
        let xg = Autograd.record(x, op, [a, b2]) { g in
            try lstsqBackward(ad, bd, xd, g, rcond: cutoff)
        }
        if hasResiduals && xg.requiresGrad {
            // Recomputed through differentiable ops so that a loss on the residuals gets its gradient.
            let r = try a.matmul(xg) - b2
            residuals = try (r * r).sum(axes: [0])
        }
        let solution = b.rank == 1 ? try xg.reshape([n]) : xg
        return (solution, residuals, rank, sv)
    }

    /// Gradients of x = A⁺b from the pseudo-inverse derivative (Golub & Pereyra), with r = b - Ax:
    ///   gb = A⁺ᵀ g
    ///   gA = -A⁺ᵀ g xᵀ + r (A⁺A⁺ᵀ g)ᵀ + A⁺ᵀ x ((I - A⁺A) g)ᵀ
    /// The last two terms vanish for a square invertible A; A⁺ is built from an SVD with lstsq's cutoff.
    static func lstsqBackward(_ a: Tensor, _ b: Tensor, _ x: Tensor, _ g: Tensor, rcond: Float) throws -> [Tensor?] {
        let m = a.shape[0], n = a.shape[1]
        if m == 0 || n == 0 { return [try Tensor.zeros(a.shape), try Tensor.zeros(b.shape)] }
        let (u, s, vt) = try a.svd()
        let sv = s.scalars
        let limit = (rcond < 0 ? Float.ulpOfOne : rcond) * (sv.first ?? 0)
        let sinv = Tensor(sv.map { $0 > limit ? 1 / $0 : 0 })
        let pinv = try (vt.mT * sinv).matmul(u.mT)  // V S⁺ Uᵀ, n x m
        let pt = try pinv.mT
        let gb = try pt.matmul(g)
        let r = try b - a.matmul(x)
        var ga = try -gb.matmul(x.mT)
        ga = try ga + r.matmul(pinv.matmul(gb).mT)
        ga = try ga + pt.matmul(x).matmul((g - pinv.matmul(a.matmul(g))).mT)
        return [ga, gb]
    }
}
