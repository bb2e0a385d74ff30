import Foundation
import LoupeLang

// Inline values in prose: `{{ expr }}` or `{{ expr:spec }}` in Markdown text shows the value of an expression over
// the cells' names, formatted like an f-string field (`{{ rate:.1% }}`). A study states its headline numbers in
// its prose, and they stay true when the data, the model or a param changes.
//
// Stages, one function each: `expressions` finds them (outside code spans and fenced blocks), `check` parses them
// and resolves their names before anything runs, `evaluate` computes them after the run, `substitute` puts the
// results into the text.

/// One `{{ ... }}` in a prose block.
public struct ProseExpression: Sendable, Equatable {
    /// Position of the prose block in `Notebook.blocks`.
    public let block: Int
    /// Range of the whole `{{ ... }}` in the block's text.
    public let range: Range<String.Index>
    /// The code between the braces, trimmed; an f-string field (`expr` or `expr:spec`).
    public let source: String
    /// Line and column (1-based, in the notebook) of the opening `{{`, and column of the code.
    public let line: Int
    public let column: Int
    let sourceColumn: Int
}

/// What a prose expression gave: its text, or the error that stopped it.
public struct ProseValue: Sendable {
    public let expression: ProseExpression
    public let text: String?
    public let error: String?
}

public enum ProseInterpolation {
    // MARK: - Finding

    /// Every `{{ ... }}` in the notebook's prose, in source order. Code spans (`` `x` ``) and fenced blocks are left
    /// alone, and `\{{` is a literal. Throws a NotebookError for a `{{` not closed on its line, or an empty one.
    public static func expressions(in nb: Notebook) throws -> [ProseExpression] {
        var out: [ProseExpression] = []
        var line = 1 + nb.frontMatter.raw.reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
        for (b, block) in nb.blocks.enumerated() {
            switch block {
            case let .cell(c):
                line += c.raw.reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
            case let .prose(text):
                var fence: Substring?
                for l in splitLinesKeepingEnds(text) {
                    defer { line += 1 }
                    let trimmed = l.drop { $0 == " " }
                    if let f = fence {
                        if trimmed.hasPrefix(f) { fence = nil }
                        continue
                    }
                    if let run = NotebookParser.fenceRun(trimmed) ?? tildeRun(trimmed) { fence = run; continue }
                    out += try scanLine(l, block: b, line: line, file: nb.path)
                }
            }
        }
        return out
    }

    static func tildeRun(_ s: Substring) -> Substring? {
        let run = s.prefix { $0 == "~" }
        return run.count >= 3 ? run : nil
    }

    /// The expressions of one line of prose.
    static func scanLine(_ l: Substring, block: Int, line: Int, file: String) throws -> [ProseExpression] {
        var out: [ProseExpression] = []
        var i = l.startIndex
        var column = 1
        func advance() { i = l.index(after: i); column += 1 }
        while i < l.endIndex {
            let c = l[i]
            if c == "\\" {
                advance()
                if i < l.endIndex { advance() }
                continue
            }
            if c == "`" {
                // A code span: skip to the closing run of as many backticks (none: the backticks are literal).
                let run = l[i...].prefix { $0 == "`" }
                let afterOpen = run.endIndex
                var j = afterOpen
                var closed: String.Index?
                while j < l.endIndex {
                    if l[j] == "`" {
                        let r = l[j...].prefix { $0 == "`" }
                        if r.count == run.count { closed = r.endIndex; break }
                        j = r.endIndex
                    } else { j = l.index(after: j) }
                }
                let end = closed ?? afterOpen
                column += l[i..<end].count
                i = end
                continue
            }
            if c == "{", l.index(after: i) < l.endIndex, l[l.index(after: i)] == "{" {
                let open = i, openColumn = column
                advance(); advance()
                let codeStart = i, codeColumn = column
                var depth = 0
                var inString = false
                var close: String.Index?
                while i < l.endIndex, l[i] != "\n" {
                    let d = l[i]
                    if inString {
                        if d == "\\" { advance(); if i < l.endIndex { advance() }; continue }
                        if d == "\"" { inString = false }
                    } else if d == "\"" {
                        inString = true
                    } else if d == "(" || d == "[" || d == "{" {
                        depth += 1
                    } else if d == ")" || d == "]" {
                        depth -= 1
                    } else if d == "}" {
                        if depth == 0, l.index(after: i) < l.endIndex, l[l.index(after: i)] == "}" { close = i; break }
                        depth -= 1
                    }
                    advance()
                }
                guard let close else {
                    throw NotebookError(.format, "'{{' in prose is not closed by '}}' on the same line", file: file,
                                        line: line, column: openColumn)
                }
                let raw = l[codeStart..<close]
                let code = raw.trimmingCharacters(in: .whitespaces)
                guard !code.isEmpty else {
                    throw NotebookError(.format, "empty '{{ }}' in prose: put an expression between the braces", file: file,
                                        line: line, column: openColumn)
                }
                let lead = raw.prefix { $0 == " " || $0 == "\t" }.count
                advance(); advance()
                out.append(ProseExpression(block: block, range: open..<i, source: code, line: line, column: openColumn,
                                           sourceColumn: codeColumn + lead))
                continue
            }
            advance()
        }
        return out
    }

