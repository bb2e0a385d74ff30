import Foundation
import LoupeTensor

// safetensors (https://github.com/huggingface/safetensors):
//
//   header length N (u64, little-endian) | N bytes of JSON | data
//   JSON: {"__metadata__": {str: str}?, NAME: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
//
// Offsets are relative to the data section. Like the reference implementation, the reader requires the tensors to
// tile the data section exactly (no gaps, no overlaps, nothing after the last one) and each byte range to match its
// dtype and shape, so a corrupt header is caught before any tensor is read.

/// The element types of safetensors, with their on-disk names.
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"
    case f8_e4m3 = "F8_E4M3", f8_e5m2 = "F8_E5M2"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool, .f8_e4m3, .f8_e5m2: return 1
        }
    }

    /// The float format Loupe reads this dtype as (F32, F16, BF16), or nil for the others.
    public var floatType: GGMLType? {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        default: return nil
        }
    }
}

/// Where one tensor lives in a safetensors file.
public struct SafetensorsTensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Shape in row-major (numpy / PyTorch) order.
    public let shape: [Int]
    /// Absolute offset of the first data byte in the file.
    public let offset: Int
    public let byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A safetensors file, mapped read-only; `bytes(of:)` points into the mapping.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    /// The `__metadata__` strings (e.g. `{"format": "pt"}`).
    public let metadata: [String: String]
    /// Tensors in data order.
    public let tensors: [SafetensorsTensorInfo]
    /// Offset of the data section (8 + header length).
    public let dataOffset: Int
    public var fileSize: Int { storage.count }

    let storage: ModelBytes
    private let index: [String: Int]

    /// The reference implementation's cap on the header (100 MB): larger claims are refused before reading.
    static let maxHeader = 100_000_000

    public convenience init(path: String) throws {
        try self.init(storage: ModelBytes(mapping: path), path: path)
    }

    /// Parses safetensors bytes held in memory (copied); `path` labels errors.
    public convenience init(data: Data, path: String = "<memory>") throws {
        try self.init(storage: data.withUnsafeBytes { ModelBytes(copying: $0) }, path: path)
    }

    init(storage: ModelBytes, path: String) throws {
        self.storage = storage
        self.path = path
        var c = ByteCursor(storage.buffer, path: path)
        let n = try c.read(UInt64.self, "header length")
        guard n <= UInt64(SafetensorsFile.maxHeader) else {
            throw ModelFileError.invalidField(path: path, field: "header length",
                                              message: "\(n) exceeds the 100 MB limit of the format")
        }
        guard n <= UInt64(c.remaining) else {
            throw ModelFileError.truncated(path: path, field: "header", offset: 8, needed: Int(n), size: storage.count)
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: c.bytes[8 ..< 8 + Int(n)])
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw ModelFileError.badMagic(path: path, expected: "safetensors",
                                          found: "header that does not start with '{'")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(headerBytes), options: [])
        } catch {
            throw ModelFileError.invalidField(path: path, field: "header", message: "not valid JSON")
        }
        guard let dict = json as? [String: Any] else {
            throw ModelFileError.invalidField(path: path, field: "header", message: "JSON is not an object")
        }
        dataOffset = 8 + Int(n)
        let dataSize = storage.count - dataOffset

        var meta: [String: String] = [:]
        var infos: [(info: SafetensorsTensorInfo, begin: Int, end: Int)] = []
        for (name, value) in dict {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else {
                    throw ModelFileError.invalidField(path: path, field: "__metadata__", message: "must be an object")
                }
                for (k, v) in m {
                    guard let s = v as? String else {
                        throw ModelFileError.invalidField(path: path, field: "__metadata__.\(k)",
                                                          message: "must be a string")
                    }
                    meta[k] = s
                }
                continue
            }
            let field = "tensor '\(name)'"
            guard let t = value as? [String: Any] else {
                throw ModelFileError.invalidField(path: path, field: field, message: "entry must be an object")
            }
            guard let dtName = t["dtype"] as? String else {
                throw ModelFileError.invalidField(path: path, field: field + " dtype", message: "missing or not a string")
            }
            guard let dtype = SafetensorsDType(rawValue: dtName) else {
                throw ModelFileError.unknownTensorType(path: path, tensor: name, type: dtName)
            }
            let shape = try SafetensorsFile.ints(t["shape"], path: path, field: field + " shape")
            let offs = try SafetensorsFile.ints(t["data_offsets"], path: path, field: field + " data_offsets")
            guard offs.count == 2, offs[0] <= offs[1] else {
                throw ModelFileError.invalidField(path: path, field: field + " data_offsets",
                                                  message: "must be [begin, end] with begin <= end, got \(offs)")
            }
            var count = 1
            for d in shape {
                let (m, o) = count.multipliedReportingOverflow(by: d)
                guard !o else {
                    throw ModelFileError.badTensorShape(path: path, tensor: name,
                                                        message: "shape \(shape) overflows the element count")
                }
                count = m
            }
            let (bytes, o) = count.multipliedReportingOverflow(by: dtype.size)
            guard !o, bytes == offs[1] - offs[0] else {
                throw ModelFileError.badTensorShape(
                    path: path, tensor: name,
                    message: "shape \(shape) of \(dtName) needs \(o ? "too many" : "\(bytes)") bytes, "
                        + "data_offsets \(offs) hold \(offs[1] - offs[0])")
            }
            guard offs[1] <= dataSize else {
                throw ModelFileError.tensorOutOfBounds(path: path, tensor: name, start: dataOffset + offs[0],
                                                       end: dataOffset + offs[1], size: storage.count)
            }
            infos.append((SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, offset: dataOffset + offs[0],
                                                byteCount: bytes), offs[0], offs[1]))
        }
        // The tensors must tile the data section: sorted by offset, each starts where the previous ended.
        infos.sort { ($0.begin, $0.end, $0.info.name) < ($1.begin, $1.end, $1.info.name) }
        var expected = 0
        for t in infos {
            guard t.begin == expected else {
                throw ModelFileError.invalidField(
                    path: path, field: "tensor '\(t.info.name)' data_offsets",
                    message: t.begin < expected ? "[\(t.begin), \(t.end)) overlaps the previous tensor"
                        : "[\(t.begin), \(t.end)) leaves a gap after offset \(expected)")
            }
            expected = t.end
        }
        guard expected == dataSize else {
            throw ModelFileError.invalidField(
                path: path, field: "data", message: "tensors cover \(expected) bytes but the data section has \(dataSize)")
        }
        metadata = meta
        tensors = infos.map(\.info)
        index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    /// A JSON array of non-negative integers.
    static func ints(_ v: Any?, path: String, field: String) throws -> [Int] {
        guard let a = v as? [Any] else {
            throw ModelFileError.invalidField(path: path, field: field, message: "missing or not an array")
        }
        guard a.count <= 64 else {
            throw ModelFileError.invalidField(path: path, field: field, message: "\(a.count) entries")
        }
        return try a.map { x in
            // JSON true/false also arrive as NSNumber (objCType "c"); floats have "d" or "f". Only integers pass.
            guard let n = x as? NSNumber, !["c", "d", "f"].contains(String(cString: n.objCType)), let i = x as? Int,
                  i >= 0 else {
                throw ModelFileError.invalidField(path: path, field: field,
                                                  message: "entries must be non-negative integers, got \(x)")
            }
            return i
        }
    }

    public func tensor(named name: String) -> SafetensorsTensorInfo? { index[name].map { tensors[$0] } }

    public func requireTensor(_ name: String) throws -> SafetensorsTensorInfo {
        guard let t = tensor(named: name) else { throw ModelFileError.missing(path: path, what: "tensor", name: name) }
        return t
    }

    /// The raw bytes of a tensor (a view into the mapping, valid while this file is alive).
    public func bytes(of info: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.base + info.offset, count: info.byteCount)
    }

    /// A F32, F16 or BF16 tensor converted to Float32.
    public func tensorF32(named name: String) throws -> Tensor {
        let info = try requireTensor(name)
        let t = try Tensor.zeros(info.shape)
        try t.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress else { return }
            try convert(info, into: UnsafeMutablePointer(mutating: base))
        }
        return t
    }

    /// A F32, F16 or BF16 tensor as a flat Float array.
    public func floats(of info: SafetensorsTensorInfo) throws -> [Float] {
        try [Float](unsafeUninitializedCapacity: info.elementCount) { buf, n in
            if let base = buf.baseAddress { try convert(info, into: base) }
            n = info.elementCount
        }
    }

    private func convert(_ info: SafetensorsTensorInfo, into out: UnsafeMutablePointer<Float>) throws {
        guard let type = info.dtype.floatType else {
            throw ModelFileError.unknownTensorType(path: path, tensor: info.name,
                                                   type: info.dtype.rawValue + " (only F32, F16 and BF16 convert to float)")
        }
        // The same element decoders as GGUF's plain types (little-endian on disk in both formats).
        try Dequantize.rows(type, bytes(of: info), into: out, count: info.elementCount, path: path, tensor: info.name)
    }
}

