import Foundation

/// A value inside the Jinja interpreter, with Python's printing and truthiness (templates are written against
/// Python's jinja2, so `{{ [1, 'a'] }}` must print `[1, 'a']` and an empty string must be false).
indirect enum JinjaValue {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    /// Keys in insertion order (Python dicts keep it; `tojson` and `items()` show it).
    case dict(JinjaDict)
    /// `namespace(...)`: a mutable object shared by reference (so `{% set ns.x = ... %}` inside a loop is seen
    /// after it).
    case namespace(JinjaNamespace)
    /// A built-in function or bound method.
    case function(JinjaFunction)
    /// A template-defined macro.
    case macro(JinjaMacro)

    var isTruthy: Bool {
        switch self {
        case .undefined, .none: return false
        case let .bool(b): return b
        case let .int(i): return i != 0
        case let .double(d): return d != 0
        case let .string(s): return !s.isEmpty
        case let .array(a): return !a.isEmpty
        case let .dict(d): return !d.keys.isEmpty
        case .namespace, .function, .macro: return true
        }
    }

    /// `str(value)` as Python prints it inside `{{ }}`.
    var printed: String {
        switch self {
        case .undefined: return ""
        case let .string(s): return s
        default: return repr
        }
    }

    /// Python's `repr` (used for values inside printed lists and dicts).
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case let .bool(b): return b ? "True" : "False"
        case let .int(i): return String(i)
        case let .double(d): return JinjaValue.pythonFloat(d)
        case let .string(s): return JinjaValue.pythonStringRepr(s)
        case let .array(a): return "[" + a.map { $0.repr }.joined(separator: ", ") + "]"
        case let .dict(d): return "{" + d.keys.map { JinjaValue.pythonStringRepr($0) + ": " + d.values[$0]!.repr }
            .joined(separator: ", ") + "}"
        case .namespace: return "<Namespace>"
        case .function: return "<function>"
        case .macro: return "<macro>"
        }
    }

    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded() && abs(d) < 1e16 { return String(format: "%.1f", d) }
        return "\(d)"
    }

    static func pythonStringRepr(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for ch in s {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case quote: out += "\\" + String(quote)
            default: out.append(ch)
            }
        }
        out.append(quote)
        return out
    }

    /// `json.dumps(value, ensure_ascii=False)` (what Hugging Face's chat templating installs as `tojson`).
    func json(indent: Int?, level: Int = 0) -> String {
        let nl = indent.map { "\n" + String(repeating: " ", count: $0 * (level + 1)) }
        let close = indent.map { "\n" + String(repeating: " ", count: $0 * level) } ?? ""
        let itemSep = indent == nil ? ", " : ","
        switch self {
        case .undefined, .none: return "null"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .double(d): return JinjaValue.pythonFloat(d)
        case let .string(s): return JinjaValue.jsonString(s)
        case let .array(a):
            if a.isEmpty { return "[]" }
            return "[" + (nl ?? "") + a.map { $0.json(indent: indent, level: level + 1) }
                .joined(separator: itemSep + (nl ?? "")) + close + "]"
        case let .dict(d):
            if d.keys.isEmpty { return "{}" }
            return "{" + (nl ?? "") + d.keys.map { JinjaValue.jsonString($0) + ": "
                + d.values[$0]!.json(indent: indent, level: level + 1) }.joined(separator: itemSep + (nl ?? ""))
                + close + "}"
        case let .namespace(ns):
            return JinjaValue.dict(JinjaDict(ns.attributes)).json(indent: indent, level: level)
        case .function, .macro: return "null"
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// Converts Foundation values (from `JSONSerialization` or Swift literals) into template values.
    init(_ any: Any?) {
        switch any {
        case nil: self = .none
        case let v as JinjaValue: self = v
        case let s as String: self = .string(s)
        case let b as Bool: self = .bool(b)
        case let i as Int: self = .int(i)
        case let d as Double: self = .double(d)
        case let a as [Any?]: self = .array(a.map { JinjaValue($0) })
        case let d as [String: Any?]:
            self = .dict(JinjaDict(d.keys.sorted().map { ($0, JinjaValue(d[$0]!)) }))
        case is NSNull: self = .none
        default: self = .string("\(any!)")
        }
    }
}

/// An insertion-ordered string-keyed dictionary.
struct JinjaDict {
    var keys: [String] = []
    var values: [String: JinjaValue] = [:]

    init(_ pairs: [(String, JinjaValue)] = []) {
        for (k, v) in pairs { self[k] = v }
    }

    init(_ dict: [String: JinjaValue]) {
        for k in dict.keys.sorted() { self[k] = dict[k]! }
    }

    subscript(key: String) -> JinjaValue? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }
}

final class JinjaNamespace {
    var attributes: [String: JinjaValue]
    init(_ a: [String: JinjaValue]) { attributes = a }
}

/// A callable: positional arguments and keyword arguments.
struct JinjaFunction {
    let call: ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue
}

/// A `{% macro name(args) %}...{% endmacro %}` definition.
final class JinjaMacro {
    let name: String
    let parameters: [(String, JinjaExpr?)]
    let body: [JinjaNode]
    init(name: String, parameters: [(String, JinjaExpr?)], body: [JinjaNode]) {
        self.name = name
        self.parameters = parameters
        self.body = body
    }
}
