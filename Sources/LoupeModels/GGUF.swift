import Foundation

// GGUF, the file format of llama.cpp (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), little-endian:
//
//   magic "GGUF" | version u32 | tensor count u64 | metadata count u64
//   metadata:  key (string) | value type u32 | value            (string = u64 length + UTF-8 bytes, no NUL)
//   tensors:   name (string) | n_dims u32 | dims u64 x n_dims | type u32 | offset u64 (from the data section)
//   padding to `general.alignment` (default 32) | data section
//
// The reader maps the file and validates every length against the bytes that remain before trusting it, so a
// damaged or hostile header yields one `ModelFileError` instead of a crash or a giant allocation.

// MARK: - Tensor types

/// The element types of ggml tensors, with their raw values from ggml.h.
public enum GGMLType: UInt32, CaseIterable, Sendable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19, iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23
    case i8 = 24, i16 = 25, i32 = 26, i64 = 27, f64 = 28, iq1_m = 29, bf16 = 30
    case tq1_0 = 34, tq2_0 = 35, mxfp4 = 39, nvfp4 = 40, q1_0 = 41

    /// Elements per block: 1 for plain types, 32 for the legacy quants, 256 for the k-quants.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16, .i8, .i16, .i32, .i64, .f64: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .iq4_nl, .mxfp4: return 32
        case .nvfp4: return 64
        case .q1_0: return 128
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K, .iq2_xxs, .iq2_xs, .iq3_xxs, .iq1_s, .iq3_s, .iq2_s,
             .iq4_xs, .iq1_m, .tq1_0, .tq2_0: return 256
        }
    }

    /// Bytes per block (the values of gguf-python's `GGML_QUANT_SIZES`).
    public var typeSize: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q8_1: return 40
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q8_K: return 292
        case .iq2_xxs: return 66
        case .iq2_xs: return 74
        case .iq3_xxs: return 98
        case .iq1_s: return 50
        case .iq4_nl: return 18
        case .iq3_s: return 110
        case .iq2_s: return 82
        case .iq4_xs: return 136
        case .i8: return 1
        case .i16: return 2
        case .i32: return 4
        case .i64, .f64: return 8
        case .iq1_m: return 56
        case .tq1_0: return 54
        case .tq2_0: return 66
        case .mxfp4: return 17
        case .nvfp4: return 36
        case .q1_0: return 18
        }
    }

    /// The name llama.cpp and gguf-python print ("Q4_K", "F16", ...).
    public var name: String {
        switch self {
        case .f32: return "F32"
        case .f16: return "F16"
        case .bf16: return "BF16"
        case .f64: return "F64"
        case .i8: return "I8"
        case .i16: return "I16"
        case .i32: return "I32"
        case .i64: return "I64"
        case .mxfp4: return "MXFP4"
        case .nvfp4: return "NVFP4"
        default:
            let s = "\(self)"
            return s.hasSuffix("_K") ? String(s.dropLast(2)).uppercased() + "_K" : s.uppercased()
        }
    }

    /// Bytes taken by `elements` values of this type, or nil when `elements` is not a whole number of blocks.
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % blockSize == 0 else { return nil }
        let (n, overflow) = (elements / blockSize).multipliedReportingOverflow(by: typeSize)
        return overflow ? nil : n
    }
}

// MARK: - Metadata values

/// The value types of GGUF metadata, with their raw values from the spec.
public enum GGUFValueType: UInt32, Sendable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7, string = 8
    case array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Fixed size in bytes of one value, or nil for strings and arrays.
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The fewest bytes one value of this type can take (an empty string, an empty array).
    var minimumSize: Int { fixedSize ?? (self == .string ? 8 : 12) }
}

/// One metadata value. Arrays may nest (gguf allows arrays of arrays).
public enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool), string(String)
    case array([GGUFValue])

    /// The value as an Int, for any integer type that fits (nil for floats, strings, bools, arrays).
    public var int: Int? {
        switch self {
        case let .uint8(v): return Int(v)
        case let .int8(v): return Int(v)
        case let .uint16(v): return Int(v)
        case let .int16(v): return Int(v)
        case let .uint32(v): return Int(v)
        case let .int32(v): return Int(v)
        case let .uint64(v): return Int(exactly: v)
        case let .int64(v): return Int(v)
        default: return nil
        }
    }

    /// The value as a Double, for floats and integers.
    public var double: Double? {
        switch self {
        case let .float32(v): return Double(v)
        case let .float64(v): return v
        default: return int.map(Double.init)
        }
    }

    public var string: String? { if case let .string(s) = self { return s } else { return nil } }
    public var bool: Bool? { if case let .bool(b) = self { return b } else { return nil } }
    public var array: [GGUFValue]? { if case let .array(a) = self { return a } else { return nil } }

    /// The on-disk type of this value.
    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .uint64: return .uint64
        case .int64: return .int64
        case .float32: return .float32
        case .float64: return .float64
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }

    /// A short name of the type for error messages ("uint32", "array of string", ...).
    public var typeName: String {
        if case let .array(a) = self { return a.first.map { "array of \($0.typeName)" } ?? "empty array" }
        return "\(type)"
    }
}

