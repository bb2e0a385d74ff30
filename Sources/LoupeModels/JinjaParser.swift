import Foundation

/// An error in a chat template, at a line and column of its source (1-based).
public struct ChatTemplateError: Error, CustomStringConvertible, Equatable {
    public let line: Int
    public let column: Int
    public let message: String
    public var description: String { "chat template \(line):\(column): \(message)" }
}

// MARK: - Syntax tree

indirect enum JinjaExpr {
    case literal(JinjaValue)
    case name(String, Int)
    case list([JinjaExpr])
    case dict([(JinjaExpr, JinjaExpr)])
    case attribute(JinjaExpr, String, Int)
    case subscriptIndex(JinjaExpr, JinjaExpr, Int)
    case slice(JinjaExpr, JinjaExpr?, JinjaExpr?, JinjaExpr?, Int)
    case call(JinjaExpr, [JinjaExpr], [(String, JinjaExpr)], Int)
    case filter(JinjaExpr, String, [JinjaExpr], [(String, JinjaExpr)], Int)
    case test(JinjaExpr, String, [JinjaExpr], negated: Bool, Int)
    case unary(String, JinjaExpr, Int)
    case binary(String, JinjaExpr, JinjaExpr, Int)
    case ternary(cond: JinjaExpr, then: JinjaExpr, otherwise: JinjaExpr?)
}

indirect enum JinjaNode {
    case text(String)
    case output(JinjaExpr)
    case ifChain([(JinjaExpr, [JinjaNode])], otherwise: [JinjaNode])
    case forLoop(targets: [String], iterable: JinjaExpr, filter: JinjaExpr?, body: [JinjaNode], otherwise: [JinjaNode],
                 pos: Int)
    case set(target: [String], attribute: String?, value: JinjaExpr, pos: Int)
    case setBlock(name: String, body: [JinjaNode])
    case macro(JinjaMacro)
    case callBlock
}

// MARK: - Lexer

struct JinjaToken {
    enum Kind: Equatable { case name, string, int, double, op, end }
    let kind: Kind
    let text: String
    let pos: Int      // character offset into the source
}

/// Splits a template into text and tags, applying `{%-`/`-%}` white-space control and Hugging Face's
/// `trim_blocks` + `lstrip_blocks` (a block tag's own line indentation and its newline do not print).
struct JinjaScanner {
    enum Piece { case text(String), output([JinjaToken], Int), statement([JinjaToken], Int) }

    let source: [Character]

