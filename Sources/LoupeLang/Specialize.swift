/// Specialised closures for binary operators on the operand shapes that dominate hot loops: a local slot, an int
/// literal, or any other expression. Each operator is a type, so the generic builder is specialised per operator
/// and the int fast path is inlined; anything that is not two ints (or two floats) takes the general path.

enum Operand {
    case slot(Int)
    case int(Int)
    case code(Code)
}

protocol BinOpKind {
    static var op: BinaryOp { get }
    static func int(_ x: Int, _ y: Int, _ span: SourceSpan) throws -> Value
    static func float(_ x: Double, _ y: Double) -> Value
}

enum AddKind: BinOpKind {
    static var op: BinaryOp { .add }
    @inline(__always) static func int(_ x: Int, _ y: Int, _ span: SourceSpan) throws -> Value {
        let (r, o) = x.addingReportingOverflow(y); if o { throw Ops.overflow(.add, x, y, span) }; return .int(r)
    }
    @inline(__always) static func float(_ x: Double, _ y: Double) -> Value { .float(x + y) }
}
enum SubKind: BinOpKind {
    static var op: BinaryOp { .sub }
    @inline(__always) static func int(_ x: Int, _ y: Int, _ span: SourceSpan) throws -> Value {
        let (r, o) = x.subtractingReportingOverflow(y); if o { throw Ops.overflow(.sub, x, y, span) }; return .int(r)
    }
    @inline(__always) static func float(_ x: Double, _ y: Double) -> Value { .float(x - y) }
}
enum MulKind: BinOpKind {
    static var op: BinaryOp { .mul }
    @inline(__always) static func int(_ x: Int, _ y: Int, _ span: SourceSpan) throws -> Value {
        let (r, o) = x.multipliedReportingOverflow(by: y); if o { throw Ops.overflow(.mul, x, y, span) }; return .int(r)
    }
    @inline(__always) static func float(_ x: Double, _ y: Double) -> Value { .float(x * y) }
}
enum LtKind: BinOpKind {
    static var op: BinaryOp { .lt }
    @inline(__always) static func int(_ x: Int, _ y: Int, _ span: SourceSpan) throws -> Value { .bool(x < y) }
    @inline(__always) static func float(_ x: Double, _ y: Double) -> Value { .bool(x < y) }
}
enum LeKind: BinOpKind {
    static var op: BinaryOp { .le }
    @inline(__always) static func int(_ x: Int, _ y: Int, _ span: SourceSpan) throws -> Value { .bool(x <= y) }
    @inline(__always) static func float(_ x: Double, _ y: Double) -> Value { .bool(x <= y) }
}
enum GtKind: BinOpKind {
    static var op: BinaryOp { .gt }
    @inline(__always) static func int(_ x: Int, _ y: Int, _ span: SourceSpan) throws -> Value { .bool(x > y) }
    @inline(__always) static func float(_ x: Double, _ y: Double) -> Value { .bool(x > y) }
}
enum GeKind: BinOpKind {
    static var op: BinaryOp { .ge }
    @inline(__always) static func int(_ x: Int, _ y: Int, _ span: SourceSpan) throws -> Value { .bool(x >= y) }
    @inline(__always) static func float(_ x: Double, _ y: Double) -> Value { .bool(x >= y) }
}
enum EqKind: BinOpKind {
    static var op: BinaryOp { .eq }
    @inline(__always) static func int(_ x: Int, _ y: Int, _ span: SourceSpan) throws -> Value { .bool(x == y) }
    @inline(__always) static func float(_ x: Double, _ y: Double) -> Value { .bool(x == y) }
}
enum NeKind: BinOpKind {
    static var op: BinaryOp { .ne }
    @inline(__always) static func int(_ x: Int, _ y: Int, _ span: SourceSpan) throws -> Value { .bool(x != y) }
    @inline(__always) static func float(_ x: Double, _ y: Double) -> Value { .bool(x != y) }
}

enum Specialize {
    static func binary(_ op: BinaryOp, _ l: Operand, _ r: Operand, _ span: SourceSpan) -> Code? {
        switch op {
        case .add: return make(AddKind.self, l, r, span)
        case .sub: return make(SubKind.self, l, r, span)
        case .mul: return make(MulKind.self, l, r, span)
        case .lt: return make(LtKind.self, l, r, span)
        case .le: return make(LeKind.self, l, r, span)
        case .gt: return make(GtKind.self, l, r, span)
        case .ge: return make(GeKind.self, l, r, span)
        case .eq: return make(EqKind.self, l, r, span)
        case .ne: return make(NeKind.self, l, r, span)
        default: return nil
        }
    }

    static func make<O: BinOpKind>(_: O.Type, _ l: Operand, _ r: Operand, _ span: SourceSpan) -> Code {
        switch (l, r) {
        case let (.slot(a), .int(y)):
            let rv = Value.int(y)
            return { fp in
                if case let .int(x) = fp[a] { return try O.int(x, y, span) }
                return try Ops.binary(O.op, fp[a], rv, span)
            }
        case let (.slot(a), .slot(b)):
            return { fp in
                if case let .int(x) = fp[a], case let .int(y) = fp[b] { return try O.int(x, y, span) }
                if case let .float(x) = fp[a], case let .float(y) = fp[b] { return O.float(x, y) }
                return try Ops.binary(O.op, fp[a], fp[b], span)
            }
        case let (.code(lc), .int(y)):
            let rv = Value.int(y)
            return { fp in
                let v = try lc(fp)
                if case let .int(x) = v { return try O.int(x, y, span) }
                return try Ops.binary(O.op, v, rv, span)
            }
        case let (.slot(a), .code(rc)):
            return { fp in
                let w = try rc(fp)
                if case let .int(x) = fp[a], case let .int(y) = w { return try O.int(x, y, span) }
                if case let .float(x) = fp[a], case let .float(y) = w { return O.float(x, y) }
                return try Ops.binary(O.op, fp[a], w, span)
            }
        case let (.code(lc), .slot(b)):
            return { fp in
                let v = try lc(fp)
                if case let .int(x) = v, case let .int(y) = fp[b] { return try O.int(x, y, span) }
                if case let .float(x) = v, case let .float(y) = fp[b] { return O.float(x, y) }
                return try Ops.binary(O.op, v, fp[b], span)
            }
        default:
            let lc = code(l), rc = code(r)
            return { fp in
                let v = try lc(fp), w = try rc(fp)
                if case let .int(x) = v, case let .int(y) = w { return try O.int(x, y, span) }
                if case let .float(x) = v, case let .float(y) = w { return O.float(x, y) }
                return try Ops.binary(O.op, v, w, span)
            }
        }
    }

    static func code(_ o: Operand) -> Code {
        switch o {
        case let .slot(s): return { fp in fp[s] }
        case let .int(i): let v = Value.int(i); return { _ in v }
        case let .code(c): return c
        }
    }
}
