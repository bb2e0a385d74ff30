import CBLAS
import Foundation
import LoupeTensor

/// A weight matrix as a model file stores it: `rows` output features by `cols` input features, each row a run of
/// `cols / blockSize` blocks of `type`, rows one after another (ggml's layout, `dims = [cols, rows]`).
///
/// Quantized data is never copied or expanded: the matrix points into its owner's memory (the GGUF file's mapping)
/// and keeps the owner alive. Products dequantize blocks in registers:
/// - `matvec` (decode, one token): AVX2 kernels per format, rows split over the cores, float32 activations.
/// - `matmul` (prefill, many tokens): row panels dequantized to float32 in a reused scratch buffer, then sgemm.
/// - `row` (embedding lookup) and `dequantized()`: exact values, bit for bit what PyPI gguf's `dequantize` gives.
///
/// Activations are never quantized, so the products differ from exact float64 math only by float32 rounding.
public final class WeightMatrix: @unchecked Sendable {
    /// The formats the kernels read.
    public static let supportedTypes: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1,
                                                     .q4_K, .q5_K, .q6_K]

    /// Output features (the length of `y = W x`).
    public let rows: Int
    /// Input features (the length of `x`).
    public let cols: Int
    /// The storage format of every block.
    public let type: GGMLType
    /// A name for messages (the tensor's name when read from a file).
    public let name: String
    /// Bytes of one stored row.
    public let rowBytes: Int
    /// The first byte of row 0.
    public let base: UnsafeRawPointer
    /// Whatever owns `base` (a `GGUFFile`, a `Tensor`, an internal buffer); held so the bytes stay valid.
    private let owner: AnyObject?

    /// Bytes the matrix occupies: what one full product reads.
    public var byteCount: Int { rows * rowBytes }

    /// Wraps `rows * cols` values of `type` at `bytes` without copying; `owner` is kept alive as long as the matrix.
    /// Throws when the format is not one the kernels read or `cols` is not a whole number of blocks.
    public init(bytes: UnsafeRawPointer, type: GGMLType, rows: Int, cols: Int, owner: AnyObject?,
                name: String = "matrix") throws {
        guard Self.supportedTypes.contains(type) else {
            throw ModelFileError.unknownTensorType(path: "<memory>", tensor: name, type: type.name)
        }
        guard rows >= 0, cols > 0, cols % type.blockSize == 0 else {
            throw ModelFileError.badTensorShape(
                path: "<memory>", tensor: name,
                message: "\(rows) x \(cols) is not a matrix of whole \(type.name) blocks of \(type.blockSize) values")
        }
        self.rows = rows
        self.cols = cols
        self.type = type
        self.name = name
        self.rowBytes = cols / type.blockSize * type.typeSize
        self.base = bytes
        self.owner = owner
    }

    /// Copies `bytes` (rows * cols values of `type`, e.g. from a test fixture) into memory the matrix owns.
    public convenience init(bytes: [UInt8], type: GGMLType, rows: Int, cols: Int, name: String = "matrix") throws {
        let buffer = OwnedBytes(count: bytes.count)
        bytes.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        try self.init(bytes: buffer.pointer, type: type, rows: rows, cols: cols, owner: buffer, name: name)
        guard bytes.count == byteCount else {
            throw ModelFileError.badTensorShape(
                path: "<memory>", tensor: name,
                message: "\(rows) x \(cols) \(type.name) takes \(byteCount) bytes, got \(bytes.count)")
        }
    }

    /// Wraps a float32 tensor of shape [rows, cols] (no copy; the tensor is kept alive and never written).
    public convenience init(_ tensor: Tensor, name: String = "matrix") throws {
        guard tensor.rank == 2 else {
            throw ModelFileError.badTensorShape(
                path: "<memory>", tensor: name, message: "a weight matrix needs rank 2, got shape \(tensor.shape)")
        }
        // Tensors are immutable and their storage never moves, so the pointer stays valid while `tensor` lives.
        let p = tensor.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) }
        try self.init(bytes: p, type: .f32, rows: tensor.shape[0], cols: tensor.shape[1], owner: tensor, name: name)
    }

    /// The tensor `name` of a GGUF file, read in place from the file's mapping (the file is kept open).
    /// A 1-d tensor is a single row.
    public convenience init(gguf: GGUFFile, name: String) throws {
        let info = try gguf.requireTensor(name)
        guard Self.supportedTypes.contains(info.type) else {
            throw ModelFileError.unknownTensorType(path: gguf.path, tensor: name, type: info.type.name)
        }
        guard (1...2).contains(info.dims.count) else {
            throw ModelFileError.badTensorShape(
                path: gguf.path, tensor: name, message: "a weight matrix needs 1 or 2 dimensions, got \(info.dims)")
        }
        let cols = info.dims[0], rows = info.dims.count == 2 ? info.dims[1] : 1
        let bytes = gguf.bytes(of: info)
        guard cols % info.type.blockSize == 0,
              bytes.count == rows * (cols / info.type.blockSize) * info.type.typeSize else {
            throw ModelFileError.badTensorShape(
                path: gguf.path, tensor: name,
                message: "\(info.type.name) data of \(bytes.count) bytes does not hold \(rows) rows of \(cols)")
        }
        try self.init(bytes: bytes.baseAddress!, type: info.type, rows: rows, cols: cols, owner: gguf, name: name)
    }

    // MARK: - Exact values

    /// Writes row `i` (cols values) to `out`, exactly as gguf's dequantize computes it. The embedding lookup.
    public func row(_ i: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(i >= 0 && i < rows, "row \(i) of \(name) outside 0..<\(rows)")
        BlockDecode.row(type, base + i * rowBytes, count: cols, into: out)
    }

    /// The whole matrix as a float32 tensor of shape [rows, cols] (exact values).
    public func dequantized() -> Tensor {
        let values = [Float](unsafeUninitializedCapacity: rows * cols) { buf, n in
            let out = buf.baseAddress!
            KernelPool.shared.run(count: rows, chunk: Self.chunkRows(rows), parallel: rows * cols >= 1 << 16) { range in
                for r in range { row(r, into: out + r * cols) }
            }
            n = rows * cols
        }
        return try! Tensor(shape: [rows, cols], data: values)  // the count matches the shape by construction
    }

    // MARK: - Decode: y = W x

    /// y = W x for one activation vector: `x` holds `cols` floats, `y` receives `rows`.
    ///
    /// Runs on every core when the matrix is large enough to pay for the hand-off (~0.1 µs in the spinning pool);
    /// allocates nothing beyond a stack buffer of `cols / 32` block sums.
    public func matvec(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let blocks32 = type.blockSize == 1 ? 0 : cols / 32
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(blocks32, 1)) { xsum in
            let xs = xsum.baseAddress!
            Self.blockSums(x, blocks32, into: xs)
            // Below ~32k weights (~20 KB of Q4) a single core finishes before a second would have started.
            KernelPool.shared.run(count: rows, chunk: Self.chunkRows(rows), parallel: rows * cols >= 1 << 15) { range in
                dotRows(range, x: x, xsum: xs, y: y)
            }
        }
    }

    /// Rows per pool chunk: about eight chunks per product (so a late-starting core still gets a share), in
    /// multiples of 16 rows so that two cores' writes to y never share a cache line.
    @inline(__always)
    static func chunkRows(_ rows: Int) -> Int { Swift.max(16, (rows / 8 + 15) & ~15) }

    /// Sums of x over each 32-value block (the kernels fold block offsets in with them).
    @inline(__always)
    static func blockSums(_ x: UnsafePointer<Float>, _ blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let v = (loadX(x, 32 * b) + loadX(x, 32 * b + 8)) + (loadX(x, 32 * b + 16) + loadX(x, 32 * b + 24))
            out[b] = v.sum()
        }
    }

    /// y[r] = row r . x for r in `range`: the hot loop, one kernel call per row, rows visited in file order so the
    /// hardware prefetcher streams them.
    func dotRows(_ range: Range<Int>, x: UnsafePointer<Float>, xsum: UnsafePointer<Float>,
                 y: UnsafeMutablePointer<Float>) {
        let n = cols, rb = rowBytes, blocks = cols / type.blockSize
        var p = base + range.lowerBound * rb
        switch type {
        case .f32: for r in range { y[r] = Dot.f32(p, x, n); p += rb }
        case .f16: for r in range { y[r] = Dot.f16(p, x, n); p += rb }
        case .bf16: for r in range { y[r] = Dot.bf16(p, x, n); p += rb }
        case .q8_0: for r in range { y[r] = Dot.q8_0(p, x, blocks); p += rb }
        case .q4_0: for r in range { y[r] = Dot.q4_0(p, x, xsum, blocks); p += rb }
        case .q4_1: for r in range { y[r] = Dot.q4_1(p, x, xsum, blocks); p += rb }
        case .q5_0: for r in range { y[r] = Dot.q5_0(p, x, xsum, blocks); p += rb }
        case .q5_1: for r in range { y[r] = Dot.q5_1(p, x, xsum, blocks); p += rb }
        case .q4_K: for r in range { y[r] = Dot.q4_K(p, x, xsum, blocks); p += rb }
        case .q5_K: for r in range { y[r] = Dot.q5_K(p, x, xsum, blocks); p += rb }
        case .q6_K: for r in range { y[r] = Dot.q6_K(p, x, blocks); p += rb }
        default: preconditionFailure("unsupported \(type) in \(name)")
        }
    }

    // MARK: - Prefill: Y = X W^T

    /// Below this many tokens, `matmul` runs `matvec` per token (reading the weights once per token beats
    /// dequantizing them all for sgemm).
    public static let matvecTokenLimit = 4

    /// Y[t, :] = W X[t, :] for `tokens` rows of X: `x` is [tokens, cols] row-major, `y` receives [tokens, rows].
    ///
    /// Few tokens go through `matvec`. More go through sgemm on float32 panels of W (about 4 MB each, dequantized
    /// by all cores into a reused scratch buffer), so peak memory grows by one panel, not by the whole matrix.
    /// On a two-core machine both phases already use both cores, so panels are not overlapped with sgemm.
    public func matmul(x: UnsafePointer<Float>, tokens: Int, y: UnsafeMutablePointer<Float>) {
        if tokens <= 0 || rows == 0 { return }
        if tokens < Self.matvecTokenLimit || (try? BLAS.ensureLoaded()) == nil {
            for t in 0..<tokens { matvec(x: x + t * cols, y: y + t * rows) }
            return
        }
        if type == .f32 {
            loupe_sgemm(0, 1, Int32(tokens), Int32(rows), Int32(cols), 1, x, Int32(cols),
                        base.assumingMemoryBound(to: Float.self), Int32(cols), 0, y, Int32(rows))
            return
        }
        let panelRows = Swift.max(16, Swift.min(rows, (PanelScratch.floats / cols) & ~15))
        PanelScratch.shared.with(floats: panelRows * cols) { panel in
            var r0 = 0
            while r0 < rows {
                let r1 = Swift.min(rows, r0 + panelRows)
                KernelPool.shared.run(count: r1 - r0, chunk: Self.chunkRows(r1 - r0)) { range in
                    for r in range {
                        BlockDecode.row(type, base + (r0 + r) * rowBytes, count: cols, into: panel + r * cols)
                    }
                }
                // Y[:, r0..<r1] = X (tokens x cols) . panel^T (cols x (r1 - r0)), written with row stride `rows`.
                loupe_sgemm(0, 1, Int32(tokens), Int32(r1 - r0), Int32(cols), 1, x, Int32(cols),
                            panel, Int32(cols), 0, y + r0, Int32(rows))
                r0 = r1
            }
        }
    }
}

/// Bytes a matrix made from an array owns (64-byte aligned).
final class OwnedBytes {
    let pointer: UnsafeMutableRawPointer
    init(count: Int) { pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1), alignment: 64) }
    deinit { pointer.deallocate() }
}

/// The float32 panel buffer of `WeightMatrix.matmul`, grown on demand and kept for the next call.
final class PanelScratch: @unchecked Sendable {
    static let shared = PanelScratch()
    /// Floats per panel: 4 MB, which keeps a panel in the last-level cache while sgemm reads it.
    static let floats = 1 << 20

    private let lock = NSLock()
    private var buffer: UnsafeMutablePointer<Float>?
    private var capacity = 0

    /// Runs `body` with at least `floats` floats of scratch; callers from other threads wait their turn.
    func with(floats: Int, _ body: (UnsafeMutablePointer<Float>) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        if capacity < floats {
            buffer?.deallocate()
            buffer = UnsafeMutablePointer<Float>.allocate(capacity: floats)
            capacity = floats
        }
        body(buffer!)
    }
}
