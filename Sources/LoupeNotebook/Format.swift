import Foundation

/// A parsed `.nb` notebook (docs/notebook.md): front matter, prose and cells, each keeping its exact source text,
/// so `text` gives back the bytes that were parsed.
public struct Notebook {
    /// The file the notebook came from (for messages); "" when parsed from a string.
    public var path: String
    /// The whole file, as read.
    public let source: String
    public let frontMatter: FrontMatter
    /// Everything after the front matter, in order.
    public let blocks: [Block]

    /// One piece of the body.
    public enum Block {
        /// Markdown text (other fenced blocks, such as ```python, are prose too).
        case prose(String)
        case cell(Cell)
    }

    /// The cells in source order.
    public var cells: [Cell] { blocks.compactMap { if case let .cell(c) = $0 { return c } else { return nil } } }

    /// The notebook printed back: the front matter's text, then every block's, byte for byte.
    public var text: String {
        var out = frontMatter.raw
        for b in blocks {
            switch b {
            case let .prose(p): out += p
            case let .cell(c): out += c.raw
            }
        }
        return out
    }

    /// The notebook's name: the file name without `.nb`.
    public var name: String {
        let file = (path as NSString).lastPathComponent
        return file.hasSuffix(".nb") ? String(file.dropLast(3)) : (file.isEmpty ? "notebook" : file)
    }

    /// Reads and parses a notebook file.
    public static func load(_ path: String) throws -> Notebook {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw NotebookError(.io, "cannot read notebook: no such file", file: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw NotebookError(.io, "cannot read notebook: not UTF-8 text", file: path)
        }
        return try parse(text, path: path)
    }

    /// Parses notebook text. Errors name `path:line`.
    public static func parse(_ text: String, path: String = "") throws -> Notebook {
        try NotebookParser(text: text, path: path).parse()
    }
}

/// A code cell: a fenced block tagged `loupe`.
public struct Cell {
    /// 1-based index among the notebook's cells.
    public let index: Int
    /// Line of the opening fence (1-based).
    public let line: Int
    /// The code between the fences (lines joined with "\n", a final newline included when there was one).
    public let code: String
    public let options: CellOptions
    /// The fence lines and the code, exactly as in the file.
    public let raw: String

    /// Line of the first line of code.
    public var codeLine: Int { line + 1 }

    /// A stable identity that does not depend on where the cell is: its name, or a hash of its code.
    public var stableID: String {
        if let n = options.name { return n }
        return "sha256:" + SHA256.hex(Data(code.trimmingCharacters(in: .whitespacesAndNewlines).utf8)).prefix(16)
    }

    /// How messages name the cell: `cell 'setup' (line 12)` or `cell 3 (line 30)`.
    public var label: String {
        if let n = options.name { return "cell '\(n)' (line \(line))" }
        return "cell \(index) (line \(line))"
    }
}

/// Options on a cell's fence line: ```` ```loupe name=setup caption="Loss curve" cache=false timeout=30 hide ````
public struct CellOptions: Equatable {
    /// A name for the cell (its random stream and cache entry follow it when the cell moves or changes).
    public var name: String?
    /// Caption for the cell's figures.
    public var caption: String?
    /// false: always run, never served from the cache.
    public var cache = true
    /// Seconds the cell may run before it is stopped (nil: no limit).
    public var timeout: Double?
    /// Hide the code in the report (the output is still shown).
    public var hide = false

    public static let known = ["name", "caption", "cache", "timeout", "hide"]
}

/// The `---` block at the top: `title`, `seed`, `tolerance` (snapshot float tolerance) and `params`.
public struct FrontMatter {
    /// The block's exact text, fences included ("" when there is none).
    public var raw = ""
    public var title: String?
    /// Seeds every cell's random stream (default 0).
    public var seed: UInt64 = 0
    /// Relative and absolute tolerance for comparing numbers with a snapshot (default 1e-6).
    public var tolerance: Double = 1e-6
    /// Parameters with typed defaults, in the order written.
    public var params: [Param] = []

