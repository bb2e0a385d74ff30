import LoupeTensor

/// A Loupe value. Values are immutable: lists and records are never changed in place, so sharing is safe and a
/// notebook's dependency graph is exact.
public enum Value {
    case `nil`
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([Value])
    case record(Record)
    case range(RangeValue)
    case function(FunctionValue)
    case tensor(Tensor)
    case object(HostObject)
    case error(ErrorValue)

    /// The name users see in messages ("int", "string", "tensor", an object's type name...).
    public var typeName: String {
        switch self {
        case .nil: return "nil"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "string"
        case .list: return "list"
        case .record: return "record"
        case .range: return "range"
        case .function: return "function"
        case .tensor: return "tensor"
        case let .object(o): return o.typeName
        case .error: return "error"
        }
    }

    /// Only `false` and `nil` are falsy.
    @inline(__always)
    public var isTruthy: Bool {
        switch self {
        case .nil: return false
        case let .bool(b): return b
        default: return true
        }
    }
}

extension Value {
    /// A Float32 read out of a tensor, as the double with the same shortest decimal (0.7f gives 0.7, not
    /// 0.699999988079071), so values read back from tensors print as they were written.
    @inline(__always)
    public static func shortestDouble(_ x: Float) -> Double {
        if x == x.rounded(), Swift.abs(x) < 16_777_216 { return Double(x) }
        if !x.isFinite { return Double(x) }
        return Double(x.description) ?? Double(x)
    }
}

/// A record: named fields in insertion order.
public final class Record {
    public let keys: [String]
    public let values: [Value]
    private let index: [String: Int]

    public init(keys: [String], values: [Value]) {
        self.keys = keys
        self.values = values
        var idx: [String: Int] = [:]
        for (i, k) in keys.enumerated() { idx[k] = i }
        self.index = idx
    }

    public convenience init(_ fields: KeyValuePairs<String, Value>) {
        self.init(keys: fields.map(\.0), values: fields.map(\.1))
    }

    public subscript(key: String) -> Value? { index[key].map { values[$0] } }
    public var count: Int { keys.count }
}

/// `start..end by step`: the integers from start towards end (exclusive), lazily.
public struct RangeValue: Equatable {
    public let start: Int, end: Int, step: Int
    public init(start: Int, end: Int, step: Int = 1) { self.start = start; self.end = end; self.step = step }
    public var count: Int {
        // Unsigned arithmetic: the distance between two Ints always fits in a UInt, and huge steps cannot overflow.
        if step > 0 {
            guard end > start else { return 0 }
            let n = (UInt(bitPattern: end &- start) - 1) / UInt(step) + 1
            return n > UInt(Int.max) ? Int.max : Int(n)
        }
        guard start > end, step != 0 else { return 0 }
        let n = (UInt(bitPattern: start &- end) - 1) / step.magnitude + 1
        return n > UInt(Int.max) ? Int.max : Int(n)
    }
    public subscript(i: Int) -> Int { start &+ i &* step }
}

/// An error as a value (what `try ... else e { }` binds): its message, kind and where it happened.
public final class ErrorValue {
    public let error: LoupeError
    public init(_ error: LoupeError) { self.error = error }
}

/// Something from the host (a model, a dataset, a plot) that the language handles opaquely: it has named fields
/// and methods but no other structure the language knows about.
public protocol HostObject: AnyObject {
    /// The type name shown to users ("model", "dataset").
    var typeName: String { get }
    /// Names offered by tab completion after a dot, fields and methods together.
    var memberNames: [String] { get }
    /// The value of a field, or a method bound to this object as a function; nil if there is no such member.
    func member(_ name: String) -> Value?
    /// One-line summary for printing.
    var summary: String { get }
}
