/// Call sites of the recursion hot path, as final classes whose methods the call-node closures inline: a class
/// instance is one captured pointer, and its `let` fields are loaded where they are used, whereas a closure that
/// captures a dozen values (spans, codes, the machine) loads them all on entry, on every call.

/// `f(n - k)` / `f(n + k)`: `f` a top-level function (a constant global, so the closure is cached unretained at the
/// site: the box keeps it alive) and `n` a slot. The argument is computed straight into the callee's frame.
final class SlotDeltaCall {
    @exclusivity(unchecked) var cached: Unmanaged<Closure>?
    let m: Machine
    let box: GlobalBox
    let slot: Int, delta: Int, size: Int
    let deltaOp: BinaryOp
    let span: SourceSpan, deltaSpan: SourceSpan
    /// The argument expression, for an argument that is not an int.
    let general: Code

    init(m: Machine, box: GlobalBox, slot: Int, delta: Int, size: Int, deltaOp: BinaryOp, span: SourceSpan,
         deltaSpan: SourceSpan, general: @escaping Code) {
        self.m = m; self.box = box; self.slot = slot; self.delta = delta; self.size = size; self.deltaOp = deltaOp
        self.span = span; self.deltaSpan = deltaSpan; self.general = general
    }

    @inline(__always)
    func call(_ fp: UnsafeMutablePointer<Value>) throws -> Value {
        let nfp = fp + size
        if case let .int(v) = fp[slot] {
            let (r, o) = v.addingReportingOverflow(delta)
            if o { throw overflow(v) }
            nfp.initialize(to: .int(r))
        } else {
            nfp.initialize(to: try general(fp))
        }
        if let u = cached {
            return try u._withUnsafeGuaranteedRef { c in try m.invoke(c, nfp, span) }
        }
        return try first(nfp)
    }

    @inline(never)
    private func overflow(_ v: Int) -> Error {
        Ops.overflow(deltaOp, v, deltaOp == .sub ? -delta : delta, deltaSpan)
    }

    /// The first call through this site (or any call of something that is not a one-parameter Loupe function):
    /// the general call, caching the closure when it can.
    @inline(never)
    private func first(_ nfp: UnsafeMutablePointer<Value>) throws -> Value {
        let x = nfp.move()
        nfp.initialize(to: .nil)
        let f = box.p.pointee
        if case let .function(fn) = f, fn.kindTag == 1 {
            let c = unsafeDowncast(fn, to: Closure.self)
            if c.proto.paramCount == 1 { cached = Unmanaged.passUnretained(c) }
        }
        return try m.call(f, [x], [], span: span, top: nfp)
    }
}

/// `if n < k { n } else { f(n - a) + g(n - b) }` (any of < <= > >=, any then-branch): the comparison, the
/// then-branch slot, both calls and the `+` in one node. The same int, float and general paths as the unfused
/// code (`+` through Ops.binary for anything but two ints or two floats).
final class RecursiveIf {
    let a: Int, y: Int, op: BinaryOp
    /// The slot the then-branch reads, or -1 (then `then` runs).
    let thenSlot: Int
    let then: Code
    let slow: (UnsafeMutablePointer<Value>) throws -> Bool
    let left: SlotDeltaCall, right: SlotDeltaCall
    let opSpan: SourceSpan

    init(a: Int, y: Int, op: BinaryOp, thenSlot: Int, then: @escaping Code,
         slow: @escaping (UnsafeMutablePointer<Value>) throws -> Bool, left: SlotDeltaCall, right: SlotDeltaCall,
         opSpan: SourceSpan) {
        self.a = a; self.y = y; self.op = op; self.thenSlot = thenSlot; self.then = then; self.slow = slow
        self.left = left; self.right = right; self.opSpan = opSpan
    }

    @inline(__always)
    func run(_ fp: UnsafeMutablePointer<Value>) throws -> Value {
        let c: Bool
        if case let .int(x) = fp[a] {
            switch op {
            case .lt: c = x < y
            case .le: c = x <= y
            case .gt: c = x > y
            default: c = x >= y
            }
        } else {
            c = try slow(fp)
        }
        if c {
            if thenSlot >= 0 {
                if case let .int(x) = fp[thenSlot] { return .int(x) }
                return fp[thenSlot]
            }
            return try then(fp)
        }
        let v = try left.call(fp)
        let w = try right.call(fp)
        if case let .int(x) = v, case let .int(z) = w {
            let (r, o) = x.addingReportingOverflow(z)
            if o { throw Ops.overflow(.add, x, z, opSpan) }
            return .int(r)
        }
        return try add(v, w)
    }

    @inline(never)
    private func add(_ v: Value, _ w: Value) throws -> Value {
        if case let .float(x) = v, case let .float(z) = w { return AddKind.float(x, z) }
        return try Ops.binary(.add, v, w, opSpan)
    }
}
