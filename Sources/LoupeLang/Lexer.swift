/// Turns source text into tokens, each with its span.
///
/// The lexer also decides which newlines end statements (docs/language.md §1): newlines inside `( )` and `[ ]`,
/// after a binary operator, `,`, `=`, `|>`, `->` or `{`, and before a line starting with `.`, `|>`, a binary
/// operator other than `-`/`+`, a closing bracket or `else` are dropped here, so the parser only ever sees
/// newlines that separate statements.

/// What a token is; operators and keywords carry their spelling in `Token.text`.
enum TokenKind: UInt8 {
    case ident, int, float, string, fstring, op, keyword, newline, eof
}

/// One piece of an f-string: literal text, or an expression with an optional format spec.
enum FStringPart {
    case text(String)
    case expr([Token], spec: String?, span: SourceSpan)
}

struct Token {
    var kind: TokenKind
    var text: String
    var span: SourceSpan
    var intValue: Int = 0
    var floatValue: Double = 0
    var stringValue: String = ""
    var parts: [FStringPart] = []

    /// Is this the operator or keyword `s`?
    @inline(__always) func isOp(_ s: String) -> Bool { (kind == .op || kind == .keyword) && text == s }
}

let keywords: Set<String> = ["let", "var", "fn", "if", "else", "for", "in", "while", "break", "continue", "return",
                             "import", "try", "true", "false", "nil", "and", "or", "not", "by", "as"]

/// Operators longest first, so that `**` wins over `*`.
private let operators: [String] = ["...", "..", "|>", "->", "**", "//", "==", "!=", "<=", ">=", "+=", "-=", "*=", "/=",
                                   "+", "-", "*", "/", "%", "@", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ":",
                                   ";", "."]

private let operatorScalars: [(String, [Unicode.Scalar])] = operators.map { ($0, Array($0.unicodeScalars)) }

/// Binary operators: a line ending in one continues, and a line starting with one (other than `-`/`+`) continues
/// the previous line.
private let binaryOps: Set<String> = ["+", "-", "*", "/", "//", "%", "**", "@", "==", "!=", "<", "<=", ">", ">=",
                                      "and", "or", "|>", "..", "by", "in"]

struct Lexer {
    private let chars: [Unicode.Scalar]
    private let file: String
    private var pos = 0
    private var line: Int
    private var col: Int
    private var tokens: [Token] = []
    /// Open brackets, to ignore newlines inside `( )` and `[ ]`.
    private var brackets: [Unicode.Scalar] = []

    init(_ source: String, file: String, line: Int = 1, column: Int = 1) {
        self.chars = Array(source.unicodeScalars)
        self.file = file
        self.line = line
        self.col = column
    }

    init(scalars: ArraySlice<Unicode.Scalar>, file: String, line: Int, column: Int) {
        self.chars = Array(scalars)
        self.file = file
        self.line = line
        self.col = column
    }

    static func tokenize(_ source: String, file: String) throws -> [Token] {
        var lexer = Lexer(source, file: file)
        return try lexer.run()
    }

    private func peek(_ k: Int = 0) -> Unicode.Scalar? { pos + k < chars.count ? chars[pos + k] : nil }

    private mutating func advance() -> Unicode.Scalar {
        let c = chars[pos]
        pos += 1
        if c == "\n" { line += 1; col = 1 } else { col += 1 }
        return c
    }

    private func span(_ l: Int, _ c: Int, _ len: Int) -> SourceSpan { SourceSpan(file: file, line: l, column: c, length: max(1, len)) }

    private func error(_ message: String, _ l: Int, _ c: Int, _ len: Int = 1) -> LoupeError {
        LoupeError(.syntax, message, at: span(l, c, len))
    }

