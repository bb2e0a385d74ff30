import LoupeTensor

/// Compiled code wrapped in a struct: closures stored directly in arrays or optionals are re-abstracted, and
/// every call through them then goes through a conversion thunk (measured: a quarter of fib's time).
struct C {
    let run: Code
    init(_ run: @escaping Code) { self.run = run }
}

/// Turns the resolved syntax tree into Swift closures over frame slots ("closure compilation"). Measured against
/// a tree walker this avoids re-dispatching on node types at run time; the hot cases (int arithmetic on locals,
/// calls of 0-3 positional arguments, range loops, `+=` on strings and lists) get specialised closures.
final class Compiler {
    let m: Machine
    unowned let interp: Interpreter
    /// Slots of the function being compiled: locals first, then captured values.
    private var localCount: Int
    private var frameSize: Int
    /// Local slots that may hold a StringBuffer in the code being compiled: the enclosing loop only appends to
    /// them (see StringBuffer and withStringBuffers).
    private var bufferSlots = Set<Int>()
    /// Slots an enclosing loop appends to and also reads: no inner loop buffers them (each entry and exit of the
    /// inner loop would copy the whole string).
    private var blockedSlots = Set<Int>()

    init(machine: Machine, interpreter: Interpreter, localCount: Int, captureCount: Int) {
        m = machine
        interp = interpreter
        self.localCount = localCount
        frameSize = localCount + captureCount
    }

    // MARK: Programs and blocks

    func compileProgram(_ stmts: [Stmt]) -> Code {
        compileStatements(stmts)
    }

    private func compileStatements(_ stmts: [Stmt]) -> Code {
        var codes: [C] = []
        var i = 0
        while i < stmts.count {
            if let f = stmts[i] as? FnStmt, case .local = f.target {
                var group: [FnStmt] = []
                while i < stmts.count, let g = stmts[i] as? FnStmt, case .local = g.target { group.append(g); i += 1 }
                codes.append(C(compileFnGroup(group)))
                continue
            }
            codes.append(C(compileStatement(stmts[i])))
            i += 1
        }
        let st = m.st
        switch codes.count {
        case 0: return { _ in .nil }
        case 1: return codes[0].run
        case 2:
            let a = codes[0].run, b = codes[1].run
            return { fp in
                _ = try a(fp)
                if st.pointee.unwind != 0 { return .nil }
                return try b(fp)
            }
        default:
            let all = ContiguousArray(codes)
            return { fp in
                var last = Value.nil
                for c in all {
                    last = try c.run(fp)
                    if st.pointee.unwind != 0 { return .nil }
                }
                return last
            }
        }
    }

    private func compileStatement(_ s: Stmt) -> Code {
        switch s {
        case let e as ExprStmt:
            return compile(e.expr)
        case let l as LetStmt:
            let value = compile(l.value)
            if case let .name(_, span) = l.pattern {
                let store = storer(l.targets[0])
                _ = span
                return { fp in store(fp, try value(fp)); return .nil }
            }
            let bind = patternBinder(l.pattern, l.targets)
            return { fp in try bind(fp, try value(fp)); return .nil }
        case let a as AssignStmt:
            return compileAssign(a)
        case let f as FnStmt:
            let make = compileFunction(f.function)
            let store = storer(f.target)
            return { fp in store(fp, try make(fp)); return .nil }
        case let imp as ImportStmt:
            let interp = self.interp
            let path = imp.resolvedPath, bindings = imp.bindings.map { ($0.0, storer($0.1)) }, alias = imp.alias != nil
            let span = imp.span, size = frameSize, st = m.st
            return { fp in
                let saved = st.pointee.top
                st.pointee.top = fp + size
                defer { st.pointee.top = saved }
                let rec = try interp.importModule(path, span: span)
                for (name, store) in bindings {
                    store(fp, alias ? .record(rec) : (rec[name] ?? .nil))
                }
                return .nil
            }
        default:
            return { _ in .nil }
        }
    }

    /// Writes a value to where a name lives.
    private func storer(_ ref: NameRef) -> (UnsafeMutablePointer<Value>, Value) -> Void {
        switch ref {
        case let .local(slot): return { fp, v in fp[slot] = v }
        case let .capture(i): let slot = localCount + i; return { fp, v in fp[slot] = v }
        case let .global(box): let p = box.p; return { _, v in withExtendedLifetime(box) { p.pointee = v } }
        case .builtin, .unresolved: return { _, _ in }
        }
    }

    /// Binds `[a, b]` / `{x, y}` patterns.
    private func patternBinder(_ pattern: Pattern, _ targets: [NameRef]) -> (UnsafeMutablePointer<Value>, Value) throws -> Void {
        let stores = targets.map(storer)
        switch pattern {
        case .name:
            let s = stores[0]
            return { fp, v in s(fp, v) }
        case let .list(names, span):
            let n = names.count
            return { fp, v in
                let items: [Value]
                switch v {
                case let .list(xs): items = xs
                case let .range(r): items = (0..<r.count).map { .int(r[$0]) }
                case let .string(s): items = s.map { .string(String($0)) }
                default: throw LoupeError(.type, "cannot unpack a \(v.typeName) into [\(names.map(\.0).joined(separator: ", "))]", at: span)
                }
                guard items.count == n else {
                    throw LoupeError(.value, "cannot unpack \(items.count) values into \(n) names", at: span)
                }
                for (i, s) in stores.enumerated() { s(fp, items[i]) }
            }
        case let .record(names, span):
            return { fp, v in
                guard case let .record(r) = v else {
                    throw LoupeError(.type, "cannot unpack a \(v.typeName) into {\(names.map(\.0).joined(separator: ", "))}", at: span)
                }
                for (i, (name, nspan)) in names.enumerated() {
                    guard let x = r[name] else {
                        throw LoupeError(.index, "record has no field '\(name)'" + Indexing.suggestField(name, r.keys), at: nspan)
                    }
                    stores[i](fp, x)
                }
            }
        }
    }