    func pieces() throws -> [Piece] {
        var out: [Piece] = []
        var i = 0
        var text = ""
        var textStart = 0
        var stripNextLeading = false   // a `-%}`/`-}}` before this text
        var trimNewline = false        // trim_blocks after a block tag
        let n = source.count

        func flushText(stripTrailing: Bool, lstripBlock: Bool) {
            var t = Substring(text)
            // Jinja's `line_starting`: the text starts a line (template start, or the tag before it swallowed
            // a newline through trim_blocks or `-%}`).
            var lineStarting = textStart == 0
            if stripNextLeading {
                let stripped = t.prefix(while: { $0.isWhitespace })
                if stripped.contains(where: { $0.isNewline }) { lineStarting = true }
                t = t.dropFirst(stripped.count)
            }
            if trimNewline && t.first == "\n" { t = t.dropFirst(); lineStarting = true }
            if stripTrailing {
                while let l = t.last, l.isWhitespace { t = t.dropLast() }
            } else if lstripBlock {
                // lstrip_blocks: spaces and tabs between a line start and a block tag do not print.
                if let nl = t.lastIndex(of: "\n") {
                    if t[t.index(after: nl)...].allSatisfy({ $0 == " " || $0 == "\t" }) { t = t[...nl] }
                } else if lineStarting && t.allSatisfy({ $0 == " " || $0 == "\t" }) {
                    t = ""
                }
            }
            if !t.isEmpty { out.append(.text(String(t))) }
            text = ""
            stripNextLeading = false
            trimNewline = false
        }

        while i < n {
            if source[i] == "{" && i + 1 < n && (source[i + 1] == "{" || source[i + 1] == "%" || source[i + 1] == "#") {
                let kind = source[i + 1]
                let tagStart = i
                var j = i + 2
                let stripBefore = j < n && source[j] == "-"
                let plusBefore = j < n && source[j] == "+"
                if stripBefore || plusBefore { j += 1 }
                let closer: Character = kind == "{" ? "}" : (kind == "%" ? "%" : "#")
                // Find the closing tag, skipping string literals.
                var k = j
                var quote: Character? = nil
                while k < n {
                    let c = source[k]
                    if let q = quote {
                        if c == "\\" { k += 2; continue }
                        if c == q { quote = nil }
                    } else if kind != "#" && (c == "'" || c == "\"") {
                        quote = c
                    } else if c == closer && k + 1 < n && source[k + 1] == "}" {
                        break
                    }
                    k += 1
                }
                guard k < n else {
                    throw JinjaScanner.error(source, tagStart, "unclosed tag '{\(kind)'")
                }
                var innerEnd = k
                let stripAfter = innerEnd > j && source[innerEnd - 1] == "-"
                if stripAfter || (innerEnd > j && source[innerEnd - 1] == "+") { innerEnd -= 1 }
                let isBlock = kind != "{"
                flushText(stripTrailing: stripBefore, lstripBlock: isBlock && !plusBefore)
                let inner = String(source[j ..< innerEnd])
                if kind == "{" {
                    out.append(.output(try JinjaLexer.tokens(inner, base: j, source: source), tagStart))
                } else if kind == "%" {
                    let toks = try JinjaLexer.tokens(inner, base: j, source: source)
                    if toks.first?.text == "raw" {
                        // {% raw %} ... {% endraw %}: copy verbatim.
                        let rest = String(source[(k + 2)...])
                        guard let r = rest.range(of: #"\{%-?\s*endraw\s*-?%\}"#, options: .regularExpression) else {
                            throw JinjaScanner.error(source, tagStart, "'raw' without 'endraw'")
                        }
                        out.append(.text(String(rest[..<r.lowerBound])))
                        i = k + 2 + rest.distance(from: rest.startIndex, to: r.upperBound)
                        textStart = i
                        continue
                    }
                    out.append(.statement(toks, tagStart))
                }
                i = k + 2
                textStart = i
                stripNextLeading = stripAfter
                trimNewline = isBlock && !stripAfter
                continue
            }
            text.append(source[i])
            i += 1
        }
        flushText(stripTrailing: false, lstripBlock: false)
        return out
    }

    static func error(_ source: [Character], _ pos: Int, _ message: String) -> ChatTemplateError {
        var line = 1, col = 1
        for c in source[0 ..< min(pos, source.count)] {
            if c == "\n" { line += 1; col = 1 } else { col += 1 }
        }
        return ChatTemplateError(line: line, column: col, message: message)
    }
}

