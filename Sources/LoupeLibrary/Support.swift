import Foundation
import LoupeLang
import LoupeTensor

// Shared machinery for binding built-ins: typed access to arguments with uniform error messages, conversions
// between Loupe values and tensors, and the registration helper that turns `TensorError`s into `LoupeError`s.
//
// Everything here is internal to LoupeLibrary and uses its own type names (`Lib...`) so that it never clashes
// with helpers the language core may add to `Arguments` or `Value`.

/// Registers built-ins into a registry; the body sees `LibArgs` and any `TensorError` it throws becomes a
/// `LoupeError` that names the built-in.
struct LibRegistrar {
    let registry: BuiltinRegistry
    /// Names registered before the library was installed (by the language core); the library skips those.
    let skip: Set<String>

    /// Registers `namespace.name`; the first line of `doc` is its summary.
    func add(_ namespace: String?, _ name: String, _ parameters: [Parameter], doc: String,
             _ body: @escaping (LibArgs) throws -> Value) {
        let qualified = namespace.map { "\($0).\(name)" } ?? name
        if skip.contains(qualified) { return }
        registry.register(namespace, name, parameters, doc: doc) { args in
            let a = LibArgs(args)
            do {
                return try body(a)
            } catch let e as TensorError {
                throw a.tensorError(e)
            } catch let LibConvert.Problem.message(m) {
                throw a.fail(m)
            }
        }
    }
}

/// Typed access to a built-in's arguments. Every accessor checks the value itself (so built-ins behave the same
/// whether or not the caller checked declared types) and reports problems as
/// "NAME: argument 'ARG' must be an int, got string".
struct LibArgs {
    let raw: Arguments
    init(_ raw: Arguments) { self.raw = raw }

    var function: String { raw.function }
    subscript(name: String) -> Value { raw[name] }

    /// Calls a Loupe function (closure or built-in) with positional arguments.
    func call(_ f: Value, _ args: [Value]) throws -> Value { try raw.call(f, args) }

    func error(_ name: String, _ problem: String, kind: LoupeError.Kind = .value) -> LoupeError {
        raw.error(name, problem, kind: kind)
    }
    /// An error about the call as a whole ("sum: cannot add string and int").
    func fail(_ message: String, kind: LoupeError.Kind = .value) -> LoupeError {
        LoupeError(kind, "\(function): \(message)", at: raw.span)
    }
    /// "must be an int, got string"
    func typeError(_ name: String, _ expected: String, _ got: Value) -> LoupeError {
        raw.error(name, "must be \(expected), got \(got.typeName)", kind: .type)
    }

    func tensorError(_ e: TensorError) -> LoupeError {
        let kind: LoupeError.Kind
        switch e {
        case .shapeMismatch, .invalidAxis: kind = .shape
        case .indexOutOfRange: kind = .index
        default: kind = .value
        }
        // TensorError messages start with the tensor op's name: "solve: ..." becomes "linalg.solve: ...", and an
        // op with another name is kept after ours ("dot: matmul: shapes ...").
        let text = e.description
        let message: String
        if text.hasPrefix(function + ":") {
            message = text
        } else if let colon = text.firstIndex(of: ":"), function.hasSuffix("." + text[..<colon]) {
            message = function + text[colon...]
        } else {
            message = "\(function): \(text)"
        }
        return LoupeError(kind, message, at: raw.span)
    }

    func isNil(_ name: String) -> Bool { if case .nil = raw[name] { return true }; return false }

    func int(_ name: String) throws -> Int {
        let v = raw[name]
        if case let .int(i) = v { return i }
        throw typeError(name, "an int", v)
    }
    func optInt(_ name: String) throws -> Int? { isNil(name) ? nil : try int(name) }

    func double(_ name: String) throws -> Double {
        let v = raw[name]
        switch v {
        case let .int(i): return Double(i)
        case let .float(d): return d
        default: throw typeError(name, "a number", v)
        }
    }
    func optDouble(_ name: String) throws -> Double? { isNil(name) ? nil : try double(name) }

