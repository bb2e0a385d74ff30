/// Binds every name to where it lives before anything runs (docs/language.md §4): frame slots for locals,
/// boxes for a file's top-level names, built-ins last. Reports undefined names (with the nearest defined name),
/// assignments to `let`, assignments to a variable of an enclosing function, duplicate parameters, and misplaced
/// `break`/`continue`/`return`, all with spans.

/// A top-level binding's storage: one heap cell per declaration. Functions hold the box they were compiled
/// against, so a later re-declaration (a new REPL line) makes a new box and leaves earlier code undisturbed.
public final class GlobalBox {
    let p: UnsafeMutablePointer<Value>
    let name: String
    /// Assigned exactly once (a top-level `let`, `fn` or import): calls may cache the function it holds.
    var constant = false
    init(_ name: String, _ value: Value = .nil) {
        self.name = name
        p = .allocate(capacity: 1)
        p.initialize(to: value)
    }
    deinit { p.deinitialize(count: 1); p.deallocate() }
    var value: Value { p.pointee }
}

enum BindingKind { case constant, variable, function, parameter }

struct GlobalInfo { let box: GlobalBox; let kind: BindingKind }

/// The top-level names of one file (or of the session for REPL lines and notebook cells).
final class Module {
    let path: String
    var globals: [String: GlobalInfo] = [:]
    init(path: String) { self.path = path }
}

final class Resolver {
    private final class FnScope {
        let parent: FnScope?
        let isScript: Bool
        var blocks: [[String: (slot: Int, kind: BindingKind)]] = [[:]]
        var next = 0, maxSlots = 0
        var captures: [(name: String, source: NameRef, kind: BindingKind)] = []
        var loopDepth = 0
        init(parent: FnScope?, isScript: Bool) { self.parent = parent; self.isScript = isScript }
    }

    let module: Module
    /// Top-level declarations made by the code being resolved, committed to the module only if it resolves.
    private(set) var pending: [String: GlobalInfo] = [:]
    private let builtin: (String) -> Value?
    private let builtinNames: () -> [String]
    /// Given an import path and the importing file: the resolved path and the top-level names it binds.
    private let importNames: (String, String, SourceSpan) throws -> (String, [String])
    private(set) var errors: [LoupeError] = []
    private var fn: FnScope
    /// Slots of the local `fn` declarations already declared as part of a group (for mutual recursion).
    private var predeclared: Set<ObjectIdentifier> = []
    private var topFnBoxes: [ObjectIdentifier: GlobalBox] = [:]

    init(module: Module, builtin: @escaping (String) -> Value?, builtinNames: @escaping () -> [String],
         importNames: @escaping (String, String, SourceSpan) throws -> (String, [String])) {
        self.module = module
        self.builtin = builtin
        self.builtinNames = builtinNames
        self.importNames = importNames
        self.fn = FnScope(parent: nil, isScript: true)
    }

    /// Resolves a file or REPL input; returns the number of frame slots its top-level code needs.
    func resolveProgram(_ stmts: [Stmt]) -> Int {
        // Top-level functions may call each other regardless of order: declare them all first.
        for s in stmts {
            if let f = s as? FnStmt {
                let box = GlobalBox(f.name)
                box.constant = true
                topFnBoxes[ObjectIdentifier(f)] = box
                pending[f.name] = GlobalInfo(box: box, kind: .function)
            }
        }
        resolveStatements(stmts)
        return fn.maxSlots
    }

    func commit() {
        for (k, v) in pending { module.globals[k] = v }
        pending = [:]
    }

    private func report(_ e: LoupeError) { errors.append(e) }

    private var atTopLevel: Bool { fn.isScript && fn.blocks.count == 1 }

    // MARK: Scopes

    private func pushBlock() { fn.blocks.append([:]) }
    private func popBlock(savedNext: Int) { fn.blocks.removeLast(); fn.next = savedNext }

    /// Declares a name in the current scope; returns where it lives.
    private func declare(_ name: String, _ kind: BindingKind) -> NameRef {
        if atTopLevel {
            let box = GlobalBox(name)
            box.constant = kind != .variable
            pending[name] = GlobalInfo(box: box, kind: kind)
            return .global(box)
        }
        let slot = fn.next
        fn.next += 1
        fn.maxSlots = max(fn.maxSlots, fn.next)
        fn.blocks[fn.blocks.count - 1][name] = (slot, kind)
        return .local(slot)
    }

    private func globalInfo(_ name: String) -> GlobalInfo? { pending[name] ?? module.globals[name] }

