import LoupeTensor

/// An evaluated subscript.
enum SubscriptValue {
    case index(Value)
    case slice(Value, Value, Value)
    case ellipsis
    case newAxis
}

/// Indexing and slicing of lists, strings, records, ranges and tensors (negative indices count from the end),
/// and field access.
enum Indexing {
    static func intIndex(_ v: Value, _ what: String, _ span: SourceSpan) throws -> Int {
        switch v {
        case let .int(i): return i
        default: throw LoupeError(.type, "\(what) must be an int, got \(v.typeName)", at: span)
        }
    }

    static func optInt(_ v: Value, _ span: SourceSpan) throws -> Int? {
        if case .nil = v { return nil }
        return try intIndex(v, "slice bound", span)
    }

    /// Normalizes a possibly negative index; throws if out of range.
    @inline(__always)
    static func position(_ i: Int, count: Int, _ typeName: String, _ span: SourceSpan) throws -> Int {
        let j = i < 0 ? i + count : i
        guard j >= 0 && j < count else {
            throw LoupeError(.index, "index \(i) is out of range for a \(typeName) of length \(count)", at: span)
        }
        return j
    }

    /// Python's slice.indices: the positions selected by start:stop:step over `count` items.
    static func sliceIndices(_ start: Int?, _ stop: Int?, _ step: Int?, count: Int, _ span: SourceSpan) throws -> (Int, Int, Int) {
        let step = step ?? 1
        if step == 0 { throw LoupeError(.value, "slice step cannot be zero", at: span) }
        func clamp(_ v: Int?, _ def: Int, lower: Int, upper: Int) -> Int {
            guard var v else { return def }
            if v < 0 { v += count; if v < lower { v = lower } } else if v > upper { v = upper }
            return v
        }
        let lower = step < 0 ? -1 : 0, upper = step < 0 ? count - 1 : count
        let s = clamp(start, step < 0 ? upper : lower, lower: lower, upper: upper)
        let e = clamp(stop, step < 0 ? lower : upper, lower: lower, upper: upper)
        // s and e lie in -1...count, so their difference is small; only the step can be huge.
        let n: Int
        if step > 0 { n = e > s ? (e - s - 1) / step + 1 : 0 } else { n = s > e ? Int((UInt(s - e) - 1) / step.magnitude) + 1 : 0 }
        return (s, step, n)
    }

    static func index(_ target: Value, _ subs: [SubscriptValue], _ span: SourceSpan) throws -> Value {
        if case let .tensor(t) = target { return try tensorIndex(t, subs, span) }
        guard subs.count == 1 else {
            throw LoupeError(.type, "a \(target.typeName) takes one index, got \(subs.count)", at: span)
        }
        switch subs[0] {
        case let .index(i): return try single(target, i, span)
        case let .slice(a, b, c): return try slice(target, try optInt(a, span), try optInt(b, span), try optInt(c, span), span)
        case .ellipsis, .newAxis:
            throw LoupeError(.type, "'...' and nil indices are only for tensors, not a \(target.typeName)", at: span)
        }
    }

    static func single(_ target: Value, _ i: Value, _ span: SourceSpan) throws -> Value {
        switch target {
        case let .list(xs):
            return xs[try position(try intIndex(i, "list index", span), count: xs.count, "list", span)]
        case let .string(s):
            let k = try intIndex(i, "string index", span)
            let n = s.count
            let j = try position(k, count: n, "string", span)
            return .string(String(s[s.index(s.startIndex, offsetBy: j)]))
        case let .record(r):
            guard case let .string(k) = i else {
                throw LoupeError(.type, "record keys are strings, got \(i.typeName)", at: span)
            }
            guard let v = r[k] else { throw LoupeError(.index, "record has no field '\(k)'" + suggestField(k, r.keys), at: span) }
            return v
        case let .range(r):
            return .int(r[try position(try intIndex(i, "range index", span), count: r.count, "range", span)])
        default:
            throw LoupeError(.type, "a \(target.typeName) cannot be indexed", at: span)
        }
    }

    static func suggestField(_ k: String, _ keys: [String]) -> String {
        Suggest.nearest(k, in: Set(keys)).map { " (did you mean '\($0)'?)" } ?? ""
    }