    func bool(_ name: String) throws -> Bool {
        let v = raw[name]
        if case let .bool(b) = v { return b }
        throw typeError(name, "a bool", v)
    }

    func string(_ name: String) throws -> String {
        let v = raw[name]
        if case let .string(s) = v { return s }
        throw typeError(name, "a string", v)
    }
    func optString(_ name: String) throws -> String? { isNil(name) ? nil : try string(name) }

    func list(_ name: String) throws -> [Value] {
        let v = raw[name]
        if case let .list(xs) = v { return xs }
        throw typeError(name, "a list", v)
    }

    func record(_ name: String) throws -> Record {
        let v = raw[name]
        if case let .record(r) = v { return r }
        throw typeError(name, "a record", v)
    }

    func function(_ name: String) throws -> Value {
        let v = raw[name]
        if case .function = v { return v }
        throw typeError(name, "a function", v)
    }

    /// The elements of an iterable argument: a list, range, string (characters), record (keys) or tensor (rows).
    func items(_ name: String) throws -> [Value] {
        let v = raw[name]
        do {
            guard let xs = try LibConvert.items(v) else {
                throw typeError(name, "a list, range, string, record or tensor", v)
            }
            return xs
        } catch let LibConvert.Problem.message(m) {
            throw fail(m)
        }
    }

    /// A tensor, or a number / nested list of numbers converted to one.
    func tensor(_ name: String) throws -> Tensor {
        let v = raw[name]
        switch v {
        case let .tensor(t): return t
        case .int, .float, .bool, .list, .range:
            do { return try LibConvert.tensor(from: v) } catch let LibConvert.Problem.message(m) {
                throw error(name, m)
            }
        default: throw typeError(name, "a tensor or a list of numbers", v)
        }
    }
    func optTensor(_ name: String) throws -> Tensor? { isNil(name) ? nil : try tensor(name) }

    /// Integer indices: an int, a list (or nested lists) of ints, a range, or a tensor of whole numbers.
    func indices(_ name: String) throws -> IndexTensor {
        let v = raw[name]
        switch v {
        case let .int(i): return try IndexTensor(shape: [], data: [i])
        case let .range(r): return IndexTensor((0..<r.count).map { r[$0] })
        case .list, .tensor:
            let t: Tensor
            if case let .tensor(x) = v { t = x } else {
                if case let .list(xs) = v, xs.allSatisfy({ if case .int = $0 { return true }; return false }) {
                    return IndexTensor(xs.map { if case let .int(i) = $0 { return i }; return 0 })
                }
                t = try tensor(name)
            }
            var data: [Int] = []
            data.reserveCapacity(t.count)
            for x in t.scalars {
                guard x.isFinite, x == x.rounded() else { throw error(name, "must hold whole numbers, got \(x)") }
                guard Swift.abs(x) < 9e18 else { throw error(name, "holds an index too large for an int: \(x)") }
                data.append(Int(x))
            }
            return try IndexTensor(shape: t.shape, data: data)
        default: throw typeError(name, "an int, a list of ints or a tensor of indices", v)
        }
    }

    /// A shape: an int or a list of non-negative ints.
    func shape(_ name: String, allowInferred: Bool = false) throws -> [Int] {
        let v = raw[name]
        let dims: [Int]
        switch v {
        case let .int(i): dims = [i]
        case let .list(xs):
            dims = try xs.map { x -> Int in
                guard case let .int(i) = x else { throw typeError(name, "an int or a list of ints", v) }
                return i
            }
        default: throw typeError(name, "an int or a list of ints", v)
        }
        for d in dims where d < 0 && !(allowInferred && d == -1) {
            throw error(name, "must not have negative dimensions, got \(LibConvert.showShape(dims))")
        }
        return dims
    }