    public static let knownKeys = ["title", "seed", "tolerance", "params"]
}

/// A notebook parameter: visible to cells as `params.NAME`, overridable with `-P NAME=VALUE`.
public struct Param: Equatable {
    public let name: String
    public let value: ParamValue
    /// Line in the notebook where it is declared.
    public let line: Int
}

/// A parameter's value; its type is the default's type.
public enum ParamValue: Equatable, CustomStringConvertible {
    case int(Int)
    case float(Double)
    case bool(Bool)
    case string(String)

    public var typeName: String {
        switch self {
        case .int: return "int"
        case .float: return "float"
        case .bool: return "bool"
        case .string: return "string"
        }
    }

    /// As written in front matter (strings quoted).
    public var description: String {
        switch self {
        case let .int(i): return String(i)
        case let .float(d): return ParamValue.format(d)
        case let .bool(b): return b ? "true" : "false"
        case let .string(s): return ParamValue.quote(s)
        }
    }

    static func format(_ d: Double) -> String {
        let s = "\(d)"
        return s
    }

    static func quote(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data()
        let arr = String(decoding: data, as: UTF8.self)
        return String(arr.dropFirst().dropLast())
    }

    /// Parses a front-matter scalar: an int, a float, true/false, a "quoted" string or a bare word.
    static func parseLiteral(_ text: String) -> ParamValue? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.isEmpty { return nil }
        if t == "true" { return .bool(true) }
        if t == "false" { return .bool(false) }
        if let i = Int(t) { return .int(i) }
        if t.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true, let d = Double(t), d.isFinite {
            return .float(d)
        }
        if t.hasPrefix("\"") {
            guard t.count >= 2, t.hasSuffix("\""),
                  let data = "[\(t)]".data(using: .utf8),
                  let arr = try? JSONSerialization.jsonObject(with: data) as? [String], arr.count == 1 else { return nil }
            return .string(arr[0])
        }
        if t.hasPrefix("'") || t.hasPrefix("[") || t.hasPrefix("{") { return nil }
        return .string(t)
    }

    /// Parses a command-line override typed by this default's type; nil when it does not fit.
    public func parseOverride(_ text: String) -> ParamValue? {
        switch self {
        case .int: return Int(text).map(ParamValue.int)
        case .float:
            guard let d = Double(text), d.isFinite else { return nil }
            return .float(d)
        case .bool:
            switch text {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return nil
            }
        case .string:
            if text.hasPrefix("\""), case let .string(s)? = ParamValue.parseLiteral(text) { return .string(s) }
            return .string(text)
        }
    }
}

/// Splits text into lines that keep their terminators, so joining them gives the text back.
func splitLinesKeepingEnds(_ text: String) -> [Substring] {
    var out: [Substring] = []
    var start = text.startIndex
    var i = text.startIndex
    while i < text.endIndex {
        // "\r\n" is one Character in Swift, so this also keeps CRLF endings whole.
        if text[i] == "\n" || text[i] == "\r\n" {
            let next = text.index(after: i)
            out.append(text[start..<next])
            start = next
            i = next
        } else {
            i = text.index(after: i)
        }
    }
    if start < text.endIndex { out.append(text[start...]) }
    return out
}

/// A line without its terminator.
func stripEnd(_ line: Substring) -> Substring {
    var l = line
    while let c = l.last, c == "\n" || c == "\r\n" || c == "\r" { l = l.dropLast() }
    return l
}

struct NotebookParser {
    let text: String
    let path: String

    func error(_ line: Int, _ message: String, column: Int? = nil) -> NotebookError {
        NotebookError(.format, message, file: path, line: line, column: column)
    }