// MARK: - Metadata

/// The metadata of a GGUF file: every key, in file order, with its value; read it like a dictionary
/// (`metadata["general.architecture"]`, `for (key, value) in metadata`, `metadata.keys`, `metadata.count`).
///
/// Big arrays of numbers or strings (more than `GGUFFile.deferredArrayMinimum` elements: a vocabulary's tokens,
/// merges, scores and token types) are not held decoded: a read decodes them from the mapped file each time. A loaded
/// model would otherwise keep a second copy of its vocabulary as `GGUFValue`s (3.6 MiB for SmolLM2's 49k tokens
/// and merges, 19.5 MiB for Gemma's 262k tokens, scores and types) beside the tokenizer's own tables. Scalars and small arrays
/// are decoded once, when the file is opened. Every value was validated when the file was opened.
public struct GGUFMetadata: Sequence, Equatable, @unchecked Sendable {
    enum Stored { case value(GGUFValue), array(offset: Int) }

    /// Keys in file order.
    public let keys: [String]
    private let stored: [String: Stored]
    /// Where each array value starts in the file (at its element type), for raw re-reads.
    private let arrayOffsets: [String: Int]
    private let storage: ModelBytes
    private let path: String

    init(storage: ModelBytes, path: String, keys: [String], stored: [String: Stored], arrayOffsets: [String: Int]) {
        self.storage = storage
        self.path = path
        self.keys = keys
        self.stored = stored
        self.arrayOffsets = arrayOffsets
    }

    /// The value at `key` (big arrays are decoded now), or nil.
    public subscript(key: String) -> GGUFValue? {
        switch stored[key] {
        case nil: return nil
        case let .value(v)?: return v
        case let .array(offset)?:
            var c = ByteCursor(storage.buffer, path: path)
            c.position = offset
            // Cannot throw: the same checks passed when the file was opened, and the mapping is read-only.
            return try! GGUFFile.readValue(&c, type: .array, field: "metadata '\(key)'", depth: 0)
        }
    }

    /// Number of keys.
    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// Every value decoded, as a dictionary.
    public var dictionary: [String: GGUFValue] {
        var d: [String: GGUFValue] = [:]
        d.reserveCapacity(keys.count)
        for k in keys { d[k] = self[k] }
        return d
    }

    /// Key-value pairs in file order.
    public func makeIterator() -> AnyIterator<(key: String, value: GGUFValue)> {
        var i = 0
        return AnyIterator {
            guard i < keys.count else { return nil }
            defer { i += 1 }
            return (keys[i], self[keys[i]]!)
        }
    }

    public static func == (a: GGUFMetadata, b: GGUFMetadata) -> Bool {
        Set(a.keys) == Set(b.keys) && a.keys.allSatisfy { a[$0] == b[$0] }
    }

    /// Where the value of an array-valued `key` starts in the file (at its element type), or nil.
    func valueOffset(_ key: String) -> Int? { arrayOffsets[key] }

    /// Element count of a big array left in the file, or nil (absent, or decoded at open).
    func deferredCount(_ key: String) -> Int? {
        guard case let .array(offset)? = stored[key] else { return nil }
        return Int(UInt64(littleEndian: storage.base.loadUnaligned(fromByteOffset: offset + 4, as: UInt64.self)))
    }