    /// Finds `name` as seen from function scope `f`: a local slot, a capture index, or a global.
    private func lookup(_ name: String, in f: FnScope) -> (NameRef, BindingKind)? {
        let lowest = f.isScript ? 1 : 0
        var i = f.blocks.count - 1
        while i >= lowest {
            if let b = f.blocks[i][name] { return (.local(b.slot), b.kind) }
            i -= 1
        }
        if let c = f.captures.firstIndex(where: { $0.name == name }) { return (.capture(c), f.captures[c].kind) }
        if f.isScript {
            if let g = globalInfo(name) { return (.global(g.box), g.kind) }
            return nil
        }
        guard let parent = f.parent, let (src, kind) = lookup(name, in: parent) else { return nil }
        // Top-level let and fn are read where they live (they never change, and functions may be declared
        // after their callers); everything else is copied into the closure when it is created.
        if case .global = src, kind != .variable { return (src, kind) }
        f.captures.append((name, src, kind))
        return (.capture(f.captures.count - 1), kind)
    }

    private func resolveName(_ name: String, _ span: SourceSpan) -> NameRef {
        if let (ref, _) = lookup(name, in: fn) { return ref }
        if let b = builtin(name) { return .builtin(b) }
        report(LoupeError(.name, "undefined name '\(name)'" + suggestion(for: name), at: span))
        return .unresolved
    }

    /// " (did you mean 'length'?)" for the visible name closest to `name`, or "".
    private lazy var builtinNameSet: Set<String> = Set(builtinNames())

    private func suggestion(for name: String) -> String {
        // Suggestions cost a distance per visible name; past a few errors the rest are noise anyway.
        if errors.count >= 8 { return "" }
        var candidates = Set<String>()
        var f: FnScope? = fn
        while let s = f {
            for b in s.blocks { candidates.formUnion(b.keys) }
            candidates.formUnion(s.captures.map(\.name))
            f = s.parent
        }
        candidates.formUnion(module.globals.keys)
        candidates.formUnion(pending.keys)
        candidates.formUnion(builtinNameSet)
        return Suggest.nearest(name, in: candidates).map { " (did you mean '\($0)'?)" } ?? ""
    }

    // MARK: Statements

    private func resolveStatements(_ stmts: [Stmt]) {
        for (i, s) in stmts.enumerated() {
            if let f = s as? FnStmt, !atTopLevel, !predeclared.contains(ObjectIdentifier(f)) {
                // A run of consecutive local function declarations may call each other.
                var j = i
                while j < stmts.count, let g = stmts[j] as? FnStmt {
                    g.target = declare(g.name, .function)
                    predeclared.insert(ObjectIdentifier(g))
                    j += 1
                }
            }
            resolveStatement(s)
        }
    }

    private func resolveStatement(_ s: Stmt) {
        switch s {
        case let e as ExprStmt:
            resolve(e.expr)
        case let l as LetStmt:
            resolve(l.value)
            l.targets = l.pattern.names.map { declare($0.0, l.isVar ? .variable : .constant) }
        case let a as AssignStmt:
            resolve(a.value)
            a.target = resolveAssignment(a.name, a.nameSpan)
        case let f as FnStmt:
            if atTopLevel {
                let box = topFnBoxes[ObjectIdentifier(f)] ?? GlobalBox(f.name)
                pending[f.name] = GlobalInfo(box: box, kind: .function)
                f.target = .global(box)
            } else if !predeclared.contains(ObjectIdentifier(f)) {
                f.target = declare(f.name, .function)
            }
            resolveFunction(f.function)
        case let imp as ImportStmt:
            do {
                let (path, names) = try importNames(imp.path, imp.span.file, imp.span)
                imp.resolvedPath = path
                if let alias = imp.alias {
                    imp.bindings = [(alias, declare(alias, .constant))]
                } else {
                    imp.bindings = names.map { ($0, declare($0, .constant)) }
                }
            } catch let e as LoupeError {
                report(e)
            } catch {
                report(LoupeError(.io, "\(error)", at: imp.span))
            }
        default:
            break
        }
    }

    private func resolveAssignment(_ name: String, _ span: SourceSpan) -> NameRef {
        guard let (ref, kind) = lookup(name, in: fn) else {
            if builtin(name) != nil {
                report(LoupeError(.name, "cannot assign to built-in '\(name)'", at: span))
            } else {
                report(LoupeError(.name, "undefined name '\(name)'" + suggestion(for: name), at: span))
            }
            return .unresolved
        }
        switch kind {
        case .constant, .parameter:
            let what = kind == .parameter ? "it is a parameter" : "it was declared with 'let' (use 'var' for a variable)"
            report(LoupeError(.name, "cannot assign to '\(name)': \(what)", at: span))
            return .unresolved
        case .function:
            report(LoupeError(.name, "cannot assign to function '\(name)'", at: span))
            return .unresolved
        case .variable:
            switch ref {
            case .capture:
                report(LoupeError(.name, "cannot assign to '\(name)' from inside a function: it belongs to an enclosing scope (closures see a copy)", at: span))
                return .unresolved
            default:
                return ref
            }
        }
    }