    /// Reduction axes: nil (all), an int, or a list of ints.
    func axes(_ name: String) throws -> [Int]? {
        let v = raw[name]
        switch v {
        case .nil: return nil
        case let .int(i): return [i]
        case let .list(xs):
            return try xs.map { x -> Int in
                guard case let .int(i) = x else { throw typeError(name, "an int, a list of ints or nil", v) }
                return i
            }
        default: throw typeError(name, "an int, a list of ints or nil", v)
        }
    }

    /// A non-negative seed for the random generators.
    func seed(_ name: String) throws -> UInt64 {
        let s = try int(name)
        guard s >= 0 else { throw error(name, "must be a non-negative int, got \(s)") }
        return UInt64(s)
    }
}

/// Limits that keep bad input from exhausting memory (an error instead of a crash).
enum LibLimits {
    /// The most elements (or UTF-8 bytes) `repeat` and `pad` build.
    static let maxElements = 1 << 30
}

/// Conversions between Loupe values and Swift/tensor values.
enum LibConvert {
    enum Problem: Error { case message(String) }

    static func showShape(_ s: [Int]) -> String {
        s.count == 1 ? "(\(s[0]),)" : "(" + s.map(String.init).joined(separator: ", ") + ")"
    }

    /// A tensor from a number, a bool, a range or nested lists of numbers (ragged input is an error).
    static func tensor(from value: Value) throws -> Tensor {
        var shape: [Int] = []
        var probe = value
        while true {
            if case let .list(xs) = probe {
                shape.append(xs.count)
                guard let first = xs.first else { break }
                probe = first
            } else if case let .range(r) = probe {
                shape.append(r.count)
                break
            } else if case let .tensor(t) = probe {
                shape += t.shape
                break
            } else { break }
        }
        var data: [Float] = []
        // Refuses sizes Loupe cannot allocate (a huge range) before building anything.
        do { data.reserveCapacity(try Shape.elementCount(shape, op: "tensor")) } catch let e as TensorError {
            let text = e.description
            throw Problem.message(text.hasPrefix("tensor: ") ? "is too large: " + text.dropFirst(8) : text)
        }
        func path(_ p: [Int]) -> String { "[" + p.map(String.init).joined(separator: "][") + "]" }
        func walk(_ v: Value, _ depth: Int, _ p: [Int]) throws {
            if depth == shape.count {
                switch v {
                case let .int(i): data.append(Float(i))
                case let .float(d): data.append(Float(d))
                case let .bool(b): data.append(b ? 1 : 0)
                default:
                    let at = p.isEmpty ? "" : " at \(path(p))"
                    throw Problem.message("must hold only numbers, found \(v.typeName)\(at)")
                }
                return
            }
            switch v {
            case let .list(xs) where xs.count == shape[depth]:
                for (i, x) in xs.enumerated() { try walk(x, depth + 1, p + [i]) }
            case let .range(r) where r.count == shape[depth] && depth == shape.count - 1:
                for i in 0..<r.count { data.append(Float(r[i])) }
            case let .tensor(t) where Array(shape[depth...]) == t.shape:
                data += t.scalars
            default:
                throw Problem.message("is ragged: expected \(shape[depth]) elements at \(p.isEmpty ? "the top level" : path(p)), got \(describeCount(v))")
            }
        }
        try walk(value, 0, [])
        do { return try Tensor(shape: shape, data: data) } catch let e as TensorError {
            throw Problem.message(e.description)
        }
    }

    private static func describeCount(_ v: Value) -> String {
        switch v {
        case let .list(xs): return "\(xs.count)"
        case let .tensor(t): return "a tensor of shape \(showShape(t.shape))"
        default: return "a \(v.typeName)"
        }
    }

    /// A Float32 as the double with the same shortest decimal (0.7f gives 0.7, not 0.699999988079071), so
    /// values read back from tensors print as they were written.
    @inline(__always) static func double(_ x: Float) -> Double { Value.shortestDouble(x) }

    /// The result of a reduction: a float for a 0-d result, unless it takes part in differentiation (then the
    /// 0-d tensor, so gradients can flow).
    static func scalar(_ t: Tensor) -> Value {
        if t.rank == 0, !t.requiresGrad { return .float(double(t.scalars[0])) }
        return .tensor(t)
    }