    func parse() throws -> Notebook {
        let lines = splitLinesKeepingEnds(text)
        var i = 0
        var front = FrontMatter()
        if let first = lines.first, stripEnd(first) == "---" {
            var j = 1
            while j < lines.count, stripEnd(lines[j]) != "---" { j += 1 }
            guard j < lines.count else {
                throw error(1, "front matter: the '---' block opened here is never closed (add a line '---' after it)")
            }
            front = try parseFrontMatter(Array(lines[1..<j]), firstLine: 2)
            front.raw = lines[0...j].joined()
            i = j + 1
        }
        var blocks: [Notebook.Block] = []
        var prose = ""
        var cellCount = 0
        var names: [String: Int] = [:]
        while i < lines.count {
            let line = stripEnd(lines[i])
            let stripped = line.drop { $0 == " " }
            guard line.count - stripped.count <= 3, let fence = Self.fenceRun(stripped) else {
                prose += lines[i]
                i += 1
                continue
            }
            let info = stripped.dropFirst(fence.count).trimmingCharacters(in: .whitespaces)
            let lang = info.prefix { !$0.isWhitespace }
            // Find the closing fence: the same character, at least as long, nothing else on the line.
            var j = i + 1
            while j < lines.count {
                let l = stripEnd(lines[j]).drop { $0 == " " }
                if let run = Self.fenceRun(l), run.first == fence.first, run.count >= fence.count,
                   l.dropFirst(run.count).allSatisfy({ $0 == " " || $0 == "\t" }) { break }
                j += 1
            }
            guard j < lines.count else {
                throw error(i + 1, "unterminated fence: the \(fence) block opened here has no closing \(fence)")
            }
            if lang != "loupe" {
                prose += lines[i...j].joined()
                i = j + 1
                continue
            }
            if !prose.isEmpty { blocks.append(.prose(prose)); prose = "" }
            let optionText = String(info.dropFirst(lang.count))
            let afterFence = stripped.dropFirst(fence.count)
            let gap = afterFence.prefix { $0 == " " || $0 == "\t" }.count
            let optionColumn = (line.count - stripped.count) + fence.count + gap + lang.count + 1
            let options = try parseOptions(optionText, line: i + 1, column: optionColumn)
            if let n = options.name {
                if let other = names[n] {
                    throw error(i + 1, "two cells are named '\(n)' (the other is at line \(other))")
                }
                names[n] = i + 1
            }
            cellCount += 1
            let code = lines[(i + 1)..<j].map { String(stripEnd($0)) + "\n" }.joined()
            blocks.append(.cell(Cell(index: cellCount, line: i + 1, code: code, options: options,
                                     raw: lines[i...j].joined())))
            i = j + 1
        }
        if !prose.isEmpty { blocks.append(.prose(prose)) }
        return Notebook(path: path, source: text, frontMatter: front, blocks: blocks)
    }

    /// The run of ``` or ~~~ (3 or more) a line starts with.
    static func fenceRun(_ s: Substring) -> Substring? {
        guard let c = s.first, c == "`" || c == "~" else { return nil }
        let run = s.prefix { $0 == c }
        return run.count >= 3 ? run : nil
    }

    // MARK: Front matter

