// Shape operations: reshape, permute, squeeze/unsqueeze, broadcast, concat, stack, split, slicing.
// All results are contiguous: reshape shares storage, the others copy through one strided-copy kernel.

// MARK: - Strided copy (the kernel behind permute, broadcast and slicing)

/// Copies the elements `src[offset + sum(i_d * strides[d])]` for every index `i` of `shape`, in row-major order.
/// Strides may be 0 (broadcast) or negative (reversed slices).
func stridedCopy(_ src: UnsafePointer<Float>, offset: Int, strides: [Int], shape: [Int], op: String) throws -> Tensor {
    let out = try Tensor(uninitialized: shape, op: op)
    if out.count == 0 { return out }
    let dst = out.dataPointer
    if shape.isEmpty { dst[0] = src[offset]; return out }
    let inner = shape.last!, istride = strides.last!
    let outer = Array(shape.dropLast()), ostr = Array(strides.dropLast())
    let rows = out.count / inner
    Parallel.forEach(out.count) { r in
        let r0 = (r.lowerBound + inner - 1) / inner
        let r1 = r.upperBound == out.count ? rows : (r.upperBound + inner - 1) / inner
        guard r0 < r1 else { return }
        var idx = [Int](repeating: 0, count: outer.count)
        var rem = r0, off = offset
        for d in stride(from: outer.count - 1, through: 0, by: -1) {
            idx[d] = rem % outer[d]; rem /= outer[d]; off += idx[d] * ostr[d]
        }
        for row in r0..<r1 {
            let o = dst + row * inner
            // Hot loop: contiguous rows copy as a block; others gather with a stride.
            if istride == 1 {
                o.update(from: src + off, count: inner)
            } else {
                var s = off
                for j in 0..<inner { o[j] = src[s]; s += istride }
            }
            var d = outer.count - 1
            while d >= 0 {
                idx[d] += 1; off += ostr[d]
                if idx[d] < outer[d] { break }
                off -= ostr[d] * outer[d]; idx[d] = 0; d -= 1
            }
        }
    }
    return out
}

/// Adds `src` (contiguous, of `shape`) into `dst` at `offset + sum(i_d * strides[d])`. Strides must address
/// distinct elements (true for slices), so rows can be written in parallel.
func stridedAdd(_ src: Tensor, into dst: UnsafeMutablePointer<Float>, offset: Int, strides: [Int]) {
    let shape = src.shape
    if src.count == 0 { return }
    if shape.isEmpty { dst[offset] += src.dataPointer[0]; return }
    let inner = shape.last!, istride = strides.last!
    let outer = Array(shape.dropLast()), ostr = Array(strides.dropLast())
    var idx = [Int](repeating: 0, count: outer.count)
    var off = offset
    let s = src.dataPointer
    for row in 0..<(src.count / inner) {
        var p = off
        for j in 0..<inner { dst[p] += s[row * inner + j]; p += istride }
        var d = outer.count - 1
        while d >= 0 {
            idx[d] += 1; off += ostr[d]
            if idx[d] < outer[d] { break }
            off -= ostr[d] * outer[d]; idx[d] = 0; d -= 1
        }
    }
}

// MARK: - Reshape, squeeze, unsqueeze

