// Making tensors: constants, ranges, identity, nested lists.

extension Tensor {
    public static func full(_ shape: [Int], _ value: Float) throws -> Tensor {
        let t = try Tensor(uninitialized: shape, op: "full")
        let p = t.dataPointer
        Parallel.forEach(t.count) { r in (p + r.lowerBound).initialize(repeating: value, count: r.count) }
        return t
    }
    public static func zeros(_ shape: [Int]) throws -> Tensor { try full(shape, 0) }
    public static func ones(_ shape: [Int]) throws -> Tensor { try full(shape, 1) }
    public static func zeros(like t: Tensor) -> Tensor { try! full(t.shape, 0) }  // t exists, so its shape fits

    /// Values start, start + step, ... below `stop` (above it for a negative step), like numpy.arange.
    public static func arange(_ start: Float = 0, _ stop: Float, step: Float = 1) throws -> Tensor {
        guard step != 0, step.isFinite, start.isFinite, stop.isFinite else {
            throw TensorError.invalidArgument(op: "arange", message: "step must be finite and nonzero, got \(step)")
        }
        // numpy: ceil((stop - start) / step) elements, computed in double precision.
        let count = Swift.max(0, Int(((Double(stop) - Double(start)) / Double(step)).rounded(.up)))
        let t = try Tensor(uninitialized: [count], op: "arange")
        for i in 0..<count { t.dataPointer[i] = Float(Double(start) + Double(i) * Double(step)) }
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
        let t = try zeros([n, cols])
        for i in 0..<n where i + k >= 0 && i + k < cols { t.dataPointer[i * cols + i + k] = 1 }
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
