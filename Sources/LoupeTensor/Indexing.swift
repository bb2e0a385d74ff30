// Integer indices and the operations that use them: gather / take_along_axis, index_select, one_hot,
// embedding lookup, topk, sort and argsort.

/// A tensor of integer indices (token ids, argmax results, gather indices), row-major.
public struct IndexTensor: Equatable, CustomStringConvertible {
    public let shape: [Int]
    public let data: [Int]

    public init(shape: [Int], data: [Int]) throws {
        guard try Shape.elementCount(shape, op: "index_tensor") == data.count else {
            throw TensorError.invalidArgument(op: "index_tensor", message: "shape \(fmt(shape)) needs \(shape.reduce(1, *)) values, got \(data.count)")
        }
        self.shape = shape
        self.data = data
    }
    init(shape: [Int], unchecked data: [Int]) { self.shape = shape; self.data = data }
    public init(_ values: [Int]) { self.shape = [values.count]; self.data = values }

    public var count: Int { data.count }
    public var rank: Int { shape.count }
    /// The indices as floats (for arithmetic on them).
    public var asTensor: Tensor { try! Tensor(shape: shape, data: data.map(Float.init)) }
    public var description: String { "IndexTensor(shape: \(fmt(shape)), \(data.prefix(16))\(data.count > 16 ? "..." : ""))" }
}

extension Tensor {
    /// numpy's take_along_axis: out[..., i, ...] = x[..., index[..., i, ...], ...] along `axis`.
    /// `index` has the rank of x; its other dimensions broadcast against x's.
    public func takeAlongAxis(_ index: IndexTensor, axis: Int) throws -> Tensor {
        let op = "take_along_axis"
        guard index.rank == rank else {
            throw TensorError.invalidArgument(op: op, message: "index of rank \(index.rank) for a tensor of rank \(rank)")
        }
        let ax = try Shape.axis(axis, rank: rank, op: op)
        var xs = shape; xs[ax] = 1
        var ishape = index.shape; ishape[ax] = 1
        var outShape: [Int]
        do { outShape = try Shape.broadcast(xs, ishape, op: op) } catch {
            throw TensorError.shapeMismatch(op: op, lhs: shape, rhs: index.shape)  // the shapes the user passed
        }
        outShape[ax] = index.shape[ax]
        let n = shape[ax]
        let out = try Tensor(uninitialized: outShape, op: op)
        // x's own strides (0 where x has size 1 and the index broadcasts it); axis `ax` is addressed separately.
        let xStr = Shape.broadcastStrides(shape, to: outShape)
        let iStr = Shape.broadcastStrides(index.shape, to: outShape)
        let oStr = Shape.strides(outShape)
        let axStride = strides[ax]
        var positions = [Int](repeating: 0, count: out.count)  // flat source position of each output, kept for backward
        for flat in 0..<out.count {
            var rem = flat, xo = 0, io = 0
            for d in 0..<outShape.count {
                let i = rem / oStr[d]; rem %= oStr[d]
                io += i * iStr[d]
                if d != ax { xo += i * xStr[d] }
            }
            let j = index.data[io]
            let jj = j < 0 ? j + n : j
            guard jj >= 0, jj < n else { throw TensorError.indexOutOfRange(op: op, index: j, axis: ax, size: n) }
            positions[flat] = xo + jj * axStride
            out.dataPointer[flat] = dataPointer[positions[flat]]
        }
        let x = self
        return Autograd.record(out, op, [x]) { g in
            let gx = try Tensor.zeros(x.shape)
            for (k, p) in positions.enumerated() { gx.dataPointer[p] += g.dataPointer[k] }
            return [gx]
        }
    }

    /// PyTorch's gather (same as take_along_axis without broadcasting of the index).
    public func gather(axis: Int, index: IndexTensor) throws -> Tensor { try takeAlongAxis(index, axis: axis) }

    /// Selects whole slices along `axis`: out has shape[axis] = indices.count.
    public func indexSelect(axis: Int, indices: [Int]) throws -> Tensor {
        let op = "index_select"
        let ax = try Shape.axis(axis, rank: rank, op: op)
        let n = shape[ax]
        let norm = try indices.map { i -> Int in
            let j = i < 0 ? i + n : i
            guard j >= 0, j < n else { throw TensorError.indexOutOfRange(op: op, index: i, axis: ax, size: n) }
            return j
        }
        var outShape = shape; outShape[ax] = norm.count
        let out = try Tensor(uninitialized: outShape, op: op)
        let outer = shape[..<ax].reduce(1, *), inner = shape[(ax + 1)...].reduce(1, *)
        for o in 0..<outer {
            for (k, j) in norm.enumerated() where inner > 0 {
                (out.dataPointer + (o * norm.count + k) * inner).update(from: dataPointer + (o * n + j) * inner, count: inner)
            }
        }
        let x = self
        return Autograd.record(out, op, [x]) { g in
            let gx = try Tensor.zeros(x.shape)
            for o in 0..<outer {
                for (k, j) in norm.enumerated() {
                    let d = gx.dataPointer + (o * n + j) * inner, s = g.dataPointer + (o * norm.count + k) * inner
                    for i in 0..<inner { d[i] += s[i] }
                }
            }
            return [gx]
        }
    }