extension Tensor {
    /// Same data, new shape; one dimension may be -1 and is inferred. Shares storage.
    public func reshape(_ newShape: [Int]) throws -> Tensor {
        var s = newShape
        let unknown = s.indices.filter { s[$0] == -1 }
        guard unknown.count <= 1 else {
            throw TensorError.invalidArgument(op: "reshape", message: "only one dimension can be -1 in \(fmt(newShape))")
        }
        if let u = unknown.first {
            // Checked product: a shape like [-1, 1 << 40, 1 << 40] must be refused, not overflow.
            var known = 1
            for (i, d) in s.enumerated() where i != u {
                guard d >= 0 else {
                    throw TensorError.invalidArgument(op: "reshape", message: "negative dimension \(d) in shape \(fmt(newShape))")
                }
                let (p, overflow) = known.multipliedReportingOverflow(by: d)
                guard !overflow else { throw TensorError.shapeMismatch(op: "reshape", lhs: shape, rhs: newShape) }
                known = p
            }
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch(op: "reshape", lhs: shape, rhs: newShape)
            }
            s[u] = count / known
        }
        guard try Shape.elementCount(s, op: "reshape") == count else {
            throw TensorError.shapeMismatch(op: "reshape", lhs: shape, rhs: newShape)
        }
        let x = self
        let out = Tensor(shape: s, storage: storage)
        return Autograd.record(out, "reshape", [x]) { g in [try g.reshape(x.shape)] }
    }

    public func flatten() -> Tensor { try! reshape([count]) }

    /// Removes dimensions of size 1 (the given axes, or all of them).
    public func squeeze(axes: [Int]? = nil) throws -> Tensor {
        let ax = try Shape.axes(axes, rank: rank, op: "squeeze")
        for a in ax where axes != nil && shape[a] != 1 {
            throw TensorError.invalidArgument(op: "squeeze", message: "axis \(a) has size \(shape[a]), not 1")
        }
        let keep = shape.indices.filter { !(ax.contains($0) && shape[$0] == 1) }
        return try reshape(keep.map { shape[$0] })
    }

    /// Inserts a dimension of size 1 at `axis` (which may be `rank`, or negative counting from rank + 1).
    public func unsqueeze(_ axis: Int) throws -> Tensor {
        let a = try Shape.axis(axis, rank: rank + 1, op: "unsqueeze")
        var s = shape
        s.insert(1, at: a)
        return try reshape(s)
    }
}

// MARK: - Permute, transpose, broadcast

extension Tensor {
    /// Reorders dimensions: result dimension i is input dimension `order[i]`.
    public func permute(_ order: [Int]) throws -> Tensor {
        guard order.count == rank else {
            throw TensorError.invalidArgument(op: "permute", message: "order \(order) does not list \(rank) axes")
        }
        let perm = try order.map { try Shape.axis($0, rank: rank, op: "permute") }
        guard Set(perm).count == rank else {
            throw TensorError.invalidArgument(op: "permute", message: "order \(order) repeats an axis")
        }
        let x = self
        let st = strides
        let out = try stridedCopy(dataPointer, offset: 0, strides: perm.map { st[$0] }, shape: perm.map { shape[$0] }, op: "permute")
        return Autograd.record(out, "permute", [x]) { g in
            var inverse = [Int](repeating: 0, count: perm.count)
            for (i, p) in perm.enumerated() { inverse[p] = i }
            return [try g.permute(inverse)]
        }
    }

    /// Swaps two axes (the last two by default: the matrix transpose).
    public func transpose(_ a0: Int = -2, _ a1: Int = -1) throws -> Tensor {
        guard rank >= 2 || (rank == 1 && a0 == -2) else {
            throw TensorError.invalidArgument(op: "transpose", message: "needs rank >= 2, got shape \(fmt(shape))")
        }
        if rank < 2 { return self }
        var order = Array(0..<rank)
        let i = try Shape.axis(a0, rank: rank, op: "transpose"), j = try Shape.axis(a1, rank: rank, op: "transpose")
        order.swapAt(i, j)
        return try permute(order)
    }

    /// Matrix transpose of the last two axes.
    public var T: Tensor { get throws { try transpose() } }

    /// Repeats size-1 dimensions (and adds leading ones) to reach `target`, numpy's broadcast_to.
    public func broadcast(to target: [Int]) throws -> Tensor {
        if target == shape { return self }
        guard try Shape.broadcast(shape, target, op: "broadcast_to") == target else {
            throw TensorError.shapeMismatch(op: "broadcast_to", lhs: shape, rhs: target)
        }
        let x = self
        let out = try stridedCopy(dataPointer, offset: 0, strides: Shape.broadcastStrides(shape, to: target), shape: target, op: "broadcast_to")
        return Autograd.record(out, "broadcast_to", [x]) { g in [try g.sumToShape(x.shape)] }
    }

    /// PyTorch's expand: like broadcast(to:), with -1 meaning "keep this size".
    public func expand(_ target: [Int]) throws -> Tensor {
        let pad = target.count - rank
        guard pad >= 0 else { throw TensorError.shapeMismatch(op: "expand", lhs: shape, rhs: target) }
        if let i = target.prefix(pad).firstIndex(of: -1) {
            throw TensorError.invalidArgument(op: "expand", message: "-1 at position \(i) of \(fmt(target)) is a new dimension, which has no size to keep")
        }
        let t = target.enumerated().map { i, d in d == -1 && i >= pad ? shape[i - pad] : d }
        do { return try broadcast(to: t) } catch TensorError.shapeMismatch {
            throw TensorError.shapeMismatch(op: "expand", lhs: shape, rhs: target)  // as the user wrote it
        }
    }
}

