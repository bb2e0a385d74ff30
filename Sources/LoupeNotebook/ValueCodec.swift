import Foundation
import LoupeLang
import LoupeTensor

/// Turns Loupe values into bytes and back, exactly: ints as 64-bit integers, floats as their float64 bit patterns,
/// tensor elements as raw float32, so a value served from the cache is the value that was computed. The sha256 of
/// these bytes is the value's content hash (`hash`), which goes into the cache keys of the cells that read it.
///
/// The form is binary and little-endian throughout: a one-byte tag, then the payload.
///
/// | tag | kind | payload |
/// |---|---|---|
/// | 0 | nil | - |
/// | 1 | bool | 1 byte (0 or 1) |
/// | 2 | int | int64 |
/// | 3 | float | float64 bits |
/// | 4 | string | uint64 byte count, UTF-8 bytes |
/// | 5 | list | uint64 count, the items |
/// | 6 | record | uint64 count, then per field its key (as a string payload) and value |
/// | 7 | range | int64 start, end, step |
/// | 8 | tensor | uint64 rank, rank × int64 dims, the elements as float32 (row-major) |
/// | 9 | error | kind, message, file (string payloads), int64 line, column, length (file "" when no position) |
///
/// Functions and host objects (a model, a figure) have no such form: `encode` throws `ValueCodec.Unserializable`,
/// and a cell that binds one gets a display entry only (see docs/notebook.md, "The cache").
public enum ValueCodec {
    /// A value with no serial form, and where it was found ("m", "results[2].f").
    public struct Unserializable: Error, CustomStringConvertible {
        public let typeName: String
        public let path: String
        public var description: String { "\(path) is a \(typeName), which cannot be stored" }
    }

    /// A stored value that does not decode (a damaged cache entry or side file).
    public struct Corrupt: Error, CustomStringConvertible {
        public let reason: String
        public init(reason: String) { self.reason = reason }
        public var description: String { "stored value is damaged: \(reason)" }
    }

    enum Tag: UInt8 {
        case `nil` = 0, bool, int, float, string, list, record, range, tensor, error
    }

    /// The value as bytes (see the table above). `path` names the value in an `Unserializable` error.
    public static func encode(_ v: Value, path: String = "value") throws -> Data {
        var w = Writer()
        try w.value(v, path: path)
        return w.data
    }

    /// The value the bytes encode; throws `Corrupt` (with the byte offset) for bytes that are not one whole value.
    public static func decode(_ data: Data) throws -> Value {
        try data.withUnsafeBytes { raw in
            var r = Reader(bytes: raw)
            let v = try r.value(depth: 0)
            guard r.at == raw.count else { throw Corrupt(reason: "\(raw.count - r.at) bytes after the value") }
            return v
        }
    }

    /// A content hash of a value (sha256 of its encoding, hex), or nil when it has no serial form.
    public static func hash(_ v: Value) -> String? {
        guard let data = try? encode(v) else { return nil }
        return SHA256.hex(data)
    }

    /// Whether encoded bytes hold a tensor at the top (such values always go to a side file; see `CellCache`).
    static func isTensor(_ encoded: Data) -> Bool { encoded.first == Tag.tensor.rawValue }

    static let littleEndianHost = 1.littleEndian == 1

    // MARK: Writing

    struct Writer {
        var data = Data()

        mutating func tag(_ t: Tag) { data.append(t.rawValue) }
        mutating func u64(_ x: UInt64) { withUnsafeBytes(of: x.littleEndian) { data.append(contentsOf: $0) } }
        mutating func i64(_ x: Int) { u64(UInt64(bitPattern: Int64(x))) }
        mutating func string(_ s: String) {
            let utf8 = s.utf8
            u64(UInt64(utf8.count))
            data.append(contentsOf: utf8)
        }

        mutating func value(_ v: Value, path: String) throws {
            switch v {
            case .nil: tag(.nil)
            case let .bool(b): tag(.bool); data.append(b ? 1 : 0)
            case let .int(i): tag(.int); i64(i)
            case let .float(d): tag(.float); u64(d.bitPattern)
            case let .string(s): tag(.string); string(s)
            case let .list(xs):
                tag(.list); u64(UInt64(xs.count))
                for (i, x) in xs.enumerated() { try value(x, path: "\(path)[\(i)]") }
            case let .record(r):
                tag(.record); u64(UInt64(r.keys.count))
                for (k, x) in zip(r.keys, r.values) { string(k); try value(x, path: "\(path).\(k)") }
            case let .range(r): tag(.range); i64(r.start); i64(r.end); i64(r.step)
            case let .tensor(t):
                tag(.tensor); u64(UInt64(t.shape.count))
                for d in t.shape { i64(d) }
                t.withUnsafeBufferPointer { buf in
                    if littleEndianHost {
                        data.append(UnsafeBufferPointer(start: UnsafeRawPointer(buf.baseAddress)?.assumingMemoryBound(to: UInt8.self),
                                                        count: buf.count * 4))
                    } else {
                        for x in buf { withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
                    }
                }
            case let .error(e):
                let s = e.error.span
                tag(.error); string(e.error.kind.rawValue); string(e.error.message); string(s?.file ?? "")
                i64(s?.line ?? 0); i64(s?.column ?? 0); i64(s?.length ?? 0)
            case .function, .object:
                throw Unserializable(typeName: v.typeName, path: path)
            }
        }
    }