    /// A big integer array left in the file, as Int (nil when it holds floats, bools or strings, or a uint64
    /// above Int.max, as `GGUFValue.int` says).
    func deferredInts(_ key: String) -> [Int]? {
        guard let (et, n, p) = deferredArray(key) else { return nil }
        func read<T: FixedWidthInteger>(_: T.Type) -> [Int]? {
            var out: [Int] = []
            out.reserveCapacity(n)
            for i in 0 ..< n {
                let v = T(littleEndian: p.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
                guard let x = Int(exactly: v) else { return nil }
                out.append(x)
            }
            return out
        }
        switch et {
        case .uint8: return read(UInt8.self)
        case .int8: return read(Int8.self)
        case .uint16: return read(UInt16.self)
        case .int16: return read(Int16.self)
        case .uint32: return read(UInt32.self)
        case .int32: return read(Int32.self)
        case .uint64: return read(UInt64.self)
        case .int64: return read(Int64.self)
        case .float32, .float64, .bool, .string, .array: return nil
        }
    }

    /// A big numeric array left in the file, as Float (nil when it holds bools or strings); integers convert
    /// through Double, as `GGUFValue.double` does.
    func deferredFloats(_ key: String) -> [Float]? {
        guard let (et, n, p) = deferredArray(key) else { return nil }
        switch et {
        case .float32:
            return (0 ..< n).map { Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        case .float64:
            return (0 ..< n).map { Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self)))) }
        case .bool, .string, .array:
            return nil
        default:
            return deferredInts(key).map { $0.map { Float(Double($0)) } }
        }
    }

    /// Element type, count and first element of a big array left in the file.
    private func deferredArray(_ key: String) -> (GGUFValueType, Int, UnsafeRawPointer)? {
        guard case let .array(offset)? = stored[key],
              let et = GGUFValueType(rawValue: UInt32(littleEndian: storage.base.loadUnaligned(
                fromByteOffset: offset, as: UInt32.self))),
              let n = deferredCount(key) else { return nil }
        return (et, n, storage.base + offset + 12)
    }
}

// MARK: - Tensor info

/// Where one tensor lives in a GGUF file and what it holds.
public struct GGUFTensorInfo: Equatable, Sendable {
    public let name: String
    /// Dimensions in ggml order: `dims[0]` is the contiguous row length.
    public let dims: [Int]
    public let type: GGMLType
    /// Absolute offset of the first byte of the tensor's data in the file.
    public let offset: Int
    /// Bytes of data (whole blocks of `type`).
    public let byteCount: Int

    public init(name: String, dims: [Int], type: GGMLType, offset: Int, byteCount: Int) {
        self.name = name
        self.dims = dims
        self.type = type
        self.offset = offset
        self.byteCount = byteCount
    }

    /// Number of elements (product of `dims`; 1 for a 0-d tensor).
    public var elementCount: Int { dims.reduce(1, *) }
    /// Shape in numpy / PyTorch order (`dims` reversed): `[rows, rowLength]` for a matrix.
    public var shape: [Int] { dims.reversed() }
}

// MARK: - The bytes of a file

/// Read-only bytes that stay valid as long as this object lives: a private mapping of a file, or a heap copy.
final class ModelBytes: @unchecked Sendable {
    let base: UnsafeRawPointer
    let count: Int
    /// Whether the bytes are a mapping of the file (else a heap copy).
    let mapped: Bool

    /// Maps `path` read-only. An empty file gets a one-byte heap buffer (mmap refuses length 0).
    init(mapping path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelFileError.io(path: path, message: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw ModelFileError.io(path: path, message: String(cString: strerror(errno)))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw ModelFileError.io(path: path, message: "not a regular file")
        }
        let size = Int(st.st_size)
        if size == 0 {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 16))
            count = 0
            mapped = false
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw ModelFileError.io(path: path, message: "mmap failed: " + String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(p)
        count = size
        mapped = true
    }

    /// Copies `bytes` to the heap (64-byte aligned, like a mapping's page start, so data alignment carries over).
    init(copying bytes: UnsafeRawBufferPointer) {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        if bytes.count > 0 { p.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        base = UnsafeRawPointer(p)
        count = bytes.count
        mapped = false
    }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    deinit {
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), count) } else { base.deallocate() }
    }
}

/// A bounds-checked little-endian reader over a byte buffer; every read names the field it reads for errors.
struct ByteCursor {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var position: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - position }

    /// Throws `truncated` unless `n` more bytes are available.
    func need(_ n: Int, _ field: @autoclosure () -> String) throws {
        if n < 0 || n > remaining {
            throw ModelFileError.truncated(path: path, field: field(), offset: position, needed: n, size: bytes.count)
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, field())
        let v = bytes.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    /// Reads a u64 count and checks that `count * minimumElementSize` bytes could still follow, so that a lying
    /// count is caught before anything is allocated for it.
    mutating func readCount(_ field: @autoclosure () -> String, minimumElementSize: Int) throws -> Int {
        let start = position
        let raw = try read(UInt64.self, field())
        let limit = UInt64(remaining / max(minimumElementSize, 1))
        guard raw <= limit else {
            throw ModelFileError.invalidField(
                path: path, field: field(),
                message: "count \(raw) at offset \(start) cannot fit in the \(remaining) bytes that remain")
        }
        return Int(raw)
    }

    /// Reads a GGUF string (u64 length + bytes), decoding UTF-8 straight from the buffer (invalid sequences become
    /// U+FFFD, as Python's `errors="replace"` does).
    mutating func readString(_ field: @autoclosure () -> String) throws -> String {
        let raw = try readStringBytes(field())
        guard raw.count > 0 else { return "" }
        return String(unsafeUninitializedCapacity: raw.count) { buf in
            _ = buf.initialize(from: raw)
            return raw.count
        }
    }

    /// Reads a GGUF string's raw bytes (a view into the buffer).
    mutating func readStringBytes(_ field: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        let start = position
        let n = try read(UInt64.self, field())
        guard n <= UInt64(remaining) else {
            throw ModelFileError.invalidField(
                path: path, field: field(),
                message: "string length \(n) at offset \(start) exceeds the \(remaining) bytes that remain")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[position ..< position + Int(n)])
        position += Int(n)
        return slice
    }
}