// MARK: - Concat, stack, split

extension Tensor {
    /// Joins tensors along an existing axis; all other dimensions must agree.
    public static func concat(_ ts: [Tensor], axis: Int = 0) throws -> Tensor {
        guard let first = ts.first else { throw TensorError.invalidArgument(op: "concat", message: "needs at least one tensor") }
        guard first.rank > 0 else { throw TensorError.invalidArgument(op: "concat", message: "cannot concatenate 0-d tensors") }
        let ax = try Shape.axis(axis, rank: first.rank, op: "concat")
        for t in ts.dropFirst() {
            guard t.rank == first.rank,
                  t.shape.enumerated().allSatisfy({ $0.offset == ax || $0.element == first.shape[$0.offset] })
            else { throw TensorError.shapeMismatch(op: "concat", lhs: first.shape, rhs: t.shape) }
        }
        var shape = first.shape
        shape[ax] = ts.reduce(0) { $0 + $1.shape[ax] }
        let out = try Tensor(uninitialized: shape, op: "concat")
        let outer = shape[..<ax].reduce(1, *)
        let innerOut = shape[ax...].reduce(1, *)
        var col = 0
        for t in ts {
            let innerT = t.shape[ax...].reduce(1, *)
            for o in 0..<outer where innerT > 0 {
                (out.dataPointer + o * innerOut + col).update(from: t.dataPointer + o * innerT, count: innerT)
            }
            col += innerT
        }
        let sizes = ts.map { $0.shape[ax] }
        return Autograd.record(out, "concat", ts) { g in try g.split(sizes: sizes, axis: ax).map { Optional($0) } }
    }

    /// Joins tensors of one shape along a new axis.
    public static func stack(_ ts: [Tensor], axis: Int = 0) throws -> Tensor {
        guard let first = ts.first else { throw TensorError.invalidArgument(op: "stack", message: "needs at least one tensor") }
        for t in ts where t.shape != first.shape { throw TensorError.shapeMismatch(op: "stack", lhs: first.shape, rhs: t.shape) }
        let ax = try Shape.axis(axis, rank: first.rank + 1, op: "stack")
        return try concat(ts.map { try $0.unsqueeze(ax) }, axis: ax)
    }

    /// Cuts along `axis` into pieces of the given sizes (which must add up to the dimension).
    public func split(sizes: [Int], axis: Int = 0) throws -> [Tensor] {
        let ax = try Shape.axis(axis, rank: rank, op: "split")
        // Each size is in 0...shape[ax] before any is added, so the sum cannot overflow.
        guard sizes.allSatisfy({ $0 >= 0 && $0 <= shape[ax] }), sizes.reduce(0, +) == shape[ax] else {
            throw TensorError.invalidArgument(op: "split", message: "sizes \(sizes) do not add up to \(shape[ax]) (axis \(ax) of \(fmt(shape)))")
        }
        var start = 0
        return try sizes.map { n in
            var idx = [SliceIndex](repeating: .all, count: rank)
            idx[ax] = .range(start, start + n, 1)
            start += n
            return try slice(idx)
        }
    }

    /// Cuts along `axis` into `sections` equal pieces.
    public func split(sections: Int, axis: Int = 0) throws -> [Tensor] {
        let ax = try Shape.axis(axis, rank: rank, op: "split")
        guard sections > 0, shape[ax] % sections == 0 else {
            throw TensorError.invalidArgument(
                op: "split", message: "axis \(ax) of \(fmt(shape)) has size \(shape[ax]), which does not split into \(sections) equal parts")
        }
        // An empty axis splits into any number of empty pieces; refuse counts that only exhaust memory.
        guard sections <= Swift.max(shape[ax], 1 << 16) else {
            throw TensorError.invalidArgument(op: "split", message: "\(sections) sections is too many for axis \(ax) of size \(shape[ax])")
        }
        return try split(sizes: Array(repeating: shape[ax] / sections, count: sections), axis: ax)
    }
}