/// A Hugging Face model folder: `model.safetensors`, or shards listed by `model.safetensors.index.json`, plus
/// `config.json` when present.
public final class SafetensorsModel: @unchecked Sendable {
    public let directory: URL
    public let files: [SafetensorsFile]
    /// The parsed config.json, if the folder has one.
    public let config: HFConfig?
    private let where_: [String: (file: Int, info: SafetensorsTensorInfo)]

    /// Tensor names, sorted.
    public var tensorNames: [String] { where_.keys.sorted() }

    public init(directory: URL) throws {
        self.directory = directory
        let fm = FileManager.default
        let single = directory.appendingPathComponent("model.safetensors")
        let indexURL = directory.appendingPathComponent("model.safetensors.index.json")
        var files: [SafetensorsFile] = []
        var map: [String: (Int, SafetensorsTensorInfo)] = [:]
        if fm.fileExists(atPath: indexURL.path) {
            let data: Data
            do { data = try Data(contentsOf: indexURL) } catch {
                throw ModelFileError.io(path: indexURL.path, message: "cannot read: \(error.localizedDescription)")
            }
            guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                  let weightMap = obj["weight_map"] as? [String: Any] else {
                throw ModelFileError.invalidField(path: indexURL.path, field: "weight_map",
                                                  message: "missing, or the file is not a JSON object")
            }
            var shardIndex: [String: Int] = [:]
            for (name, v) in weightMap.sorted(by: { $0.key < $1.key }) {
                guard let shard = v as? String, !shard.contains("/"), !shard.hasPrefix(".") else {
                    throw ModelFileError.invalidField(path: indexURL.path, field: "weight_map.\(name)",
                                                      message: "must name a file in the same folder")
                }
                let i: Int
                if let k = shardIndex[shard] { i = k } else {
                    i = files.count
                    shardIndex[shard] = i
                    files.append(try SafetensorsFile(path: directory.appendingPathComponent(shard).path))
                }
                guard let info = files[i].tensor(named: name) else {
                    throw ModelFileError.missing(path: files[i].path, what: "tensor (listed in the index)", name: name)
                }
                map[name] = (i, info)
            }
        } else if fm.fileExists(atPath: single.path) {
            let f = try SafetensorsFile(path: single.path)
            files = [f]
            for t in f.tensors { map[t.name] = (0, t) }
        } else {
            throw ModelFileError.io(path: directory.path,
                                    message: "no model.safetensors or model.safetensors.index.json in this folder")
        }
        self.files = files
        self.where_ = map
        let configURL = directory.appendingPathComponent("config.json")
        config = fm.fileExists(atPath: configURL.path) ? try HFConfig(path: configURL.path) : nil
    }

