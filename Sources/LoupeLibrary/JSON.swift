import Foundation
import LoupeLang
import LoupeTensor

/// The `json` namespace: `json.parse(text)` and `json.stringify(value, indent:)`.
///
/// JSON numbers without a fraction or exponent become ints (floats when they do not fit 64 bits), others
/// floats; objects become records (fields in document order; a repeated key keeps its last value in the first
/// position). Stringify writes records as objects, ranges as arrays, tensors as nested arrays; nan and
/// infinity (which JSON cannot represent), functions and objects are errors.
enum JSONBuiltins {
    static func register(_ r: LibRegistrar) {
        r.registry.documentNamespace("json", "Reading and writing JSON text.")
        r.add("json", "parse", [Parameter("text", .string)], doc: """
              Parses JSON text into Loupe values: objects become records, arrays lists, integers ints.
              Errors give the line and column of the problem in the text.
              """) { a in
            var p = JSONParser(Array(try a.string("text").utf8))
            do { return try p.document() } catch let JSONParser.Failure.at(offset, message) {
                let (line, col) = p.position(offset)
                throw a.error("text", "is not valid JSON: \(message) at line \(line), column \(col)")
            }
        }

        r.add("json", "stringify", [Parameter("value"), Parameter("indent", .int, default: .nil, keywordOnly: true)], doc: """
              Writes a value as JSON text: compact, or pretty-printed with `indent:` spaces per level.
              Records become objects, ranges arrays, tensors nested arrays of numbers.
              """) { a in
            let indent = try a.optInt("indent")
            if let indent, indent < 0 || indent > 64 { throw a.error("indent", "must be between 0 and 64, got \(indent)") }
            var out = ""
            do { try write(a["value"], indent: indent, level: 0, into: &out) } catch let LibConvert.Problem.message(m) {
                throw a.error("value", m)
            }
            return .string(out)
        }
    }

    static func write(_ v: Value, indent: Int?, level: Int, into out: inout String) throws {
        func newline(_ l: Int) { if let indent { out += "\n" + String(repeating: " ", count: indent * l) } }
        func seq<S: Sequence>(_ items: S, open: String, close: String, _ each: (S.Element) throws -> Void) rethrows {
            out += open
            var first = true
            for x in items {
                if !first { out += "," }
                first = false
                newline(level + 1)
                try each(x)
            }
            if !first { newline(level) }
            out += close
        }
        switch v {
        case .nil: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .float(d):
            guard d.isFinite else { throw LibConvert.Problem.message("holds \(v.repr), which JSON cannot represent") }
            out += d == d.rounded() && Swift.abs(d) < 1e16 ? String(format: "%.1f", d) : "\(d)"
        case let .string(s): out += Value.string(s).repr
        case let .list(xs): try seq(xs, open: "[", close: "]") { try write($0, indent: indent, level: level + 1, into: &out) }
        case let .range(r): seq(0..<r.count, open: "[", close: "]") { out += String(r[$0]) }
        case let .record(rec):
            try seq(zip(rec.keys, rec.values), open: "{", close: "}") { k, x in
                out += Value.string(k).repr + (indent == nil ? ":" : ": ")
                try write(x, indent: indent, level: level + 1, into: &out)
            }
        case let .tensor(t):
            let nested = try LibConvert.list(from: t)
            if t.scalars.contains(where: { !$0.isFinite }) {
                throw LibConvert.Problem.message("holds a tensor with nan or infinity, which JSON cannot represent")
            }
            try writeTensor(nested, into: &out)
        default:  // functions, objects, errors (and any kind of value added later)
            throw LibConvert.Problem.message("holds a \(v.typeName), which JSON cannot represent")
        }
    }

    /// Tensors are written compactly (one line) whatever the indent: they are data, not structure.
    static func writeTensor(_ v: Value, into out: inout String) throws {
        switch v {
        case let .list(xs):
            out += "["
            for (i, x) in xs.enumerated() { if i > 0 { out += "," }; try writeTensor(x, into: &out) }
            out += "]"
        case let .float(d):
            let f = Float(d)
            out += f == f.rounded() && Swift.abs(f) < 1e7 ? String(format: "%.1f", d) : "\(f)"
        default: break
        }
    }
}

/// A strict RFC 8259 parser over UTF-8 bytes.
struct JSONParser {
    enum Failure: Error { case at(Int, String) }
    let bytes: [UInt8]
    var i = 0
    var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func position(_ offset: Int) -> (Int, Int) {
        var line = 1, col = 1
        var k = 0
        while k < Swift.min(offset, bytes.count) {
            if bytes[k] == 0x0A { line += 1; col = 1 } else if bytes[k] & 0xC0 != 0x80 { col += 1 }
            k += 1
        }
        return (line, col)
    }

    mutating func document() throws -> Value {
        let v = try value()
        skipSpace()
        guard i == bytes.count else { throw Failure.at(i, "unexpected text after the value") }
        return v
    }

    mutating func skipSpace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    mutating func value() throws -> Value {
        skipSpace()
        guard i < bytes.count else { throw Failure.at(i, "unexpected end of text") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            depth += 1
            guard depth <= 512 else { throw Failure.at(i, "nesting deeper than 512 levels") }
            i += 1
            var keys: [String] = [], values: [Value] = [], index: [String: Int] = [:]
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; depth -= 1; return .record(Record(keys: [], values: [])) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw Failure.at(i, "expected a string key") }
                let k = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw Failure.at(i, "expected ':'") }
                i += 1
                let v = try value()
                if let j = index[k] { values[j] = v } else { index[k] = keys.count; keys.append(k); values.append(v) }
                skipSpace()
                guard i < bytes.count else { throw Failure.at(i, "unexpected end of text in an object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                throw Failure.at(i, "expected ',' or '}'")
            }
            depth -= 1
            return .record(Record(keys: keys, values: values))
        case UInt8(ascii: "["):
            depth += 1
            guard depth <= 512 else { throw Failure.at(i, "nesting deeper than 512 levels") }
            i += 1
            var xs: [Value] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; depth -= 1; return .list([]) }
            while true {
                xs.append(try value())
                skipSpace()
                guard i < bytes.count else { throw Failure.at(i, "unexpected end of text in an array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                throw Failure.at(i, "expected ',' or ']'")
            }
            depth -= 1
            return .list(xs)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .nil
        default: return try number()
        }
    }

    mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw Failure.at(i, "unexpected character") }
        i += w.count
    }

    mutating func number() throws -> Value {
        let start = i
        func digits() -> Int { let s = i; while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }; return i - s }
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 else { throw Failure.at(start, "unexpected character") }
        if bytes[i] == 0x30 { i += 1 } else { _ = digits() }
        var isFloat = false
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1; isFloat = true
            guard digits() > 0 else { throw Failure.at(i, "expected a digit after '.'") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1; isFloat = true
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            guard digits() > 0 else { throw Failure.at(i, "expected a digit in the exponent") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if !isFloat, let n = Int(text) { return .int(n) }
        return .float(Double(text) ?? .nan)
    }

    mutating func string() throws -> String {
        let start = i
        i += 1
        var out = [UInt8]()
        while true {
            guard i < bytes.count else { throw Failure.at(start, "unterminated string") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; break }
            if b < 0x20 { throw Failure.at(i, "control character in a string") }
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw Failure.at(i, "unterminated escape") }
            let e = bytes[i]; i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800..<0xDC00).contains(code), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) { code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00) } else { i = save }
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out += Array(String(Character(scalar)).utf8)
            default: throw Failure.at(i - 1, "bad escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw Failure.at(i, "expected four hex digits after \\u")
        }
        i += 4
        return v
    }
}
