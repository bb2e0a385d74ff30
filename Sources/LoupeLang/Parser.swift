/// Recursive-descent parser for the grammar of docs/language.md §2. It stops at the first syntax error, whose
/// message says what was expected and, for an unclosed bracket, where it was opened.
struct Parser {
    private var tokens: [Token]
    private var pos = 0
    private let file: String
    /// Nesting depth, bounded so that hostile input cannot exhaust the native stack.
    private var depth = 0
    static let maxNesting = 1000

    init(tokens: [Token], file: String) {
        self.tokens = tokens
        self.file = file
    }

    static func parse(_ source: String, file: String) throws -> [Stmt] {
        let tokens = try Lexer.tokenize(source, file: file)
        var p = Parser(tokens: tokens, file: file)
        return try p.program()
    }

    // MARK: Token helpers

    private var cur: Token { tokens[pos] }
    private func peekTok(_ k: Int = 1) -> Token { tokens[min(pos + k, tokens.count - 1)] }
    @discardableResult private mutating func advance() -> Token {
        let t = tokens[pos]
        if pos < tokens.count - 1 { pos += 1 }
        return t
    }
    private func at(_ s: String) -> Bool { cur.isOp(s) }
    private mutating func match(_ s: String) -> Bool {
        if at(s) { advance(); return true }
        return false
    }
    private func describe(_ t: Token) -> String {
        switch t.kind {
        case .eof: return "end of input"
        case .newline: return "end of line"
        case .string: return "a string"
        case .fstring: return "an f-string"
        case .int, .float: return "number \(t.text)"
        case .ident: return "'\(t.text)'"
        default: return "'\(t.text)'"
        }
    }
    private func error(_ message: String, _ t: Token? = nil) -> LoupeError {
        LoupeError(.syntax, message, at: (t ?? cur).span)
    }
    private mutating func expect(_ s: String, _ what: String) throws -> Token {
        guard at(s) else { throw error("expected '\(s)' \(what), got \(describe(cur))") }
        return advance()
    }
    private mutating func expectClose(_ s: String, opener: Token) throws {
        guard at(s) else {
            throw error("expected '\(s)' to close '\(opener.text)' at \(opener.span.line):\(opener.span.column), got \(describe(cur))")
        }
        advance()
    }
    private mutating func skipNewlines() { while cur.kind == .newline { advance() } }
    private mutating func ident(_ what: String) throws -> Token {
        guard cur.kind == .ident else {
            if cur.kind == .keyword { throw error("expected \(what), got keyword '\(cur.text)'") }
            throw error("expected \(what), got \(describe(cur))")
        }
        return advance()
    }
    private mutating func enter() throws {
        depth += 1
        if depth > Parser.maxNesting { throw error("expression nested too deeply (more than \(Parser.maxNesting) levels)") }
    }
    private func join(_ a: SourceSpan, _ b: SourceSpan) -> SourceSpan {
        guard a.line == b.line, b.column >= a.column else { return a }
        return SourceSpan(file: a.file, line: a.line, column: a.column, length: b.column + b.length - a.column)
    }

    // MARK: Statements

    mutating func program() throws -> [Stmt] {
        var out: [Stmt] = []
        skipSeparators()
        while cur.kind != .eof {
            out.append(try statement(topLevel: true))
            try endOfStatement()
        }
        return out
    }

    private mutating func skipSeparators() { while cur.kind == .newline || at(";") { advance() } }

    private mutating func endOfStatement() throws {
        if cur.kind == .eof || at("}") { return }
        guard cur.kind == .newline || at(";") else {
            throw error("expected a newline or ';' after the statement, got \(describe(cur))")
        }
        skipSeparators()
    }

    private mutating func statement(topLevel: Bool) throws -> Stmt {
        let t = cur
        if t.isOp("let") || t.isOp("var") {
            advance()
            let isVar = t.text == "var"
            let pattern = try self.pattern(allowDestructuring: !isVar)
            if at("=") { advance() } else { throw error("expected '=' after the name in '\(t.text)', got \(describe(cur))") }
            let value = try expression()
            return LetStmt(pattern, value, isVar: isVar, t.span)
        }
        if t.isOp("fn"), peekTok().kind == .ident {
            advance()
            let name = advance()
            let fn = try functionRest(name: name.text, start: t)
            return FnStmt(name.text, fn, nameSpan: name.span, t.span)
        }
        if t.isOp("import") {
            advance()
            guard cur.kind == .string else { throw error("expected a file name string after 'import', got \(describe(cur))") }
            let path = advance().stringValue
            var alias: String?
            if match("as") { alias = try ident("a name after 'as'").text }
            if !topLevel { throw error("import is only allowed at the top level of a file", t) }
            return ImportStmt(path, alias, t.span)
        }
        if t.kind == .ident, let op = peekTok().kind == .op ? AssignOp(rawValue: peekTok().text) : nil {
            advance()
            let opTok = advance()
            let value = try expression()
            return AssignStmt(t.text, op, value, nameSpan: t.span, opSpan: opTok.span)
        }
        let e = try expression()
        if cur.kind == .op, AssignOp(rawValue: cur.text) != nil {
            throw error("only a name can be assigned to (values never change in place; build a new one)", cur)
        }
        return ExprStmt(e)
    }