    /// The file holding `name` and its info there.
    public func locate(_ name: String) -> (file: SafetensorsFile, info: SafetensorsTensorInfo)? {
        where_[name].map { (files[$0.file], $0.info) }
    }

    public func tensorF32(named name: String) throws -> Tensor {
        guard let (f, _) = locate(name) else {
            throw ModelFileError.missing(path: directory.path, what: "tensor", name: name)
        }
        return try f.tensorF32(named: name)
    }
}

/// Writes a safetensors file: header JSON padded with spaces to a multiple of 8 (as the reference writer does),
/// tensors in insertion order, written atomically (temporary file + rename).
public final class SafetensorsWriter {
    struct Pending {
        let name: String
        let dtype: SafetensorsDType
        let shape: [Int]
        let source: Tensor?
        let bytes: [UInt8]?
        var byteCount: Int { shape.reduce(1, *) * dtype.size }
    }

    private var pending: [Pending] = []
    private var names: Set<String> = []
    /// `__metadata__` strings (e.g. `["format": "pt"]`, which transformers expects).
    public var metadata: [String: String]

    public init(metadata: [String: String] = ["format": "pt"]) { self.metadata = metadata }

    /// Adds a Float32 tensor, stored as F32, F16 or BF16.
    public func add(_ name: String, tensor: Tensor, as dtype: SafetensorsDType = .f32) throws {
        guard [.f32, .f16, .bf16].contains(dtype) else {
            throw ModelFileError.unknownTensorType(path: "<writer>", tensor: name,
                                                   type: dtype.rawValue + " (the writer stores F32, F16 or BF16)")
        }
        try checkName(name)
        pending.append(Pending(name: name, dtype: dtype, shape: tensor.shape, source: tensor, bytes: nil))
    }

