/// What a piece of code does with the current frame's local slots: which it appends to (`s += e`, `s = s + e`)
/// and which it mentions in any other way (reads, other assignments, bindings, captures by closures made here).
/// Nested function bodies run in their own frames, so only their captures and default values count.
/// Compiler.withStringBuffers uses it to find the slots a loop only appends to (see StringBuffer).
final class SlotUse {
    private(set) var appended = Set<Int>()
    private(set) var other = Set<Int>()
    /// Set when the walk met a node it does not know: then nothing may be assumed.
    private(set) var unknown = false

    /// `s += e` or `s = s + e` on a local: the appended expression `e` (compileAssign compiles both as `+=`).
    static func appendOperand(_ a: AssignStmt) -> Expr? {
        if a.op == .add { return a.value }
        if a.op == .set, let b = a.value as? BinaryExpr, b.op == .add, let n = b.lhs as? NameExpr, n.name == a.name {
            return b.rhs
        }
        return nil
    }

    private func ref(_ r: NameRef) {
        if case let .local(s) = r { other.insert(s) }
    }

    func expr(_ e: Expr) {
        switch e {
        case is IntLit, is FloatLit, is StringLit, is BoolLit, is NilLit, is BreakExpr, is ContinueExpr: return
        case let n as NameExpr: ref(n.ref)
        case let f as FStringExpr:
            for p in f.parts { if case let .expr(x, _) = p { expr(x) } }
        case let l as ListExpr: l.items.forEach(expr)
        case let r as RecordExpr: r.values.forEach(expr)
        case let u as UnaryExpr: expr(u.operand)
        case let b as BinaryExpr: expr(b.lhs); expr(b.rhs)
        case let l as LogicalExpr: expr(l.lhs); expr(l.rhs)
        case let r as RangeExpr:
            expr(r.start); expr(r.end)
            if let s = r.step { expr(s) }
        case let c as CallExpr:
            expr(c.callee); c.args.forEach(expr)
            for k in c.keywords { expr(k.value) }
        case let i as IndexExpr:
            expr(i.target)
            for s in i.subscripts {
                switch s {
                case let .index(x): expr(x)
                case let .slice(a, b, c):
                    for x in [a, b, c] { if let x { expr(x) } }
                case .ellipsis, .newAxis: break
                }
            }
        case let m as MemberExpr: expr(m.target)
        case let f as FunctionExpr: function(f)
        case let b as BlockExpr: b.statements.forEach(stmt)
        case let i as IfExpr:
            expr(i.cond); expr(i.then)
            if let o = i.otherwise { expr(o) }
        case let f as ForExpr: expr(f.iterable); f.targets.forEach(ref); expr(f.body)
        case let w as WhileExpr: expr(w.cond); expr(w.body)
        case let t as TryExpr: expr(t.body); ref(t.target); expr(t.handler)
        case let r as ReturnExpr: if let v = r.value { expr(v) }
        default: unknown = true
        }
    }

    private func function(_ f: FunctionExpr) {
        f.captureSourcesRefs.forEach(ref)
        for p in f.params { if let d = p.defaultValue { expr(d) } }
    }

    func stmt(_ s: Stmt) {
        switch s {
        case let e as ExprStmt: expr(e.expr)
        case let l as LetStmt: expr(l.value); l.targets.forEach(ref)
        case let a as AssignStmt:
            if case let .local(slot) = a.target, let rhs = SlotUse.appendOperand(a) {
                appended.insert(slot)
                expr(rhs)
            } else {
                ref(a.target)
                expr(a.value)
            }
        case let f as FnStmt: function(f.function); ref(f.target)
        case let i as ImportStmt: for (_, r) in i.bindings { ref(r) }
        default: unknown = true
        }
    }
}
