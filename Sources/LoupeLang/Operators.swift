import Foundation
import LoupeTensor

/// The meaning of operators on values (docs/language.md §3): checked int arithmetic, float arithmetic, string and
/// list concatenation, broadcasting tensor arithmetic, structural equality and ordering. Every failure is a
/// LoupeError at the operator's span.
enum Ops {
    @inline(never)
    static func typeError(_ op: BinaryOp, _ a: Value, _ b: Value, _ span: SourceSpan) -> LoupeError {
        LoupeError(.type, "unsupported operand types for \(op.rawValue): \(a.typeName) and \(b.typeName)", at: span)
    }

    @inline(never)
    static func overflow(_ op: BinaryOp, _ x: Int, _ y: Int, _ span: SourceSpan) -> LoupeError {
        LoupeError(.value, "integer overflow in \(x) \(op.rawValue) \(y)", at: span)
    }

    /// Tensor errors keep their message; shape problems are `.shape`, bad indices `.index`, the rest `.value`.
    static func tensorError(_ e: Error, _ span: SourceSpan?) -> LoupeError {
        if let le = e as? LoupeError { var le = le; if le.span == nil { le.span = span }; return le }
        guard let te = e as? TensorError else { return LoupeError(.value, "\(e)", at: span) }
        switch te {
        case .shapeMismatch, .invalidAxis: return LoupeError(.shape, te.description, at: span)
        case .indexOutOfRange: return LoupeError(.index, te.description, at: span)
        default: return LoupeError(.value, te.description, at: span)
        }
    }