    mutating func run() throws -> [Token] {
        while pos < chars.count {
            let c = chars[pos]
            let l = line, cl = col
            if c == " " || c == "\t" || c == "\r" { _ = advance(); continue }
            if c == "#" { while let d = peek(), d != "\n" { _ = advance() }; continue }
            if c == "\n" {
                _ = advance()
                if let top = brackets.last, top == "(" || top == "[" { continue }
                if tokens.last?.kind != .newline { tokens.append(Token(kind: .newline, text: "\n", span: span(l, cl, 1))) }
                continue
            }
            if isIdentStart(c) {
                if c == "f", peek(1) == "\"" {
                    _ = advance()
                    tokens.append(try fstring(l, cl))
                    continue
                }
                var s = ""
                while let d = peek(), isIdentStart(d) || isDigit(d) { s.unicodeScalars.append(advance()) }
                tokens.append(Token(kind: keywords.contains(s) ? .keyword : .ident, text: s, span: span(l, cl, s.unicodeScalars.count)))
                continue
            }
            if isDigit(c) { tokens.append(try number(l, cl)); continue }
            if c == "\"" {
                let s = try string(l, cl)
                var t = Token(kind: .string, text: "\"", span: span(l, cl, col - cl))
                t.stringValue = s
                tokens.append(t)
                continue
            }
            var matched: String?
            for (op, scalars) in operatorScalars where scalars[0] == c {
                var ok = true
                var k = 1
                while k < scalars.count { if peek(k) != scalars[k] { ok = false; break }; k += 1 }
                if ok { matched = op; break }
            }
            guard let op = matched else {
                throw error("unexpected character '\(Character(c))'", l, cl)
            }
            for _ in op.unicodeScalars { _ = advance() }
            switch op {
            case "(", "[", "{": brackets.append(op.unicodeScalars.first!)
            case ")", "]", "}": if !brackets.isEmpty { brackets.removeLast() }
            default: break
            }
            tokens.append(Token(kind: .op, text: op, span: span(l, cl, op.unicodeScalars.count)))
        }
        tokens.append(Token(kind: .eof, text: "end of input", span: span(line, col, 1)))
        return Lexer.dropContinuationNewlines(tokens)
    }

    /// Removes the newlines that do not end a statement (see the type's documentation).
    static func dropContinuationNewlines(_ tokens: [Token]) -> [Token] {
        var out: [Token] = []
        out.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() {
            if t.kind == .newline {
                guard let prev = out.last else { continue }
                if prev.kind == .newline { continue }
                if prev.kind == .op || prev.kind == .keyword {
                    if binaryOps.contains(prev.text) || [",", "=", "->", "{", "(", "[", "+=", "-=", "*=", "/=", ":", "not"].contains(prev.text) { continue }
                }
                let next = tokens[i + 1]
                if next.kind == .op || next.kind == .keyword {
                    if next.text != "-" && next.text != "+" && next.text != "in" && binaryOps.contains(next.text) { continue }
                    if [".", ")", "]", "}", "else", "by"].contains(next.text) { continue }
                }
                if next.kind == .eof { continue }
            }
            out.append(t)
        }
        return out
    }

