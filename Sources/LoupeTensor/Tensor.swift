/// An n-dimensional array of Float32, stored contiguously in row-major order.
///
/// A tensor never changes after it is made: operations return new tensors (reshape shares storage, since the
/// bytes are the same). Tensors that take part in differentiation carry a `node` recording how they were made;
/// `backward()` walks those nodes. Outside differentiation the node is nil and costs nothing.
public final class Tensor: @unchecked Sendable {
    /// The size of each dimension; `[]` for a scalar.
    public let shape: [Int]
    /// Number of elements (product of `shape`; 1 for a scalar).
    public let count: Int
    let storage: Storage

    // ---- Autograd state ----
    /// True for leaves whose gradient is wanted, and for every result computed from one while grad mode is on.
    public internal(set) var requiresGrad: Bool = false
    /// How this tensor was computed, when it requires grad and is not a leaf.
    var node: Node?
    /// The gradient accumulated by the last `backward()`, for leaves that require grad.
    public internal(set) var grad: Tensor?

    /// Wraps existing storage. `shape` must describe exactly `storage.count` elements.
    init(shape: [Int], storage: Storage) {
        self.shape = shape
        self.count = storage.count
        self.storage = storage
    }

    /// Uninitialised tensor of the given shape, for kernels to fill.
    init(uninitialized shape: [Int], op: String) throws {
        let n = try Shape.elementCount(shape, op: op)
        self.shape = shape
        self.count = n
        self.storage = try Storage(uninitialized: n, op: op)
    }

    /// A tensor with the given shape and row-major data.
    public convenience init(shape: [Int], data: [Float]) throws {
        let n = try Shape.elementCount(shape, op: "tensor")
        guard n == data.count else {
            throw TensorError.invalidArgument(
                op: "tensor", message: "shape \(fmt(shape)) needs \(n) values, got \(data.count)")
        }
        try self.init(uninitialized: shape, op: "tensor")
        data.withUnsafeBufferPointer { src in
            if n > 0 { storage.base.update(from: src.baseAddress!, count: n) }
        }
    }

    /// A 0-d tensor holding one value.
    public convenience init(scalar: Float) {
        try! self.init(shape: [], data: [scalar])  // one element can always be allocated
    }

    /// A 1-d tensor.
    public convenience init(_ values: [Float]) {
        try! self.init(shape: [values.count], data: values)  // shape matches by construction
    }

    // ---- Access ----

    public var rank: Int { shape.count }
    public var isScalar: Bool { shape.isEmpty }

    /// Read-only view of the elements, row-major.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: dataPointer, count: count))
    }

    @usableFromInline var dataPointer: UnsafeMutablePointer<Float> { storage.base }

    /// The elements as a Swift array, row-major.
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage.base, count: count)) }

    /// The single value of a one-element tensor.
    public func item() throws -> Float {
        guard count == 1 else {
            throw TensorError.invalidArgument(op: "item", message: "tensor of shape \(fmt(shape)) has \(count) elements, not 1")
        }
        return storage.base[0]
    }

    /// Element at a full index (negative indices count from the end).
    public func value(at index: [Int]) throws -> Float {
        guard index.count == rank else {
            throw TensorError.invalidArgument(op: "value", message: "index has \(index.count) entries for rank \(rank)")
        }
        var flat = 0
        for (axis, i) in index.enumerated() {
            let n = shape[axis]
            let j = i < 0 ? i + n : i
            guard j >= 0, j < n else { throw TensorError.indexOutOfRange(op: "value", index: i, axis: axis, size: n) }
            flat = flat * n + j
        }
        return storage.base[flat]
    }

    /// Strides in elements for the row-major layout.
    public var strides: [Int] { Shape.strides(shape) }
}

extension Tensor: CustomStringConvertible {
    /// numpy-like summary: shape and up to a few values per row.
    public var description: String { TensorFormatter.format(self) }
}