    private func compileAssign(_ a: AssignStmt) -> Code {
        var op = a.op
        var rhsExpr = a.value
        // `x = x + e` is `x += e`, so that building a string or list in a loop appends in place.
        if op == .set, let b = a.value as? BinaryExpr, b.op == .add, let n = b.lhs as? NameExpr, n.name == a.name {
            op = .add
            rhsExpr = b.rhs
        }
        let span = a.opSpan
        if case let .local(slot) = a.target, op == .set {
            let rhs = compile(rhsExpr)
            return { fp in
                let v = try rhs(fp)
                // An old number needs no destruction: overwrite it without the outlined destroy.
                switch fp[slot] {
                case .nil, .bool, .int, .float: (fp + slot).initialize(to: v)
                default: fp[slot] = v
                }
                return .nil
            }
        }
        if case let .local(slot) = a.target, op == .add, let lit = rhsExpr as? StringLit, bufferSlots.contains(slot) {
            // `s += "x"` in a loop that only appends to s: one byte copy into the slot's StringBuffer.
            let text = lit.value, litValue = Value.string(lit.value), bytes = Array(lit.value.utf8)
            if bytes.count == 1 {
                let byte = bytes[0]
                return { fp in
                    let p = fp + slot
                    if let b = StringBuffer.inSlot(p) { b.append(byte: byte); return .nil }
                    try Compiler.startBuffer(p, litValue, text, span)
                    return .nil
                }
            }
            return { fp in
                let p = fp + slot
                if let b = StringBuffer.inSlot(p) { b.append(text); return .nil }
                try Compiler.startBuffer(p, litValue, text, span)
                return .nil
            }
        }
        if case let .local(slot) = a.target, op == .add, let lit = rhsExpr as? StringLit {
            // `s += "x"`: append the literal in place, no closure calls.
            let text = lit.value, litValue = Value.string(lit.value)
            return { fp in
                let p = fp + slot
                var cur = p.move()
                if case var .string(str) = cur {
                    cur = .nil
                    str.append(text)
                    p.initialize(to: .string(str))
                    return .nil
                }
                p.initialize(to: cur)
                p.pointee = try Ops.add(p.pointee, litValue, span)
                return .nil
            }
        }
        if case let .local(slot) = a.target, op == .add {
            let buffered = bufferSlots.contains(slot)
            switch operand(rhsExpr) {
            case let .slot(b):
                let general = buffered ? compileBufferedAppend(slot, { fp in fp[b] }, span)
                                       : compileAppend({ fp in fp + slot }, { fp in fp[b] }, span)
                return { fp in
                    if case let .int(x) = fp[slot], case let .int(y) = fp[b] {
                        let (r, o) = x.addingReportingOverflow(y)
                        if o { throw Ops.overflow(.add, x, y, span) }
                        // The slot holds an int, which needs no destruction: overwrite it directly.
                        (fp + slot).initialize(to: .int(r))
                        return .nil
                    }
                    return try general(fp)
                }
            case let .int(y):
                let general = buffered ? compileBufferedAppend(slot, { _ in .int(y) }, span)
                                       : compileAppend({ fp in fp + slot }, { _ in .int(y) }, span)
                return { fp in
                    if case let .int(x) = fp[slot] {
                        let (r, o) = x.addingReportingOverflow(y)
                        if o { throw Ops.overflow(.add, x, y, span) }
                        (fp + slot).initialize(to: .int(r))
                        return .nil
                    }
                    return try general(fp)
                }
            case let .code(c):
                return buffered ? compileBufferedAppend(slot, c, span) : compileAppend({ fp in fp + slot }, c, span)
            }
        }
        let rhs = compile(rhsExpr)
        let ptr: (UnsafeMutablePointer<Value>) -> UnsafeMutablePointer<Value>
        switch a.target {
        case let .local(slot): ptr = { fp in fp + slot }
        case let .global(box): let p = box.p; ptr = { _ in withExtendedLifetime(box) { p } }
        default: return { _ in .nil }
        }
        switch op {
        case .set:
            return { fp in ptr(fp).pointee = try rhs(fp); return .nil }
        case .add:
            return compileAppend(ptr, rhs, span)
        case .sub, .mul, .div:
            let bop: BinaryOp = op == .sub ? .sub : (op == .mul ? .mul : .div)
            return { fp in
                let r = try rhs(fp)
                let p = ptr(fp)
                p.pointee = try Ops.binary(bop, p.pointee, r, span)
                return .nil
            }
        }
    }

    /// `x += v`: int addition, or appending in place to a string or list, or the general `+`.
    private func compileAppend(_ ptr: @escaping (UnsafeMutablePointer<Value>) -> UnsafeMutablePointer<Value>,
                               _ rhs: @escaping Code, _ span: SourceSpan) -> Code {
        return { fp in
            let r = try rhs(fp)
            try Compiler.append(ptr(fp), r, span)
            return .nil
        }
    }

    /// `*p += r` with `r` evaluated: int addition, appending in place to a string or list, or the general `+`.
    @inline(__always)
    static func append(_ p: UnsafeMutablePointer<Value>, _ r: Value, _ span: SourceSpan) throws {
        if case let .int(x) = p.pointee, case let .int(y) = r {
            let (s, o) = x.addingReportingOverflow(y)
            if o { throw Ops.overflow(.add, x, y, span) }
            p.pointee = .int(s)
            return
        }
        // Take the value out of its slot so the string or array buffer is uniquely referenced and
        // appending does not copy it.
        var cur = p.move()
        p.initialize(to: .nil)
        if case var .string(s) = cur, case let .string(t) = r {
            cur = .nil
            s.append(t)
            p.initialize(to: .string(s))
            return
        }
        if case var .list(xs) = cur, case let .list(ys) = r {
            cur = .nil
            xs.append(contentsOf: ys)
            p.initialize(to: .list(xs))
            return
        }
        do { p.pointee = try Ops.add(cur, r, span) } catch { p.pointee = cur; throw error }
    }