enum JinjaLexer {
    static func tokens(_ s: String, base: Int, source: [Character]) throws -> [JinjaToken] {
        let c = Array(s)
        var out: [JinjaToken] = []
        var i = 0
        while i < c.count {
            let ch = c[i]
            if ch.isWhitespace { i += 1; continue }
            let start = i
            if ch.isLetter || ch == "_" {
                while i < c.count && (c[i].isLetter || c[i].isNumber || c[i] == "_") { i += 1 }
                out.append(JinjaToken(kind: .name, text: String(c[start ..< i]), pos: base + start))
            } else if ch.isNumber {
                while i < c.count && (c[i].isNumber || c[i] == "_") { i += 1 }
                var isDouble = false
                if i + 1 < c.count && c[i] == "." && c[i + 1].isNumber {
                    isDouble = true
                    i += 1
                    while i < c.count && c[i].isNumber { i += 1 }
                }
                out.append(JinjaToken(kind: isDouble ? .double : .int,
                                      text: String(c[start ..< i]).replacingOccurrences(of: "_", with: ""),
                                      pos: base + start))
            } else if ch == "'" || ch == "\"" {
                i += 1
                var value = ""
                var closed = false
                while i < c.count {
                    if c[i] == "\\" && i + 1 < c.count {
                        let e = c[i + 1]
                        switch e {
                        case "n": value += "\n"
                        case "t": value += "\t"
                        case "r": value += "\r"
                        case "\\": value += "\\"
                        case "'": value += "'"
                        case "\"": value += "\""
                        default: value += "\\" + String(e)
                        }
                        i += 2
                        continue
                    }
                    if c[i] == ch { closed = true; i += 1; break }
                    value.append(c[i])
                    i += 1
                }
                guard closed else { throw JinjaScanner.error(source, base + start, "unterminated string literal") }
                out.append(JinjaToken(kind: .string, text: value, pos: base + start))
            } else {
                let two = i + 1 < c.count ? String(c[i ... i + 1]) : ""
                if ["==", "!=", "<=", ">=", "//", "**"].contains(two) {
                    out.append(JinjaToken(kind: .op, text: two, pos: base + start))
                    i += 2
                } else if "+-*/%~<>=()[]{}.,:|".contains(ch) {
                    out.append(JinjaToken(kind: .op, text: String(ch), pos: base + start))
                    i += 1
                } else {
                    throw JinjaScanner.error(source, base + start, "unexpected character '\(ch)'")
                }
            }
        }
        out.append(JinjaToken(kind: .end, text: "", pos: base + c.count))
        return out
    }
}

// MARK: - Parser

struct JinjaParser {
    let source: [Character]
    let pieces: [JinjaScanner.Piece]
    var index = 0

    init(source: String) throws {
        self.source = Array(source)
        pieces = try JinjaScanner(source: self.source).pieces()
    }

    func error(_ pos: Int, _ message: String) -> ChatTemplateError { JinjaScanner.error(source, pos, message) }

    /// Parses nodes until a statement whose first word is in `terminators` (returned, not consumed past).
    mutating func parseBlock(until terminators: Set<String>) throws -> (nodes: [JinjaNode], end: [JinjaToken]?, pos: Int) {
        var nodes: [JinjaNode] = []
        while index < pieces.count {
            let piece = pieces[index]
            index += 1
            switch piece {
            case let .text(t): nodes.append(.text(t))
            case let .output(toks, pos):
                var p = ExprParser(tokens: toks, source: source)
                let e = try p.parseExpression()
                try p.expectEnd(pos)
                nodes.append(.output(e))
            case let .statement(toks, pos):
                guard let word = toks.first, word.kind == .name else { throw error(pos, "empty statement") }
                if terminators.contains(word.text) { return (nodes, toks, pos) }
                nodes.append(try parseStatement(word.text, toks, pos))
            }
        }
        if !terminators.isEmpty {
            throw error(source.count, "missing '\(terminators.sorted().joined(separator: "' or '"))' at end of template")
        }
        return (nodes, nil, source.count)
    }