// MARK: - The file

/// A GGUF file, mapped read-only. Tensor data is never copied: `bytes(of:)` points into the mapping, which stays
/// alive as long as this object is referenced.
public final class GGUFFile: @unchecked Sendable {
    /// The path as given to `init(path:)` (or the label given to `init(data:path:)`); used in every error.
    public let path: String
    /// Format version (2 or 3).
    public let version: Int
    /// Alignment of tensor data (`general.alignment`, default 32).
    public let alignment: Int
    /// Every metadata value by key (`metadata["general.name"]`). Big arrays are decoded on each read (see
    /// `GGUFMetadata`); the typed helpers (`stringArray`, `intArray`, ...) read them straight from the file.
    public let metadata: GGUFMetadata
    /// Metadata keys in file order.
    public var metadataKeys: [String] { metadata.keys }
    /// The element type of each array-valued key (kept so empty arrays round-trip through the writer).
    public let arrayElementTypes: [String: GGUFValueType]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// Absolute offset of the data section.
    public let dataOffset: Int
    /// Size of the file in bytes.
    public var fileSize: Int { storage.count }

    let storage: ModelBytes
    private let tensorIndex: [String: Int]

    /// The deepest nesting of arrays accepted; real files use 1, and a bound keeps hostile input off the stack.
    static let maxArrayDepth = 8
    /// ggml's GGML_MAX_DIMS.
    static let maxDims = 4

    /// Maps and parses the GGUF file at `path`. Throws `ModelFileError`.
    public convenience init(path: String) throws {
        try self.init(storage: ModelBytes(mapping: path), path: path)
    }

    /// Parses GGUF bytes held in memory (copied); `path` labels errors.
    public convenience init(data: Data, path: String = "<memory>") throws {
        let storage = data.withUnsafeBytes { ModelBytes(copying: $0) }
        try self.init(storage: storage, path: path)
    }

    init(storage: ModelBytes, path: String) throws {
        self.storage = storage
        self.path = path
        var c = ByteCursor(storage.buffer, path: path)

        // Header.
        try c.need(4, "magic")
        let magic = Array(UnsafeRawBufferPointer(rebasing: c.bytes[0 ..< 4]))
        guard magic == Array("GGUF".utf8) else {
            throw ModelFileError.badMagic(
                path: path, expected: "GGUF", found: magic.map { String(format: "%02x", $0) }.joined(separator: " "))
        }
        c.position = 4
        let v = try c.read(UInt32.self, "version")
        guard v == 2 || v == 3 else {
            // A big-endian file reads as a huge version (ggml writes the version in the file's byte order).
            let hint = v.byteSwapped <= 3 ? " (a big-endian file?)" : ""
            throw ModelFileError.unsupportedVersion(path: path, version: Int(v), supported: "2, 3" + hint)
        }
        version = Int(v)
        // Minimum sizes: a tensor info is a name (8) + n_dims (4) + type (4) + offset (8); a key-value pair is
        // a key (8) + type (4) + the smallest value (1).
        let tensorCount = try c.readCount("tensor count", minimumElementSize: 24)
        let kvCount = try c.readCount("metadata count", minimumElementSize: 13)

        // Metadata. Big arrays of numbers or strings are validated here (every length checked, as when decoding)
        // and left in the file; everything else is decoded now.
        var metadata: [String: GGUFMetadata.Stored] = [:]
        var keys: [String] = []
        var elementTypes: [String: GGUFValueType] = [:]
        var arrayOffsets: [String: Int] = [:]
        metadata.reserveCapacity(kvCount)
        keys.reserveCapacity(kvCount)
        for i in 0 ..< kvCount {
            let key = try c.readString("metadata key #\(i)")
            guard metadata[key] == nil else { throw ModelFileError.duplicate(path: path, what: "metadata key", name: key) }
            let rawType = try c.read(UInt32.self, "metadata '\(key)' type")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw ModelFileError.invalidField(
                    path: path, field: "metadata '\(key)'", message: "unknown value type \(rawType)")
            }
            let valueOffset = c.position
            if type == .array {
                arrayOffsets[key] = valueOffset
                // Peek the element type for `arrayElementTypes`; readValue re-reads it.
                if let et = c.remaining >= 4
                    ? GGUFValueType(rawValue: UInt32(littleEndian: c.bytes.loadUnaligned(
                        fromByteOffset: c.position, as: UInt32.self))) : nil {
                    elementTypes[key] = et
                }
                if try GGUFFile.skipLargeArray(&c, field: "metadata '\(key)'") {
                    metadata[key] = .array(offset: valueOffset)
                    keys.append(key)
                    continue
                }
            }
            metadata[key] = .value(try GGUFFile.readValue(&c, type: type, field: "metadata '\(key)'", depth: 0))
            keys.append(key)
        }
        let meta = GGUFMetadata(storage: storage, path: path, keys: keys, stored: metadata, arrayOffsets: arrayOffsets)