    private mutating func pattern(allowDestructuring: Bool) throws -> Pattern {
        let t = cur
        if allowDestructuring, t.isOp("[") || t.isOp("{") {
            advance()
            let close = t.text == "[" ? "]" : "}"
            var names: [(String, SourceSpan)] = []
            skipNewlines()
            while !at(close) {
                let n = try ident("a name in the pattern")
                names.append((n.text, n.span))
                skipNewlines()
                if !match(",") { break }
                skipNewlines()
            }
            try expectClose(close, opener: t)
            if names.isEmpty { throw error("a destructuring pattern needs at least one name", t) }
            return close == "]" ? .list(names, t.span) : .record(names, t.span)
        }
        let n = try ident("a name")
        return .name(n.text, n.span)
    }

    // MARK: Functions and blocks

    private mutating func functionRest(name: String, start: Token) throws -> FunctionExpr {
        let open = try expect("(", "to start the parameter list")
        var params: [ParamDecl] = []
        var seenDefault = false
        while !at(")") {
            let n = try ident("a parameter name")
            var def: Expr?
            if match("=") { def = try expression(); seenDefault = true } else if seenDefault {
                throw error("parameter '\(n.text)' without a default follows one with a default", n)
            }
            params.append(ParamDecl(name: n.text, defaultValue: def, span: n.span))
            if !match(",") { break }
        }
        try expectClose(")", opener: open)
        let body: Expr
        if match("->") {
            body = try expression()
        } else if at("{") {
            body = try block()
        } else {
            throw error("expected '{' or '->' to start the body of function '\(name)', got \(describe(cur))")
        }
        return FunctionExpr(name, params, body, start.span)
    }

    private mutating func block() throws -> BlockExpr {
        try enter(); defer { depth -= 1 }
        let open = try expect("{", "to start a block")
        var stmts: [Stmt] = []
        skipSeparators()
        while !at("}") {
            if cur.kind == .eof { throw error("expected '}' to close '{' at \(open.span.line):\(open.span.column), got end of input") }
            stmts.append(try statement(topLevel: false))
            if at("}") { break }
            if cur.kind == .eof { throw error("expected '}' to close '{' at \(open.span.line):\(open.span.column), got end of input") }
            guard cur.kind == .newline || at(";") else {
                throw error("expected a newline, ';' or '}' after the statement, got \(describe(cur))")
            }
            skipSeparators()
        }
        advance()
        return BlockExpr(stmts, open.span)
    }

    // MARK: Expressions

    mutating func expression() throws -> Expr {
        try enter(); defer { depth -= 1 }
        var e = try orExpr()
        var chain = 0
        defer { depth -= chain }
        while at("|>") {
            try enter(); chain += 1
            let op = advance()
            let rhs = try postfix()
            if let call = rhs as? CallExpr {
                call.args.insert(e, at: 0)
                e = call
            } else {
                e = CallExpr(rhs, [e], [], op.span)
            }
        }
        return e
    }

