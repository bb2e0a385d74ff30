import Foundation
import LoupeLang

/// Python's format mini-language for the common cases, used by the `format` built-in:
/// `[[fill]align][sign][width][,][.precision][type]` with types `d f e g % s x b` (and none).
enum LibFormat {
    enum Problem: Error { case message(String) }

    struct Spec {
        var fill: Character = " ", align: Character? = nil, sign: Character = "-"
        var width = 0, comma = false, precision: Int? = nil, type: Character? = nil
    }

    static func parse(_ text: String) throws -> Spec {
        var spec = Spec()
        var cs = Array(text), i = 0
        let aligns: Set<Character> = ["<", ">", "^", "="]
        if cs.count >= 2, aligns.contains(cs[1]) { spec.fill = cs[0]; spec.align = cs[1]; i = 2 }
        else if let c = cs.first, aligns.contains(c) { spec.align = c; i = 1 }
        if i < cs.count, "+- ".contains(cs[i]) { spec.sign = cs[i]; i += 1 }
        if i < cs.count, cs[i] == "0", spec.align == nil { spec.fill = "0"; spec.align = "="; i += 1 }
        var w = ""
        while i < cs.count, cs[i].isASCII, cs[i].isNumber { w.append(cs[i]); i += 1 }
        if !w.isEmpty { guard let n = Int(w), n < 10_000 else { throw Problem.message("width \(w) is too large") }; spec.width = n }
        if i < cs.count, cs[i] == "," { spec.comma = true; i += 1 }
        if i < cs.count, cs[i] == "." {
            i += 1
            var p = ""
            while i < cs.count, cs[i].isASCII, cs[i].isNumber { p.append(cs[i]); i += 1 }
            guard let n = Int(p), n < 1000 else { throw Problem.message("bad precision in format spec \(Value.string(text).repr)") }
            spec.precision = n
        }
        if i < cs.count { spec.type = cs[i]; i += 1 }
        guard i == cs.count else { throw Problem.message("bad format spec \(Value.string(text).repr)") }
        if let t = spec.type, !"dfeg%sxbFEG".contains(t) {
            throw Problem.message("unknown format type '\(t)' in \(Value.string(text).repr)")
        }
        cs = []
        return spec
    }

    static func format(_ value: Value, spec text: String) throws -> String {
        let spec = try parse(text)
        var body: String
        var negative = false
        var numeric = true
        func fixed(_ d: Double, _ p: Int) -> String { String(format: "%.\(p)f", d) }
        switch (value, spec.type) {
        case (.string, nil), (.string, "s"):
            numeric = false
            body = LibConvert.text(value)
            if let p = spec.precision { body = String(body.prefix(p)) }
        case (_, "s"):
            numeric = false
            body = LibConvert.text(value)
            if let p = spec.precision { body = String(body.prefix(p)) }
        case let (.int(i), nil), let (.int(i), "d"):
            negative = i < 0
            body = i.magnitude.description
            if spec.comma { body = group(body) }
        case let (.int(i), "x"), let (.int(i), "b"):
            negative = i < 0
            body = String(i.magnitude, radix: spec.type == "x" ? 16 : 2)
        case (.float, "d"), (.float, "x"), (.float, "b"):
            throw Problem.message("format type '\(spec.type!)' needs an int, got float")
        case (.int, _), (.float, _), (.bool, "d"), (.bool, "f"):
            let d: Double
            switch value {
            case let .int(i): d = Double(i)
            case let .float(x): d = x
            case let .bool(b): d = b ? 1 : 0
            default: d = 0
            }
            negative = d < 0 || (d == 0 && d.sign == .minus && spec.type != nil)
            let m = Swift.abs(d)
            if m.isNaN { body = "nan"; negative = false }
            else if m.isInfinite { body = "inf" }
            else {
                switch spec.type {
                case "f", "F": body = fixed(m, spec.precision ?? 6)
                case "%": body = fixed(m * 100, spec.precision ?? 6) + "%"
                case "e", "E": body = String(format: "%.\(spec.precision ?? 6)e", m)
                case "g", "G": body = String(format: "%.\(Swift.max(1, spec.precision ?? 6))g", m)
                default:
                    if let p = spec.precision { body = String(format: "%.\(Swift.max(1, p))g", m) }
                    else { body = Value.float(m).repr }
                }
                if spec.type == "E" || spec.type == "G" { body = body.uppercased() }
                if spec.comma {
                    let parts = body.split(separator: ".", maxSplits: 1)
                    if let intPart = parts.first, intPart.allSatisfy(\.isNumber) {
                        body = group(String(intPart)) + (parts.count > 1 ? "." + parts[1] : "")
                    }
                }
            }
        default:
            if spec.type != nil { throw Problem.message("format type '\(spec.type!)' needs a number, got \(value.typeName)") }
            numeric = false
            body = LibConvert.text(value)
        }
        var sign = ""
        if numeric {
            if negative { sign = "-" } else if spec.sign == "+" { sign = "+" } else if spec.sign == " " { sign = " " }
        }
        let len = sign.count + body.count
        let pad = Swift.max(0, spec.width - len)
        let fill = String(spec.fill)
        switch spec.align ?? (numeric ? ">" : "<") {
        case "<": return sign + body + String(repeating: fill, count: pad)
        case "^": return String(repeating: fill, count: pad / 2) + sign + body + String(repeating: fill, count: pad - pad / 2)
        case "=": return sign + String(repeating: fill, count: pad) + body
        default: return String(repeating: fill, count: pad) + sign + body
        }
    }

    /// "1234567" -> "1,234,567"
    static func group(_ digits: String) -> String {
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0, i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }
}