    mutating func parseStatement(_ word: String, _ toks: [JinjaToken], _ pos: Int) throws -> JinjaNode {
        var p = ExprParser(tokens: toks, source: source)
        p.index = 1
        switch word {
        case "if":
            var branches: [(JinjaExpr, [JinjaNode])] = []
            var cond = try p.parseExpression()
            try p.expectEnd(pos)
            while true {
                let (body, end, endPos) = try parseBlock(until: ["elif", "else", "endif"])
                branches.append((cond, body))
                guard let end = end else { throw error(pos, "'if' without 'endif'") }
                if end[0].text == "elif" {
                    var q = ExprParser(tokens: end, source: source)
                    q.index = 1
                    cond = try q.parseExpression()
                    try q.expectEnd(endPos)
                } else if end[0].text == "else" {
                    let (other, _, _) = try parseBlock(until: ["endif"])
                    return .ifChain(branches, otherwise: other)
                } else {
                    return .ifChain(branches, otherwise: [])
                }
            }
        case "for":
            var targets: [String] = []
            repeat {
                guard p.peek.kind == .name else { throw error(p.peek.pos, "expected a loop variable name") }
                targets.append(p.next().text)
            } while p.accept(",")
            guard p.acceptName("in") else { throw error(p.peek.pos, "expected 'in' in for loop") }
            let iterable = try p.parseTernaryFree()
            var filter: JinjaExpr? = nil
            if p.acceptName("if") { filter = try p.parseOr() }
            _ = p.acceptName("recursive")
            try p.expectEnd(pos)
            let (body, end, _) = try parseBlock(until: ["else", "endfor"])
            var other: [JinjaNode] = []
            if end?[0].text == "else" { other = try parseBlock(until: ["endfor"]).nodes }
            return .forLoop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: other, pos: pos)
        case "set":
            guard p.peek.kind == .name else { throw error(p.peek.pos, "expected a name after 'set'") }
            var names = [p.next().text]
            var attribute: String? = nil
            if p.accept(".") {
                guard p.peek.kind == .name else { throw error(p.peek.pos, "expected an attribute name") }
                attribute = p.next().text
            } else {
                while p.accept(",") { names.append(p.next().text) }
            }
            if p.peek.kind == .end {
                // {% set name %}...{% endset %}
                let (body, _, _) = try parseBlock(until: ["endset"])
                return .setBlock(name: names[0], body: body)
            }
            guard p.accept("=") else { throw error(p.peek.pos, "expected '=' in set") }
            let value = try p.parseExpression()
            try p.expectEnd(pos)
            return .set(target: names, attribute: attribute, value: value, pos: pos)
        case "macro":
            guard p.peek.kind == .name else { throw error(p.peek.pos, "expected a macro name") }
            let name = p.next().text
            var params: [(String, JinjaExpr?)] = []
            guard p.accept("(") else { throw error(p.peek.pos, "expected '(' after macro name") }
            if !p.accept(")") {
                repeat {
                    let pname = p.next().text
                    var dflt: JinjaExpr? = nil
                    if p.accept("=") { dflt = try p.parseExpression() }
                    params.append((pname, dflt))
                } while p.accept(",")
                guard p.accept(")") else { throw error(p.peek.pos, "expected ')' after macro parameters") }
            }
            try p.expectEnd(pos)
            let (body, _, _) = try parseBlock(until: ["endmacro"])
            return .macro(JinjaMacro(name: name, parameters: params, body: body))
        case "generation", "endgeneration":
            // Hugging Face's marker for assistant spans; it prints nothing.
            return .text("")
        default:
            throw error(pos, "unsupported statement '\(word)'")
        }
    }
}

/// Expression parser (Jinja's precedence: ternary < or < and < not < comparisons < + - < ~ < * / // % < unary <
/// ** < postfix (attribute, subscript, call) and filters).
struct ExprParser {
    let tokens: [JinjaToken]
    let source: [Character]
    var index = 0

    init(tokens: [JinjaToken], source: [Character]) {
        self.tokens = tokens
        self.source = source
    }

    var peek: JinjaToken { tokens[index] }
    mutating func next() -> JinjaToken { let t = tokens[index]; if index < tokens.count - 1 { index += 1 }; return t }
    mutating func accept(_ op: String) -> Bool {
        if peek.kind == .op && peek.text == op { index += 1; return true }
        return false
    }
    mutating func acceptName(_ name: String) -> Bool {
        if peek.kind == .name && peek.text == name { index += 1; return true }
        return false
    }
    func error(_ pos: Int, _ message: String) -> ChatTemplateError { JinjaScanner.error(source, pos, message) }
    func expectEnd(_ pos: Int) throws {
        if peek.kind != .end { throw error(peek.pos, "unexpected '\(peek.text)'") }
    }

