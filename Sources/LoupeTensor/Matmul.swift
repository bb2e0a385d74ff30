// Matrix products through OpenBLAS sgemm, with numpy's matmul rules: 1-d operands are promoted to matrices and
// the added dimension removed afterwards; leading (batch) dimensions broadcast.

extension Tensor {
    /// numpy's matmul / the `@` operator.
    public func matmul(_ other: Tensor) throws -> Tensor {
        let a = self, b = other
        guard a.rank >= 1, b.rank >= 1 else {
            throw TensorError.invalidArgument(op: "matmul", message: "operands must have rank >= 1, got \(fmt(a.shape)) and \(fmt(b.shape))")
        }
        // Promotion of vectors goes through reshape so its gradient comes for free.
        let a2 = a.rank == 1 ? try a.reshape([1, a.shape[0]]) : a
        let b2 = b.rank == 1 ? try b.reshape([b.shape[0], 1]) : b
        var out = try Tensor.batchedMatmul(a2, false, b2, false, op: "matmul", shapeA: a.shape, shapeB: b.shape)
        if a.rank == 1 { out = try out.squeeze(axes: [-2]) }
        if b.rank == 1 { out = try out.squeeze(axes: [-1]) }
        return out
    }

    public static func matmul(_ a: Tensor, _ b: Tensor) throws -> Tensor { try a.matmul(b) }

    /// Outer product of two vectors (flattened first, like numpy.outer).
    public static func outer(_ a: Tensor, _ b: Tensor) throws -> Tensor {
        try a.reshape([a.count, 1]).matmul(b.reshape([1, b.count]))
    }

    /// op(a) @ op(b) over broadcast batch dimensions, rank >= 2 each. `ta`/`tb` transpose the last two axes
    /// without copying (sgemm reads the transposed layout directly).
    static func batchedMatmul(_ a: Tensor, _ ta: Bool, _ b: Tensor, _ tb: Bool, op: String,
                              shapeA: [Int]? = nil, shapeB: [Int]? = nil) throws -> Tensor {
        try BLAS.ensureLoaded()
        let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
        let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
        let (m, k) = ta ? (ac, ar) : (ar, ac)
        let (k2, n) = tb ? (bc, br) : (br, bc)
        guard k == k2 else { throw TensorError.shapeMismatch(op: op, lhs: shapeA ?? a.shape, rhs: shapeB ?? b.shape) }
        let aBatch = Array(a.shape.dropLast(2)), bBatch = Array(b.shape.dropLast(2))
        let batch: [Int]
        do { batch = try Shape.broadcast(aBatch, bBatch, op: op) } catch {
            throw TensorError.shapeMismatch(op: op, lhs: shapeA ?? a.shape, rhs: shapeB ?? b.shape)
        }
        let out = try Tensor(uninitialized: batch + [m, n], op: op)
        let nb = batch.reduce(1, *)
        // sgemm takes 32-bit sizes; a larger one would trap in the conversion, so it is refused here.
        let int32 = Int(Int32.max)
        guard out.count == 0 || Swift.max(m, n, k) <= int32 else {
            throw TensorError.invalidArgument(
                op: op, message: "matrix dimension \(Swift.max(m, n, k)) exceeds BLAS's limit of \(int32) "
                    + "(shapes \(fmt(shapeA ?? a.shape)) and \(fmt(shapeB ?? b.shape)))")
        }
        if out.count > 0 {
            if k == 0 {
                out.dataPointer.initialize(repeating: 0, count: out.count)
            } else if bBatch.reduce(1, *) == 1 && !ta && aBatch == batch && nb * m <= int32 {
                // Shared right operand (x @ W): all batches are one tall GEMM.
                BLAS.sgemm(transA: false, transB: tb, m: nb * m, n: n, k: k, a: a.dataPointer, lda: ac,
                           b: b.dataPointer, ldb: bc, c: out.dataPointer, ldc: n)
            } else {
                let sa = Shape.broadcastStrides(aBatch, to: batch), sb = Shape.broadcastStrides(bBatch, to: batch)
                let bs = Shape.strides(batch)
                for i in 0..<nb {
                    var rem = i, oa = 0, ob = 0
                    for d in 0..<batch.count {
                        let j = rem / bs[d]; rem %= bs[d]
                        oa += j * sa[d]; ob += j * sb[d]
                    }
                    BLAS.sgemm(transA: ta, transB: tb, m: m, n: n, k: k, a: a.dataPointer + oa * ar * ac, lda: ac,
                               b: b.dataPointer + ob * br * bc, ldb: bc, c: out.dataPointer + i * m * n, ldc: n)
                }
            }
        }
        return Autograd.record(out, op, [a, b]) { g in
            // C = op(A) op(B):  dA = g op(B)^T (transposed back if A was), dB = op(A)^T g (likewise).
            let ga = ta ? try batchedMatmul(b, tb, g, true, op: op) : try batchedMatmul(g, false, b, !tb, op: op)
            let gb = tb ? try batchedMatmul(g, true, a, ta, op: op) : try batchedMatmul(a, !ta, g, false, op: op)
            return [try ga.sumToShape(a.shape), try gb.sumToShape(b.shape)]
        }
    }
}
