import Foundation
import LoupeLang
import LoupeTensor

/// Turns Loupe values into bytes and back, exactly: ints as decimal text, floats and tensor elements by their bit
/// patterns, so a value served from the cache is the value that was computed.
///
/// The form is JSON with tagged arrays (`["f", "3ff0000000000000"]` for 1.0, `["t", [2, 3], "base64 of the
/// little-endian float32 bytes"]` for a tensor). Functions and host objects (a model, a figure) have no such form:
/// `encode` throws `ValueCodec.Unserializable`, and a cell that binds one is not cached (it reruns; see
/// docs/notebook.md, "The cache").
public enum ValueCodec {
    /// A value with no serial form, and where it was found ("m", "results[2].f").
    public struct Unserializable: Error, CustomStringConvertible {
        public let typeName: String
        public let path: String
        public var description: String { "\(path) is a \(typeName), which cannot be stored" }
    }

    /// A stored value that does not decode (a damaged cache entry).
    public struct Corrupt: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "stored value is damaged: \(reason)" }
    }

    /// The value as a JSON-compatible object (see `encode`).
    public static func toJSON(_ v: Value, path: String = "value") throws -> Any {
        switch v {
        case .nil: return NSNull()
        case let .bool(b): return b
        case let .int(i): return ["i", String(i)]
        case let .float(d): return ["f", String(d.bitPattern, radix: 16)]
        case let .string(s): return s
        case let .list(xs): return ["l", try xs.enumerated().map { try toJSON($1, path: "\(path)[\($0)]") }]
        case let .record(r):
            return ["r", r.keys, try zip(r.keys, r.values).map { try toJSON($1, path: "\(path).\($0)") }]
        case let .range(r): return ["g", String(r.start), String(r.end), String(r.step)]
        case let .tensor(t):
            return ["t", t.shape, tensorBytes(t).base64EncodedString()]
        case let .error(e):
            let s = e.error.span
            return ["e", e.error.kind.rawValue, e.error.message, s?.file ?? "", s?.line ?? 0, s?.column ?? 0, s?.length ?? 0]
        case .function, .object:
            throw Unserializable(typeName: v.typeName, path: path)
        }
    }

    public static func fromJSON(_ o: Any) throws -> Value {
        if o is NSNull { return .nil }
        if let s = o as? String { return .string(s) }
        if let arr = o as? [Any], let tag = arr.first as? String {
            func str(_ i: Int) throws -> String {
                guard i < arr.count, let s = arr[i] as? String else { throw Corrupt(reason: "field \(i) of '\(tag)'") }
                return s
            }
            func int(_ i: Int) throws -> Int {
                guard let n = Int(try str(i)) else { throw Corrupt(reason: "int field \(i) of '\(tag)'") }
                return n
            }
            switch tag {
            case "i": return .int(try int(1))
            case "f":
                guard let bits = UInt64(try str(1), radix: 16) else { throw Corrupt(reason: "float bits") }
                return .float(Double(bitPattern: bits))
            case "l":
                guard arr.count == 2, let xs = arr[1] as? [Any] else { throw Corrupt(reason: "list") }
                return .list(try xs.map(fromJSON))
            case "r":
                guard arr.count == 3, let keys = arr[1] as? [String], let vals = arr[2] as? [Any], keys.count == vals.count else {
                    throw Corrupt(reason: "record")
                }
                return .record(Record(keys: keys, values: try vals.map(fromJSON)))
            case "g": return .range(RangeValue(start: try int(1), end: try int(2), step: try int(3)))
            case "t":
                guard arr.count == 3, let shape = (arr[1] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                      let b64 = arr[2] as? String, let bytes = Data(base64Encoded: b64) else { throw Corrupt(reason: "tensor") }
                let count = shape.reduce(1, *)
                guard bytes.count == count * 4 else { throw Corrupt(reason: "tensor has \(bytes.count) bytes for shape \(shape)") }
                var data = [Float](repeating: 0, count: count)
                data.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { dst.copyMemory(from: $0) } }
                if !littleEndianHost { data = data.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) } }
                return .tensor(try Tensor(shape: shape, data: data))
            case "e":
                guard arr.count == 7, let kind = LoupeError.Kind(rawValue: try str(1)) else { throw Corrupt(reason: "error") }
                let file = try str(3)
                let nums = arr[4...6].compactMap { ($0 as? NSNumber)?.intValue }
                let span = file.isEmpty || nums.count != 3 ? nil : SourceSpan(file: file, line: nums[0], column: nums[1], length: nums[2])
                return .error(ErrorValue(LoupeError(kind, try str(2), at: span)))
            default:
                throw Corrupt(reason: "unknown tag '\(tag)'")
            }
        }
        // Numbers are always tagged, so a bare JSON number can only be a boolean.
        if let b = o as? Bool { return .bool(b) }
        throw Corrupt(reason: "unexpected \(type(of: o))")
    }

    static let littleEndianHost = 1.littleEndian == 1

    /// A tensor's elements as little-endian float32 bytes (one copy on little-endian hosts).
    static func tensorBytes(_ t: Tensor) -> Data {
        t.withUnsafeBufferPointer { buf in
            if littleEndianHost { return Data(buffer: buf) }
            var d = Data(capacity: buf.count * 4)
            for x in buf { withUnsafeBytes(of: x.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
            return d
        }
    }

    /// The value as bytes (JSON text of `toJSON`).
    public static func encode(_ v: Value, path: String = "value") throws -> Data {
        try JSONSerialization.data(withJSONObject: [try toJSON(v, path: path)], options: [.sortedKeys])
    }

    public static func decode(_ data: Data) throws -> Value {
        guard let arr = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? [Any], arr.count == 1 else {
            throw Corrupt(reason: "not a stored value")
        }
        return try fromJSON(arr[0])
    }

    /// A content hash of a value, or nil when it has no serial form.
    public static func hash(_ v: Value) -> String? {
        guard let data = try? encode(v) else { return nil }
        return SHA256.hex(data)
    }
}