    /// Adds ready-made little-endian bytes of any dtype.
    public func add(_ name: String, shape: [Int], dtype: SafetensorsDType, bytes: [UInt8]) throws {
        try checkName(name)
        let p = Pending(name: name, dtype: dtype, shape: shape, source: nil, bytes: bytes)
        guard shape.allSatisfy({ $0 >= 0 }), p.byteCount == bytes.count else {
            throw ModelFileError.badTensorShape(path: "<writer>", tensor: name,
                                                message: "shape \(shape) of \(dtype.rawValue) needs \(p.byteCount) bytes, got \(bytes.count)")
        }
        pending.append(p)
    }

    private func checkName(_ name: String) throws {
        guard name != "__metadata__", !names.contains(name) else {
            throw ModelFileError.duplicate(path: "<writer>", what: "tensor", name: name)
        }
        names.insert(name)
    }

    /// The header: 8-byte length, then JSON padded with spaces to a multiple of 8.
    func header() throws -> [UInt8] {
        func quote(_ s: String) throws -> String {
            let d = try JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
            return String(decoding: d.dropFirst().dropLast(), as: UTF8.self)
        }
        var parts: [String] = []
        if !metadata.isEmpty {
            let kv = try metadata.keys.sorted().map { "\(try quote($0)):\(try quote(metadata[$0]!))" }
            parts.append("\"__metadata__\":{" + kv.joined(separator: ",") + "}")
        }
        var offset = 0
        for p in pending {
            let end = offset + p.byteCount
            parts.append("\(try quote(p.name)):{\"dtype\":\"\(p.dtype.rawValue)\",\"shape\":[\(p.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var json = Array(("{" + parts.joined(separator: ",") + "}").utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + json
    }

    private func encode(_ p: Pending) -> [UInt8] {
        if let b = p.bytes { return b }
        let t = p.source!
        var out = [UInt8](repeating: 0, count: p.byteCount)
        let type: GGMLType = p.dtype == .f32 ? .f32 : p.dtype == .f16 ? .f16 : .bf16
        t.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { dst in
                if let s = src.baseAddress { try! Quantize.rows(type, s, count: t.count, into: dst) }  // sizes match
            }
        }
        return out
    }

    public func data() throws -> Data {
        var d = Data(try header())
        for p in pending { d.append(contentsOf: encode(p)) }
        return d
    }

    public func write(to path: String) throws {
        let h = try header()
        try AtomicFile.write(to: path) { sink in
            try sink.write(h)
            for p in pending { try sink.write(encode(p)) }
        }
    }
}
