import Foundation
import LoupeTensor

/// Builds a GGUF (version 3) file: metadata in insertion order, then tensor infos, then tensor data, each tensor
/// padded to the alignment. The layout is exactly gguf-python's `GGUFWriter`'s, so the same content gives the same
/// bytes (a test checks this against a file gguf-python wrote), and llama.cpp reads what Loupe writes.
///
///     let w = GGUFWriter(architecture: "llama")
///     w.set("llama.context_length", .uint32(2048))
///     try w.addTensor("token_embd.weight", tensor: embeddings, as: .f16)
///     try w.write(to: "model.gguf")        // temp file + rename: readers never see half a file
public final class GGUFWriter {
    /// Where a tensor's bytes come from: given ready-made, or encoded from floats when the file is written (so a
    /// model is not held twice in memory).
    enum Source {
        case bytes([UInt8])
        case floats(Tensor)
    }

    struct PendingTensor {
        let name: String
        let dims: [Int]  // ggml order
        let type: GGMLType
        let byteCount: Int
        let source: Source
    }

    private(set) var keys: [String] = []
    private(set) var values: [String: GGUFValue] = [:]
    private var elementTypes: [String: GGUFValueType] = [:]
    private var tensors: [PendingTensor] = []
    private var tensorNames: Set<String> = []

    /// A writer with `general.architecture` set first (as gguf-python does) when `architecture` is given.
    public init(architecture: String? = nil) {
        if let a = architecture { set("general.architecture", .string(a)) }
    }

    /// A writer holding a copy of `file`'s metadata (in file order) and tensors (raw bytes, same types): with no
    /// further changes it writes the same file back.
    public convenience init(copying file: GGUFFile) {
        self.init()
        for k in file.metadataKeys { set(k, file.metadata[k]!, elementType: file.arrayElementTypes[k]) }
        for t in file.tensors {
            appendTensor(PendingTensor(name: t.name, dims: t.dims, type: t.type, byteCount: t.byteCount,
                                       source: .bytes(Array(file.bytes(of: t)))))
        }
    }

    /// Data alignment: `general.alignment` when set, else GGUF's default 32.
    public var alignment: Int { values["general.alignment"]?.int ?? 32 }

    /// Sets `general.alignment` (a power of two).
    public func setAlignment(_ a: Int) throws {
        guard a > 0, a & (a - 1) == 0, a <= Int(UInt32.max) else {
            throw ModelFileError.invalidField(path: "<writer>", field: "general.alignment",
                                              message: "\(a) is not a power of two")
        }
        set("general.alignment", .uint32(UInt32(a)))
    }

