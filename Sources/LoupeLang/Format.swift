import Foundation
import LoupeTensor

/// f-string format specs: Python's mini-language for the common cases,
/// `[[fill]align][sign][0][width][,][.precision][type]` with types `d f e g % s x b`.
enum FormatSpec {
    static func format(_ v: Value, _ spec: String, _ span: SourceSpan) throws -> String {
        func bad(_ why: String) -> LoupeError { LoupeError(.value, "bad format spec '\(spec)': \(why)", at: span) }
        var chars = Array(spec)
        var fill: Character = " ", align: Character?
        if chars.count >= 2, "<>^=".contains(chars[1]) { fill = chars[0]; align = chars[1]; chars.removeFirst(2) } else if let c = chars.first, "<>^=".contains(c) { align = c; chars.removeFirst() }
        var sign: Character = "-"
        if let c = chars.first, "+- ".contains(c) { sign = c; chars.removeFirst() }
        if chars.first == "0" && align == nil { fill = "0"; align = "="; chars.removeFirst() }
        var width = 0
        while let c = chars.first, let d = c.wholeNumberValue, c.isASCII { width = width * 10 + d; chars.removeFirst(); if width > 10_000 { throw bad("width too large") } }
        var grouping = false
        if chars.first == "," || chars.first == "_" { grouping = true; chars.removeFirst() }
        var precision: Int?
        if chars.first == "." {
            chars.removeFirst()
            var p = 0, any = false
            while let c = chars.first, let d = c.wholeNumberValue, c.isASCII { p = p * 10 + d; any = true; chars.removeFirst(); if p > 100 { throw bad("precision too large") } }
            if !any { throw bad("expected digits after '.'") }
            precision = p
        }
        var type: Character?
        if let c = chars.first { type = c; chars.removeFirst() }
        if !chars.isEmpty { throw bad("unexpected '\(String(chars))'") }

        var body: String
        var negative = false
        var numeric = true
        switch type {
        case "d":
            guard let i = intValue(v) else { throw bad("'d' needs an int, got \(v.typeName)") }
            negative = i < 0
            body = String(i.magnitude)
            if grouping { body = group(body) }
        case "x", "b":
            guard let i = intValue(v) else { throw bad("'\(type!)' needs an int, got \(v.typeName)") }
            negative = i < 0
            body = String(i.magnitude, radix: type == "x" ? 16 : 2)
        case "f", "e", "g", "%":
            guard var d = Ops.numeric(v) ?? tensorScalar(v) else { throw bad("'\(type!)' needs a number, got \(v.typeName)") }
            if type == "%" { d *= 100 }
            negative = d < 0 || (d == 0 && d.sign == .minus)
            let m = Swift.abs(d)
            let p = precision ?? 6
            if m.isNaN { body = "nan" } else if m.isInfinite { body = "inf" } else {
                switch type {
                case "f", "%": body = String(format: "%.\(p)f", m)
                case "e": body = String(format: "%.\(p)e", m)
                default: body = String(format: "%.\(max(p, 1))g", m)
                }
                if grouping && (type == "f" || type == "%") {
                    let parts = body.split(separator: ".", maxSplits: 1)
                    body = group(String(parts[0])) + (parts.count > 1 ? "." + parts[1] : "")
                }
            }
            if type == "%" { body += "%" }
        case "s":
            numeric = false
            body = v.display
            if let p = precision { body = String(body.prefix(p)) }
        case nil:
            switch v {
            case let .int(i):
                negative = i < 0; body = String(i.magnitude)
                if grouping { body = group(body) }
            case let .float(d):
                negative = d < 0 || (d == 0 && d.sign == .minus)
                if let p = precision { body = String(format: "%.\(max(p, 1))g", Swift.abs(d)) } else { body = Value.formatFloat(Swift.abs(d)) }
            default:
                numeric = false
                body = v.display
                if let p = precision { body = String(body.prefix(p)) }
            }
        default:
            throw bad("unknown type '\(type!)' (use d f e g % s x b)")
        }
        var signText = ""
        if numeric {
            if negative { signText = "-" } else if sign == "+" { signText = "+" } else if sign == " " { signText = " " }
        }
        let len = signText.count + body.count
        let pad = max(0, width - len)
        let a = align ?? (numeric ? ">" : "<")
        let padding = String(repeating: fill, count: pad)
        switch a {
        case "<": return signText + body + padding
        case "^":
            let left = String(repeating: fill, count: pad / 2), right = String(repeating: fill, count: pad - pad / 2)
            return left + signText + body + right
        case "=": return signText + padding + body
        default: return padding + signText + body
        }
    }

    private static func intValue(_ v: Value) -> Int? {
        switch v {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        case let .float(d): return d.rounded() == d && d.magnitude < 9.2e18 ? Int(d) : nil
        default: return nil
        }
    }

    private static func tensorScalar(_ v: Value) -> Double? {
        if case let .tensor(t) = v, t.count == 1 { return Double(t.scalars[0]) }
        return nil
    }

    private static func group(_ digits: String) -> String {
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }
}

extension Value {
    /// How print() and f-strings show a value: strings as they are, everything else as its repr.
    public var display: String {
        if case let .string(s) = self { return s }
        return repr
    }

    /// JSON for `loupe eval --json`: numbers, strings, lists, records as objects, tensors as nested lists,
    /// nil as null. Functions, objects and errors have no JSON form.
    public func json() throws -> String {
        var out = ""
        try writeJSON(into: &out)
        return out
    }

    private func writeJSON(into out: inout String) throws {
        switch self {
        case .nil: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .float(d):
            guard d.isFinite else { throw LoupeError(.value, "\(Value.formatFloat(d)) has no JSON form") }
            out += Value.formatFloat(d)
        case let .string(s): out += Value.quote(s)
        case let .list(xs):
            out += "["
            for (i, x) in xs.enumerated() { if i > 0 { out += ", " }; try x.writeJSON(into: &out) }
            out += "]"
        case let .record(r):
            out += "{"
            for (i, (k, v)) in zip(r.keys, r.values).enumerated() {
                if i > 0 { out += ", " }
                out += Value.quote(k) + ": "
                try v.writeJSON(into: &out)
            }
            out += "}"
        case let .range(r):
            out += "[" + (0..<r.count).map { String(r[$0]) }.joined(separator: ", ") + "]"
        case let .tensor(t):
            let data = t.scalars
            func emit(_ dim: Int, _ offset: Int, _ stride: Int) throws {
                if dim == t.rank {
                    let f = data[offset]
                    guard f.isFinite else { throw LoupeError(.value, "tensor element \(f) has no JSON form") }
                    out += "\(f)"
                    return
                }
                let inner = stride / max(t.shape[dim], 1)
                out += "["
                for i in 0..<t.shape[dim] { if i > 0 { out += ", " }; try emit(dim + 1, offset + i * inner, inner) }
                out += "]"
            }
            try emit(0, 0, t.count)
        case .function, .object, .error:
            throw LoupeError(.type, "a \(typeName) has no JSON form")
        }
    }
}
