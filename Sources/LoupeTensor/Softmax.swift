// softmax and log_softmax along one axis, numerically stable (shifted by the row maximum).

extension Tensor {
    /// Runs a row kernel over every 1-d slice along `axis`: directly when it is the last axis, otherwise on a
    /// permuted copy.
    private func alongAxis(_ axis: Int, op: String, cost: Int, _ kernel: @escaping (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) throws -> Tensor {
        let ax = try Shape.axis(axis, rank: Swift.max(rank, 1), op: op)
        if rank == 0 { return try reshape([1]).alongAxis(0, op: op, cost: cost, kernel).reshape([]) }
        if ax != rank - 1 {
            return try Autograd.noGrad {
                try transpose(ax, -1).alongAxis(-1, op: op, cost: cost, kernel).transpose(ax, -1)
            }
        }
        let n = shape[ax]
        let rows = n == 0 ? 0 : count / n
        let out = try Tensor(uninitialized: shape, op: op)
        let src = dataPointer, dst = out.dataPointer
        Parallel.forEach(rows, cost: n * cost) { r in
            for row in r { kernel(src + row * n, dst + row * n, n) }
        }
        return out
    }

    /// Softmax of one row: max, then exp(x - max) with the sum, then a scale. Three passes over cached data.
    static func softmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = extremum(x, n, greater: true)
        if m == -.infinity { m = 0 }  // all -inf: exp gives 0 / 0 = NaN as numpy does
        let mv = F8(repeating: m)
        var acc = F8()
        var i = 0
        // Hot loop: exp is computed 8 lanes at a time and summed in the same pass.
        while i + 8 <= n {
            let e = vexp(UnsafeRawPointer(x + i).loadUnaligned(as: F8.self) - mv)
            UnsafeMutableRawPointer(y + i).storeBytes(of: e, as: F8.self)
            acc += e
            i += 8
        }
        var s = acc.sum()
        if i < n {
            mapF8(x + i, y + i, n - i) { vexp($0 - mv) }
            for j in i..<n { s += y[j] }
        }
        let inv = F8(repeating: 1 / s)
        i = 0
        while i + 8 <= n {
            UnsafeMutableRawPointer(y + i).storeBytes(of: UnsafeRawPointer(y + i).loadUnaligned(as: F8.self) * inv, as: F8.self)
            i += 8
        }
        while i < n { y[i] *= inv[0]; i += 1 }
    }

    /// log_softmax of one row: x - max - log(sum(exp(x - max))).
    static func logSoftmaxRow(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        var m = extremum(x, n, greater: true)
        if m == -.infinity { m = 0 }
        let mv = F8(repeating: m)
        var acc = F8()
        var i = 0
        while i + 8 <= n {
            acc += vexp(UnsafeRawPointer(x + i).loadUnaligned(as: F8.self) - mv)
            i += 8
        }
        var s = acc.sum()
        while i < n { s += vexp(F8(repeating: x[i] - m))[0]; i += 1 }
        // (x - max) - log(sum), in that order: x - (max + log(sum)) would round max + log(sum) at max's scale
        // first, losing the low bits of results near 0 when the row holds large values (e.g. logits ~1000).
        let logSum = F8(repeating: vlog(F8(repeating: s))[0])
        i = 0
        while i + 8 <= n {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: F8.self)
            UnsafeMutableRawPointer(y + i).storeBytes(of: (v - mv) - logSum, as: F8.self)
            i += 8
        }
        while i < n { y[i] = (x[i] - m) - logSum[0]; i += 1 }
    }

    /// exp(x) / sum(exp(x)) along `axis`.
    public func softmax(axis: Int = -1) throws -> Tensor {
        let x = self
        let out = try Autograd.noGrad { try x.alongAxis(axis, op: "softmax", cost: 12, Tensor.softmaxRow) }
        return Autograd.record(out, "softmax", [x]) { [out = out.detached()] g in
            // dx = y * (g - sum(g * y))
            // (a 0-d input is one row of one element: sum over all axes, since it has no axis -1)
            [try out * (g - (g * out).sum(axes: x.rank == 0 ? nil : [axis], keepDims: true))]
        }
    }

    /// x - logsumexp(x) along `axis`.
    public func logSoftmax(axis: Int = -1) throws -> Tensor {
        let x = self
        let out = try Autograd.noGrad { try x.alongAxis(axis, op: "log_softmax", cost: 12, Tensor.logSoftmaxRow) }
        return Autograd.record(out, "log_softmax", [x]) { [out = out.detached()] g in
            // dx = g - softmax(x) * sum(g)
            [try g - out.exp() * g.sum(axes: x.rank == 0 ? nil : [axis], keepDims: true)]
        }
    }
}
