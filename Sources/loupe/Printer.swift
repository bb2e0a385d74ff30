import Foundation
import LoupeLang
import LoupeLibrary
import LoupeTensor

/// How the REPL shows values: literal syntax, strings quoted, long lists and records cut after `maxItems` with a
/// count of what was left out, and anything that does not fit on one line of `width` columns laid out one element
/// per line. Tensors print numpy-style with their shape (Tensor.description).
struct Printer {
    var maxItems = 20
    var maxStringLength = 2000
    var width = 100
    /// Lists and records nested deeper than this print as [...] and {...}.
    var maxDepth = 40

    func format(_ value: Value) -> String {
        // A figure shows as a terminal sketch plus the path of its SVG (written to a file on first display).
        if case let .object(o) = value, let figure = o as? FigureObject { return figure.terminalDisplay(width: min(width, 100)) }
        return render(value, indent: 0)
    }

    /// The value on one line if it fits, else one element per line, indented.
    private func render(_ value: Value, indent: Int, level: Int = 0) -> String {
        let flat = oneLine(value, level: level)
        if !flat.contains("\n"), indent + flat.count <= width { return flat }
        let pad = String(repeating: " ", count: indent + 2)
        let close = String(repeating: " ", count: indent)
        switch value {
        case let .list(xs):
            var items = xs.prefix(maxItems).map { render($0, indent: indent + 2, level: level + 1) + "," }
            if xs.count > maxItems { items.append("... (\(xs.count - maxItems) more)") }
            // Short one-line items (numbers, names) fill each line; anything else goes one per line.
            if items.allSatisfy({ !$0.contains("\n") && $0.count <= 24 }) {
                var lines: [String] = [], line = ""
                for item in items {
                    if !line.isEmpty && indent + 2 + line.count + 1 + item.count > width {
                        lines.append(pad + line)
                        line = ""
                    }
                    line += (line.isEmpty ? "" : " ") + item
                }
                if !line.isEmpty { lines.append(pad + line) }
                return "[\n" + lines.joined(separator: "\n") + "\n" + close + "]"
            }
            return "[\n" + items.map { pad + $0 }.joined(separator: "\n") + "\n" + close + "]"
        case let .record(r):
            var lines = zip(r.keys, r.values).prefix(maxItems).map { key, v -> String in
                let k = Printer.fieldName(key) + ": "
                let flat = oneLine(v, level: level + 1)
                if !flat.contains("\n"), indent + 2 + k.count + flat.count <= width { return pad + k + flat + "," }
                // A tensor's rows line up under its first one; lists and records open a block of their own.
                if case .tensor = v { return pad + k + render(v, indent: indent + 2 + k.count, level: level + 1) + "," }
                return pad + k + render(v, indent: indent + 2, level: level + 1) + ","
            }
            if r.count > maxItems { lines.append(pad + "... (\(r.count - maxItems) more)") }
            return "{\n" + lines.joined(separator: "\n") + "\n" + close + "}"
        case let .tensor(t):
            // Continuation lines of a nested tensor line up under its first line.
            return t.description.replacingOccurrences(of: "\n", with: "\n" + close)
        default:
            return flat
        }
    }

    /// The one-line form, with the same truncation.
    private func oneLine(_ value: Value, level: Int) -> String {
        switch value {
        case .list where level >= maxDepth: return "[...]"
        case .record where level >= maxDepth: return "{...}"
        case let .list(xs):
            var items = xs.prefix(maxItems).map { oneLine($0, level: level + 1) }
            if xs.count > maxItems { items.append("... (\(xs.count - maxItems) more)") }
            return "[" + items.joined(separator: ", ") + "]"
        case let .record(r):
            var items = zip(r.keys, r.values).prefix(maxItems).map { "\(Printer.fieldName($0)): \(oneLine($1, level: level + 1))" }
            if r.count > maxItems { items.append("... (\(r.count - maxItems) more)") }
            return "{" + items.joined(separator: ", ") + "}"
        case let .string(s):
            if s.count > maxStringLength {
                let head = Value.string(String(s.prefix(maxStringLength))).repr
                return head + " ... (\(s.count - maxStringLength) more characters)"
            }
            return value.repr
        case let .function(f):
            return "<fn \(f.signature)>"
        default:
            return value.repr
        }
    }

    /// Record keys print bare when they are identifiers, quoted otherwise (as Value.repr does).
    static func fieldName(_ key: String) -> String {
        let isIdentifier = key.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } ?? false
            && key.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
        return isIdentifier ? key : Value.string(key).repr
    }

    /// A type description for `:type`: the type name, with the shape of a tensor and the signature of a function.
    static func typeDescription(_ value: Value) -> String {
        switch value {
        case let .tensor(t):
            return "tensor of shape [" + t.shape.map(String.init).joined(separator: ", ") + "]"
        case let .function(f):
            return "function " + f.signature
        case let .list(xs):
            return "list of \(xs.count) element\(xs.count == 1 ? "" : "s")"
        case let .record(r):
            return "record with field\(r.count == 1 ? "" : "s") " + (r.keys.isEmpty ? "(none)" : r.keys.map(fieldName).joined(separator: ", "))
        default:
            return value.typeName
        }
    }

    /// Wall time in the unit that suits it: 830 ns, 12.4 µs, 3.21 ms, 1.52 s, 2 min 3.4 s.
    static func duration(_ seconds: Double) -> String {
        if seconds < 1e-6 { return String(format: "%.0f ns", seconds * 1e9) }
        if seconds < 1e-3 { return String(format: "%.1f µs", seconds * 1e6) }
        if seconds < 1 { return String(format: "%.2f ms", seconds * 1e3) }
        if seconds < 60 { return String(format: "%.2f s", seconds) }
        let minutes = Int(seconds / 60)
        return String(format: "%d min %.1f s", minutes, seconds - Double(minutes) * 60)
    }
}
