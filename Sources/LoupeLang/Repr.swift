import Foundation

extension Value {
    /// How the REPL shows a value: strings quoted (JSON-escaped), lists and records in literal syntax.
    public var repr: String {
        switch self {
        case .nil: return "nil"
        case let .bool(b): return b ? "true" : "false"
        case let .int(i): return String(i)
        case let .float(d): return Value.formatFloat(d)
        case let .string(s): return Value.quote(s)
        case let .list(xs): return "[" + xs.map(\.repr).joined(separator: ", ") + "]"
        case let .record(r):
            return "{" + zip(r.keys, r.values).map { "\(Value.fieldName($0)): \($1.repr)" }.joined(separator: ", ") + "}"
        case let .range(r): return r.step == 1 ? "\(r.start)..\(r.end)" : "\(r.start)..\(r.end) by \(r.step)"
        case let .function(f): return "<fn \(f.name)>"
        case let .tensor(t): return t.description
        case let .object(o): return o.summary
        case let .error(e): return "<error: \(e.error.message)>"
        }
    }

    /// Shortest text that reads back as the same double, always with a '.', 'e', 'inf' or 'nan'.
    static func formatFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        let s = "\(d)"
        return s.contains(".") || s.contains("e") ? s : s + ".0"
    }

    /// A JSON string literal (which is also a Loupe string literal with the same value).
    static func quote(_ s: String) -> String {
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

    /// Record keys print bare when they are identifiers, quoted otherwise.
    static func fieldName(_ k: String) -> String {
        let ok = k.first.map { $0 == "_" || $0.isLetter } ?? false && k.allSatisfy { $0 == "_" || $0.isLetter || $0.isNumber }
        return ok ? k : quote(k)
    }
}