    // MARK: - Checking

    /// The expression as code: an f-string with one field, placed so that its line and column are the notebook's
    /// (when the code starts at column 4 or later; otherwise only the line is).
    static func code(_ e: ProseExpression) -> String {
        String(repeating: "\n", count: e.line - 1) + String(repeating: " ", count: max(0, e.sourceColumn - 4))
            + "f\"{" + e.source + "}\""
    }

    /// Parses every prose expression and resolves its names against the cells' definitions and the params: a
    /// syntax error or an unknown name is a NotebookError naming the line, before any cell runs. Returns the cell
    /// names each expression uses.
    @discardableResult
    public static func check(_ nb: Notebook, graph: DependencyGraph, interpreter: Interpreter) throws -> [[String]] {
        var external: [String: DefinitionKind] = [DependencyGraph.paramsName: .let]
        for defs in graph.definitions { for d in defs { external[d.name] = d.kind } }
        return try expressions(in: nb).map { e in
            let a: CodeAnalysis
            do { a = try interpreter.analyze(code(e), file: nb.path, external: external) } catch let err as LoupeError {
                throw NotebookError(.format, "in prose '{{ \(e.source) }}': \(err.message)", file: nb.path, line: e.line, column: e.column)
            }
            if let err = a.errors.first {
                throw NotebookError(.format, "in prose '{{ \(e.source) }}': \(err.message)", file: nb.path, line: e.line, column: e.column)
            }
            if let (name, _) = a.assignments.first {
                throw NotebookError(.format, "prose '{{ \(e.source) }}' assigns to '\(name)'; prose may only read names", file: nb.path,
                                    line: e.line, column: e.column)
            }
            return a.uses
        }
    }

    // MARK: - Evaluating

    /// Evaluates every prose expression after a run. A name served from the cache is decoded here if an
    /// expression reads it; an expression reading a name of a cell that failed or was skipped gives an error.
    public static func evaluate(_ run: NotebookRun, graph: DependencyGraph, interpreter: Interpreter) -> [ProseValue] {
        let nb = run.notebook
        let found: [ProseExpression], uses: [[String]]
        do {
            found = try expressions(in: nb)
            uses = try check(nb, graph: graph, interpreter: interpreter)
        } catch {
            return []
        }
        let savedOutput = interpreter.output
        interpreter.output = { _ in }
        defer { interpreter.output = savedOutput }
        var defined = Set<String>()
        return zip(found, uses).map { e, names in
            for name in names where !defined.contains(name) {
                guard let i = graph.definer[name] else { continue }
                let r = run.results[i]
                guard r.status == .computed || r.status == .cached else {
                    return ProseValue(expression: e, text: nil, error: "'\(name)' is not available: \(r.cell.label) \(r.status.rawValue)")
                }
                guard let v = r.bindings.first(where: { $0.name == name })?.value else {
                    return ProseValue(expression: e, text: nil, error: "'\(name)' is not available: \(r.cell.label) bound no value to it")
                }
                let mutable = graph.definitions[i].first { $0.name == name }?.kind == .var
                interpreter.define(name, v, mutable: mutable)
                defined.insert(name)
            }
            do {
                let v = try interpreter.run(code(e), file: nb.path)
                if case let .string(s) = v { return ProseValue(expression: e, text: s, error: nil) }
                return ProseValue(expression: e, text: v.display, error: nil)
            } catch let err as LoupeError {
                return ProseValue(expression: e, text: nil, error: err.rendered(source: nb.source))
            } catch {
                return ProseValue(expression: e, text: nil, error: "\(nb.path):\(e.line):\(e.column): error: \(error)")
            }
        }
    }

    // MARK: - Substituting

    /// The prose block's text with each of its expressions replaced by `render(value)`.
    public static func substitute(_ text: String, block: Int, values: [ProseValue], render: (ProseValue) -> String) -> String {
        let mine = values.filter { $0.expression.block == block }
        guard !mine.isEmpty else { return text }
        var out = ""
        var at = text.startIndex
        for v in mine {
            let r = v.expression.range
            guard r.lowerBound >= at, r.upperBound <= text.endIndex else { continue }
            out += text[at..<r.lowerBound]
            out += render(v)
            at = r.upperBound
        }
        out += text[at...]
        return out
    }

    /// Plain text of a value for Markdown and notebooks: the text, or a marked error.
    public static func plain(_ v: ProseValue) -> String {
        v.text ?? "[error: \(v.error?.split(separator: "\n").first.map(String.init) ?? "failed")]"
    }
}