        // Alignment.
        var alignment = 32
        if let a = meta["general.alignment"] {
            guard case let .uint32(av) = a else {
                throw ModelFileError.invalidField(
                    path: path, field: "metadata 'general.alignment'", message: "must be uint32, found \(a.typeName)")
            }
            guard av > 0, av & (av - 1) == 0 else {
                throw ModelFileError.invalidField(
                    path: path, field: "metadata 'general.alignment'", message: "\(av) is not a power of two")
            }
            alignment = Int(av)
        }

        // Tensor infos; offsets are checked once the data section's start is known.
        var pending: [(name: String, dims: [Int], type: GGMLType, rel: Int, bytes: Int)] = []
        pending.reserveCapacity(tensorCount)
        var index: [String: Int] = [:]
        index.reserveCapacity(tensorCount)
        for i in 0 ..< tensorCount {
            let name = try c.readString("tensor #\(i) name")
            guard index[name] == nil else { throw ModelFileError.duplicate(path: path, what: "tensor", name: name) }
            let nDims = try c.read(UInt32.self, "tensor '\(name)' n_dims")
            guard nDims <= GGUFFile.maxDims else {
                throw ModelFileError.badTensorShape(
                    path: path, tensor: name, message: "\(nDims) dimensions (at most \(GGUFFile.maxDims))")
            }
            var dims: [Int] = []
            var elements = 1
            for d in 0 ..< Int(nDims) {
                let raw = try c.read(UInt64.self, "tensor '\(name)' dim \(d)")
                guard raw <= UInt64(Int.max), case let (e, false) = elements.multipliedReportingOverflow(
                    by: Int(raw)) else {
                    throw ModelFileError.badTensorShape(
                        path: path, tensor: name, message: "dimension \(d) = \(raw) makes the element count overflow")
                }
                elements = e
                dims.append(Int(raw))
            }
            let rawType = try c.read(UInt32.self, "tensor '\(name)' type")
            guard let type = GGMLType(rawValue: rawType) else {
                throw ModelFileError.unknownTensorType(path: path, tensor: name, type: "\(rawType)")
            }
            let rel = try c.read(UInt64.self, "tensor '\(name)' offset")
            let rowLength = dims.first ?? 1
            guard rowLength % type.blockSize == 0, let n = type.byteCount(elements: elements) else {
                throw ModelFileError.badTensorShape(
                    path: path, tensor: name,
                    message: "row length \(rowLength) is not a multiple of \(type.name)'s block size \(type.blockSize)")
            }
            guard rel % UInt64(alignment) == 0 else {
                throw ModelFileError.invalidField(
                    path: path, field: "tensor '\(name)' offset",
                    message: "\(rel) is not a multiple of the alignment \(alignment)")
            }
            guard rel <= UInt64(storage.count) else {
                throw ModelFileError.tensorOutOfBounds(
                    path: path, tensor: name, start: rel > UInt64(Int.max) ? Int.max : Int(rel),
                    end: Int.max, size: storage.count)
            }
            index[name] = i
            pending.append((name, dims, type, Int(rel), n))
        }

        // Data section, then every tensor's range.
        let padded = (c.position + alignment - 1) / alignment * alignment
        dataOffset = padded
        var infos: [GGUFTensorInfo] = []
        infos.reserveCapacity(pending.count)
        for t in pending {
            let start = padded + t.rel
            let (end, overflow) = start.addingReportingOverflow(t.bytes)
            guard !overflow, end <= storage.count else {
                throw ModelFileError.tensorOutOfBounds(path: path, tensor: t.name, start: start, end: overflow ? Int.max : end,
                                                       size: storage.count)
            }
            infos.append(GGUFTensorInfo(name: t.name, dims: t.dims, type: t.type, offset: start, byteCount: t.bytes))
        }

