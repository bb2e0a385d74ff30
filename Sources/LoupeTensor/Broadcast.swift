/// The engine behind every binary elementwise operation: numpy broadcasting over contiguous inputs.
///
/// Dimensions that are laid out contiguously in both inputs are merged first, so the common cases
/// (same shape, tensor with scalar, matrix with row vector) become one long inner loop with SIMD.
struct BroadcastPlan {
    let outShape: [Int]
    /// Merged dimensions and the strides of each input over them (0 where broadcast).
    let dims: [Int]
    let sa: [Int]
    let sb: [Int]

    init(_ a: [Int], _ b: [Int], op: String) throws {
        outShape = try Shape.broadcast(a, b, op: op)
        let fa = Shape.broadcastStrides(a, to: outShape)
        let fb = Shape.broadcastStrides(b, to: outShape)
        var dims: [Int] = [], sa: [Int] = [], sb: [Int] = []
        for i in 0..<outShape.count where outShape[i] != 1 {
            if let last = dims.last,
                sa.last! == fa[i] * outShape[i] || (sa.last! == 0 && fa[i] == 0),
                sb.last! == fb[i] * outShape[i] || (sb.last! == 0 && fb[i] == 0)
            {
                dims[dims.count - 1] = last * outShape[i]
                sa[sa.count - 1] = fa[i]
                sb[sb.count - 1] = fb[i]
            } else {
                dims.append(outShape[i]); sa.append(fa[i]); sb.append(fb[i])
            }
        }
        if dims.isEmpty { dims = [1]; sa = [0]; sb = [0] }
        self.dims = dims; self.sa = sa; self.sb = sb
    }

    /// Runs `row(aOffset, aStride, bOffset, bStride, outOffset, length)` over every innermost row,
    /// splitting the work across cores when it is large.
    @inline(__always)
    func forEachRow(cost: Int, _ row: (Int, Int, Int, Int, Int, Int) -> Void) {
        let inner = dims.last!
        let rows = dims.dropLast().reduce(1, *)
        let ia = sa.last!, ib = sb.last!
        if rows == 1 {
            // One long row: split the row itself.
            Parallel.forEach(inner, cost: cost) { r in
                row(r.lowerBound * ia, ia, r.lowerBound * ib, ib, r.lowerBound, r.count)
            }
            return
        }
        let outer = Array(dims.dropLast())
        let osa = Array(sa.dropLast()), osb = Array(sb.dropLast())
        Parallel.forEach(rows * inner, cost: cost) { r in
            // Row range covered by this chunk (chunks are in elements; rows are whole).
            let r0 = (r.lowerBound + inner - 1) / inner
            let r1 = r.upperBound == rows * inner ? rows : (r.upperBound + inner - 1) / inner
            guard r0 < r1 else { return }
            // Decompose r0 into a multi-index once, then step it like an odometer.
            var idx = [Int](repeating: 0, count: outer.count)
            var rem = r0
            var offA = 0, offB = 0
            for d in stride(from: outer.count - 1, through: 0, by: -1) {
                idx[d] = rem % outer[d]; rem /= outer[d]
                offA += idx[d] * osa[d]; offB += idx[d] * osb[d]
            }
            for rr in r0..<r1 {
                row(offA, ia, offB, ib, rr * inner, inner)
                var d = outer.count - 1
                while d >= 0 {
                    idx[d] += 1; offA += osa[d]; offB += osb[d]
                    if idx[d] < outer[d] { break }
                    offA -= osa[d] * outer[d]; offB -= osb[d] * outer[d]; idx[d] = 0
                    d -= 1
                }
            }
        }
    }
}