    /// `s += e` on a slot that the enclosing loop only appends to: strings go into the slot's StringBuffer
    /// (made by the first string append); anything else is the ordinary `+=`, on a string again if need be.
    private func compileBufferedAppend(_ slot: Int, _ rhs: @escaping Code, _ span: SourceSpan) -> Code {
        return { fp in
            let r = try rhs(fp)
            let p = fp + slot
            if let b = StringBuffer.inSlot(p) {
                if case let .string(t) = r { b.append(t); return .nil }
                p.pointee = .string(b.string)
            } else if case let .string(t) = r, case let .string(cur) = p.pointee {
                let b = StringBuffer(cur, extra: t.utf8.count)
                b.append(t)
                p.pointee = .object(b)
                return .nil
            }
            try Compiler.append(p, r, span)
            return .nil
        }
    }

    /// The first append of literal `text` to a buffered slot: a string starts its buffer; anything else takes
    /// the ordinary `+`.
    @inline(never)
    static func startBuffer(_ p: UnsafeMutablePointer<Value>, _ litValue: Value, _ text: String, _ span: SourceSpan) throws {
        if case let .string(cur) = p.pointee {
            let b = StringBuffer(cur, extra: text.utf8.count)
            b.append(text)
            p.pointee = .object(b)
            return
        }
        try append(p, litValue, span)
    }

    // MARK: Functions

    /// Code that creates a closure for `f` in the current frame.
    private func compileFunction(_ f: FunctionExpr) -> (UnsafeMutablePointer<Value>) throws -> Value {
        let (proto, params, makeCaptures) = functionParts(f)
        if !f.params.contains(where: { $0.defaultValue != nil }) {
            let ps = f.params.map { Parameter($0.name) }
            return { fp in .function(Closure(proto: proto, parameters: ps, captures: makeCaptures(fp))) }
        }
        return { fp in
            let ps = try params(fp)
            return .function(Closure(proto: proto, parameters: ps, captures: makeCaptures(fp)))
        }
    }

    private typealias ParamMaker = (UnsafeMutablePointer<Value>) throws -> [Parameter]

    /// The prototype (compiled once), code evaluating default values (empty if none), and capture copying.
    private func functionParts(_ f: FunctionExpr) -> (FunctionProto, ParamMaker, (UnsafeMutablePointer<Value>) -> ContiguousArray<Value>) {
        let inner = Compiler(machine: m, interpreter: interp, localCount: f.localCount, captureCount: f.captureSourcesRefs.count)
        let proto = FunctionProto(name: f.name, paramCount: f.params.count, localCount: f.localCount,
                                  captureCount: f.captureSourcesRefs.count, span: f.span, body: inner.compile(f.body))

        var params: ParamMaker = { _ in [] }
        if f.params.contains(where: { $0.defaultValue != nil }) {
            let defaults: [(String, Code?)] = f.params.map { ($0.name, $0.defaultValue.map(compile)) }
            params = { fp in try defaults.map { name, code in Parameter(name, default: try code.map { try $0(fp) }) } }
        }
        // Where each captured value comes from in this (the enclosing) frame.
        enum Source { case slot(Int), box(GlobalBox) }
        let sources: [Source] = f.captureSourcesRefs.map {
            switch $0 {
            case let .local(s): return .slot(s)
            case let .capture(i): return .slot(localCount + i)
            case let .global(b): return .box(b)
            default: return .slot(0)
            }
        }
        let make: (UnsafeMutablePointer<Value>) -> ContiguousArray<Value>
        if sources.isEmpty {
            make = { _ in [] }
        } else {
            make = { fp in
                var out = ContiguousArray<Value>()
                out.reserveCapacity(sources.count)
                for s in sources {
                    switch s {
                    case let .slot(i): out.append(fp[i])
                    case let .box(b): out.append(b.p.pointee)
                    }
                }
                return out
            }
        }
        return (proto, params, make)
    }

    /// Consecutive local `fn` declarations: create them all, then fill in captures, so they can call each other.
    private func compileFnGroup(_ group: [FnStmt]) -> Code {
        let parts = group.map { functionParts($0.function) }
        let slots: [Int] = group.map { if case let .local(s) = $0.target { return s }; return 0 }
        let plain = group.map { $0.function.params.map { Parameter($0.name) } }
        let hasDefaults = group.map { $0.function.params.contains { $0.defaultValue != nil } }
        return { fp in
            var made: [Closure] = []
            for (k, (proto, params, _)) in parts.enumerated() {
                let ps = hasDefaults[k] ? try params(fp) : plain[k]
                let c = Closure(proto: proto, parameters: ps, captures: [])
                made.append(c)
                fp[slots[k]] = .function(c)
            }
            for (k, c) in made.enumerated() { c.setCaptures(parts[k].2(fp)) }
            return .nil
        }
    }

    // MARK: Expressions