    mutating func parseExpression() throws -> JinjaExpr {
        let e = try parseOr()
        if acceptName("if") {
            let cond = try parseOr()
            var other: JinjaExpr? = nil
            if acceptName("else") { other = try parseExpression() }
            return .ternary(cond: cond, then: e, otherwise: other)
        }
        return e
    }

    /// An expression without a trailing `if` (a for loop's iterable, where `if` starts the loop filter).
    mutating func parseTernaryFree() throws -> JinjaExpr { try parseOr() }

    mutating func parseOr() throws -> JinjaExpr {
        var l = try parseAnd()
        while peek.kind == .name && peek.text == "or" {
            let pos = next().pos
            l = .binary("or", l, try parseAnd(), pos)
        }
        return l
    }

    mutating func parseAnd() throws -> JinjaExpr {
        var l = try parseNot()
        while peek.kind == .name && peek.text == "and" {
            let pos = next().pos
            l = .binary("and", l, try parseNot(), pos)
        }
        return l
    }

    mutating func parseNot() throws -> JinjaExpr {
        if peek.kind == .name && peek.text == "not" {
            let pos = next().pos
            return .unary("not", try parseNot(), pos)
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> JinjaExpr {
        var l = try parseMath1()
        while true {
            let t = peek
            if t.kind == .op && ["==", "!=", "<", ">", "<=", ">="].contains(t.text) {
                index += 1
                l = .binary(t.text, l, try parseMath1(), t.pos)
            } else if t.kind == .name && t.text == "in" {
                index += 1
                l = .binary("in", l, try parseMath1(), t.pos)
            } else if t.kind == .name && t.text == "not" && tokens[index + 1].kind == .name
                        && tokens[index + 1].text == "in" {
                index += 2
                l = .unary("not", .binary("in", l, try parseMath1(), t.pos), t.pos)
            } else if t.kind == .name && t.text == "is" {
                index += 1
                let negated = acceptName("not")
                guard peek.kind == .name else { throw error(peek.pos, "expected a test name after 'is'") }
                let name = next().text
                var args: [JinjaExpr] = []
                if accept("(") {
                    if !accept(")") {
                        repeat { args.append(try parseExpression()) } while accept(",")
                        guard accept(")") else { throw error(peek.pos, "expected ')'") }
                    }
                } else if peek.kind == .string || peek.kind == .int || peek.kind == .double {
                    args.append(try parsePrimary())
                }
                l = .test(l, name, args, negated: negated, t.pos)
            } else {
                return l
            }
        }
    }

    mutating func parseMath1() throws -> JinjaExpr {
        var l = try parseConcat()
        while peek.kind == .op && (peek.text == "+" || peek.text == "-") {
            let t = next()
            l = .binary(t.text, l, try parseConcat(), t.pos)
        }
        return l
    }

    mutating func parseConcat() throws -> JinjaExpr {
        var l = try parseMath2()
        while peek.kind == .op && peek.text == "~" {
            let t = next()
            l = .binary("~", l, try parseMath2(), t.pos)
        }
        return l
    }

    mutating func parseMath2() throws -> JinjaExpr {
        var l = try parseUnary()
        while peek.kind == .op && ["*", "/", "//", "%"].contains(peek.text) {
            let t = next()
            l = .binary(t.text, l, try parseUnary(), t.pos)
        }
        return l
    }

    mutating func parseUnary() throws -> JinjaExpr {
        if peek.kind == .op && (peek.text == "-" || peek.text == "+") {
            let t = next()
            return .unary(t.text, try parseUnary(), t.pos)
        }
        var e = try parsePostfix(try parsePrimary())
        while peek.kind == .op && peek.text == "**" {
            let t = next()
            e = .binary("**", e, try parseUnary(), t.pos)
        }
        return try parseFilters(e)
    }

    mutating func parseFilters(_ base: JinjaExpr) throws -> JinjaExpr {
        var e = base
        while accept("|") {
            guard peek.kind == .name else { throw error(peek.pos, "expected a filter name after '|'") }
            let t = next()
            var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
            if accept("(") { (args, kwargs) = try parseArguments() }
            e = try parsePostfix(.filter(e, t.text, args, kwargs, t.pos))
        }
        return e
    }

    mutating func parseArguments() throws -> ([JinjaExpr], [(String, JinjaExpr)]) {
        var args: [JinjaExpr] = [], kwargs: [(String, JinjaExpr)] = []
        if accept(")") { return (args, kwargs) }
        repeat {
            if peek.kind == .name && tokens[index + 1].kind == .op && tokens[index + 1].text == "=" {
                let name = next().text
                index += 1
                kwargs.append((name, try parseExpression()))
            } else {
                args.append(try parseExpression())
            }
        } while accept(",")
        guard accept(")") else { throw error(peek.pos, "expected ')' after arguments") }
        return (args, kwargs)
    }

    mutating func parsePostfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var e = base
        while true {
            let t = peek
            if accept(".") {
                guard peek.kind == .name || peek.kind == .int else { throw error(peek.pos, "expected an attribute name") }
                e = .attribute(e, next().text, t.pos)
            } else if accept("[") {
                var parts: [JinjaExpr?] = [nil]
                var isSlice = false
                if !(peek.kind == .op && peek.text == ":") { parts[0] = try parseExpression() }
                while accept(":") {
                    isSlice = true
                    if (peek.kind == .op && (peek.text == ":" || peek.text == "]")) { parts.append(nil) } else {
                        parts.append(try parseExpression())
                    }
                }
                guard accept("]") else { throw error(peek.pos, "expected ']'") }
                if isSlice {
                    while parts.count < 3 { parts.append(nil) }
                    e = .slice(e, parts[0], parts[1], parts[2], t.pos)
                } else {
                    e = .subscriptIndex(e, parts[0]!, t.pos)
                }
            } else if accept("(") {
                let (args, kwargs) = try parseArguments()
                e = .call(e, args, kwargs, t.pos)
            } else {
                return e
            }
        }
    }

    mutating func parsePrimary() throws -> JinjaExpr {
        let t = next()
        switch t.kind {
        case .string:
            var s = t.text
            while peek.kind == .string { s += next().text }   // adjacent literals concatenate
            return .literal(.string(s))
        case .int: return .literal(.int(Int(t.text) ?? 0))
        case .double: return .literal(.double(Double(t.text) ?? 0))
        case .name:
            switch t.text {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(t.text, t.pos)
            }
        case .op:
            if t.text == "(" {
                let e = try parseExpression()
                if accept(",") {
                    var items = [e]
                    while !(peek.kind == .op && peek.text == ")") {
                        items.append(try parseExpression())
                        if !accept(",") { break }
                    }
                    guard accept(")") else { throw error(peek.pos, "expected ')'") }
                    return .list(items)
                }
                guard accept(")") else { throw error(peek.pos, "expected ')'") }
                return e
            }
            if t.text == "[" {
                var items: [JinjaExpr] = []
                while !accept("]") {
                    items.append(try parseExpression())
                    if !accept(",") { guard accept("]") else { throw error(peek.pos, "expected ']'") }; break }
                }
                return .list(items)
            }
            if t.text == "{" {
                var pairs: [(JinjaExpr, JinjaExpr)] = []
                while !accept("}") {
                    let k = try parseExpression()
                    guard accept(":") else { throw error(peek.pos, "expected ':' in dict literal") }
                    pairs.append((k, try parseExpression()))
                    if !accept(",") { guard accept("}") else { throw error(peek.pos, "expected '}'") }; break }
                }
                return .dict(pairs)
            }
            throw error(t.pos, "unexpected '\(t.text)'")
        case .end:
            throw error(t.pos, "unexpected end of expression")
        }
    }
}
