import Foundation

// Reductions along any set of axes, with keepDims. Internally every reduction sees its input as
// [outer, r, inner] where the r elements of each output are reduced: reduced axes that are not adjacent are
// first permuted to the end.

/// How a reduction sees its input: `outer` x `r` x `inner`, and the output shapes.
struct ReductionPlan {
    let source: Tensor     // input, permuted if needed so reduced axes are one block
    let outer: Int, r: Int, inner: Int
    let keptShape: [Int]   // with 1 for reduced axes
    let dropShape: [Int]   // reduced axes removed

    init(_ x: Tensor, axes: [Int]?, op: String) throws {
        let ax = try Shape.axes(axes, rank: x.rank, op: op)
        keptShape = x.shape.enumerated().map { ax.contains($0.offset) ? 1 : $0.element }
        dropShape = x.shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
        let adjacent = ax.isEmpty || ax.last! - ax.first! + 1 == ax.count
        if adjacent {
            source = x
            let a0 = ax.first ?? x.rank, a1 = ax.last ?? x.rank - 1
            outer = x.shape[..<a0].reduce(1, *)
            r = ax.isEmpty ? 1 : x.shape[a0...a1].reduce(1, *)
            inner = a1 + 1 < x.rank ? x.shape[(a1 + 1)...].reduce(1, *) : 1
        } else {
            let keep = (0..<x.rank).filter { !ax.contains($0) }
            source = try Autograd.noGrad { try x.permute(keep + ax) }
            outer = keep.map { x.shape[$0] }.reduce(1, *)
            r = ax.map { x.shape[$0] }.reduce(1, *)
            inner = 1
        }
    }
}

extension Tensor {
    /// Shared driver: `row(ptr, r, stride)` reduces r elements spaced `stride` apart to one value.
    /// Contiguous rows (inner == 1) are the fast path; for inner > 1 the reduction runs down columns.
    @inline(__always)
    static func reduce(_ plan: ReductionPlan, keepDims: Bool, op: String, cost: Int = 1,
                       contiguous: (UnsafePointer<Float>, Int) -> Float,
                       columns: (UnsafePointer<Float>, Int, Int, UnsafeMutablePointer<Float>) -> Void) throws -> Tensor {
        let out = try Tensor(uninitialized: keepDims ? plan.keptShape : plan.dropShape, op: op)
        let src = plan.source.dataPointer, dst = out.dataPointer
        let (outer, r, inner) = (plan.outer, plan.r, plan.inner)
        if inner == 1 {
            if outer == 1 {
                dst[0] = contiguous(src, r)  // whole-tensor reductions split themselves across cores
            } else {
                Parallel.forEach(outer, cost: Swift.max(r, 1) * cost) { range in
                    for o in range { dst[o] = contiguous(src + o * r, r) }
                }
            }
        } else {
            Parallel.forEach(outer, cost: r * inner * cost / Swift.max(outer, 1) + 1) { range in
                for o in range { columns(src + o * r * inner, r, inner, dst + o * inner) }
            }
        }
        return out
    }

    // MARK: sum / mean

    /// Sum of `n` contiguous floats: 32 lanes over blocks of 4096, block sums in Double, both cores when large.
    static func sumContiguous(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        @inline(__always) func block(_ q: UnsafePointer<Float>, _ m: Int) -> Double {
            var a0 = F8(), a1 = F8(), a2 = F8(), a3 = F8()
            var i = 0
            // Hot loop: four independent accumulators hide the add latency.
            while i + 32 <= m {
                let raw = UnsafeRawPointer(q + i)
                a0 += raw.loadUnaligned(fromByteOffset: 0, as: F8.self)
                a1 += raw.loadUnaligned(fromByteOffset: 32, as: F8.self)
                a2 += raw.loadUnaligned(fromByteOffset: 64, as: F8.self)
                a3 += raw.loadUnaligned(fromByteOffset: 96, as: F8.self)
                i += 32
            }
            var s = Double(((a0 + a1) + (a2 + a3)).sum())
            while i < m { s += Double(q[i]); i += 1 }
            return s
        }
        let blockSize = 4096
        let blocks = (n + blockSize - 1) / blockSize
        if blocks <= 1 { return Float(block(p, n)) }
        let parts = UnsafeMutablePointer<Double>.allocate(capacity: Parallel.cores)
        defer { parts.deallocate() }
        parts.initialize(repeating: 0, count: Parallel.cores)
        let chunks = Swift.min(Parallel.cores, Swift.max(1, n / Parallel.grain))
        let per = (blocks + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            var s = 0.0
            var b = c * per
            while b < Swift.min(blocks, (c + 1) * per) {
                s += block(p + b * blockSize, Swift.min(blockSize, n - b * blockSize)); b += 1
            }
            parts[c] = s
        }
        var s = 0.0
        for c in 0..<chunks { s += parts[c] }
        return Float(s)
    }