// MARK: - Slicing

/// One entry of a subscript: `t[1, :, 2:5, ::-1]`.
public enum SliceIndex: Equatable {
    /// A single position (removes the dimension). Negative counts from the end.
    case index(Int)
    /// start:stop:step, numpy semantics; nil means the default for the step's direction.
    case range(Int?, Int?, Int?)
    /// `:`
    public static let all = SliceIndex.range(nil, nil, nil)
    /// A new dimension of size 1 (numpy's None).
    case newAxis
    /// `...`: as many `:` as needed.
    case ellipsis
}

extension Tensor {
    /// numpy basic indexing. Indices out of range throw; ranges clip, as in numpy.
    public func slice(_ indices: [SliceIndex]) throws -> Tensor {
        let consumed = indices.filter { if case .newAxis = $0 { return false }; if case .ellipsis = $0 { return false }; return true }.count
        guard indices.filter({ $0 == .ellipsis }).count <= 1 else {
            throw TensorError.invalidArgument(op: "slice", message: "only one ellipsis is allowed")
        }
        guard consumed <= rank else {
            throw TensorError.invalidArgument(op: "slice", message: "\(consumed) indices for a tensor of rank \(rank)")
        }
        var expanded: [SliceIndex] = []
        for i in indices {
            if i == .ellipsis { expanded += Array(repeating: .all, count: rank - consumed) } else { expanded.append(i) }
        }
        while expanded.filter({ $0 != .newAxis }).count < rank { expanded.append(.all) }

        var offset = 0, outShape: [Int] = [], outStrides: [Int] = []
        let st = strides
        var axis = 0
        for idx in expanded {
            switch idx {
            case .newAxis:
                outShape.append(1); outStrides.append(0)
            case let .index(i):
                let n = shape[axis]
                let j = i < 0 ? i + n : i
                guard j >= 0, j < n else { throw TensorError.indexOutOfRange(op: "slice", index: i, axis: axis, size: n) }
                offset += j * st[axis]; axis += 1
            case let .range(a, b, c):
                let n = shape[axis]
                let step = c ?? 1
                guard step != 0 else { throw TensorError.invalidArgument(op: "slice", message: "slice step cannot be zero") }
                let (start, len) = Tensor.sliceBounds(a, b, step, n)
                offset += start * st[axis]
                // A step as large as Int.max is legal; with one element taken its stride is never used (and the
                // product could overflow), with two or more |step| < n and the product is in range.
                outShape.append(len); outStrides.append(len > 1 ? step * st[axis] : 0); axis += 1
            case .ellipsis:
                break
            }
        }
        let x = self
        let out = try stridedCopy(dataPointer, offset: len0(outShape) ? 0 : offset, strides: outStrides, shape: outShape, op: "slice")
        return Autograd.record(out, "slice", [x]) { g in
            let gx = try Tensor.zeros(x.shape)
            if g.count > 0 { stridedAdd(g, into: gx.dataPointer, offset: offset, strides: outStrides) }
            return [gx]
        }
    }

    /// numpy's PySlice_AdjustIndices: the first index and the number of elements of start:stop:step over n.
    static func sliceBounds(_ a: Int?, _ b: Int?, _ step: Int, _ n: Int) -> (Int, Int) {
        func clip(_ v: Int?, _ dflt: Int, lo: Int, hi: Int) -> Int {
            guard var v else { return dflt }
            if v < 0 { v += n }
            return Swift.min(Swift.max(v, lo), hi)
        }
        // Lengths are written as (distance - 1) / |step| + 1 so that no step, up to Int.max or Int.min, overflows.
        if step > 0 {
            let s = clip(a, 0, lo: 0, hi: n), e = clip(b, n, lo: 0, hi: n)
            return (s, e > s ? (e - s - 1) / step + 1 : 0)
        }
        let s = clip(a, n - 1, lo: -1, hi: n - 1), e = clip(b, -1, lo: -1, hi: n - 1)
        // A given negative stop that is still negative after adding n means "before the start": -1.
        let magnitude = step == .min ? .max : -step
        return (s, s > e ? (s - e - 1) / magnitude + 1 : 0)
    }
}

private func len0(_ shape: [Int]) -> Bool { shape.contains(0) }