    func compile(_ e: Expr) -> Code {
        switch e {
        case let n as IntLit: let v = Value.int(n.value); return { _ in v }
        case let n as FloatLit: let v = Value.float(n.value); return { _ in v }
        case let s as StringLit: let v = Value.string(s.value); return { _ in v }
        case let b as BoolLit: let v = Value.bool(b.value); return { _ in v }
        case is NilLit: return { _ in .nil }
        case let n as NameExpr: return compileName(n)
        case let f as FStringExpr: return compileFString(f)
        case let l as ListExpr:
            let items = l.items.map { C(compile($0)) }
            return { fp in
                var out: [Value] = []
                out.reserveCapacity(items.count)
                for c in items { out.append(try c.run(fp)) }
                return .list(out)
            }
        case let r as RecordExpr:
            let keys = r.keys, values = r.values.map { C(compile($0)) }
            return { fp in .record(Record(keys: keys, values: try values.map { try $0.run(fp) })) }
        case let u as UnaryExpr:
            let x = compile(u.operand), span = u.span
            switch u.op {
            case .not: return { fp in .bool(!(try x(fp)).isTruthy) }
            case .neg: return { fp in try Ops.negate(try x(fp), span) }
            case .plus:
                return { fp in
                    let v = try x(fp)
                    switch v {
                    case .int, .float, .tensor: return v
                    default: throw LoupeError(.type, "bad operand type for unary +: \(v.typeName)", at: span)
                    }
                }
            }
        case let b as BinaryExpr: return compileBinary(b)
        case let l as LogicalExpr:
            let a = compile(l.lhs), b = compile(l.rhs)
            if l.isAnd { return { fp in let x = try a(fp); return x.isTruthy ? try b(fp) : x } }
            return { fp in let x = try a(fp); return x.isTruthy ? x : try b(fp) }
        case let r as RangeExpr:
            let a = compile(r.start), b = compile(r.end), c = r.step.map { C(compile($0)) }, span = r.span
            return { fp in
                let s = try Indexing.intIndex(try a(fp), "range start", span)
                let e = try Indexing.intIndex(try b(fp), "range end", span)
                let st = try c.map { try Indexing.intIndex(try $0.run(fp), "range step", span) } ?? 1
                if st == 0 { throw LoupeError(.value, "range step cannot be zero", at: span) }
                return .range(RangeValue(start: s, end: e, step: st))
            }
        case let c as CallExpr: return compileCall(c)
        case let i as IndexExpr: return compileIndex(i)
        case let mm as MemberExpr:
            let t = compile(mm.target), name = mm.name, span = mm.span
            return { fp in try Indexing.member(try t(fp), name, span) }
        case let f as FunctionExpr:
            return compileFunction(f)
        case let b as BlockExpr:
            return compileStatements(b.statements)
        case let i as IfExpr:
            if let b = i.cond as? BinaryExpr, [.lt, .le, .gt, .ge].contains(b.op),
               case let .slot(a) = operand(b.lhs), case let .int(y) = operand(b.rhs) {
                // `if n < 2 { ... }`: the comparison is done inside the if node.
                let op = b.op, slow = compileCondition(i.cond), t = compile(i.then)
                // Not `Optional.map`: a closure that passes through an Optional is re-abstracted (a thunk per call).
                let o: Code
                if let oe = i.otherwise { o = compile(oe) } else { o = { _ in .nil } }
                if let oe = i.otherwise as? BlockExpr, oe.statements.count == 1, let es = oe.statements[0] as? ExprStmt,
                   let bin = es.expr as? BinaryExpr, bin.op == .add, bin.lhs is CallExpr, bin.rhs is CallExpr {
                    // `if n < 2 { n } else { f(n - 1) + f(n - 2) }`: the comparison, the then-branch slot and the
                    // `+` of the two calls all in this node (the same int, float and general paths as `+`).
                    let ts = blockSlot(i.then) ?? -1
                    if let left = slotDeltaCall(bin.lhs), let right = slotDeltaCall(bin.rhs) {
                        // `f(n - 1) + g(n - 2)` of top-level functions: both calls inline in this node.
                        let node = RecursiveIf(a: a, y: y, op: op, thenSlot: ts, then: t, slow: slow,
                                               left: left, right: right, opSpan: bin.opSpan)
                        return { fp in try node.run(fp) }
                    }
                    let lc = compile(bin.lhs), rc = compile(bin.rhs), ospan = bin.opSpan
                    return { fp in
                        let c: Bool
                        if case let .int(x) = fp[a] {
                            switch op { case .lt: c = x < y; case .le: c = x <= y; case .gt: c = x > y; default: c = x >= y }
                        } else {
                            c = try slow(fp)
                        }
                        if c { return ts >= 0 ? fp[ts] : try t(fp) }
                        let v = try lc(fp), w = try rc(fp)
                        if case let .int(x) = v, case let .int(z) = w { return try AddKind.int(x, z, ospan) }
                        if case let .float(x) = v, case let .float(z) = w { return AddKind.float(x, z) }
                        return try Ops.binary(.add, v, w, ospan)
                    }
                }
                if let ts = blockSlot(i.then) {
                    // `if n < 2 { n } else { ... }`: the then-branch reads its slot inline.
                    return { fp in
                        let c: Bool
                        if case let .int(x) = fp[a] {
                            switch op { case .lt: c = x < y; case .le: c = x <= y; case .gt: c = x > y; default: c = x >= y }
                        } else {
                            c = try slow(fp)
                        }
                        return try c ? fp[ts] : o(fp)
                    }
                }
                return { fp in
                    let c: Bool
                    if case let .int(x) = fp[a] {
                        switch op { case .lt: c = x < y; case .le: c = x <= y; case .gt: c = x > y; default: c = x >= y }
                    } else {
                        c = try slow(fp)
                    }
                    return try c ? t(fp) : o(fp)
                }
            }
            let c = compileCondition(i.cond), t = compile(i.then)
            if let oe = i.otherwise { let o = compile(oe); return { fp in try c(fp) ? t(fp) : o(fp) } }
            return { fp in try c(fp) ? t(fp) : .nil }
        case let w as WhileExpr:
            return withStringBuffers([w.cond, w.body]) { compileWhile(w) }
        case let f as ForExpr: return withStringBuffers([f.iterable, f.body]) { compileFor(f) }
        case let t as TryExpr:
            let body = compile(t.body), handler = compile(t.handler), store = storer(t.target), st = m.st
            return { fp in
                let depth = st.pointee.depth
                do {
                    return try body(fp)
                } catch let e as LoupeError where e.kind != .interrupted && e.kind != .syntax && e.kind != .name {
                    st.pointee.depth = depth
                    store(fp, .error(ErrorValue(e)))
                    return try handler(fp)
                }
            }
        case is BreakExpr:
            let st = m.st
            return { _ in st.pointee.unwind = unwindBreak; return .nil }
        case is ContinueExpr:
            let st = m.st
            return { _ in st.pointee.unwind = unwindContinue; return .nil }
        case let r as ReturnExpr:
            let st = m.st
            let v: Code
            if let re = r.value { v = compile(re) } else { v = { _ in .nil } }
            return { fp in
                let x = try v(fp)
                st.pointee.ret = x
                st.pointee.unwind = unwindReturn
                return .nil
            }
        default:
            let span = e.span
            return { _ in throw LoupeError(.syntax, "cannot compile this expression", at: span) }
        }
    }