        self.alignment = alignment
        self.metadata = meta
        self.arrayElementTypes = elementTypes
        self.tensors = infos
        self.tensorIndex = index
    }

    /// Arrays with more elements than this stay in the file until read: the vocabulary's tokens, merges, scores and
    /// token types (50k-260k elements each) would otherwise be held twice, once decoded as `GGUFValue`s (24 bytes
    /// an element, plus a heap string for each long token) and once in the tokenizer's own tables.
    static let deferredArrayMinimum = 256

    /// At an array value (its element type): when it is a big array of numbers or strings, checks every length as
    /// `readValue` would (same errors), moves past it and returns true; otherwise leaves the cursor and returns false.
    static func skipLargeArray(_ c: inout ByteCursor, field: @autoclosure () -> String) throws -> Bool {
        guard c.remaining >= 12 else { return false }
        let rawType = UInt32(littleEndian: c.bytes.loadUnaligned(fromByteOffset: c.position, as: UInt32.self))
        guard let et = GGUFValueType(rawValue: rawType), et != .array else { return false }
        let rawCount = UInt64(littleEndian: c.bytes.loadUnaligned(fromByteOffset: c.position + 4, as: UInt64.self))
        guard rawCount > UInt64(deferredArrayMinimum) else { return false }
        let start = c.position
        c.position += 4
        let n = try c.readCount(field() + " array length", minimumElementSize: et.minimumSize)
        if let size = et.fixedSize {
            c.position += n * size   // readCount proved they fit
            return true
        }
        // Strings: walk the lengths, with readStrings' checks and messages.
        guard let base = c.bytes.baseAddress else { c.position = start; return false }
        var pos = c.position
        for i in 0 ..< n {
            let len = try stringLength(&c, base, at: &pos, element: i, field: field())
            pos += len
        }
        c.position = pos
        return true
    }

    /// The length of the string array element `i` whose 8-byte length field is at `pos`, checked against the end of
    /// the file; `pos` moves past the length field. The one place both string walks (reading, skipping) check.
    @inline(__always)
    static func stringLength(_ c: inout ByteCursor, _ base: UnsafeRawPointer, at pos: inout Int, element i: Int,
                             field: @autoclosure () -> String) throws -> Int {
        let end = c.bytes.count
        guard end - pos >= 8 else {
            c.position = pos
            throw ModelFileError.truncated(path: c.path, field: field() + " element \(i)", offset: pos, needed: 8,
                                           size: end)
        }
        let len = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: pos, as: UInt64.self))
        pos += 8
        guard len <= UInt64(end - pos) else {
            throw ModelFileError.invalidField(
                path: c.path, field: field() + " element \(i)",
                message: "string length \(len) at offset \(pos - 8) exceeds the \(end - pos) bytes that remain")
        }
        return Int(len)
    }

    /// Reads one value of `type`; arrays of plain numbers and strings are read in tight loops.
    static func readValue(_ c: inout ByteCursor, type: GGUFValueType, field: @autoclosure () -> String,
                          depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try c.read(UInt8.self, field()))
        case .int8: return .int8(try c.read(Int8.self, field()))
        case .uint16: return .uint16(try c.read(UInt16.self, field()))
        case .int16: return .int16(try c.read(Int16.self, field()))
        case .uint32: return .uint32(try c.read(UInt32.self, field()))
        case .int32: return .int32(try c.read(Int32.self, field()))
        case .uint64: return .uint64(try c.read(UInt64.self, field()))
        case .int64: return .int64(try c.read(Int64.self, field()))
        case .float32: return .float32(Float(bitPattern: try c.read(UInt32.self, field())))
        case .float64: return .float64(Double(bitPattern: try c.read(UInt64.self, field())))
        case .bool:
            let b = try c.read(UInt8.self, field())
            // gguf-python reads a bool as numpy bool_ (any non-zero is true); llama.cpp likewise.
            return .bool(b != 0)
        case .string: return .string(try c.readString(field()))
        case .array:
            guard depth < maxArrayDepth else {
                throw ModelFileError.invalidField(
                    path: c.path, field: field(), message: "arrays nested deeper than \(maxArrayDepth)")
            }
            let rawType = try c.read(UInt32.self, field() + " element type")
            guard let et = GGUFValueType(rawValue: rawType) else {
                throw ModelFileError.invalidField(path: c.path, field: field(),
                                                  message: "unknown array element type \(rawType)")
            }
            let n = try c.readCount(field() + " array length", minimumElementSize: et.minimumSize)
            var out: [GGUFValue] = []
            out.reserveCapacity(n)
            switch et {
            case .string:
                try readStrings(&c, count: n, into: &out, field: field())
            case .array:
                for _ in 0 ..< n { out.append(try readValue(&c, type: .array, field: field(), depth: depth + 1)) }
            default:
                // Fixed-size elements: the count check above already proved they all fit.
                readFixed(&c, type: et, count: n, into: &out)
            }
            return .array(out)
        }
    }

    /// Reads `n` strings in one pointer loop: vocabularies hold 50k-260k of them, so this loop decides load time.
    /// `String(unsafeUninitializedCapacity:)` validates (and repairs) UTF-8 inside the optimized standard library,
    /// which keeps debug builds fast too.
    static func readStrings(_ c: inout ByteCursor, count n: Int, into out: inout [GGUFValue],
                            field: @autoclosure () -> String) throws {
        guard n > 0, let base = c.bytes.baseAddress else { return }
        var pos = c.position
        for i in 0 ..< n {
            let n = try stringLength(&c, base, at: &pos, element: i, field: field())
            let src = base + pos
            let s = n == 0 ? "" : String(unsafeUninitializedCapacity: n) { buf in
                buf.baseAddress!.update(from: src.assumingMemoryBound(to: UInt8.self), count: n)
                return n
            }
            out.append(.string(s))
            pos += n
        }
        c.position = pos
    }

    /// Reads `n` fixed-size values (the caller checked that they fit) in one pointer loop per type.
    static func readFixed(_ c: inout ByteCursor, type: GGUFValueType, count n: Int, into out: inout [GGUFValue]) {
        guard n > 0, let base = c.bytes.baseAddress else { return }
        let p = base + c.position
        switch type {
        case .uint8: for i in 0 ..< n { out.append(.uint8(p.load(fromByteOffset: i, as: UInt8.self))) }
        case .int8: for i in 0 ..< n { out.append(.int8(p.load(fromByteOffset: i, as: Int8.self))) }
        case .bool: for i in 0 ..< n { out.append(.bool(p.load(fromByteOffset: i, as: UInt8.self) != 0)) }
        case .uint16:
            for i in 0 ..< n { out.append(.uint16(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
        case .int16:
            for i in 0 ..< n { out.append(.int16(Int16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))) }
        case .uint32:
            for i in 0 ..< n { out.append(.uint32(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))) }
        case .int32:
            for i in 0 ..< n { out.append(.int32(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))) }
        case .float32:
            for i in 0 ..< n {
                out.append(.float32(Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))))
            }
        case .uint64:
            for i in 0 ..< n { out.append(.uint64(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        case .int64:
            for i in 0 ..< n { out.append(.int64(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))) }
        case .float64:
            for i in 0 ..< n {
                out.append(.float64(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))))
            }
        case .string, .array: return
        }
        c.position += n * type.fixedSize!
    }

    // MARK: Lookup

    /// The tensor called `name`, if any.
    public func tensor(named name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// The tensor called `name`, or `ModelFileError.missing`.
    public func requireTensor(_ name: String) throws -> GGUFTensorInfo {
        guard let t = tensor(named: name) else { throw ModelFileError.missing(path: path, what: "tensor", name: name) }
        return t
    }

    /// The raw bytes of a tensor's data (a view into the mapping; valid while this file is alive).
    public func bytes(of info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.base + info.offset, count: info.byteCount)
    }

    /// Hands the pages of the header (metadata and tensor infos, everything before the data section) back to the
    /// kernel. A loader calls this once it has built what it needs from the metadata (the tokenizer's tables): a
    /// vocabulary's tokens and merges are 1.7 MiB of SmolLM2's header and 6.2 MiB of Gemma 3's. The mapping is
    /// read-only and never written, so nothing is lost: a later read of the metadata faults the pages back in from
    /// the file. No effect on a file held in memory (`init(data:)`).
    public func releaseHeaderPages() {
        guard storage.mapped else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = min(dataOffset, storage.count) / page * page   // whole pages below the first tensor's data
        if length > 0 { _ = madvise(UnsafeMutableRawPointer(mutating: storage.base), length, Int32(MADV_DONTNEED)) }
    }

    /// Hands the whole pages inside `range` (a tensor's bytes in this file's mapping) back to the kernel: for a
    /// tensor a loader has copied into another layout (`WeightMatrix.repackedForDecode`). Pages shared with the
    /// neighbouring tensors are kept. A later read faults the pages back in from the file. No effect on a file held
    /// in memory.
    public func releasePages(_ range: UnsafeRawBufferPointer) {
        guard storage.mapped, let start = range.baseAddress else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let lo = (Int(bitPattern: start) + page - 1) / page * page, hi = (Int(bitPattern: start) + range.count) / page * page
        let base = Int(bitPattern: storage.base)
        guard lo < hi, lo >= base, hi <= base + storage.count else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), hi - lo, Int32(MADV_DONTNEED))
    }

    /// `general.architecture` ("llama", "gemma3", ...).
    public var architecture: String? { string("general.architecture") }

    // MARK: Typed metadata helpers (nil when absent or of another type)

    public func string(_ key: String) -> String? { metadata[key]?.string }
    public func int(_ key: String) -> Int? { metadata[key]?.int }
    public func float(_ key: String) -> Float? { metadata[key]?.double.map { Float($0) } }
    public func double(_ key: String) -> Double? { metadata[key]?.double }
    public func bool(_ key: String) -> Bool? { metadata[key]?.bool }

    /// A string array (nil when absent or when any element is not a string).
    public func stringArray(_ key: String) -> [String]? {
        if arrayElementTypes[key] == .string, let n = metadata.deferredCount(key) {
            var out: [String] = []
            out.reserveCapacity(n)
            _ = forEachString(key) { _, b in
                out.append(b.isEmpty ? "" : String(unsafeUninitializedCapacity: b.count) { _ = $0.initialize(from: b); return b.count })
            }
            return out
        }
        guard let a = metadata[key]?.array else { return nil }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for v in a { guard case let .string(s) = v else { return nil }; out.append(s) }
        return out
    }

    /// A numeric array as Float (nil when absent or when any element is not a number).
    public func floatArray(_ key: String) -> [Float]? {
        if metadata.deferredCount(key) != nil { return metadata.deferredFloats(key) }
        guard let a = metadata[key]?.array else { return nil }
        var out: [Float] = []
        out.reserveCapacity(a.count)
        for v in a {
            switch v {
            case let .float32(f): out.append(f)
            default: guard let d = v.double else { return nil }; out.append(Float(d))
            }
        }
        return out
    }

    /// An integer array as Int (nil when absent or when any element is not an integer).
    public func intArray(_ key: String) -> [Int]? {
        if metadata.deferredCount(key) != nil { return metadata.deferredInts(key) }
        guard let a = metadata[key]?.array else { return nil }
        var out: [Int] = []
        out.reserveCapacity(a.count)
        for v in a { guard let i = v.int else { return nil }; out.append(i) }
        return out
    }

    /// The raw bytes of each string of a string array, exactly as stored (no UTF-8 repair), for tokenizers whose
    /// vocabularies hold byte sequences that are not valid UTF-8.
    public func stringArrayBytes(_ key: String) -> [[UInt8]]? {
        var out: [[UInt8]] = []
        guard forEachString(key, { _, b in out.append(Array(b)) }) != nil else { return nil }
        return out
    }

    /// Calls `body(i, bytes)` for each string of a string array, with its raw bytes as stored (a view into the
    /// file, valid during the call), without decoding anything; returns the count, or nil when `key` is not a
    /// string array. Tokenizers build their tables from this.
    @discardableResult
    func forEachString(_ key: String, _ body: (Int, UnsafeRawBufferPointer) throws -> Void) rethrows -> Int? {
        guard let off = metadata.valueOffset(key), arrayElementTypes[key] == .string else { return nil }
        var c = ByteCursor(storage.buffer, path: path)
        c.position = off
        guard let _ = try? c.read(UInt32.self, ""), let n = try? c.readCount("", minimumElementSize: 8) else {
            return nil
        }
        for i in 0 ..< n {
            guard let b = try? c.readStringBytes("") else { return nil }   // checked when the file was opened
            try body(i, b)
        }
        return n
    }

    // MARK: Throwing variants, for loaders that need a key

    /// The metadata value at `key`, or `ModelFileError.missing`.
    public func require(_ key: String) throws -> GGUFValue {
        guard let v = metadata[key] else { throw ModelFileError.missing(path: path, what: "metadata key", name: key) }
        return v
    }

    public func requireInt(_ key: String) throws -> Int {
        let v = try require(key)
        guard let i = v.int else { throw ModelFileError.wrongType(path: path, key: key, expected: "integer",
                                                                   found: v.typeName) }
        return i
    }

    public func requireFloat(_ key: String) throws -> Float {
        let v = try require(key)
        guard let d = v.double else { throw ModelFileError.wrongType(path: path, key: key, expected: "number",
                                                                      found: v.typeName) }
        return Float(d)
    }

    public func requireString(_ key: String) throws -> String {
        let v = try require(key)
        guard let s = v.string else { throw ModelFileError.wrongType(path: path, key: key, expected: "string",
                                                                      found: v.typeName) }
        return s
    }

    public func requireStringArray(_ key: String) throws -> [String] {
        let v = try require(key)
        guard let s = stringArray(key) else {
            throw ModelFileError.wrongType(path: path, key: key, expected: "array of string", found: v.typeName)
        }
        return s
    }
}