    static func sumColumns(_ p: UnsafePointer<Float>, _ r: Int, _ inner: Int, _ out: UnsafeMutablePointer<Float>) {
        out.initialize(repeating: 0, count: inner)
        for j in 0..<r {
            let row = p + j * inner
            var i = 0
            while i + 8 <= inner {
                let acc = UnsafeRawPointer(out + i).loadUnaligned(as: F8.self) + UnsafeRawPointer(row + i).loadUnaligned(as: F8.self)
                UnsafeMutableRawPointer(out + i).storeBytes(of: acc, as: F8.self)
                i += 8
            }
            while i < inner { out[i] += row[i]; i += 1 }
        }
    }

    /// Sum over `axes` (all when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let x = self
        let plan = try ReductionPlan(x, axes: axes, op: "sum")
        let out = try Tensor.reduce(plan, keepDims: keepDims, op: "sum", contiguous: Tensor.sumContiguous, columns: Tensor.sumColumns)
        return Autograd.record(out, "sum", [x]) { g in [try g.reshape(plan.keptShape).broadcast(to: x.shape)] }
    }
    public func sum(axis: Int, keepDims: Bool = false) throws -> Tensor { try sum(axes: [axis], keepDims: keepDims) }

    /// How many elements each output of a reduction over `axes` combines (checks the axes). Unlike a
    /// `ReductionPlan` it never copies the input.
    func reducedCount(_ axes: [Int]?, op: String) throws -> Int {
        try Shape.axes(axes, rank: rank, op: op).reduce(1) { $0 * shape[$1] }
    }

    public func mean(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let r = try reducedCount(axes, op: "mean")
        return try sum(axes: axes, keepDims: keepDims) / Float(r)
    }
    public func mean(axis: Int, keepDims: Bool = false) throws -> Tensor { try mean(axes: [axis], keepDims: keepDims) }

    // MARK: max / min

    static func extremum(_ p: UnsafePointer<Float>, _ n: Int, greater: Bool) -> Float {
        // Two copies of the loop, so the direction test is not inside it.
        greater ? extremumLoop(p, n, true) : extremumLoop(p, n, false)
    }

    @inline(__always)
    private static func extremumLoop(_ p: UnsafePointer<Float>, _ n: Int, _ greater: Bool) -> Float {
        if n == 0 { return greater ? -.infinity : .infinity }
        var a0 = F8(repeating: p[0]), a1 = a0, a2 = a0, a3 = a0
        // v - v is 0 for finite v and NaN for NaN or +-inf: a cheap float-only probe for NaN.
        var probe = F8()
        var i = 0
        @inline(__always) func pick(_ acc: F8, _ v: F8) -> F8 {
            acc.replacing(with: v, where: greater ? v .> acc : v .< acc)
        }
        // Hot loop: four independent compare-and-blend chains, 32 floats per iteration.
        while i + 32 <= n {
            let raw = UnsafeRawPointer(p + i)
            let v0 = raw.loadUnaligned(fromByteOffset: 0, as: F8.self), v1 = raw.loadUnaligned(fromByteOffset: 32, as: F8.self)
            let v2 = raw.loadUnaligned(fromByteOffset: 64, as: F8.self), v3 = raw.loadUnaligned(fromByteOffset: 96, as: F8.self)
            a0 = pick(a0, v0); a1 = pick(a1, v1); a2 = pick(a2, v2); a3 = pick(a3, v3)
            probe += ((v0 - v0) + (v1 - v1)) + ((v2 - v2) + (v3 - v3))
            i += 32
        }
        let acc = pick(pick(a0, a1), pick(a2, a3))
        var m = greater ? acc.max() : acc.min()
        while i < n {
            if p[i].isNaN { return .nan }
            if greater ? p[i] > m : p[i] < m { m = p[i] }
            i += 1
        }
        // The probe also fires on infinities; only then look for a real NaN.
        if probe.sum().isNaN {
            for j in 0..<n where p[j].isNaN { return .nan }
        }
        return m
    }

    static func extremumColumns(_ p: UnsafePointer<Float>, _ r: Int, _ inner: Int, _ out: UnsafeMutablePointer<Float>, greater: Bool) {
        out.update(from: p, count: inner)
        for j in 1..<Swift.max(r, 1) {
            let row = p + j * inner
            for i in 0..<inner where !out[i].isNaN {
                let v = row[i]
                if v.isNaN || (greater ? v > out[i] : v < out[i]) { out[i] = v }
            }
        }
    }

    private func extremum(axes: [Int]?, keepDims: Bool, greater: Bool) throws -> Tensor {
        let x = self
        let op = greater ? "max" : "min"
        let plan = try ReductionPlan(x, axes: axes, op: op)
        guard plan.r > 0 || count == 0 && plan.keptShape.reduce(1, *) == 0 else {
            throw TensorError.invalidArgument(op: op, message: "zero-size reduction has no identity (shape \(fmt(shape)))")
        }
        let out = try Tensor.reduce(plan, keepDims: keepDims, op: op,
            contiguous: { p, n in
                // Whole-tensor case: split across cores, then combine.
                if n < Parallel.grain * 2 { return Tensor.extremum(p, n, greater: greater) }
                var parts = [Float](repeating: 0, count: 2)
                let half = (n / 2 + 15) & ~15
                parts.withUnsafeMutableBufferPointer { pp in
                    let base = pp.baseAddress!
                    DispatchQueue.concurrentPerform(iterations: 2) { c in
                        base[c] = c == 0 ? Tensor.extremum(p, half, greater: greater) : Tensor.extremum(p + half, n - half, greater: greater)
                    }
                }
                if parts[0].isNaN || parts[1].isNaN { return .nan }
                return greater ? Swift.max(parts[0], parts[1]) : Swift.min(parts[0], parts[1])
            },
            columns: { p, r, inner, o in Tensor.extremumColumns(p, r, inner, o, greater: greater) })
        return Autograd.record(out, op, [x]) { [out = out.detached()] g in
            // The gradient is shared equally among tied extrema (as JAX does).
            let mask = try x == out.reshape(plan.keptShape)
            let ties = try mask.sum(axes: axes, keepDims: true)
            return [try g.reshape(plan.keptShape) * mask / ties]
        }
    }

    public func max(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor { try extremum(axes: axes, keepDims: keepDims, greater: true) }
    public func min(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor { try extremum(axes: axes, keepDims: keepDims, greater: false) }
    public func max(axis: Int, keepDims: Bool = false) throws -> Tensor { try max(axes: [axis], keepDims: keepDims) }
    public func min(axis: Int, keepDims: Bool = false) throws -> Tensor { try min(axes: [axis], keepDims: keepDims) }

    // MARK: argmax / argmin

    /// Index of the first maximum along `axis` (of the flattened tensor when nil). NaN counts as the maximum.
    public func argmax(axis: Int? = nil, keepDims: Bool = false) throws -> IndexTensor { try argExtremum(axis: axis, keepDims: keepDims, greater: true) }
    /// Index of the first minimum along `axis` (of the flattened tensor when nil). NaN counts as the minimum.
    public func argmin(axis: Int? = nil, keepDims: Bool = false) throws -> IndexTensor { try argExtremum(axis: axis, keepDims: keepDims, greater: false) }

    private func argExtremum(axis: Int?, keepDims: Bool, greater: Bool) throws -> IndexTensor {
        let op = greater ? "argmax" : "argmin"
        let plan = try ReductionPlan(self, axes: axis.map { [$0] }, op: op)
        guard plan.r > 0 else { throw TensorError.invalidArgument(op: op, message: "attempt to get \(op) of an empty sequence") }
        var result = [Int](repeating: 0, count: plan.outer * plan.inner)
        let p = plan.source.dataPointer
        for o in 0..<plan.outer {
            for i in 0..<plan.inner {
                let base = p + o * plan.r * plan.inner + i
                var best = base[0], at = 0
                if !best.isNaN {
                    for j in 1..<plan.r {
                        let v = base[j * plan.inner]
                        if v.isNaN { at = j; break }
                        if greater ? v > best : v < best { best = v; at = j }
                    }
                }
                result[o * plan.inner + i] = at
            }
        }
        let shape = axis == nil ? (keepDims ? Array(repeating: 1, count: rank) : []) : (keepDims ? plan.keptShape : plan.dropShape)
        return IndexTensor(shape: shape, unchecked: result)
    }

    // MARK: var / std / logsumexp / norm

    /// Variance with `ddof` delta degrees of freedom (numpy's default 0), computed in two passes for accuracy.
    public func variance(axes: [Int]? = nil, keepDims: Bool = false, ddof: Int = 0) throws -> Tensor {
        let r = try reducedCount(axes, op: "var")
        let centered = try self - mean(axes: axes, keepDims: true)
        // numpy divides by max(N - ddof, 0) (so ddof >= N gives inf or NaN); in Double, as ddof may be any Int.
        let dof = Float(Swift.max(Double(r) - Double(ddof), 0))
        return try (centered * centered).sum(axes: axes, keepDims: keepDims) / dof
    }

    public func std(axes: [Int]? = nil, keepDims: Bool = false, ddof: Int = 0) throws -> Tensor {
        try variance(axes: axes, keepDims: keepDims, ddof: ddof).sqrt()
    }

    /// log(sum(exp(x))) along axes, shifted by the maximum so it never overflows.
    public func logsumexp(axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        let x = self
        let ax = try Shape.axes(axes, rank: rank, op: "logsumexp")
        let dropShape = shape.indices.filter { !ax.contains($0) }.map { shape[$0] }
        if ax.contains(where: { shape[$0] == 0 }) {
            // An empty sum is 0 and its log -inf (the max below has no identity and would throw).
            var kept = shape
            for a in ax { kept[a] = 1 }
            return try Tensor.full(keepDims ? kept : dropShape, -.infinity)
        }
        let m = try Autograd.noGrad { () -> Tensor in
            let mx = try x.max(axes: axes, keepDims: true)
            // An all -inf row would give -inf - -inf = NaN; shift by 0 there instead.
            return try Tensor.where(mx.isfinite(), mx, Tensor(scalar: 0))
        }
        let s = try (x - m).exp().sum(axes: axes, keepDims: true).log() + m
        return keepDims ? s : try s.reshape(dropShape)
    }

    /// Vector norm along axes, numpy's `ord` for vectors: p = 2 (default), 1, .infinity (max |x|),
    /// -.infinity (min |x|), 0 (number of nonzeros), or any other p: (sum |x|^p)^(1/p).
    public func norm(p: Float = 2, axes: [Int]? = nil, keepDims: Bool = false) throws -> Tensor {
        switch p {
        case 2: return try (self * self).sum(axes: axes, keepDims: keepDims).sqrt()
        case 1: return try abs().sum(axes: axes, keepDims: keepDims)
        case .infinity: return try abs().max(axes: axes, keepDims: keepDims)
        case -.infinity: return try abs().min(axes: axes, keepDims: keepDims)
        case 0: return try Autograd.noGrad { try (self != Tensor(scalar: 0)).sum(axes: axes, keepDims: keepDims) }
        default:
            guard !p.isNaN else { throw TensorError.invalidArgument(op: "norm", message: "p is NaN") }
            return try abs().pow(p).sum(axes: axes, keepDims: keepDims).pow(1 / p)
        }
    }

    /// Running sum along `axis`.
    public func cumsum(axis: Int = -1) throws -> Tensor {
        let x = self
        let ax = try Shape.axis(axis, rank: Swift.max(rank, 1), op: "cumsum")
        let src = rank == 0 ? try reshape([1]) : self
        let out = try Tensor(uninitialized: src.shape, op: "cumsum")
        let n = src.shape[ax], inner = src.shape[(ax + 1)...].reduce(1, *), outer = src.shape[..<ax].reduce(1, *)
        let p = src.dataPointer, o = out.dataPointer
        for a in 0..<outer {
            for i in 0..<inner {
                var acc: Float = 0
                for j in 0..<n {
                    let k = (a * n + j) * inner + i
                    acc += p[k]; o[k] = acc
                }
            }
        }
        let result = rank == 0 ? try out.reshape([]) : out
        return Autograd.record(result, "cumsum", [x]) { g in
            // Reverse cumulative sum of the gradient.
            let flipped = try g.reshape(src.shape).flip(axis: ax)
            return [try flipped.cumsum(axis: ax).flip(axis: ax).reshape(x.shape)]
        }
    }

    /// Reverses the order along `axis`.
    public func flip(axis: Int) throws -> Tensor {
        let ax = try Shape.axis(axis, rank: rank, op: "flip")
        var idx = [SliceIndex](repeating: .all, count: rank)
        idx[ax] = .range(nil, nil, -1)
        return try slice(idx)
    }
}