extension Tensor {
    /// Broadcasting binary kernel. `v` is the 8-lane form of the operation and `s` the scalar form; both must
    /// compute the same function.
    @inline(__always)
    static func binary(
        _ a: Tensor, _ b: Tensor, op: String, cost: Int = 1, _ v: (F8, F8) -> F8, _ s: (Float, Float) -> Float
    ) throws -> Tensor {
        // Hot loop, three shapes of it: both contiguous, or one side a broadcast scalar.
        @inline(__always)
        func row(_ x: UnsafePointer<Float>, _ ia: Int, _ y: UnsafePointer<Float>, _ ib: Int, _ z: UnsafeMutablePointer<Float>, _ n: Int) {
            var i = 0
            if ia == 1 && ib == 1 {
                while i + 8 <= n {
                    let r = v(UnsafeRawPointer(x + i).loadUnaligned(as: F8.self), UnsafeRawPointer(y + i).loadUnaligned(as: F8.self))
                    UnsafeMutableRawPointer(z + i).storeBytes(of: r, as: F8.self)
                    i += 8
                }
                while i < n { z[i] = s(x[i], y[i]); i += 1 }
            } else if ia == 1 {
                let yb = F8(repeating: y[0])
                while i + 8 <= n {
                    UnsafeMutableRawPointer(z + i).storeBytes(of: v(UnsafeRawPointer(x + i).loadUnaligned(as: F8.self), yb), as: F8.self)
                    i += 8
                }
                while i < n { z[i] = s(x[i], y[0]); i += 1 }
            } else if ib == 1 {
                let xb = F8(repeating: x[0])
                while i + 8 <= n {
                    UnsafeMutableRawPointer(z + i).storeBytes(of: v(xb, UnsafeRawPointer(y + i).loadUnaligned(as: F8.self)), as: F8.self)
                    i += 8
                }
                while i < n { z[i] = s(x[0], y[i]); i += 1 }
            } else {
                let r = s(x[0], y[0])
                while i < n { z[i] = r; i += 1 }
            }
        }
        let pa = a.dataPointer, pb = b.dataPointer
        // Fast path without a broadcast plan (whose shape arrays cost more than a small op itself): equal
        // shapes, or one side a single element.
        let sameShape = a.shape == b.shape
        let bScalar = !sameShape && b.count == 1 && b.rank <= a.rank
        let aScalar = !sameShape && !bScalar && a.count == 1 && a.rank <= b.rank
        if sameShape || aScalar || bScalar {
            let out = try Tensor(uninitialized: aScalar ? b.shape : a.shape, op: op)
            let po = out.dataPointer
            let ia = aScalar ? 0 : 1, ib = bScalar ? 0 : 1
            Parallel.forEach(out.count, cost: cost) { r in
                row(pa + r.lowerBound * ia, ia, pb + r.lowerBound * ib, ib, po + r.lowerBound, r.count)
            }
            return out
        }
        let plan = try BroadcastPlan(a.shape, b.shape, op: op)
        let out = try Tensor(uninitialized: plan.outShape, op: op)
        if out.count == 0 { return out }
        let po = out.dataPointer
        plan.forEachRow(cost: cost) { oa, ia, ob, ib, oo, n in
            row(pa + oa, ia, pb + ob, ib, po + oo, n)
        }
        return out
    }

    /// Elementwise kernel over one input, specialised for a kernel type so that its 8-lane function is inlined
    /// into the hot loop (a closure would be called once per 8 elements, through a context pointer).
    @inline(__always)
    func unary<K: UnaryKernel>(op: String, cost: Int = 1, _ k: K) throws -> Tensor {
        let out = try Tensor(uninitialized: shape, op: op)
        let src = dataPointer, dst = out.dataPointer
        Parallel.forEach(count, cost: cost) { r in
            mapF8(src + r.lowerBound, dst + r.lowerBound, r.count, k)
        }
        return out
    }

    /// Elementwise kernel over one input, for the rarely used ops that are written as closures.
    @inline(__always)
    func unary(op: String, cost: Int = 1, _ v: (F8) -> F8) throws -> Tensor {
        try withoutActuallyEscaping(v) { try unary(op: op, cost: cost, ClosureKernel(f: $0)) }
    }
}