    private func resolveFunction(_ f: FunctionExpr) {
        for p in f.params { if let d = p.defaultValue { resolve(d) } }
        let scope = FnScope(parent: fn, isScript: false)
        let saved = fn
        fn = scope
        var seen = Set<String>()
        for p in f.params {
            if !seen.insert(p.name).inserted {
                report(LoupeError(.name, "duplicate parameter '\(p.name)' in function '\(f.name)'", at: p.span))
            }
            _ = declare(p.name, .parameter)
        }
        if let b = f.body as? BlockExpr {
            // The body's block shares the parameters' scope level so a `let` may shadow a parameter.
            resolveBlock(b)
        } else {
            resolve(f.body)
        }
        fn = saved
        f.localCount = scope.maxSlots
        // Capture sources are refs in the enclosing function; the compiler turns capture indices into slots.
        for c in scope.captures { f.captureSourcesRefs.append(c.source) }
    }

    private func resolveBlock(_ b: BlockExpr) {
        let saved = fn.next
        pushBlock()
        resolveStatements(b.statements)
        popBlock(savedNext: saved)
    }

    // MARK: Expressions

    private func resolve(_ e: Expr) {
        switch e {
        case is IntLit, is FloatLit, is StringLit, is BoolLit, is NilLit:
            break
        case let n as NameExpr:
            n.ref = resolveName(n.name, n.span)
        case let f as FStringExpr:
            for p in f.parts { if case let .expr(x, _) = p { resolve(x) } }
        case let l as ListExpr:
            l.items.forEach(resolve)
        case let r as RecordExpr:
            r.values.forEach(resolve)
        case let u as UnaryExpr:
            resolve(u.operand)
        case let b as BinaryExpr:
            resolve(b.lhs); resolve(b.rhs)
        case let l as LogicalExpr:
            resolve(l.lhs); resolve(l.rhs)
        case let r as RangeExpr:
            resolve(r.start); resolve(r.end); if let s = r.step { resolve(s) }
        case let c as CallExpr:
            resolve(c.callee)
            c.args.forEach(resolve)
            c.keywords.forEach { resolve($0.value) }
        case let i as IndexExpr:
            resolve(i.target)
            for s in i.subscripts {
                switch s {
                case let .index(x): resolve(x)
                case let .slice(a, b, c): [a, b, c].compactMap { $0 }.forEach(resolve)
                case .ellipsis, .newAxis: break
                }
            }
        case let m as MemberExpr:
            resolve(m.target)
        case let f as FunctionExpr:
            resolveFunction(f)
        case let b as BlockExpr:
            resolveBlock(b)
        case let i as IfExpr:
            resolve(i.cond)
            resolveBlock(i.then)
            if let o = i.otherwise { resolve(o) }
        case let f as ForExpr:
            resolve(f.iterable)
            let saved = fn.next
            pushBlock()
            f.targets = f.pattern.names.map { declareLocal($0.0, .constant) }
            fn.loopDepth += 1
            resolveBlock(f.body)
            fn.loopDepth -= 1
            popBlock(savedNext: saved)
        case let w as WhileExpr:
            resolve(w.cond)
            fn.loopDepth += 1
            resolveBlock(w.body)
            fn.loopDepth -= 1
        case let t as TryExpr:
            resolveBlock(t.body)
            let saved = fn.next
            pushBlock()
            if let n = t.name { t.target = declareLocal(n, .constant) }
            resolveBlock(t.handler)
            popBlock(savedNext: saved)
        case is BreakExpr, is ContinueExpr:
            if fn.loopDepth == 0 {
                report(LoupeError(.syntax, "'\(e is BreakExpr ? "break" : "continue")' outside a loop", at: e.span))
            }
        case let r as ReturnExpr:
            if fn.isScript { report(LoupeError(.syntax, "'return' outside a function", at: r.span)) }
            if let v = r.value { resolve(v) }
        default:
            break
        }
    }

    /// Declares a frame slot even at top level (loop variables, the error of `try ... else e`).
    private func declareLocal(_ name: String, _ kind: BindingKind) -> NameRef {
        let slot = fn.next
        fn.next += 1
        fn.maxSlots = max(fn.maxSlots, fn.next)
        fn.blocks[fn.blocks.count - 1][name] = (slot, kind)
        return .local(slot)
    }
}

/// Nearest-name suggestions for misspellings.
enum Suggest {
    static func nearest(_ name: String, in candidates: Set<String>) -> String? {
        var best: (String, Int)?
        let n = name.unicodeScalars.count
        let limit = max(1, n / 3 + 1)
        for c in candidates where c != name && abs(c.unicodeScalars.count - n) <= limit {
            let d = distance(name, c)
            if d <= limit, best == nil || d < best!.1 || (d == best!.1 && c < best!.0) { best = (c, d) }
        }
        return best?.0
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        if abs(a.count - b.count) > 3 { return abs(a.count - b.count) }
        var prev = Array(0...b.count), cur = Array(repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