    /// A tensor as nested lists of floats; a 0-d tensor is a float. `ints` gives ints instead (values must be
    /// whole numbers).
    static func list(from t: Tensor, ints: Bool = false) throws -> Value {
        let xs = t.scalars
        func scalar(_ x: Float) throws -> Value {
            if ints {
                guard x.isFinite, x == x.rounded() else { throw Problem.message("value \(x) that is not a whole number") }
                guard Swift.abs(x) < 9e18 else { throw Problem.message("value \(x) too large for an int") }
                return .int(Int(x))
            }
            return .float(double(x))
        }
        if t.rank == 0 { return try scalar(xs[0]) }
        let strides = t.strides
        func walk(_ d: Int, _ offset: Int) throws -> Value {
            if d == t.rank - 1 {
                var out: [Value] = []
                out.reserveCapacity(t.shape[d])
                for i in 0..<t.shape[d] { out.append(try scalar(xs[offset + i])) }
                return .list(out)
            }
            return .list(try (0..<t.shape[d]).map { try walk(d + 1, offset + $0 * strides[d]) })
        }
        return try walk(0, 0)
    }

    /// An index tensor as a Float32 tensor (exact up to 2^24).
    static func tensor(_ idx: IndexTensor) -> Value { .tensor(idx.asTensor) }

    /// The elements of an iterable: list, range, string (characters), record (keys), tensor (rows); nil if
    /// the value is not iterable.
    static func items(_ v: Value) throws -> [Value]? {
        switch v {
        case let .list(xs): return xs
        case let .range(r):
            guard r.count <= LibLimits.maxElements else {
                throw Problem.message("a range of \(r.count) elements is too large to make into a list")
            }
            return (0..<r.count).map { .int(r[$0]) }
        case let .string(s): return s.map { .string(String($0)) }
        case let .record(r): return r.keys.map { .string($0) }
        case let .tensor(t):
            guard t.rank > 0 else { return nil }
            return try (0..<t.shape[0]).map { .tensor(try t.slice([.index($0)])) }
        default: return nil
        }
    }

    /// How `print` and `str` show a value: strings without quotes, everything else as its repr.
    static func text(_ v: Value) -> String {
        if case let .string(s) = v { return s }
        return v.repr
    }

}

/// Structural equality and ordering, as the language defines them (used by sort, contains, index_of, ...).
enum LibCompare {
    /// The language's `==` (structural; ints and floats by value; tensors by shape and elements).
    static func equal(_ a: Value, _ b: Value) -> Bool { Value.equal(a, b) }

    /// -1, 0 or 1; numbers with numbers, strings with strings (by Unicode scalars), lists lexicographically.
    static func compare(_ a: Value, _ b: Value) -> Int? {
        switch (a, b) {
        case let (.int(x), .int(y)): return x < y ? -1 : x > y ? 1 : 0
        case (.int, .float), (.float, .int), (.float, .float):
            let x = number(a)!, y = number(b)!
            return x < y ? -1 : x > y ? 1 : 0
        case let (.string(x), .string(y)):
            // UTF-8 byte order is Unicode scalar order; walking the bytes allocates nothing.
            var p = x.utf8.makeIterator(), q = y.utf8.makeIterator()
            while true {
                switch (p.next(), q.next()) {
                case (nil, nil): return 0
                case (nil, _): return -1
                case (_, nil): return 1
                case let (u?, v?): if u != v { return u < v ? -1 : 1 }
                }
            }
        case let (.list(x), .list(y)):
            for (p, q) in zip(x, y) {
                guard let c = compare(p, q) else { return nil }
                if c != 0 { return c }
            }
            return x.count < y.count ? -1 : x.count > y.count ? 1 : 0
        default: return nil
        }
    }

    static func number(_ v: Value) -> Double? {
        switch v {
        case let .int(i): return Double(i)
        case let .float(d): return d
        default: return nil
        }
    }
}
