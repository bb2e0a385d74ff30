import Foundation

/// Static analysis of a piece of code for hosts that run code in pieces (notebook cells): which top-level names it
/// defines, which names defined elsewhere it reads or assigns, and the tokens for syntax highlighting. Nothing runs.
///
/// The analysis uses the real parser and resolver, so scoping is the language's own: a local that shadows an outer
/// name is not a use of it, a closure that reads a top-level name is.

/// How a top-level name is bound.
public enum DefinitionKind: String {
    case `let`, `var`, `fn`, `import`
}

/// A top-level name bound by a piece of code, with where it is bound.
public struct Definition {
    public let name: String
    public let kind: DefinitionKind
    public let span: SourceSpan
}

/// What code reads and changes of the names other pieces define.
public struct CodeAnalysis {
    /// Top-level names the code binds, in source order (a name bound twice appears twice).
    public let definitions: [Definition]
    /// Names of `external` read by the code (directly or from inside its functions), sorted.
    public let uses: [String]
    /// Names of `external` assigned by the code (`x = ...`, `x += ...`), with the first place each is assigned.
    public let assignments: [(name: String, span: SourceSpan)]
    /// Syntax and name errors (an undefined name, an assignment to a `let`), as the interpreter would report them.
    public let errors: [LoupeError]
}

/// A token's class for syntax highlighting.
public enum HighlightKind: String, Sendable {
    case keyword, identifier, number, string, op, comment
}

/// A highlighted stretch of source: 1-based line and column in Unicode scalars, length in scalars.
public struct HighlightToken: Sendable, Equatable {
    public let kind: HighlightKind
    public let line: Int
    public let column: Int
    public let length: Int

    public init(kind: HighlightKind, line: Int, column: Int, length: Int) {
        self.kind = kind; self.line = line; self.column = column; self.length = length
    }
}

extension Interpreter {
    /// The top-level names `source` binds (parse only). Throws the first syntax error.
    public func definitions(in source: String, file: String) throws -> [Definition] {
        let stmts = try Interpreter.onBigStack { try Parser.parse(source, file: file) }
        var out: [Definition] = []
        for s in stmts {
            switch s {
            case let l as LetStmt:
                for (n, span) in l.pattern.names { out.append(Definition(name: n, kind: l.isVar ? .var : .let, span: span)) }
            case let f as FnStmt:
                out.append(Definition(name: f.name, kind: .fn, span: f.nameSpan))
            case let i as ImportStmt:
                if let alias = i.alias {
                    out.append(Definition(name: alias, kind: .import, span: i.span))
                } else if let names = try? Analysis.importedNames(i.path, from: file) {
                    out += names.map { Definition(name: $0, kind: .import, span: i.span) }
                }
            default:
                break
            }
        }
        return out
    }

    /// Resolves `source` as if the names of `external` were top-level names defined before it (with their kinds),
    /// and reports which of them it reads and assigns. Names that are neither local, external nor built-in are
    /// reported in `errors` like the interpreter does ("undefined name 'x' (did you mean 'y'?)").
    public func analyze(_ source: String, file: String, external: [String: DefinitionKind]) throws -> CodeAnalysis {
        try Interpreter.onBigStack {
            let stmts: [Stmt]
            do { stmts = try Parser.parse(source, file: file) } catch let e as LoupeError {
                return CodeAnalysis(definitions: [], uses: [], assignments: [], errors: [e])
            }
            let module = Module(path: file)
            var boxes: [ObjectIdentifier: String] = [:]
            for (name, kind) in external {
                let box = GlobalBox(name)
                box.constant = kind != .var
                let binding: BindingKind = kind == .var ? .variable : (kind == .fn ? .function : .constant)
                module.globals[name] = GlobalInfo(box: box, kind: binding)
                boxes[ObjectIdentifier(box)] = name
            }
            // Built-ins and the standard library are what the interpreter knows besides the module's own names.
            let resolver = Resolver(module: module,
                                    builtin: { [unowned self] name in external[name] == nil ? self.global(name) : nil },
                                    builtinNames: { [unowned self] in self.globalNames },
                                    importNames: { path, from, _ in
                                        (path, try Analysis.importedNames(path, from: from)) })
            _ = resolver.resolveProgram(stmts)
            var walker = UseWalker(boxes: boxes)
            walker.statements(stmts)
            let defs = try self.definitions(in: source, file: file)
            return CodeAnalysis(definitions: defs, uses: walker.uses.sorted(), assignments: walker.assignments,
                                errors: resolver.errors)
        }
    }

    /// Tokens of `source` for syntax highlighting, comments included; nil when it does not lex.
    public func highlightTokens(_ source: String) -> [HighlightToken]? {
        Analysis.highlightTokens(source)
    }
}