    private func compileName(_ n: NameExpr) -> Code {
        switch n.ref {
        case let .local(slot): return { fp in fp[slot] }
        case let .capture(i): let slot = localCount + i; return { fp in fp[slot] }
        case let .global(box):
            // The closure keeps the box alive: a later re-declaration (a new REPL line) replaces the module's
            // entry, and code compiled against this box must still read valid memory.
            let p = box.p; return { _ in withExtendedLifetime(box) { p.pointee } }
        case let .builtin(v): return { _ in v }
        case .unresolved:
            let span = n.span, name = n.name
            return { _ in throw LoupeError(.name, "undefined name '\(name)'", at: span) }
        }
    }

    private func compileFString(_ f: FStringExpr) -> Code {
        enum Piece { case text(String), value(Code, String?, SourceSpan) }
        let pieces: [Piece] = f.parts.map {
            switch $0 {
            case let .text(s): return .text(s)
            case let .expr(e, spec): return .value(compile(e), spec, e.span)
            }
        }
        return { fp in
            var out = ""
            for p in pieces {
                switch p {
                case let .text(s): out += s
                case let .value(c, spec, span):
                    let v = try c(fp)
                    if let spec, !spec.isEmpty { out += try FormatSpec.format(v, spec, span) } else { out += v.display }
                }
            }
            return .string(out)
        }
    }

    /// The slot of a block that only reads a local (`{ n }`), if it is one.
    private func blockSlot(_ e: Expr) -> Int? {
        var x = e
        if let b = e as? BlockExpr {
            guard b.statements.count == 1, let s = b.statements[0] as? ExprStmt else { return nil }
            x = s.expr
        }
        if let n = x as? NameExpr {
            if case let .local(s) = n.ref { return s }
            if case let .capture(i) = n.ref { return localCount + i }
        }
        return nil
    }

    private func operand(_ e: Expr) -> Operand {
        if let n = e as? NameExpr {
            if case let .local(s) = n.ref { return .slot(s) }
            if case let .capture(i) = n.ref { return .slot(localCount + i) }
        }
        if let i = e as? IntLit { return .int(i.value) }
        return .code(compile(e))
    }

    /// A condition as a Bool; int comparisons against a slot or literal skip making a bool value.
    private func compileCondition(_ e: Expr) -> (UnsafeMutablePointer<Value>) throws -> Bool {
        if let b = e as? BinaryExpr, [.lt, .le, .gt, .ge].contains(b.op) {
            let op = b.op, span = b.opSpan
            switch (operand(b.lhs), operand(b.rhs)) {
            case let (.slot(a), .int(y)):
                return { fp in
                    if case let .int(x) = fp[a] {
                        switch op { case .lt: return x < y; case .le: return x <= y; case .gt: return x > y; default: return x >= y }
                    }
                    return try Ops.ordered(op, fp[a], .int(y), span)
                }
            case let (.slot(a), .slot(c)):
                return { fp in
                    if case let .int(x) = fp[a], case let .int(y) = fp[c] {
                        switch op { case .lt: return x < y; case .le: return x <= y; case .gt: return x > y; default: return x >= y }
                    }
                    return try Ops.ordered(op, fp[a], fp[c], span)
                }
            default:
                break
            }
        }
        let c = compile(e)
        return { fp in (try c(fp)).isTruthy }
    }

    private func compileBinary(_ b: BinaryExpr) -> Code {
        let op = b.op, span = b.opSpan
        if op == .add || op == .sub, let inner = b.lhs as? BinaryExpr, inner.op == .add || inner.op == .sub,
           case let .slot(sa) = operand(inner.lhs), case let .slot(sb) = operand(inner.rhs), case let .slot(sc) = operand(b.rhs),
           let general = Specialize.binary(op, .code(compileBinary(inner)), .slot(sc), span) {
            // `a + b + k` on three slots: both int operations in one node; anything else takes the nested code,
            // which does the same int operations (and overflow errors) when all three are ints.
            let iop = inner.op, ispan = inner.opSpan
            return { fp in
                if case let .int(x) = fp[sa], case let .int(y) = fp[sb], case let .int(z) = fp[sc] {
                    let (r1, o1) = iop == .add ? x.addingReportingOverflow(y) : x.subtractingReportingOverflow(y)
                    if o1 { throw Ops.overflow(iop, x, y, ispan) }
                    let (r2, o2) = op == .add ? r1.addingReportingOverflow(z) : r1.subtractingReportingOverflow(z)
                    if o2 { throw Ops.overflow(op, r1, z, span) }
                    return .int(r2)
                }
                return try general(fp)
            }
        }
        if let c = Specialize.binary(op, operand(b.lhs), operand(b.rhs), span) { return c }
        let l = compile(b.lhs), r = compile(b.rhs)
        return { fp in try Ops.binary(op, try l(fp), try r(fp), span) }
    }

