import Foundation

/// Number printing that is the same on every platform and locale (no `String(format:)`, whose output follows the
/// C library): SVG coordinates with bounded precision, tick labels with a fixed number of decimals.
enum NumberFormat {
    /// `x` rounded to `decimals` places, every place written ("0.50"); negative zero prints as "0".
    static func fixed(_ x: Double, _ decimals: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "NaN" : (x > 0 ? "inf" : "-inf") }
        let d = max(0, min(decimals, 12))
        var scale = 1.0
        for _ in 0..<d { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        // Beyond 2^53 the digits are not exact anyway; Swift's shortest form is as good as any.
        guard scaled < 9e15 else { return "\(x)" }
        let n = UInt64(scaled)
        if n == 0 { return d == 0 ? "0" : "0." + String(repeating: "0", count: d) }
        var digits = String(n)
        if d > 0 {
            if digits.count <= d { digits = String(repeating: "0", count: d - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -d))
        }
        return (x < 0 ? "-" : "") + digits
    }

    /// A coordinate or size for SVG: at most two decimals, trailing zeros dropped ("12.5", "3", "-0.25").
    static func coordinate(_ x: Double) -> String {
        var s = fixed(x, 2)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }

    /// A value in a message or a preview: whole numbers without ".0", others at up to 4 significant decimals.
    static func plain(_ x: Double) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        let magnitude = abs(x) < 1e-300 ? 0 : Int(floor(log10(abs(x))))
        if magnitude < -4 || magnitude >= 15 { return exponent(x, significant: 3) }
        var s = fixed(x, max(0, 3 - magnitude))
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    /// "2.5e6", "1e-5": a mantissa with up to `significant` digits, trailing zeros dropped.
    static func exponent(_ x: Double, significant: Int) -> String {
        guard x != 0, x.isFinite else { return plain(x) }
        var e = Int(floor(log10(abs(x))))
        var m = x / pow(10, Double(e))
        // Rounding the mantissa can carry into the next power (9.999 -> 10.0).
        if abs((m * pow(10, Double(significant - 1))).rounded()) >= pow(10, Double(significant)) { m /= 10; e += 1 }
        var s = fixed(m, significant - 1)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s + "e" + String(e)
    }
}

/// Builds SVG text element by element. Attribute values and text are escaped here, so callers pass raw strings;
/// numbers go through `NumberFormat.coordinate` so the same figure always gives the same bytes.
struct SVGWriter {
    private(set) var text = ""
    private var depth = 0

    /// `s` safe inside XML text or a double-quoted attribute, in ASCII. Characters XML 1.0 forbids even when
    /// escaped (most C0 controls) become U+FFFD, and line breaks become "↵" (tabs "→") so a token such as "\n"
    /// stays visible in a label.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\r": out += "&#x21B5;"
            case "\t": out += "&#x2192;"
            default:
                let v = u.value
                if v < 0x20 || (0xFFFE...0xFFFF).contains(v) {
                    out += "&#xFFFD;"
                } else if v > 0x7E {
                    // Non-ASCII as character references: the SVG is pure ASCII, so it reads the same inlined in a
                    // page of any declared (or undeclared) encoding.
                    out += "&#x" + String(v, radix: 16, uppercase: true) + ";"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }

    static func num(_ x: Double) -> String { NumberFormat.coordinate(x) }

    private mutating func indent() { text += String(repeating: " ", count: depth) }

    private static func attributes(_ attrs: [(String, String)]) -> String {
        attrs.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
    }

    /// `<tag a="b">` and one level deeper.
    mutating func open(_ tag: String, _ attrs: [(String, String)] = []) {
        indent()
        text += "<\(tag)\(SVGWriter.attributes(attrs))>\n"
        depth += 1
    }

    mutating func close(_ tag: String) {
        depth -= 1
        indent()
        text += "</\(tag)>\n"
    }

    /// A self-closing element, or one holding escaped `content`.
    mutating func element(_ tag: String, _ attrs: [(String, String)], content: String? = nil) {
        indent()
        if let content {
            text += "<\(tag)\(SVGWriter.attributes(attrs))>\(SVGWriter.escape(content))</\(tag)>\n"
        } else {
            text += "<\(tag)\(SVGWriter.attributes(attrs))/>\n"
        }
    }

    /// A line of markup built by the caller (values already formatted, nothing to escape).
    mutating func raw(_ line: String) {
        indent()
        text += line + "\n"
    }

    /// A path's `d` from polyline points: "M x y L x y ...".
    static func polyline(_ points: [(Double, Double)]) -> String {
        var d = ""
        for (i, p) in points.enumerated() {
            d += (i == 0 ? "M" : " L") + num(p.0) + " " + num(p.1)
        }
        return d
    }
}

/// 64-bit FNV-1a, for ids derived from a figure's content (deterministic, unlike Swift's seeded `Hasher`).
func fnv1a(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf29ce484222325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
    return h
}
