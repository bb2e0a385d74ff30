/// Parameters of a function, as declared (Loupe code) or registered (built-ins).
public struct Parameter {
    public let name: String
    /// The type a built-in expects; nil accepts anything.
    public let type: ValueType?
    /// The default value; nil means the argument is required.
    public let defaultValue: Value?
    /// Keyword-only parameters cannot be passed by position.
    public let keywordOnly: Bool

    public init(_ name: String, _ type: ValueType? = nil, default defaultValue: Value? = nil, keywordOnly: Bool = false) {
        self.name = name; self.type = type; self.defaultValue = defaultValue; self.keywordOnly = keywordOnly
    }
}

/// The types a built-in can ask for; argument errors are generated from them
/// ("metrics.ece: argument 'bins' must be an int, got string").
public indirect enum ValueType: CustomStringConvertible {
    case any, bool, int, float, number, string, list, record, tensor, function, object(String)
    /// A tensor, or a list of numbers / nested lists that converts to one.
    case tensorLike
    case optional(ValueType)
    case oneOf([ValueType])

    public var description: String {
        switch self {
        case .any: return "any value"
        case .bool: return "a bool"
        case .int: return "an int"
        case .float: return "a float"
        case .number: return "a number"
        case .string: return "a string"
        case .list: return "a list"
        case .record: return "a record"
        case .tensor: return "a tensor"
        case .function: return "a function"
        case let .object(name): return "a \(name)"
        case .tensorLike: return "a tensor or a list of numbers"
        case let .optional(t): return "\(t) or nil"
        case let .oneOf(ts): return ts.map(\.description).joined(separator: " or ")
        }
    }
}

/// A callable value: a Loupe closure or a built-in. Identity is its equality.
open class FunctionValue {
    /// Qualified name for messages and `:doc` ("metrics.ece", "entropy", "<lambda>").
    public let name: String
    public let parameters: [Parameter]
    /// Documentation shown by `:doc` (first line is the summary).
    public let doc: String
    /// 1 for Loupe closures, so that calls can take the fast path without a dynamic cast.
    final var kindTag: UInt8 = 0

    public init(name: String, parameters: [Parameter], doc: String) {
        self.name = name; self.parameters = parameters; self.doc = doc
    }

    /// `name(a, b = 3, *, key = nil)`-style signature for `:doc` and error messages.
    public var signature: String {
        let ps = parameters.map { p -> String in
            var s = p.name
            if let d = p.defaultValue { s += " = " + d.repr }
            return s
        }
        return "\(name)(\(ps.joined(separator: ", ")))"
    }
}