    @inline(__always) static func asDouble(_ v: Value) -> Double? {
        switch v {
        case let .int(i): return Double(i)
        case let .float(d): return d
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    static func scalarTensor(_ v: Value) -> Tensor? {
        switch v {
        case let .tensor(t): return t
        case let .int(i): return Tensor(scalar: Float(i))
        case let .float(d): return Tensor(scalar: Float(d))
        case let .bool(b): return Tensor(scalar: b ? 1 : 0)
        default: return nil
        }
    }

    static func tensorOp(_ op: BinaryOp, _ a: Value, _ b: Value, _ span: SourceSpan) throws -> Value {
        guard let x = scalarTensor(a), let y = scalarTensor(b) else { throw typeError(op, a, b, span) }
        do {
            switch op {
            case .add: return .tensor(try x + y)
            case .sub: return .tensor(try x - y)
            case .mul: return .tensor(try x * y)
            case .div: return .tensor(try x / y)
            case .pow: return .tensor(try x.pow(y))
            case .matmul: return .tensor(try x.matmul(y))
            case .eq: return .tensor(try x == y)
            case .ne: return .tensor(try x != y)
            case .lt: return .tensor(try x < y)
            case .le: return .tensor(try x <= y)
            case .gt: return .tensor(try x > y)
            case .ge: return .tensor(try x >= y)
            case .floorDiv, .mod, .in: throw typeError(op, a, b, span)
            }
        } catch {
            throw tensorError(error, span)
        }
    }

    static func binary(_ op: BinaryOp, _ a: Value, _ b: Value, _ span: SourceSpan) throws -> Value {
        if case .tensor = a { return try tensorOp(op, a, b, span) }
        if case .tensor = b, op != .in { return try tensorOp(op, a, b, span) }
        switch op {
        case .add: return try add(a, b, span)
        case .sub, .mul, .div, .floorDiv, .mod, .pow: return try arith(op, a, b, span)
        case .matmul: throw typeError(op, a, b, span)
        case .eq: return .bool(Value.equal(a, b))
        case .ne: return .bool(!Value.equal(a, b))
        case .lt, .le, .gt, .ge: return .bool(try ordered(op, a, b, span))
        case .in: return .bool(try contains(b, a, span))
        }
    }

    @inline(__always)
    static func add(_ a: Value, _ b: Value, _ span: SourceSpan) throws -> Value {
        switch (a, b) {
        case let (.int(x), .int(y)):
            let (r, o) = x.addingReportingOverflow(y)
            if o { throw overflow(.add, x, y, span) }
            return .int(r)
        case let (.string(x), .string(y)): return .string(x + y)
        case let (.list(x), .list(y)): return .list(x + y)
        case let (.record(x), .record(y)):
            var keys = x.keys, values = x.values
            for (k, v) in zip(y.keys, y.values) {
                if let i = keys.firstIndex(of: k) { values[i] = v } else { keys.append(k); values.append(v) }
            }
            return .record(Record(keys: keys, values: values))
        default:
            return try arith(.add, a, b, span)
        }
    }

    static func arith(_ op: BinaryOp, _ a: Value, _ b: Value, _ span: SourceSpan) throws -> Value {
        if case let .int(x) = a, case let .int(y) = b {
            switch op {
            case .add:
                let (r, o) = x.addingReportingOverflow(y); if o { throw overflow(op, x, y, span) }; return .int(r)
            case .sub:
                let (r, o) = x.subtractingReportingOverflow(y); if o { throw overflow(op, x, y, span) }; return .int(r)
            case .mul:
                let (r, o) = x.multipliedReportingOverflow(by: y); if o { throw overflow(op, x, y, span) }; return .int(r)
            case .div:
                if y == 0 { throw LoupeError(.value, "division by zero", at: span) }
                return .float(Double(x) / Double(y))
            case .floorDiv:
                if y == 0 { throw LoupeError(.value, "integer division by zero", at: span) }
                if x == Int.min && y == -1 { throw overflow(op, x, y, span) }
                var q = x / y
                if (x % y != 0) && ((x < 0) != (y < 0)) { q -= 1 }
                return .int(q)
            case .mod:
                if y == 0 { throw LoupeError(.value, "integer modulo by zero", at: span) }
                if y == -1 { return .int(0) }
                var r = x % y
                if r != 0 && ((r < 0) != (y < 0)) { r += y }
                return .int(r)
            case .pow:
                if y < 0 { return .float(Foundation.pow(Double(x), Double(y))) }
                var result = 1, base = x, e = y
                while e > 0 {
                    if e & 1 == 1 {
                        let (r, o) = result.multipliedReportingOverflow(by: base); if o { throw overflow(op, x, y, span) }
                        result = r
                    }
                    e >>= 1
                    if e > 0 {
                        let (sq, o) = base.multipliedReportingOverflow(by: base); if o { throw overflow(op, x, y, span) }
                        base = sq
                    }
                }
                return .int(result)
            default: break
            }
        }
        if case let .string(s) = a, case let .int(n) = b, op == .mul { return try repeatString(s, n, span) }
        if case let .int(n) = a, case let .string(s) = b, op == .mul { return try repeatString(s, n, span) }
        if case let .list(xs) = a, case let .int(n) = b, op == .mul { return try repeatList(xs, n, span) }
        guard let x = numeric(a), let y = numeric(b) else { throw typeError(op, a, b, span) }
        switch op {
        case .add: return .float(x + y)
        case .sub: return .float(x - y)
        case .mul: return .float(x * y)
        case .div:
            if y == 0 { throw LoupeError(.value, "division by zero", at: span) }
            return .float(x / y)
        case .floorDiv:
            if y == 0 { throw LoupeError(.value, "division by zero", at: span) }
            return .float((x / y).rounded(.down))
        case .mod:
            if y == 0 { throw LoupeError(.value, "modulo by zero", at: span) }
            var r = fmod(x, y)
            if r != 0 && ((r < 0) != (y < 0)) { r += y }
            return .float(r)
        case .pow: return .float(Foundation.pow(x, y))
        default: throw typeError(op, a, b, span)
        }
    }

    /// Numbers for arithmetic (bools are not numbers here: `true + 1` is a type error).
    @inline(__always) static func numeric(_ v: Value) -> Double? {
        switch v {
        case let .int(i): return Double(i)
        case let .float(d): return d
        default: return nil
        }
    }

    static func repeatString(_ s: String, _ n: Int, _ span: SourceSpan) throws -> Value {
        if n <= 0 { return .string("") }
        let (total, o) = s.utf8.count.multipliedReportingOverflow(by: n)
        if o || total > 1 << 30 { throw LoupeError(.value, "string repetition too large (\(n) times)", at: span) }
        return .string(String(repeating: s, count: n))
    }

    static func repeatList(_ xs: [Value], _ n: Int, _ span: SourceSpan) throws -> Value {
        if n <= 0 { return .list([]) }
        let (total, o) = xs.count.multipliedReportingOverflow(by: n)
        if o || total > 1 << 25 { throw LoupeError(.value, "list repetition too large (\(n) times)", at: span) }
        var out: [Value] = []
        out.reserveCapacity(total)
        for _ in 0..<n { out += xs }
        return .list(out)
    }

    static func negate(_ v: Value, _ span: SourceSpan) throws -> Value {
        switch v {
        case let .int(i):
            if i == Int.min { throw LoupeError(.value, "integer overflow in -(\(i))", at: span) }
            return .int(-i)
        case let .float(d): return .float(-d)
        case let .tensor(t): return .tensor(-t)
        default: throw LoupeError(.type, "bad operand type for unary -: \(v.typeName)", at: span)
        }
    }

    /// -1, 0, 1; numbers with numbers, strings with strings, lists element by element.
    static func compare(_ a: Value, _ b: Value, _ op: BinaryOp, _ span: SourceSpan) throws -> Int {
        switch (a, b) {
        case let (.int(x), .int(y)): return x < y ? -1 : (x == y ? 0 : 1)
        case let (.string(x), .string(y)):
            // Unicode scalar order, not Swift's canonical-equivalence order.
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : (x == y ? 0 : 1)
        case let (.list(xs), .list(ys)):
            for (x, y) in zip(xs, ys) {
                let c = try compare(x, y, op, span)
                if c != 0 { return c }
            }
            return xs.count < ys.count ? -1 : (xs.count == ys.count ? 0 : 1)
        default:
            if let x = numeric(a), let y = numeric(b) {
                return x < y ? -1 : (x == y ? 0 : 1)
            }
            throw LoupeError(.type, "cannot compare \(a.typeName) and \(b.typeName) with \(op.rawValue)", at: span)
        }
    }

    /// `<`, `<=`, `>`, `>=`; on numbers directly, so that every test involving NaN is false.
    @inline(__always)
    static func ordered(_ op: BinaryOp, _ a: Value, _ b: Value, _ span: SourceSpan) throws -> Bool {
        if case let .int(x) = a, case let .int(y) = b {
            switch op { case .lt: return x < y; case .le: return x <= y; case .gt: return x > y; default: return x >= y }
        }
        if let x = numeric(a), let y = numeric(b) {
            switch op { case .lt: return x < y; case .le: return x <= y; case .gt: return x > y; default: return x >= y }
        }
        let c = try compare(a, b, op, span)
        switch op { case .lt: return c < 0; case .le: return c <= 0; case .gt: return c > 0; default: return c >= 0 }
    }

    static func contains(_ container: Value, _ item: Value, _ span: SourceSpan) throws -> Bool {
        switch container {
        case let .list(xs): return xs.contains { Value.equal($0, item) }
        case let .string(s):
            guard case let .string(sub) = item else {
                throw LoupeError(.type, "'in <string>' needs a string on the left, got \(item.typeName)", at: span)
            }
            return sub.isEmpty || s.contains(sub)
        case let .record(r):
            guard case let .string(k) = item else { return false }
            return r[k] != nil
        case let .range(r):
            let x: Int
            switch item {
            case let .int(i): x = i
            case let .float(d): guard d.rounded() == d, let i = Int(exactly: d) else { return false }; x = i
            default: return false
            }
            if r.step > 0 { return x >= r.start && x < r.end && UInt(bitPattern: x &- r.start) % UInt(r.step) == 0 }
            return x <= r.start && x > r.end && UInt(bitPattern: r.start &- x) % r.step.magnitude == 0
        default:
            throw LoupeError(.type, "'in' needs a list, string, record or range on the right, got \(container.typeName)", at: span)
        }
    }
}

extension Value {
    /// Structural equality (docs/language.md §3): ints and floats by value, lists/records/ranges by content,
    /// functions and objects by identity, tensors by shape and elements.
    public static func equal(_ a: Value, _ b: Value) -> Bool {
        switch (a, b) {
        case (.nil, .nil): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.float(x), .float(y)): return x == y
        case let (.int(x), .float(y)): return Int(exactly: y) == x
        case let (.float(x), .int(y)): return Int(exactly: x) == y
        case let (.string(x), .string(y)): return x == y
        case let (.list(xs), .list(ys)):
            return xs.count == ys.count && zip(xs, ys).allSatisfy { equal($0, $1) }
        case let (.record(x), .record(y)):
            if x === y { return true }
            guard x.count == y.count else { return false }
            for (k, v) in zip(x.keys, x.values) {
                guard let w = y[k], equal(v, w) else { return false }
            }
            return true
        case let (.range(x), .range(y)):
            let n = x.count
            return n == y.count && (n == 0 || (x.start == y.start && (n == 1 || x.step == y.step)))
        case let (.function(f), .function(g)): return f === g
        case let (.object(o), .object(p)): return o === p
        case let (.error(e), .error(f)): return e === f
        case let (.tensor(x), .tensor(y)):
            return x === y || (x.shape == y.shape && x.scalars == y.scalars)
        default: return false
        }
    }
}
