/// Shape arithmetic shared by every operation: element counts, strides, axes and broadcasting.
public enum Shape {
    /// Product of the dimensions, checked for negative sizes and overflow.
    ///
    /// The nonzero dimensions must multiply to a size Loupe could allocate even when another dimension is 0:
    /// strides and loop bounds are products of them, so `[0, 2^40, 2^40]` would overflow later (numpy refuses it too).
    public static func elementCount(_ shape: [Int], op: String) throws -> Int {
        var nonzero = 1
        var hasZero = false
        for d in shape {
            guard d >= 0 else {
                throw TensorError.invalidArgument(op: op, message: "negative dimension \(d) in shape \(fmt(shape))")
            }
            if d == 0 { hasZero = true; continue }
            let (p, overflow) = nonzero.multipliedReportingOverflow(by: d)
            guard !overflow, p <= Storage.maxElements else {
                throw TensorError.allocationTooLarge(op: op, elements: overflow ? Int.max : p)
            }
            nonzero = p
        }
        return hasZero ? 0 : nonzero
    }

    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// Normalises a possibly negative axis into `0..<rank`.
    public static func axis(_ axis: Int, rank: Int, op: String) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, a < rank else { throw TensorError.invalidAxis(op: op, axis: axis, rank: rank) }
        return a
    }

    /// Normalised, sorted, de-duplicated axes; `nil` means all axes.
    public static func axes(_ axes: [Int]?, rank: Int, op: String) throws -> [Int] {
        guard let axes else { return Array(0..<rank) }
        var out = Set<Int>()
        for a in axes {
            let n = try axis(a, rank: rank, op: op)
            guard out.insert(n).inserted else {
                throw TensorError.invalidArgument(op: op, message: "axis \(a) repeated")
            }
        }
        return out.sorted()
    }

    /// numpy broadcasting: align from the right; each pair of sizes must be equal or one of them 1.
    public static func broadcast(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
        let r = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else {
                throw TensorError.shapeMismatch(op: op, lhs: a, rhs: b)
            }
        }
        return out
    }

    /// Strides for reading a tensor of shape `shape` as if it had shape `target` (0 on broadcast dimensions).
    static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(shape)
        let pad = target.count - shape.count
        return (0..<target.count).map { i in
            i < pad || shape[i - pad] == 1 ? 0 : own[i - pad]
        }
    }
}