    /// Sets a metadata value; a new key goes last, an existing key keeps its place. `elementType` gives the element
    /// type of an empty array (a non-empty array takes its first element's type).
    public func set(_ key: String, _ value: GGUFValue, elementType: GGUFValueType? = nil) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
        elementTypes[key] = elementType
    }

    /// Removes a metadata key.
    public func remove(_ key: String) {
        guard values.removeValue(forKey: key) != nil else { return }
        keys.removeAll { $0 == key }
        elementTypes[key] = nil
    }

    /// The metadata value at `key`.
    public func value(_ key: String) -> GGUFValue? { values[key] }

    // MARK: Tensors

    /// Adds a tensor from ready-encoded bytes. `shape` is numpy order (`[rows, rowLength]`).
    public func addTensor(_ name: String, shape: [Int], type: GGMLType, bytes: [UInt8]) throws {
        let n = try checkShape(name, shape, type)
        guard let need = type.byteCount(elements: n), need == bytes.count else {
            throw ModelFileError.badTensorShape(
                path: "<writer>", tensor: name,
                message: "shape \(shape) of \(type.name) needs \(type.byteCount(elements: n) ?? -1) bytes, got \(bytes.count)")
        }
        try checkName(name)
        appendTensor(PendingTensor(name: name, dims: shape.reversed(), type: type, byteCount: need,
                                   source: .bytes(bytes)))
    }

    /// Adds a Float32 tensor, encoded as `type` (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1) when written.
    public func addTensor(_ name: String, tensor: Tensor, as type: GGMLType = .f32) throws {
        guard Quantize.isSupported(type) else {
            throw ModelFileError.unknownTensorType(path: "<writer>", tensor: name, type: type.name + " (no quantizer)")
        }
        let shape = tensor.shape.isEmpty ? [1] : tensor.shape
        let n = try checkShape(name, shape, type)
        try checkName(name)
        appendTensor(PendingTensor(name: name, dims: shape.reversed(), type: type,
                                   byteCount: type.byteCount(elements: n)!, source: .floats(tensor)))
    }

    private func checkShape(_ name: String, _ shape: [Int], _ type: GGMLType) throws -> Int {
        guard !shape.isEmpty, shape.count <= GGUFFile.maxDims, shape.allSatisfy({ $0 >= 0 }) else {
            throw ModelFileError.badTensorShape(path: "<writer>", tensor: name,
                                                message: "shape \(shape) must have 1 to \(GGUFFile.maxDims) dimensions")
        }
        guard shape.last! % type.blockSize == 0 else {
            throw ModelFileError.badTensorShape(
                path: "<writer>", tensor: name,
                message: "row length \(shape.last!) is not a multiple of \(type.name)'s block size \(type.blockSize)")
        }
        return shape.reduce(1, *)
    }

    private func checkName(_ name: String) throws {
        guard !tensorNames.contains(name) else {
            throw ModelFileError.duplicate(path: "<writer>", what: "tensor", name: name)
        }
    }

    private func appendTensor(_ t: PendingTensor) {
        tensorNames.insert(t.name)
        tensors.append(t)
    }

    // MARK: Serialization

    private static func pad(_ x: Int, _ n: Int) -> Int { (x + n - 1) / n * n }

    /// Header, metadata and tensor infos, padded to the alignment: everything before the data section.
    func headerBytes() throws -> [UInt8] {
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func str(_ s: String) { let b = Array(s.utf8); u64(UInt64(b.count)); out.append(contentsOf: b) }

        func value(_ v: GGUFValue, key: String, elementType: GGUFValueType?) throws {
            switch v {
            case let .uint8(x): out.append(x)
            case let .int8(x): out.append(UInt8(bitPattern: x))
            case let .uint16(x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case let .int16(x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case let .uint32(x): u32(x)
            case let .int32(x): u32(UInt32(bitPattern: x))
            case let .uint64(x): u64(x)
            case let .int64(x): u64(UInt64(bitPattern: x))
            case let .float32(x): u32(x.bitPattern)
            case let .float64(x): u64(x.bitPattern)
            case let .bool(x): out.append(x ? 1 : 0)
            case let .string(s): str(s)
            case let .array(a):
                let et = a.first?.type ?? elementType ?? .uint8
                guard a.allSatisfy({ $0.type == et }) else {
                    throw ModelFileError.invalidField(path: "<writer>", field: "metadata '\(key)'",
                                                      message: "array elements must all have one type")
                }
                u32(et.rawValue)
                u64(UInt64(a.count))
                for e in a { try value(e, key: key, elementType: nil) }
            }
        }

        let align = alignment
        out.append(contentsOf: Array("GGUF".utf8))
        u32(3)
        u64(UInt64(tensors.count))
        u64(UInt64(keys.count))
        for k in keys {
            let v = values[k]!
            str(k)
            u32(v.type.rawValue)
            try value(v, key: k, elementType: elementTypes[k])
        }
        var offset = 0
        for t in tensors {
            str(t.name)
            u32(UInt32(t.dims.count))
            for d in t.dims { u64(UInt64(d)) }
            u32(t.type.rawValue)
            u64(UInt64(offset))
            offset += GGUFWriter.pad(t.byteCount, align)
        }
        out.append(contentsOf: [UInt8](repeating: 0, count: GGUFWriter.pad(out.count, align) - out.count))
        return out
    }

    /// Writes the file to `path` atomically: into a temporary file in the same folder, then renamed over `path`.
    public func write(to path: String) throws {
        let header = try headerBytes()
        let align = alignment
        try AtomicFile.write(to: path) { sink in
            try sink.write(header)
            for t in tensors {
                switch t.source {
                case let .bytes(b): try sink.write(b)
                case let .floats(tensor): try GGUFWriter.encode(tensor, as: t.type, name: t.name, into: sink)
                }
                let padding = GGUFWriter.pad(t.byteCount, align) - t.byteCount
                if padding > 0 { try sink.write([UInt8](repeating: 0, count: padding)) }
            }
        }
    }

    /// The whole file in memory (for tests and small files).
    public func data() throws -> Data {
        var d = Data(try headerBytes())
        let align = alignment
        for t in tensors {
            switch t.source {
            case let .bytes(b): d.append(contentsOf: b)
            case let .floats(tensor):
                var b = [UInt8](repeating: 0, count: t.byteCount)
                try tensor.withUnsafeBufferPointer { src in
                    try b.withUnsafeMutableBytes { dst in
                        if let s = src.baseAddress { try Quantize.rows(t.type, s, count: tensor.count, into: dst,
                                                                        tensor: t.name) }
                    }
                }
                d.append(contentsOf: b)
            }
            d.append(contentsOf: [UInt8](repeating: 0, count: GGUFWriter.pad(t.byteCount, align) - t.byteCount))
        }
        return d
    }

    /// Encodes a tensor in chunks of whole blocks (about 1 MiB of output at a time).
    private static func encode(_ tensor: Tensor, as type: GGMLType, name: String, into sink: AtomicFile.Sink) throws {
        let blocksPerChunk = max(1, (1 << 20) / type.typeSize)
        let chunkElements = blocksPerChunk * type.blockSize
        var buffer = [UInt8](repeating: 0, count: blocksPerChunk * type.typeSize)
        try tensor.withUnsafeBufferPointer { src in
            guard let base = src.baseAddress else { return }
            var start = 0
            while start < tensor.count {
                let n = min(chunkElements, tensor.count - start)
                let bytes = type.byteCount(elements: n)!
                try buffer.withUnsafeMutableBytes { dst in
                    try Quantize.rows(type, base + start, count: n, into: dst, tensor: name)
                }
                try sink.write(buffer[0 ..< bytes])
                start += n
            }
        }
    }
}

/// Writing a file so that readers see either the old file or the complete new one, never a partial one.
enum AtomicFile {
    /// Appends bytes to an open file descriptor, reporting errors with the final path.
    final class Sink {
        let fd: Int32
        let path: String
        init(fd: Int32, path: String) { self.fd = fd; self.path = path }

        func write<C: Collection>(_ bytes: C) throws where C.Element == UInt8 {
            try bytes.withContiguousStorageIfAvailable { try writeRaw(UnsafeRawBufferPointer($0)) }
                ?? Array(bytes).withUnsafeBytes { try writeRaw($0) }
        }

        func writeRaw(_ buf: UnsafeRawBufferPointer) throws {
            var done = 0
            while done < buf.count {
                let n = Foundation.write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ModelFileError.io(path: path, message: "write failed: " + String(cString: strerror(errno)))
                }
                done += n
            }
        }
    }

    /// Runs `body` with a sink on a temporary file beside `path`, then renames it to `path`; on any error the
    /// temporary file is removed and `path` is untouched.
    static func write(to path: String, _ body: (Sink) throws -> Void) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw ModelFileError.io(path: path, message: "cannot create \(tmp): " + String(cString: strerror(errno)))
        }
        var open = true
        do {
            try body(Sink(fd: fd, path: path))
            guard fsync(fd) == 0 else {
                throw ModelFileError.io(path: path, message: "fsync failed: " + String(cString: strerror(errno)))
            }
            close(fd)
            open = false
            guard rename(tmp, path) == 0 else {
                throw ModelFileError.io(path: path, message: "rename failed: " + String(cString: strerror(errno)))
            }
        } catch {
            // Close only a descriptor still ours: a closed number may already belong to another thread's file.
            if open { close(fd) }
            unlink(tmp)
            throw error
        }
    }
}