    static func slice(_ target: Value, _ a: Int?, _ b: Int?, _ c: Int?, _ span: SourceSpan) throws -> Value {
        switch target {
        case let .list(xs):
            let (s, step, n) = try sliceIndices(a, b, c, count: xs.count, span)
            if step == 1 { return .list(Array(xs[s..<(s + n)])) }
            return .list((0..<n).map { xs[s + $0 * step] })
        case let .string(str):
            let chars = Array(str)
            let (s, step, n) = try sliceIndices(a, b, c, count: chars.count, span)
            return .string(String((0..<n).map { chars[s + $0 * step] }))
        case let .range(r):
            let (s, step, n) = try sliceIndices(a, b, c, count: r.count, span)
            let (st, o) = r.step.multipliedReportingOverflow(by: step)
            if o { throw LoupeError(.value, "range slice step too large", at: span) }
            let start = r[s]
            return .range(RangeValue(start: start, end: n == 0 ? start : r[s + (n - 1) * step] &+ st, step: st))
        default:
            throw LoupeError(.type, "a \(target.typeName) cannot be sliced", at: span)
        }
    }

    static func tensorIndex(_ t: Tensor, _ subs: [SubscriptValue], _ span: SourceSpan) throws -> Value {
        var idx: [SliceIndex] = []
        idx.reserveCapacity(subs.count)
        for s in subs {
            switch s {
            case let .index(v): idx.append(.index(try intIndex(v, "tensor index", span)))
            case let .slice(a, b, c):
                let step = try optInt(c, span)
                if step == 0 { throw LoupeError(.value, "slice step cannot be zero", at: span) }
                idx.append(.range(try optInt(a, span), try optInt(b, span), step))
            case .ellipsis: idx.append(.ellipsis)
            case .newAxis: idx.append(.newAxis)
            }
        }
        do {
            let r = try t.slice(idx)
            if r.rank == 0 { return .float(Value.shortestDouble(try r.item())) }
            return .tensor(r)
        } catch {
            throw Ops.tensorError(error, span)
        }
    }

    /// `target.name`: record fields, namespaces (records of built-ins), error fields, object members.
    static func member(_ target: Value, _ name: String, _ span: SourceSpan) throws -> Value {
        switch target {
        case let .record(r):
            if let v = r[name] { return v }
            throw LoupeError(.index, "record has no field '\(name)'" + suggestField(name, r.keys), at: span)
        case let .object(o):
            if let v = o.member(name) { return v }
            throw LoupeError(.index, "\(o.typeName) has no member '\(name)'" + suggestField(name, o.memberNames), at: span)
        case let .error(e):
            let err = e.error
            switch name {
            case "message": return .string(err.message)
            case "kind": return .string(err.kind.rawValue)
            case "line": return err.span.map { .int($0.line) } ?? .nil
            case "col": return err.span.map { .int($0.column) } ?? .nil
            case "file": return err.span.map { .string($0.file) } ?? .nil
            default:
                throw LoupeError(.index, "error has no field '\(name)' (fields: message, kind, line, col, file)", at: span)
            }
        case let .tensor(t):
            switch name {
            case "shape": return .list(t.shape.map { .int($0) })
            case "rank", "ndim": return .int(t.rank)
            case "size": return .int(t.count)
            default: throw LoupeError(.index, "tensor has no field '\(name)' (fields: shape, rank, size)", at: span)
            }
        default:
            throw LoupeError(.type, "a \(target.typeName) has no fields (looking up '\(name)')", at: span)
        }
    }

    /// The values a `for` loop visits.
    static func iterate(_ v: Value, _ span: SourceSpan, _ body: (Value) throws -> Bool) throws {
        switch v {
        case let .list(xs): for x in xs { if try !body(x) { return } }
        case let .string(s): for c in s { if try !body(.string(String(c))) { return } }
        case let .record(r): for k in r.keys { if try !body(.string(k)) { return } }
        case let .range(r):
            let n = r.count
            var i = 0
            while i < n { if try !body(.int(r.start + i * r.step)) { return }; i += 1 }
        case let .tensor(t):
            guard t.rank > 0 else { throw LoupeError(.type, "cannot iterate over a 0-d tensor", at: span) }
            for i in 0..<t.shape[0] {
                let row: Value
                do {
                    let r = try t.slice([.index(i)])
                    row = r.rank == 0 ? .float(Value.shortestDouble(try r.item())) : .tensor(r)
                } catch { throw Ops.tensorError(error, span) }
                if try !body(row) { return }
            }
        default:
            throw LoupeError(.type, "cannot iterate over a \(v.typeName)", at: span)
        }
    }

    static func length(_ v: Value, _ span: SourceSpan?) throws -> Int {
        switch v {
        case let .list(xs): return xs.count
        case let .string(s): return characterCount(s)
        case let .record(r): return r.count
        case let .range(r): return r.count
        case let .tensor(t):
            guard t.rank > 0 else { throw LoupeError(.type, "len() of a 0-d tensor", at: span) }
            return t.shape[0]
        default: throw LoupeError(.type, "len: argument 'x' must be a list, string, record, range or tensor, got \(v.typeName)", at: span)
        }
    }
}
