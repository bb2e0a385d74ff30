// Making tensors: constants, ranges, identity, nested lists.

extension Tensor {
    public static func full(_ shape: [Int], _ value: Float) throws -> Tensor { try filled(shape, value, op: "full") }
    public static func zeros(_ shape: [Int]) throws -> Tensor { try filled(shape, 0, op: "zeros") }
    public static func ones(_ shape: [Int]) throws -> Tensor { try filled(shape, 1, op: "ones") }

    /// A constant tensor; `op` is the name errors report (the user called zeros, eye or one_hot, not full).
    static func filled(_ shape: [Int], _ value: Float, op: String) throws -> Tensor {
        let t = try Tensor(uninitialized: shape, op: op)
        let p = t.dataPointer
        Parallel.forEach(t.count) { r in (p + r.lowerBound).initialize(repeating: value, count: r.count) }
        return t
    }
    public static func zeros(like t: Tensor) -> Tensor { try! full(t.shape, 0) }  // t exists, so its shape fits

    /// Values start, start + step, ... below `stop` (above it for a negative step), like numpy.arange.
    ///
    /// The values are numpy's to the bit: its float32 arange stores `start` and `start + step` (added in double
    /// precision), then fills element i as `v0 + i * (v1 - v0)` in float32, which is not what a double-precision
    /// `start + i * step` rounds to.
    public static func arange(_ start: Float = 0, _ stop: Float, step: Float = 1) throws -> Tensor {
        guard start.isFinite, stop.isFinite else {
            throw TensorError.invalidArgument(op: "arange", message: "start and stop must be finite, got \(start) and \(stop)")
        }
        guard step != 0, step.isFinite else {
            throw TensorError.invalidArgument(op: "arange", message: "step must be finite and nonzero, got \(step)")
        }
        // numpy: ceil((stop - start) / step) elements, computed in double precision. Checked before the
        // conversion to Int, which would trap for a length such as 1e30.
        let length = ((Double(stop) - Double(start)) / Double(step)).rounded(.up)
        guard length <= Double(Storage.maxElements) else {
            throw TensorError.allocationTooLarge(op: "arange", elements: length < 9.2e18 ? Int(length) : Int.max)
        }
        let count = Swift.max(0, Int(length))
        let t = try Tensor(uninitialized: [count], op: "arange")
        let p = t.dataPointer
        if count > 0 { p[0] = start }
        if count > 1 { p[1] = Float(Double(start) + Double(step)) }
        if count > 2 {
            let v0 = p[0], delta = p[1] - p[0]
            Parallel.forEach(count) { r in
                for i in Swift.max(r.lowerBound, 2)..<Swift.max(r.upperBound, 2) { p[i] = v0 + Float(i) * delta }
            }
        }
        return t
    }

    /// `num` evenly spaced values from start to stop inclusive.
    public static func linspace(_ start: Float, _ stop: Float, num: Int) throws -> Tensor {
        guard num >= 0 else { throw TensorError.invalidArgument(op: "linspace", message: "num must be >= 0, got \(num)") }
        let t = try Tensor(uninitialized: [num], op: "linspace")
        let step = num > 1 ? (Double(stop) - Double(start)) / Double(num - 1) : 0
        for i in 0..<num { t.dataPointer[i] = Float(Double(start) + Double(i) * step) }
        if num > 1 { t.dataPointer[num - 1] = stop }
        return t
    }

    /// n x m matrix with ones on the diagonal `k` (0 main, >0 above, <0 below).
    public static func eye(_ n: Int, _ m: Int? = nil, k: Int = 0) throws -> Tensor {
        let cols = m ?? n
        let t = try filled([n, cols], 0, op: "eye")
        // Rows i with 0 <= i + k < cols, found without computing i + k (k may be anywhere in Int's range).
        guard k < cols, k > -n else { return t }
        for i in Swift.max(0, -k)..<Swift.min(n, cols - k) { t.dataPointer[i * cols + i + k] = 1 }
        return t
    }

    /// Builds a tensor from nested Swift arrays of numbers (`[[1, 2], [3, 4]]`); ragged input is an error.
    public static func from(nested value: Any) throws -> Tensor {
        var shape: [Int] = []
        var probe: Any = value
        while let list = probe as? [Any] {
            shape.append(list.count)
            guard let first = list.first else { break }
            probe = first
        }
        var data: [Float] = []
        data.reserveCapacity(try Shape.elementCount(shape, op: "tensor"))
        func walk(_ v: Any, depth: Int, path: [Int]) throws {
            if depth == shape.count {
                guard let x = Tensor.number(v) else {
                    throw TensorError.invalidArgument(op: "tensor", message: "element at \(path) is not a number: \(v)")
                }
                data.append(x)
                return
            }
            guard let list = v as? [Any], list.count == shape[depth] else {
                throw TensorError.invalidArgument(
                    op: "tensor", message: "ragged nested list at \(path): expected \(shape[depth]) elements")
            }
            for (i, e) in list.enumerated() { try walk(e, depth: depth + 1, path: path + [i]) }
        }
        try walk(value, depth: 0, path: [])
        return try Tensor(shape: shape, data: data)
    }

    static func number(_ v: Any) -> Float? {
        switch v {
        case let x as Float: return x
        case let x as Double: return Float(x)
        case let x as Int: return Float(x)
        case let x as Bool: return x ? 1 : 0
        default: return nil
        }
    }
}