    private func compileIndex(_ i: IndexExpr) -> Code {
        let t = compile(i.target), span = i.span
        if i.subscripts.count == 1, case let .index(ie) = i.subscripts[0] {
            let x = compile(ie)
            return { fp in
                let target = try t(fp), idx = try x(fp)
                if case let .list(xs) = target, case let .int(k) = idx {
                    let j = k < 0 ? k + xs.count : k
                    if j >= 0 && j < xs.count { return xs[j] }
                }
                return try Indexing.index(target, [.index(idx)], span)
            }
        }
        enum S { case index(Code), slice(Code?, Code?, Code?), ellipsis, newAxis }
        let subs: [S] = i.subscripts.map {
            switch $0 {
            case let .index(e): return .index(compile(e))
            case let .slice(a, b, c): return .slice(a.map(compile), b.map(compile), c.map(compile))
            case .ellipsis: return .ellipsis
            case .newAxis: return .newAxis
            }
        }
        return { fp in
            let target = try t(fp)
            var vals: [SubscriptValue] = []
            vals.reserveCapacity(subs.count)
            for s in subs {
                switch s {
                case let .index(c): vals.append(.index(try c(fp)))
                case let .slice(a, b, c):
                    vals.append(.slice(try a?(fp) ?? .nil, try b?(fp) ?? .nil, try c?(fp) ?? .nil))
                case .ellipsis: vals.append(.ellipsis)
                case .newAxis: vals.append(.newAxis)
                }
            }
            return try Indexing.index(target, vals, span)
        }
    }

    private func compileWhile(_ w: WhileExpr) -> Code {
        let c = compileCondition(w.cond), body = compile(w.body), st = m.st, span = w.span
        return { fp in
            while true {
                if loupeInterruptFlag != 0 { try Machine.checkInterrupt(span) }
                if !(try c(fp)) { break }
                _ = try body(fp)
                let u = st.pointee.unwind
                if u != 0 {
                if u == unwindBreak { st.pointee.unwind = 0; break }
                if u == unwindContinue { st.pointee.unwind = 0; continue }
                return .nil
                }
            }
            return .nil
        }
    }

    /// Compiles a loop whose parts are `parts`, letting the local slots it only appends to hold a StringBuffer
    /// while it runs; they become strings again on every way out of the loop.
    private func withStringBuffers(_ parts: [Expr], _ compileLoop: () -> Code) -> Code {
        let use = SlotUse()
        parts.forEach(use.expr)
        if use.unknown || use.appended.isEmpty { return compileLoop() }
        let fresh = use.appended.subtracting(use.other).subtracting(bufferSlots).subtracting(blockedSlots)
        let savedBuffer = bufferSlots, savedBlocked = blockedSlots
        bufferSlots.formUnion(fresh)
        blockedSlots.formUnion(use.appended.intersection(use.other))
        let loop = compileLoop()
        bufferSlots = savedBuffer
        blockedSlots = savedBlocked
        if fresh.isEmpty { return loop }
        let slots = fresh.sorted()
        return { fp in
            let v: Value
            do {
                v = try loop(fp)
            } catch {
                for s in slots { StringBuffer.settle(fp + s) }
                throw error
            }
            for s in slots { StringBuffer.settle(fp + s) }
            return v
        }
    }

    private func compileFor(_ f: ForExpr) -> Code {
        let iter = compile(f.iterable), body = compile(f.body), st = m.st, span = f.span
        let bind = patternBinder(f.pattern, f.targets)
        if case .name = f.pattern, case let .local(slot) = f.targets[0] {
            return { fp in
                let it = try iter(fp)
                if case let .range(r) = it {
                    let n = r.count
                    var i = 0, v = r.start
                    // The loop variable cannot be assigned by the body, so after this store the slot holds an
                    // int on every iteration and can be overwritten without destroying it.
                    fp[slot] = .int(v)
                    while i < n {
                        if loupeInterruptFlag != 0 { try Machine.checkInterrupt(span) }
                        (fp + slot).initialize(to: .int(v))
                        _ = try body(fp)
                        let u = st.pointee.unwind
                        if u != 0 {
                            if u == unwindBreak { st.pointee.unwind = 0; break }
                            if u == unwindContinue { st.pointee.unwind = 0 } else { return .nil }
                        }
                        i += 1
                        v &+= r.step
                    }
                    return .nil
                }
                try Indexing.iterate(it, span) { x in
                    if loupeInterruptFlag != 0 { try Machine.checkInterrupt(span) }
                    fp[slot] = x
                    _ = try body(fp)
                    let u = st.pointee.unwind
                    if u != 0 {
                        if u == unwindBreak { st.pointee.unwind = 0; return false }
                        if u == unwindContinue { st.pointee.unwind = 0 } else { return false }
                    }
                    return true
                }
                return .nil
            }
        }
        return { fp in
            let it = try iter(fp)
            try Indexing.iterate(it, span) { x in
                if loupeInterruptFlag != 0 { try Machine.checkInterrupt(span) }
                try bind(fp, x)
                _ = try body(fp)
                let u = st.pointee.unwind
                if u != 0 {
                    if u == unwindBreak { st.pointee.unwind = 0; return false }
                    if u == unwindContinue { st.pointee.unwind = 0 } else { return false }
                }
                return true
            }
            return .nil
        }
    }