    private mutating func orExpr() throws -> Expr {
        var e = try andExpr()
        var chain = 0
        defer { depth -= chain }
        while at("or") { try enter(); chain += 1; let t = advance(); e = LogicalExpr(false, e, try andExpr(), t.span) }
        return e
    }
    private mutating func andExpr() throws -> Expr {
        var e = try notExpr()
        var chain = 0
        defer { depth -= chain }
        while at("and") { try enter(); chain += 1; let t = advance(); e = LogicalExpr(true, e, try notExpr(), t.span) }
        return e
    }
    private mutating func notExpr() throws -> Expr {
        if at("not") {
            try enter(); defer { depth -= 1 }
            let t = advance()
            return UnaryExpr(.not, try notExpr(), t.span)
        }
        return try compare()
    }
    private mutating func compare() throws -> Expr {
        let e = try range()
        if (cur.kind == .op || cur.kind == .keyword), let op = BinaryOp(rawValue: cur.text),
           [.eq, .ne, .lt, .le, .gt, .ge, .in].contains(op) {
            let t = advance()
            let r = try range()
            if (cur.kind == .op || cur.kind == .keyword), let op2 = BinaryOp(rawValue: cur.text), [.eq, .ne, .lt, .le, .gt, .ge, .in].contains(op2) {
                throw error("comparisons do not chain; write 'a < b and b < c'")
            }
            return BinaryExpr(op, e, r, t.span)
        }
        return e
    }
    private mutating func range() throws -> Expr {
        let e = try additive()
        if at("..") {
            let t = advance()
            let end = try additive()
            var step: Expr?
            if match("by") { step = try additive() }
            return RangeExpr(e, end, step, t.span)
        }
        return e
    }
    private mutating func additive() throws -> Expr {
        var e = try multiplicative()
        var chain = 0
        defer { depth -= chain }
        while at("+") || at("-") {
            try enter(); chain += 1
            let t = advance()
            e = BinaryExpr(t.text == "+" ? .add : .sub, e, try multiplicative(), t.span)
        }
        return e
    }
    private mutating func multiplicative() throws -> Expr {
        var e = try unary()
        var chain = 0
        defer { depth -= chain }
        while cur.kind == .op, let op = BinaryOp(rawValue: cur.text), [.mul, .div, .floorDiv, .mod, .matmul].contains(op) {
            try enter(); chain += 1
            let t = advance()
            e = BinaryExpr(op, e, try unary(), t.span)
        }
        return e
    }
    private mutating func unary() throws -> Expr {
        if at("-") || at("+") {
            try enter(); defer { depth -= 1 }
            let t = advance()
            let operand = try unary()
            if t.text == "-", let lit = operand as? IntLit, lit.span.column == t.span.column + 1 { return IntLit(-lit.value, join(t.span, lit.span)) }
            if t.text == "-", let lit = operand as? FloatLit, lit.span.column == t.span.column + 1 { return FloatLit(-lit.value, join(t.span, lit.span)) }
            return UnaryExpr(t.text == "-" ? .neg : .plus, operand, t.span)
        }
        return try power()
    }
    private mutating func power() throws -> Expr {
        let base = try postfix()
        if at("**") {
            try enter(); defer { depth -= 1 }
            let t = advance()
            return BinaryExpr(.pow, base, try unary(), t.span)
        }
        return base
    }

    private mutating func postfix() throws -> Expr {
        var e = try primary()
        var links = 0
        defer { depth -= links }
        while true {
            if at("(") || at("[") || at(".") { try enter(); links += 1 }
            if at("(") {
                let open = advance()
                var args: [Expr] = [], kws: [KeywordArg] = []
                skipNewlines()
                while !at(")") {
                    if cur.kind == .ident, peekTok().isOp(":") {
                        let n = advance(); advance()
                        if kws.contains(where: { $0.name == n.text }) { throw error("keyword argument '\(n.text)' given twice", n) }
                        kws.append(KeywordArg(name: n.text, value: try expression(), span: n.span))
                    } else {
                        if !kws.isEmpty { throw error("positional argument after keyword arguments") }
                        args.append(try expression())
                    }
                    skipNewlines()
                    if !match(",") { break }
                    skipNewlines()
                }
                try expectClose(")", opener: open)
                e = CallExpr(e, args, kws, open.span)
            } else if at("[") {
                let open = advance()
                var subs: [Subscript] = []
                while !at("]") {
                    subs.append(try subscriptItem())
                    if !match(",") { break }
                }
                try expectClose("]", opener: open)
                if subs.isEmpty { throw error("expected an index inside '[]'", open) }
                e = IndexExpr(e, subs, open.span)
            } else if at(".") {
                let dot = advance()
                let n = try ident("a field name after '.'")
                e = MemberExpr(e, n.text, join(dot.span, n.span))
            } else {
                break
            }
        }
        return e
    }

    private mutating func subscriptItem() throws -> Subscript {
        if match("...") { return .ellipsis }
        if at("nil"), peekTok().isOp(",") || peekTok().isOp("]") { advance(); return .newAxis }
        var start: Expr?
        if !at(":") { start = try expression() }
        guard at(":") else { return .index(start!) }
        advance()
        var stop: Expr?, step: Expr?
        if !at(":") && !at(",") && !at("]") { stop = try expression() }
        if match(":") {
            if !at(",") && !at("]") { step = try expression() }
        }
        return .slice(start, stop, step)
    }