    private func isIdentStart(_ c: Unicode.Scalar) -> Bool {
        (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_"
    }
    private func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    private mutating func number(_ l: Int, _ cl: Int) throws -> Token {
        var text = ""
        var digits = ""
        func len() -> Int { text.unicodeScalars.count }
        if peek() == "0", let x = peek(1), x == "x" || x == "X" || x == "b" || x == "B" {
            text.unicodeScalars.append(advance()); text.unicodeScalars.append(advance())
            let radix = (x == "x" || x == "X") ? 16 : 2
            while let d = peek(), d.properties.isASCIIHexDigit || d == "_" || isIdentStart(d) || isDigit(d) {
                text.unicodeScalars.append(advance())
                if d != "_" { digits.unicodeScalars.append(d) }
            }
            guard !digits.isEmpty, let v = Int(digits, radix: radix) else {
                if !digits.isEmpty, digits.allSatisfy({ $0.isHexDigit && (radix == 16 || $0 == "0" || $0 == "1") }) {
                    throw error("integer literal \(text) does not fit in 64 bits", l, cl, len())
                }
                throw error("malformed number '\(text)'", l, cl, len())
            }
            var t = Token(kind: .int, text: text, span: span(l, cl, len()))
            t.intValue = v
            return t
        }
        var isFloat = false
        func digitRun() {
            while let d = peek(), isDigit(d) || d == "_" {
                text.unicodeScalars.append(advance())
                if d != "_" { digits.unicodeScalars.append(d) }
            }
        }
        digitRun()
        if peek() == ".", let d = peek(1), isDigit(d) {
            isFloat = true
            text.unicodeScalars.append(advance()); digits += "."
            digitRun()
        }
        if let e = peek(), e == "e" || e == "E" {
            var k = 1
            if let s = peek(1), s == "+" || s == "-" { k = 2 }
            if let d = peek(k), isDigit(d) {
                isFloat = true
                for _ in 0..<k { let u = advance(); text.unicodeScalars.append(u); digits.unicodeScalars.append(u) }
                digitRun()
            }
        }
        if let d = peek(), isIdentStart(d) {
            while let d = peek(), isIdentStart(d) || isDigit(d) { text.unicodeScalars.append(advance()) }
            throw error("malformed number '\(text)'", l, cl, len())
        }
        if text.hasSuffix("_") { throw error("malformed number '\(text)'", l, cl, len()) }
        if isFloat {
            var t = Token(kind: .float, text: text, span: span(l, cl, len()))
            t.floatValue = Double(digits) ?? .nan
            return t
        }
        guard let v = Int(digits) else { throw error("integer literal \(text) does not fit in 64 bits", l, cl, len()) }
        var t = Token(kind: .int, text: text, span: span(l, cl, len()))
        t.intValue = v
        return t
    }

    /// Reads one escape after a backslash (which has been consumed): JSON's escapes exactly.
    private mutating func escape(into s: inout String, _ l: Int, _ cl: Int) throws {
        let el = line, ec = col - 1
        guard let e = peek() else { throw error("unterminated string", l, cl) }
        _ = advance()
        switch e {
        case "\"": s += "\""
        case "\\": s += "\\"
        case "/": s += "/"
        case "b": s += "\u{08}"
        case "f": s += "\u{0C}"
        case "n": s += "\n"
        case "r": s += "\r"
        case "t": s += "\t"
        case "u":
            var v = try hex4(el, ec)
            if v >= 0xD800 && v < 0xDC00, peek() == "\\", peek(1) == "u" {
                let save = (pos, line, col)
                _ = advance(); _ = advance()
                let lo = try hex4(el, ec)
                if lo >= 0xDC00 && lo < 0xE000 {
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                } else {
                    (pos, line, col) = save
                }
            }
            // A lone surrogate has no Unicode value; it becomes U+FFFD, as in most JSON decoders that produce text.
            s.unicodeScalars.append(Unicode.Scalar(v) ?? "\u{FFFD}")
        default:
            throw error("invalid escape '\\\(Character(e))' in string", el, ec, 2)
        }
    }

    private mutating func hex4(_ el: Int, _ ec: Int) throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard let d = peek(), let h = d.properties.isASCIIHexDigit ? UInt32(String(d), radix: 16) : nil else {
                throw error("invalid \\u escape: expected 4 hex digits", el, ec, 2)
            }
            _ = advance()
            v = v * 16 + h
        }
        return v
    }

    private mutating func string(_ l: Int, _ cl: Int) throws -> String {
        _ = advance()  // opening quote
        var s = ""
        while true {
            guard let c = peek(), c != "\n" else { throw error("unterminated string", l, cl) }
            _ = advance()
            if c == "\"" { return s }
            if c == "\\" { try escape(into: &s, l, cl); continue }
            s.unicodeScalars.append(c)
        }
    }

    private mutating func fstring(_ l: Int, _ cl: Int) throws -> Token {
        _ = advance()  // opening quote
        var parts: [FStringPart] = []
        var text = ""
        while true {
            guard let c = peek(), c != "\n" else { throw error("unterminated f-string", l, cl) }
            if c == "\"" { _ = advance(); break }
            if c == "\\" { _ = advance(); try escape(into: &text, l, cl); continue }
            if c == "}" {
                if peek(1) == "}" { _ = advance(); _ = advance(); text += "}"; continue }
                throw error("single '}' in f-string (write '}}' for a brace)", line, col)
            }
            if c == "{" {
                if peek(1) == "{" { _ = advance(); _ = advance(); text += "{"; continue }
                let bl = line, bc = col
                _ = advance()
                if !text.isEmpty { parts.append(.text(text)); text = "" }
                let el = line, ec = col
                let start = pos
                var depth = 0
                var specStart: Int?
                scan: while true {
                    guard let d = peek(), d != "\n" else { throw error("'{' in f-string is never closed", bl, bc) }
                    switch d {
                    case "(", "[", "{": depth += 1
                    case ")", "]": depth -= 1
                    case "}":
                        if depth == 0 { break scan }
                        depth -= 1
                    case ":" where depth == 0:
                        specStart = pos
                        while let x = peek(), x != "}", x != "\n", x != "\"" { _ = advance() }
                        continue scan
                    case "\"":
                        _ = advance()
                        while let x = peek(), x != "\"", x != "\n" { if x == "\\" { _ = advance() }; if peek() != nil { _ = advance() } }
                        if peek() == "\"" { _ = advance() }
                        continue scan
                    default: break
                    }
                    _ = advance()
                }
                let exprEnd = specStart ?? pos
                let spec = specStart.map { String(String.UnicodeScalarView(chars[($0 + 1)..<pos])) }
                _ = advance()  // closing }
                var sub = Lexer(scalars: chars[start..<exprEnd], file: file, line: el, column: ec)
                var toks = try sub.run()
                toks.removeAll { $0.kind == .newline }
                if toks.count == 1 { throw error("empty expression in f-string", bl, bc, 2) }
                parts.append(.expr(toks, spec: spec, span: span(bl, bc, max(2, exprEnd - start + 2))))
                continue
            }
            _ = advance()
            text.unicodeScalars.append(c)
        }
        if !text.isEmpty || parts.isEmpty { parts.append(.text(text)) }
        var t = Token(kind: .fstring, text: "f\"", span: span(l, cl, col - cl))
        t.parts = parts
        return t
    }
}