    // MARK: Calls

    /// The frame slot an argument reads, or -1: call nodes read slots inline instead of calling a closure.
    private func argSlot(_ e: Expr) -> Int {
        if case let .slot(s) = operand(e) { return s }
        return -1
    }

    /// Calls of a function held in a local slot (`add(s, i)`): the slot cannot change while the call runs
    /// (callees use frames above this one and never assign it), so the closure is used without retaining it.
    private func compileSlotCall(_ n: NameExpr, _ args: [C], _ argExprs: [Expr], _ span: SourceSpan) -> Code {
        guard case let .local(slot) = n.ref else { return { _ in .nil } }
        let size = frameSize, m = self.m
        let s0 = argSlot(argExprs[0]), s1 = argExprs.count > 1 ? argSlot(argExprs[1]) : -1
        if args.count == 1 {
            let a0 = args[0].run
            return { fp in
                let x = s0 >= 0 ? fp[s0] : try a0(fp)
                let nfp = fp + size
                if let u = Compiler.closure(in: fp[slot], params: 1) {
                    nfp.initialize(to: x)
                    return try u._withUnsafeGuaranteedRef { try m.invoke($0, nfp, span) }
                }
                return try m.call(fp[slot], [x], [], span: span, top: nfp)
            }
        }
        let a0 = args[0].run, a1 = args[1].run
        if s0 >= 0 && s1 >= 0 {
            // Both arguments are slots (`add(s, i)`): read them straight into the callee's frame, one copy each
            // (numbers bitwise).
            return { fp in
                let nfp = fp + size
                if let u = Compiler.closure(in: fp[slot], params: 2) {
                    Compiler.copy(fp + s0, to: nfp); Compiler.copy(fp + s1, to: nfp + 1)
                    return try u._withUnsafeGuaranteedRef { try m.invoke($0, nfp, span) }
                }
                return try m.call(fp[slot], [fp[s0], fp[s1]], [], span: span, top: nfp)
            }
        }
        return { fp in
            let x = s0 >= 0 ? fp[s0] : try a0(fp)
            let y = s1 >= 0 ? fp[s1] : try a1(fp)
            let nfp = fp + size
            if let u = Compiler.closure(in: fp[slot], params: 2) {
                nfp.initialize(to: x); (nfp + 1).initialize(to: y)
                return try u._withUnsafeGuaranteedRef { try m.invoke($0, nfp, span) }
            }
            return try m.call(fp[slot], [x, y], [], span: span, top: nfp)
        }
    }

    /// The Loupe closure of `params` parameters that `v` (a slot's value) holds, unretained, or nil. Taking the
    /// value as a parameter borrows it: matching on the slot in place copied the function (a retain and a
    /// release around every call).
    @inline(__always)
    static func closure(in v: Value, params: Int) -> Unmanaged<Closure>? {
        guard case let .function(fn) = v, fn.kindTag == 1 else { return nil }
        let c = unsafeDowncast(fn, to: Closure.self)
        return c.proto.paramCount == params ? Unmanaged.passUnretained(c) : nil
    }

    /// Copies a slot into an uninitialised one; numbers bitwise (no outlined copy).
    @inline(__always)
    static func copy(_ src: UnsafeMutablePointer<Value>, to dst: UnsafeMutablePointer<Value>) {
        switch src.pointee {
        case let .int(x): dst.initialize(to: .int(x))
        case let .float(x): dst.initialize(to: .float(x))
        default: dst.initialize(to: src.pointee)
        }
    }

    /// `len` or `metrics.ece` resolved to a built-in before running.
    private func staticBuiltin(_ callee: Expr) -> Builtin? {
        if let n = callee as? NameExpr, case let .builtin(.function(f)) = n.ref, f.kindTag == 2 {
            return unsafeDowncast(f, to: Builtin.self)
        }
        if let mm = callee as? MemberExpr, let n = mm.target as? NameExpr, case let .builtin(.record(r)) = n.ref,
           case let .function(f)? = r[mm.name], f.kindTag == 2 {
            return unsafeDowncast(f, to: Builtin.self)
        }
        return nil
    }

    /// Calls of a top-level function by name (`fib(n - 1)`): the box never changes once assigned, so the closure
    /// is cached unretained at the call site (the box keeps it alive) and called without reference counting.
    private func compileCachedCall(_ box: GlobalBox, _ args: [C], _ span: SourceSpan, slot: Int = -1, delta: Int = 0,
                                   deltaSpan: SourceSpan? = nil, deltaOp: BinaryOp = .add) -> Code {
        final class Site { @exclusivity(unchecked) var cached: Unmanaged<Closure>? }
        let site = Site(), size = frameSize, m = self.m
        if args.count == 1 && slot >= 0 {
            let call = SlotDeltaCall(m: m, box: box, slot: slot, delta: delta, size: size, deltaOp: deltaOp,
                                     span: span, deltaSpan: deltaSpan ?? span, general: args[0].run)
            return { fp in try call.call(fp) }
        }
        if args.count == 1 {
            let a0 = args[0].run
            return { fp in
                let nfp = fp + size
                nfp.initialize(to: try a0(fp))
                if let u = site.cached {
                    return try u._withUnsafeGuaranteedRef { c in try m.invoke(c, nfp, span) }
                }
                let x = nfp.move()
                nfp.initialize(to: .nil)
                let f = box.p.pointee
                if case let .function(fn) = f, fn.kindTag == 1 {
                    let c = unsafeDowncast(fn, to: Closure.self)
                    if c.proto.paramCount == 1 { site.cached = Unmanaged.passUnretained(c) }
                }
                return try m.call(f, [x], [], span: span, top: nfp)
            }
        }
        let a0 = args[0].run, a1 = args[1].run
        return { fp in
            let x = try a0(fp), y = try a1(fp)
            let nfp = fp + size
            if let u = site.cached {
                return try u._withUnsafeGuaranteedRef { c in
                    nfp.initialize(to: x); (nfp + 1).initialize(to: y)
                    return try m.invoke(c, nfp, span)
                }
            }
            let f = box.p.pointee
            if case let .function(fn) = f, fn.kindTag == 1 {
                let c = unsafeDowncast(fn, to: Closure.self)
                if c.proto.paramCount == 2 { site.cached = Unmanaged.passUnretained(c) }
            }
            return try m.call(f, [x, y], [], span: span, top: nfp)
        }
    }