    private mutating func primary() throws -> Expr {
        let t = cur
        switch t.kind {
        case .int: advance(); return IntLit(t.intValue, t.span)
        case .float: advance(); return FloatLit(t.floatValue, t.span)
        case .string: advance(); return StringLit(t.stringValue, t.span)
        case .fstring:
            advance()
            var parts: [FPart] = []
            for p in t.parts {
                switch p {
                case let .text(s): parts.append(.text(s))
                case let .expr(toks, spec, span):
                    var sub = Parser(tokens: toks, file: file)
                    sub.depth = depth
                    let e = try sub.expression()
                    if sub.cur.kind != .eof {
                        throw LoupeError(.syntax, "unexpected \(sub.describe(sub.cur)) in f-string expression", at: sub.cur.span)
                    }
                    _ = span
                    parts.append(.expr(e, spec: spec))
                }
            }
            return FStringExpr(parts, t.span)
        case .ident: advance(); return NameExpr(t.text, t.span)
        case .newline, .eof:
            throw error("expected an expression, got \(describe(t))")
        case .op, .keyword:
            break
        }
        switch t.text {
        case "true": advance(); return BoolLit(true, t.span)
        case "false": advance(); return BoolLit(false, t.span)
        case "nil": advance(); return NilLit(t.span)
        case "(":
            try enter(); defer { depth -= 1 }
            advance()
            skipNewlines()
            let e = try expression()
            skipNewlines()
            try expectClose(")", opener: t)
            return e
        case "[":
            try enter(); defer { depth -= 1 }
            advance()
            var items: [Expr] = []
            while !at("]") {
                items.append(try expression())
                if !match(",") { break }
            }
            try expectClose("]", opener: t)
            return ListExpr(items, t.span)
        case "{":
            if isRecordStart() { return try record() }
            return try block()
        case "fn":
            try enter(); defer { depth -= 1 }
            advance()
            return try functionRest(name: "<lambda>", start: t)
        case "if": return try ifExpr()
        case "for":
            try enter(); defer { depth -= 1 }
            advance()
            let p = try pattern(allowDestructuring: true)
            _ = try expect("in", "after the loop variable")
            let iter = try expression()
            return ForExpr(p, iter, try block(), t.span)
        case "while":
            try enter(); defer { depth -= 1 }
            advance()
            let c = try expression()
            return WhileExpr(c, try block(), t.span)
        case "try":
            try enter(); defer { depth -= 1 }
            advance()
            let body = try block()
            skipNewlines()
            _ = try expect("else", "after the 'try' block")
            var name: String?
            if cur.kind == .ident { name = advance().text }
            return TryExpr(body, name, try block(), t.span)
        case "break": advance(); return BreakExpr(t.span)
        case "continue": advance(); return ContinueExpr(t.span)
        case "return":
            advance()
            if cur.kind == .newline || cur.kind == .eof || at(";") || at("}") { return ReturnExpr(nil, t.span) }
            return ReturnExpr(try expression(), t.span)
        case "...": throw error("'...' is only allowed inside an index, as in t[..., 0]")
        default:
            throw error("expected an expression, got \(describe(t))")
        }
    }

    private mutating func ifExpr() throws -> Expr {
        try enter(); defer { depth -= 1 }
        let t = advance()
        let c = try expression()
        let then = try block()
        var otherwise: Expr?
        if at("else") {
            advance()
            if at("if") { otherwise = try ifExpr() } else { otherwise = try block() }
        }
        return IfExpr(c, then, otherwise, t.span)
    }

    /// `{}` or `{ IDENT :`, `{ STRING :`, `{ IDENT ,`, `{ IDENT }` start a record; anything else is a block.
    private func isRecordStart() -> Bool {
        let a = peekTok(1), b = peekTok(2)
        if a.isOp("}") { return true }
        if a.kind == .ident || a.kind == .string {
            if b.isOp(":") { return true }
            if a.kind == .ident, b.isOp(",") || b.isOp("}") { return true }
        }
        return false
    }

    private mutating func record() throws -> Expr {
        try enter(); defer { depth -= 1 }
        let open = advance()
        var keys: [String] = [], values: [Expr] = []
        while !at("}") {
            let k = cur
            let name: String
            if k.kind == .ident { name = k.text } else if k.kind == .string { name = k.stringValue } else {
                throw error("expected a field name in the record, got \(describe(k))")
            }
            advance()
            if keys.contains(name) { throw error("field '\(name)' appears twice in the record", k) }
            keys.append(name)
            if match(":") {
                values.append(try expression())
            } else {
                guard k.kind == .ident else { throw error("expected ':' after the field name, got \(describe(cur))") }
                values.append(NameExpr(name, k.span))
            }
            if !match(",") { break }
        }
        try expectClose("}", opener: open)
        return RecordExpr(keys, values, open.span)
    }
}
