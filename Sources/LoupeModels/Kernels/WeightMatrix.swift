import CBLAS
import CPrefetch
import Foundation
import LoupeTensor

/// A weight matrix as a model file stores it: `rows` output features by `cols` input features, each row a run of
/// `cols / blockSize` blocks of `type`, rows one after another (ggml's layout, `dims = [cols, rows]`).
///
/// Quantized data is never copied or expanded: the matrix points into its owner's memory (the GGUF file's mapping)
/// and keeps the owner alive. Products dequantize blocks in registers:
/// - `matvec` (decode, one token): AVX2 kernels per format, rows split over the cores, float32 activations.
/// - `matmul` (prefill, many tokens): chunks of rows dequantized to float32 in a per-thread buffer that stays in
///   cache, multiplied there with X by a register-tiled kernel (`PrefillGEMM`).
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
    let owner: AnyObject?

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
    /// allocates nothing beyond a stack buffer of block sums of x.
    public func matvec(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        withPreparedInput(x) { xs in
            // Below ~32k weights (~20 KB of Q4) a single core finishes before a second would have started.
            KernelPool.shared.run(count: rows, chunk: Self.chunkRows(rows), parallel: rows * cols >= 1 << 15) { range in
                dotRows(range, x: x, xsum: xs, y: y)
            }
        }
    }

    /// Two or three products with the same x in one hand-off to the pool (q, k and v; gate and up):
    /// `ya = a x`, `yb = b x`, `yc = c x`. The matrices' rows are laid end to end and split over the cores as one
    /// range, so the threads meet once instead of once per matrix. Allocates nothing (block sums on the stack).
    static func matvec(_ a: WeightMatrix, _ b: WeightMatrix, _ c: WeightMatrix? = nil, x: UnsafePointer<Float>,
                       ya: UnsafeMutablePointer<Float>, yb: UnsafeMutablePointer<Float>,
                       yc: UnsafeMutablePointer<Float>? = nil) {
        precondition(a.cols == b.cols && (c == nil || c!.cols == a.cols) && (c == nil) == (yc == nil),
                     "the matrices of one fused product share their input length and each has an output")
        // q, k and v (gate and up) usually share a format, and then one prepared input serves all of them.
        let bOwn = !b.sharesPreparedInput(with: a), cOwn = c.map { !$0.sharesPreparedInput(with: a) } ?? false
        let na = a.preparedInputCount, nb = bOwn ? b.preparedInputCount : 0, nc = cOwn ? c!.preparedInputCount : 0
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(na + nb + nc, 1)) { buf in
            let sa = buf.baseAddress!
            let sb = bOwn ? sa + na : sa, sc = cOwn ? sa + na + nb : sa
            a.prepareInput(x, into: sa)
            if bOwn { b.prepareInput(x, into: sb) }
            if cOwn { c!.prepareInput(x, into: sc) }
            // Units of 16 rows (whole cache lines of y per unit): a's, then b's, then c's.
            let ua = (a.rows + 15) / 16, ub = (b.rows + 15) / 16, uc = ((c?.rows ?? 0) + 15) / 16
            let units = ua + ub + uc
            let work = (a.rows + b.rows + (c?.rows ?? 0)) * a.cols
            @inline(__always) func part(_ m: WeightMatrix, _ units: Range<Int>, _ first: Int,
                                        _ xs: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
                let lo = Swift.max(units.lowerBound, first), hi = Swift.min(units.upperBound, first + (m.rows + 15) / 16)
                if lo < hi { m.dotRows((lo - first) * 16 ..< Swift.min(m.rows, (hi - first) * 16), x: x, xsum: xs, y: y) }
            }
            KernelPool.shared.run(count: units, chunk: chunkUnits(units), parallel: work >= 1 << 15) { range in
                part(a, range, 0, sa, ya)
                part(b, range, ua, sb, yb)
                if let c, let yc { part(c, range, ua + ub, sc, yc) }
            }
        }
    }

    /// 16-row units per pool chunk: about 24 chunks per product, so that the two threads finish within a small
    /// fraction of the product of each other (a claim costs ~0.1 µs; a chunk of a small model's matrix several µs).
    @inline(__always)
    static func chunkUnits(_ units: Int) -> Int { Swift.max(1, units / 24) }

    /// Rows per pool chunk: about 24 chunks per product (so a late-starting core still gets a share, and the
    /// threads finish close together), in multiples of 16 rows so that two cores' writes to y never share a cache
    /// line.
    @inline(__always)
    static func chunkRows(_ rows: Int) -> Int { 16 * chunkUnits((rows + 15) / 16) }

    /// How many sums of x the kernels of this format read: one per 16 values for Q6_K (one per scale), one per 32
    /// for the other block formats, none for plain floats.
    var blockSumCount: Int {
        switch type {
        case .f32, .f16, .bf16: return 0
        case .q6_K: return cols / 16
        default: return cols / 32
        }
    }

    /// Whether the kernels read x in `Dot.nibbleLanes` order (Q4_0, Q4_1) rather than as it is.
    var readsLaneOrderedX: Bool { type == .q4_0 || type == .q4_1 }

    /// Floats of prepared input the kernels read beside x: the block sums, then (Q4_0, Q4_1) x in lane order.
    var preparedInputCount: Int { blockSumCount + (readsLaneOrderedX ? cols : 0) }

    /// Whether `prepareInput` writes the same floats for this matrix as for `other` (same width, same block sums,
    /// same order of x), so one prepared input serves both.
    func sharesPreparedInput(with other: WeightMatrix) -> Bool {
        cols == other.cols && blockSumCount == other.blockSumCount && readsLaneOrderedX == other.readsLaneOrderedX
    }

    /// Writes the `preparedInputCount` floats the kernels read beside x: the block sums of x, then, for the
    /// formats that want it, x in lane order. Done once per product and shared by all its rows.
    @inline(__always)
    func prepareInput(_ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        if type == .q6_K { Self.blockSums16(x, cols / 16, into: out) } else { Self.blockSums(x, blockSumCount, into: out) }
        if readsLaneOrderedX { Dot.laneOrder(x, cols / 32, into: out + blockSumCount) }
    }

    /// Runs `body` with the prepared input of x (block sums, lane-ordered x) on the stack.
    @inline(__always)
    func withPreparedInput<R>(_ x: UnsafePointer<Float>, _ body: (UnsafePointer<Float>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: Swift.max(preparedInputCount, 1)) { prepared in
            prepareInput(x, into: prepared.baseAddress!)
            return body(prepared.baseAddress!)
        }
    }

    /// Sums of x over each 32-value block (the kernels fold block offsets in with them).
    @inline(__always)
    static func blockSums(_ x: UnsafePointer<Float>, _ blocks: Int, into out: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let v = (loadX(x, 32 * b) + loadX(x, 32 * b + 8)) + (loadX(x, 32 * b + 16) + loadX(x, 32 * b + 24))
            out[b] = v.sum()
        }
    }

    /// Sums of x over each 16-value group (Q6_K's scale groups).
    @inline(__always)
    static func blockSums16(_ x: UnsafePointer<Float>, _ groups: Int, into out: UnsafeMutablePointer<Float>) {
        for g in 0..<groups { out[g] = (loadX(x, 16 * g) + loadX(x, 16 * g + 8)).sum() }
    }

    /// How far ahead of the row being read `dotRows` asks for the matrix's bytes (software prefetch). The hardware
    /// prefetcher alone kept two cores at ~17-18 GB/s on Gemma-3's 178 MB Q8_0 head where a plain read of the same
    /// bytes reaches 24-25; asking 4 KB ahead raised the Q8_0 kernel to 20-21 GB/s (3-12 KB all did about as well).
    static let prefetchDistance = 4096

    /// Asks for the `bytes` bytes at `p`, one request per cache line (never faults, even past the end).
    @inline(__always)
    static func prefetch(_ p: UnsafeRawPointer, bytes: Int) {
        var o = 0
        while o < bytes { loupe_prefetch(p + o); o += 64 }
    }

    /// y[r] = row r . x for r in `range`: the hot loop, one kernel call per row, rows visited in file order so the
    /// hardware prefetcher streams them, and each row's bytes `prefetchDistance` ahead requested before its kernel
    /// runs. `xsum` is the input `prepareInput` made from x.
    func dotRows(_ range: Range<Int>, x: UnsafePointer<Float>, xsum: UnsafePointer<Float>,
                 y: UnsafeMutablePointer<Float>) {
        let n = cols, rb = rowBytes, blocks = cols / type.blockSize, ahead = Self.prefetchDistance
        let xl = xsum + blockSumCount  // lane-ordered x (Q4_0, Q4_1)
        var p = base + range.lowerBound * rb
        @inline(__always) func next() { Self.prefetch(p + ahead, bytes: rb) }
        switch type {
        case .f32: for r in range { next(); y[r] = Dot.f32(p, x, n); p += rb }
        case .f16: for r in range { next(); y[r] = Dot.f16(p, x, n); p += rb }
        case .bf16: for r in range { next(); y[r] = Dot.bf16(p, x, n); p += rb }
        case .q8_0: for r in range { next(); y[r] = Dot.q8_0(p, x, blocks); p += rb }
        case .q4_0: for r in range { next(); y[r] = Dot.q4_0(p, xl, xsum, blocks); p += rb }
        case .q4_1: for r in range { next(); y[r] = Dot.q4_1(p, xl, xsum, blocks); p += rb }
        case .q5_0: for r in range { next(); y[r] = Dot.q5_0(p, x, xsum, blocks); p += rb }
        case .q5_1: for r in range { next(); y[r] = Dot.q5_1(p, x, xsum, blocks); p += rb }
        case .q4_K: for r in range { next(); y[r] = Dot.q4_K(p, x, xsum, blocks); p += rb }
        case .q5_K: for r in range { next(); y[r] = Dot.q5_K(p, x, xsum, blocks); p += rb }
        case .q6_K: for r in range { next(); y[r] = Dot.q6_K(p, x, xsum, blocks); p += rb }
        default: preconditionFailure("unsupported \(type) in \(name)")
        }
    }

    // MARK: - Prefill: Y = X W^T

    /// Below this many tokens, `matmul` runs `matvec` per token (reading the weights once per token beats
    /// dequantizing them all for a blocked product).
    public static let matvecTokenLimit = 4

    /// Y[t, :] = W X[t, :] for `tokens` rows of X: `x` is [tokens, cols] row-major, `y` receives [tokens, rows].
    ///
    /// Few tokens go through `matvec`. Float32 weights go to sgemm as they are. Every other format goes through
    /// `PrefillGEMM`: W's rows are dequantized a chunk at a time into a per-thread buffer that stays in cache and
    /// multiplied there by a register-tiled kernel, so peak memory grows by a few hundred KB per thread, not by
    /// the whole matrix.
    public func matmul(x: UnsafePointer<Float>, tokens: Int, y: UnsafeMutablePointer<Float>) {
        if tokens <= 0 || rows == 0 { return }
        if tokens < Self.matvecTokenLimit || (type == .f32 && (try? BLAS.ensureLoaded()) == nil) {
            for t in 0..<tokens { matvec(x: x + t * cols, y: y + t * rows) }
            return
        }
        if type == .f32 {
            loupe_sgemm(0, 1, Int32(tokens), Int32(rows), Int32(cols), 1, x, Int32(cols),
                        base.assumingMemoryBound(to: Float.self), Int32(cols), 0, y, Int32(rows))
            return
        }
        PrefillGEMM.multiply(self, x: x, tokens: tokens, y: y)
    }
}

/// Runs `body` with OpenBLAS on one thread: for sgemm calls made from the pool's threads, each on its own share,
/// which would otherwise contend with OpenBLAS's own threads for the same cores.
func withSingleThreadedBLAS<R>(_ body: () throws -> R) rethrows -> R {
    let threads = loupe_blas_get_threads()
    if threads != 1 { loupe_blas_set_threads(1) }
    defer { if threads != 1 { loupe_blas_set_threads(threads) } }
    return try body()
}

/// Bytes a matrix made from an array owns (64-byte aligned).
final class OwnedBytes {
    let pointer: UnsafeMutableRawPointer
    init(count: Int) { pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1), alignment: 64) }
    deinit { pointer.deallocate() }
}