    /// `f(n - k)` or `f(n + k)` with `f` a top-level function (a constant global) and `n` a slot: the call site
    /// that compileCall makes for it, or nil for any other call.
    private func slotDeltaCall(_ e: Expr) -> SlotDeltaCall? {
        guard let c = e as? CallExpr, c.keywords.isEmpty, c.args.count == 1, let n = c.callee as? NameExpr,
              case let .global(box) = n.ref, box.constant, staticBuiltin(c.callee) == nil,
              let b = c.args[0] as? BinaryExpr, b.op == .sub || b.op == .add,
              case let .slot(a) = operand(b.lhs), case let .int(k) = operand(b.rhs), k != Int.min else { return nil }
        return SlotDeltaCall(m: m, box: box, slot: a, delta: b.op == .sub ? -k : k, size: frameSize, deltaOp: b.op,
                             span: c.span, deltaSpan: b.opSpan, general: compile(c.args[0]))
    }

    private func compileCall(_ c: CallExpr) -> Code {
        let span = c.span, size = frameSize, m = self.m
        let callee = compile(c.callee)
        let args = c.args.map { C(compile($0)) }
        if !c.keywords.isEmpty {
            let kws = c.keywords.map { ($0.name, compile($0.value)) }
            return { fp in
                let f = try callee(fp)
                let a = try args.map { try $0.run(fp) }
                let k = try kws.map { ($0.0, try $0.1(fp)) }
                return try m.call(f, a, k, span: span, top: fp + size)
            }
        }
        if let b = staticBuiltin(c.callee) {
            // A built-in known at compile time: no callee evaluation or dispatch.
            return { fp in
                var vals: [Value] = []
                vals.reserveCapacity(args.count)
                for a in args { vals.append(try a.run(fp)) }
                return try m.callBuiltinPositional(b, vals, span: span, top: fp + size)
            }
        }
        if let n = c.callee as? NameExpr, case let .global(box) = n.ref, box.constant, args.count == 1 || args.count == 2 {
            if args.count == 1, let b = c.args[0] as? BinaryExpr, b.op == .sub || b.op == .add,
               case let .slot(a) = operand(b.lhs), case let .int(k) = operand(b.rhs), k != Int.min {
                // `f(n - 1)`: the argument is computed inside the call node.
                return compileCachedCall(box, args, span, slot: a, delta: b.op == .sub ? -k : k, deltaSpan: b.opSpan,
                                         deltaOp: b.op)
            }
            return compileCachedCall(box, args, span)
        }
        if let n = c.callee as? NameExpr, case .local = n.ref, args.count == 2 || args.count == 1 {
            return compileSlotCall(n, args, c.args, span)
        }
        switch args.count {
        case 0:
            return { fp in
                let f = try callee(fp)
                let nfp = fp + size
                if case let .function(fn) = f, fn.kindTag == 1 {
                    let cl = unsafeDowncast(fn, to: Closure.self)
                    if cl.proto.paramCount == 0 { return try m.invoke(cl, nfp, span) }
                }
                return try m.call(f, [], [], span: span, top: nfp)
            }
        case 1:
            let a0 = args[0].run
            return { fp in
                let f = try callee(fp)
                let x = try a0(fp)
                let nfp = fp + size
                if case let .function(fn) = f, fn.kindTag == 1 {
                    let cl = unsafeDowncast(fn, to: Closure.self)
                    if cl.proto.paramCount == 1 { nfp.initialize(to: x); return try m.invoke(cl, nfp, span) }
                }
                return try m.call(f, [x], [], span: span, top: nfp)
            }
        case 2:
            let a0 = args[0].run, a1 = args[1].run
            return { fp in
                let f = try callee(fp)
                let x = try a0(fp), y = try a1(fp)
                let nfp = fp + size
                if case let .function(fn) = f, fn.kindTag == 1 {
                    let cl = unsafeDowncast(fn, to: Closure.self)
                    if cl.proto.paramCount == 2 { nfp.initialize(to: x); (nfp + 1).initialize(to: y); return try m.invoke(cl, nfp, span) }
                }
                return try m.call(f, [x, y], [], span: span, top: nfp)
            }
        case 3:
            let a0 = args[0].run, a1 = args[1].run, a2 = args[2].run
            return { fp in
                let f = try callee(fp)
                let x = try a0(fp), y = try a1(fp), z = try a2(fp)
                let nfp = fp + size
                if case let .function(fn) = f, fn.kindTag == 1 {
                    let cl = unsafeDowncast(fn, to: Closure.self)
                    if cl.proto.paramCount == 3 { nfp.initialize(to: x); (nfp + 1).initialize(to: y); (nfp + 2).initialize(to: z); return try m.invoke(cl, nfp, span) }
                }
                return try m.call(f, [x, y, z], [], span: span, top: nfp)
            }
        default:
            return { fp in
                let f = try callee(fp)
                let a = try args.map { try $0.run(fp) }
                return try m.call(f, a, [], span: span, top: fp + size)
            }
        }
    }
}