    func parseFrontMatter(_ lines: [Substring], firstLine: Int) throws -> FrontMatter {
        var fm = FrontMatter()
        var inParams = false
        var seen = Set<String>()
        for (k, raw) in lines.enumerated() {
            let n = firstLine + k
            let line = String(stripEnd(raw))
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let indented = line.first == " " || line.first == "\t"
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw error(n, "front matter: expected 'key: value', got '\(trimmed)'")
            }
            let key = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
            let rest = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }),
                  key.first.map({ !$0.isNumber }) == true else {
                throw error(n, "front matter: '\(key)' is not a valid key (letters, digits and '_')")
            }
            if indented {
                guard inParams else {
                    throw error(n, "front matter: indented line '\(trimmed)' outside 'params:'")
                }
                guard !rest.isEmpty, let v = ParamValue.parseLiteral(rest) else {
                    throw error(n, "front matter: param '\(key)' needs a default value: an int, a float, true/false or a \"string\"")
                }
                if fm.params.contains(where: { $0.name == key }) {
                    throw error(n, "front matter: param '\(key)' is declared twice")
                }
                fm.params.append(Param(name: key, value: v, line: n))
                continue
            }
            inParams = false
            guard FrontMatter.knownKeys.contains(key) else {
                throw error(n, "front matter: unknown key '\(key)' (known: \(FrontMatter.knownKeys.joined(separator: ", ")))")
            }
            guard seen.insert(key).inserted else { throw error(n, "front matter: '\(key)' is given twice") }
            switch key {
            case "params":
                guard rest.isEmpty else {
                    throw error(n, "front matter: 'params:' takes indented 'name: default' lines below it, not a value")
                }
                inParams = true
            case "title":
                guard case let .string(s)? = ParamValue.parseLiteral(rest) else {
                    throw error(n, "front matter: 'title' must be text, got '\(rest)'")
                }
                fm.title = s
            case "seed":
                guard let s = UInt64(rest) else {
                    throw error(n, "front matter: 'seed' must be a non-negative integer, got '\(rest)'")
                }
                fm.seed = s
            case "tolerance":
                guard let t = Double(rest), t >= 0, t.isFinite else {
                    throw error(n, "front matter: 'tolerance' must be a non-negative number, got '\(rest)'")
                }
                fm.tolerance = t
            default:
                break
            }
        }
        return fm
    }

    // MARK: Cell options

    func parseOptions(_ text: String, line: Int, column: Int) throws -> CellOptions {
        var o = CellOptions()
        let chars = Array(text)
        var i = 0
        var seen = Set<String>()
        while i < chars.count {
            if chars[i] == " " || chars[i] == "\t" { i += 1; continue }
            let start = i
            while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "-" { i += 1 }
            let key = String(chars[start..<i])
            let col = column + start
            guard !key.isEmpty else {
                throw error(line, "cell option: unexpected '\(chars[i])'", column: col)
            }
            var value: String?
            if i < chars.count, chars[i] == "=" {
                i += 1
                if i < chars.count, chars[i] == "\"" {
                    var j = i + 1
                    var escaped = false
                    while j < chars.count, escaped || chars[j] != "\"" {
                        escaped = !escaped && chars[j] == "\\"
                        j += 1
                    }
                    guard j < chars.count else {
                        throw error(line, "cell option '\(key)': unterminated string", column: column + i)
                    }
                    guard case let .string(s)? = ParamValue.parseLiteral(String(chars[i...j])) else {
                        throw error(line, "cell option '\(key)': invalid string", column: column + i)
                    }
                    value = s
                    i = j + 1
                } else {
                    let vs = i
                    while i < chars.count, chars[i] != " ", chars[i] != "\t" { i += 1 }
                    value = String(chars[vs..<i])
                }
            }
            guard CellOptions.known.contains(key) else {
                throw error(line, "unknown cell option '\(key)' (known: \(CellOptions.known.joined(separator: ", ")))", column: col)
            }
            guard seen.insert(key).inserted else { throw error(line, "cell option '\(key)' is given twice", column: col) }
            func bool() throws -> Bool {
                switch value {
                case nil, "true"?: return true
                case "false"?: return false
                default: throw error(line, "cell option '\(key)' must be true or false, got '\(value!)'", column: col)
                }
            }
            switch key {
            case "name":
                guard let v = value, !v.isEmpty,
                      v.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }) else {
                    throw error(line, "cell option 'name' needs a value of letters, digits, '_' or '-' (name=setup)", column: col)
                }
                o.name = v
            case "caption":
                guard let v = value else { throw error(line, "cell option 'caption' needs a value (caption=\"...\")", column: col) }
                o.caption = v
            case "cache": o.cache = try bool()
            case "hide": o.hide = try bool()
            case "timeout":
                guard let v = value, let t = Double(v), t > 0, t.isFinite else {
                    throw error(line, "cell option 'timeout' needs a positive number of seconds (timeout=30)", column: col)
                }
                o.timeout = t
            default: break
            }
        }
        return o
    }
}
