import Foundation
import LoupeLang

/// Syntax highlighting of Loupe code as HTML spans, from the language's own lexer (so it agrees with what runs).
/// Classes: `k` keyword, `n` number or literal, `s` string, `c` comment, `o` operator, `f` a name being called.
enum Highlighter {
    static func html(_ code: String, interpreter: Interpreter) -> String {
        guard let tokens = interpreter.highlightTokens(code) else { return escapeHTML(code) }
        let lines = code.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        var byLine: [Int: [HighlightToken]] = [:]
        for t in tokens { byLine[t.line, default: []].append(t) }
        var out: [String] = []
        for (i, line) in lines.enumerated() {
            var html = ""
            var col = 1
            let toks = (byLine[i + 1] ?? []).sorted { $0.column < $1.column }
            for (k, t) in toks.enumerated() where t.column >= col && t.column <= line.count {
                html += escape(line, col, t.column)
                let end = min(line.count + 1, t.column + max(1, t.length))
                let text = escape(line, t.column, end)
                var cls: String?
                switch t.kind {
                case .keyword: cls = "k"
                case .number: cls = "n"
                case .string: cls = "s"
                case .comment: cls = "c"
                case .op: cls = "o"
                case .identifier:
                    // A name followed directly by "(" is a call.
                    if k + 1 < toks.count, toks[k + 1].kind == .op, toks[k + 1].column == end,
                       end <= line.count, line[end - 1] == "(" { cls = "f" }
                }
                html += cls.map { "<span class=\"\($0)\">\(text)</span>" } ?? text
                col = end
            }
            html += escape(line, col, line.count + 1)
            out.append(html)
        }
        return out.joined(separator: "\n")
    }

    /// Columns [from, to) of a line, escaped.
    private static func escape(_ line: [Unicode.Scalar], _ from: Int, _ to: Int) -> String {
        guard from < to, from >= 1 else { return "" }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: line[(from - 1)..<min(to - 1, line.count)])
        return escapeHTML(String(s))
    }
}