    /// Rows of an embedding table [vocab, d] for each id: shape ids.shape + [d]. The backward scatters
    /// (adds) into the rows used, so repeated ids accumulate.
    public func embedding(_ ids: IndexTensor) throws -> Tensor {
        guard rank == 2 else {
            throw TensorError.invalidArgument(op: "embedding", message: "table must be [vocab, d], got \(fmt(shape))")
        }
        // Checked here so that a bad id is reported against embedding, the op the user called.
        for id in ids.data where id < -shape[0] || id >= shape[0] {
            throw TensorError.indexOutOfRange(op: "embedding", index: id, axis: 0, size: shape[0])
        }
        let rows = try indexSelect(axis: 0, indices: ids.data)
        return try rows.reshape(ids.shape + [shape[1]])
    }

    /// One-hot rows: shape indices.shape + [classes].
    public static func oneHot(_ indices: IndexTensor, classes: Int) throws -> Tensor {
        guard classes > 0 else { throw TensorError.invalidArgument(op: "one_hot", message: "classes must be positive, got \(classes)") }
        let out = try filled(indices.shape + [classes], 0, op: "one_hot")
        for (k, i) in indices.data.enumerated() {
            guard i >= 0, i < classes else { throw TensorError.indexOutOfRange(op: "one_hot", index: i, axis: indices.rank, size: classes) }
            out.dataPointer[k * classes + i] = 1
        }
        return out
    }

    /// Indices that sort along `axis`: stable, NaN last (numpy's argsort, kind="stable").
    public func argsort(axis: Int = -1, descending: Bool = false) throws -> IndexTensor {
        let ax = try Shape.axis(axis, rank: Swift.max(rank, 1), op: "argsort")
        if rank == 0 { return IndexTensor(shape: [], unchecked: [0]) }
        let n = shape[ax], inner = shape[(ax + 1)...].reduce(1, *), outer = shape[..<ax].reduce(1, *)
        var result = [Int](repeating: 0, count: count)
        let p = dataPointer
        var order = [Int](repeating: 0, count: n)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                for j in 0..<n { order[j] = j }
                @inline(__always) func key(_ j: Int) -> Float { p[base + j * inner] }
                // Stable merge sort keeps equal keys in input order, as numpy's stable sort does.
                order = Tensor.stableSorted(order) { a, b in
                    let x = key(a), y = key(b)
                    if x.isNaN { return false }
                    if y.isNaN { return true }
                    return descending ? x > y : x < y
                }
                for j in 0..<n { result[base + j * inner] = order[j] }
            }
        }
        return IndexTensor(shape: shape, unchecked: result)
    }

    static func stableSorted(_ a: [Int], by less: (Int, Int) -> Bool) -> [Int] {
        // Swift's sort is introsort (unstable); enumerate to break ties by position.
        a.enumerated().sorted { l, r in
            if less(l.element, r.element) { return true }
            if less(r.element, l.element) { return false }
            return l.offset < r.offset
        }.map(\.element)
    }

    /// Values sorted along `axis` (NaN last). Differentiable: the gradient follows the permutation.
    public func sort(axis: Int = -1, descending: Bool = false) throws -> Tensor {
        if rank == 0 { return self }
        return try takeAlongAxis(argsort(axis: axis, descending: descending), axis: axis)
    }

    /// The k largest (or smallest) values along `axis` and their indices, in sorted order; ties keep their
    /// input order. NaN sorts last in both directions (as in `argsort`), so it is picked only when k leaves no
    /// other choice.
    public func topk(_ k: Int, axis: Int = -1, largest: Bool = true) throws -> (values: Tensor, indices: IndexTensor) {
        let ax = try Shape.axis(axis, rank: rank, op: "topk")
        guard k >= 0, k <= shape[ax] else {
            throw TensorError.invalidArgument(op: "topk", message: "k = \(k) is out of range for axis \(ax) of size \(shape[ax])")
        }
        let order = try argsort(axis: ax, descending: largest)
        let n = shape[ax], inner = shape[(ax + 1)...].reduce(1, *), outer = shape[..<ax].reduce(1, *)
        var picked = [Int](); picked.reserveCapacity(outer * k * inner)
        for o in 0..<outer { for j in 0..<k { for i in 0..<inner { picked.append(order.data[(o * n + j) * inner + i]) } } }
        var s = shape; s[ax] = k
        let idx = IndexTensor(shape: s, unchecked: picked)
        return (try takeAlongAxis(idx, axis: ax), idx)
    }
}