    // MARK: Reading

    /// Reads the form back with bounds checks: damaged bytes give `Corrupt`, never a crash or a huge allocation.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        mutating func take(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
            guard n >= 0, n <= bytes.count - at else {
                throw Corrupt(reason: "\(what) at byte \(at) runs past the end (\(bytes.count) bytes)")
            }
            defer { at += n }
            return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + n)])
        }

        mutating func u8(_ what: String) throws -> UInt8 { try take(1, what)[0] }
        mutating func u64(_ what: String) throws -> UInt64 { UInt64(littleEndian: try take(8, what).loadUnaligned(as: UInt64.self)) }
        mutating func i64(_ what: String) throws -> Int { Int(Int64(bitPattern: try u64(what))) }
        /// A count of things each at least `unit` bytes long: one that could not fit in the rest is damage.
        mutating func count(_ what: String, unit: Int) throws -> Int {
            let n = try u64(what)
            guard n <= UInt64(bytes.count - at) / UInt64(max(unit, 1)) else {
                throw Corrupt(reason: "\(what) \(n) at byte \(at - 8) is more than the \(bytes.count - at) bytes left")
            }
            return Int(n)
        }
        mutating func string(_ what: String) throws -> String {
            let n = try count(what + " length", unit: 1)
            return String(decoding: try take(n, what), as: UTF8.self)
        }

        mutating func value(depth: Int) throws -> Value {
            guard depth < 10_000 else { throw Corrupt(reason: "values nested too deeply") }
            let start = at
            let t = try u8("tag")
            guard let tag = Tag(rawValue: t) else { throw Corrupt(reason: "unknown tag \(t) at byte \(start)") }
            switch tag {
            case .nil: return .nil
            case .bool:
                let b = try u8("bool")
                guard b <= 1 else { throw Corrupt(reason: "bool byte \(b) at byte \(start + 1)") }
                return .bool(b == 1)
            case .int: return .int(try i64("int"))
            case .float: return .float(Double(bitPattern: try u64("float")))
            case .string: return .string(try string("string"))
            case .list:
                let n = try count("list length", unit: 1)
                var xs: [Value] = []
                xs.reserveCapacity(n)
                for _ in 0..<n { xs.append(try value(depth: depth + 1)) }
                return .list(xs)
            case .record:
                let n = try count("record size", unit: 9)
                var keys: [String] = [], values: [Value] = []
                for _ in 0..<n {
                    keys.append(try string("record key"))
                    values.append(try value(depth: depth + 1))
                }
                return .record(Record(keys: keys, values: values))
            case .range:
                return .range(RangeValue(start: try i64("range start"), end: try i64("range end"), step: try i64("range step")))
            case .tensor:
                let rank = try count("tensor rank", unit: 8)
                var shape: [Int] = []
                var elements = 1
                for _ in 0..<rank {
                    let d = try i64("tensor dimension")
                    let (m, overflow) = elements.multipliedReportingOverflow(by: d)
                    guard d >= 0, !overflow, m <= (bytes.count - at) / 4 else {
                        throw Corrupt(reason: "tensor shape \(shape + [d]) does not fit in the \(bytes.count - at) bytes left")
                    }
                    shape.append(d)
                    elements = m
                }
                let raw = try take(elements * 4, "tensor elements")
                var data = [Float](repeating: 0, count: elements)
                data.withUnsafeMutableBytes { $0.copyMemory(from: raw) }
                if !littleEndianHost { data = data.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) } }
                do { return .tensor(try Tensor(shape: shape, data: data)) } catch {
                    throw Corrupt(reason: "tensor at byte \(start): \(error)")
                }
            case .error:
                let kindName = try string("error kind")
                guard let kind = LoupeError.Kind(rawValue: kindName) else { throw Corrupt(reason: "unknown error kind '\(kindName)'") }
                let message = try string("error message"), file = try string("error file")
                let line = try i64("error line"), column = try i64("error column"), length = try i64("error length")
                let span = file.isEmpty ? nil : SourceSpan(file: file, line: line, column: column, length: length)
                return .error(ErrorValue(LoupeError(kind, message, at: span)))
            }
        }
    }
}