enum Analysis {
    /// The top-level names of an imported file, without running it (as `import` binds them).
    static func importedNames(_ path: String, from file: String) throws -> [String] {
        var full = path
        if !path.hasPrefix("/") {
            let dir = (file as NSString).deletingLastPathComponent
            full = dir.isEmpty ? path : dir + "/" + path
        }
        guard let data = FileManager.default.contents(atPath: full), let text = String(data: data, encoding: .utf8) else {
            throw LoupeError(.io, "cannot import '\(path)': no such file")
        }
        var names: [String] = []
        for s in try Parser.parse(text, file: full) {
            if let l = s as? LetStmt { names += l.pattern.names.map(\.0) }
            if let f = s as? FnStmt { names.append(f.name) }
        }
        var seen = Set<String>()
        return names.filter { seen.insert($0).inserted }
    }

    static func highlightTokens(_ source: String) -> [HighlightToken]? {
        guard let tokens = try? Lexer.tokenize(source, file: "") else { return nil }
        var out: [HighlightToken] = []
        for t in tokens {
            let kind: HighlightKind
            switch t.kind {
            case .keyword: kind = ["true", "false", "nil"].contains(t.text) ? .number : .keyword
            case .ident: kind = .identifier
            case .int, .float: kind = .number
            case .string, .fstring: kind = .string
            case .op: kind = .op
            case .newline, .eof: continue
            }
            out.append(HighlightToken(kind: kind, line: t.span.line, column: t.span.column, length: t.span.length))
        }
        // The lexer drops comments: a `#` outside every token starts one, to the end of its line.
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        var covered: [Int: [(Int, Int)]] = [:]
        for t in out { covered[t.line, default: []].append((t.column, t.column + t.length)) }
        for (i, line) in lines.enumerated() {
            let spans = covered[i + 1] ?? []
            var col = 1
            for c in line {
                if c == "#", !spans.contains(where: { $0.0 <= col && col < $0.1 }) {
                    out.append(HighlightToken(kind: .comment, line: i + 1, column: col, length: line.count - col + 1))
                    break
                }
                col += 1
            }
        }
        return out.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
    }
}

/// Collects which external boxes resolved code refers to.
private struct UseWalker {
    let boxes: [ObjectIdentifier: String]
    var uses = Set<String>()
    var assignments: [(name: String, span: SourceSpan)] = []

    mutating func ref(_ r: NameRef) {
        if case let .global(box) = r, let name = boxes[ObjectIdentifier(box)] { uses.insert(name) }
    }

    mutating func statements(_ stmts: [Stmt]) { stmts.forEach { statement($0) } }

    mutating func statement(_ s: Stmt) {
        switch s {
        case let e as ExprStmt: expr(e.expr)
        case let l as LetStmt: expr(l.value)
        case let a as AssignStmt:
            expr(a.value)
            if case let .global(box) = a.target, let name = boxes[ObjectIdentifier(box)] {
                uses.insert(name)
                if !assignments.contains(where: { $0.name == name }) { assignments.append((name, a.nameSpan)) }
            }
        case let f as FnStmt: expr(f.function)
        default: break
        }
    }

    mutating func expr(_ e: Expr) {
        switch e {
        case let n as NameExpr: ref(n.ref)
        case let f as FStringExpr:
            for p in f.parts { if case let .expr(x, _) = p { expr(x) } }
        case let l as ListExpr: l.items.forEach { expr($0) }
        case let r as RecordExpr: r.values.forEach { expr($0) }
        case let u as UnaryExpr: expr(u.operand)
        case let b as BinaryExpr: expr(b.lhs); expr(b.rhs)
        case let l as LogicalExpr: expr(l.lhs); expr(l.rhs)
        case let r as RangeExpr: expr(r.start); expr(r.end); if let s = r.step { expr(s) }
        case let c as CallExpr:
            expr(c.callee); c.args.forEach { expr($0) }; c.keywords.forEach { expr($0.value) }
        case let i as IndexExpr:
            expr(i.target)
            for s in i.subscripts {
                switch s {
                case let .index(x): expr(x)
                case let .slice(a, b, c): [a, b, c].compactMap { $0 }.forEach { expr($0) }
                case .ellipsis, .newAxis: break
                }
            }
        case let m as MemberExpr: expr(m.target)
        case let f as FunctionExpr:
            f.params.forEach { if let d = $0.defaultValue { expr(d) } }
            f.captureSourcesRefs.forEach { ref($0) }
            expr(f.body)
        case let b as BlockExpr: statements(b.statements)
        case let i as IfExpr: expr(i.cond); expr(i.then); if let o = i.otherwise { expr(o) }
        case let f as ForExpr: expr(f.iterable); expr(f.body)
        case let w as WhileExpr: expr(w.cond); expr(w.body)
        case let t as TryExpr: expr(t.body); expr(t.handler)
        case let r as ReturnExpr: if let v = r.value { expr(v) }
        default: break
        }
    }
}
