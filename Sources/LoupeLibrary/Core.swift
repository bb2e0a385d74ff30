import Foundation
import LoupeLang
import LoupeTensor

/// Top-level built-ins for plain values: conversion, numbers and math, lists, strings, records,
/// errors and time.
///
/// Decisions:
/// - `print`, `error`, `len`, `type`, `str` and `repr` are the language core's own (Interpreter intrinsics), so they
///   are not registered here.
/// - Math functions (`sqrt`, `exp`, `log`, `tanh`, ...) take numbers (giving floats, numpy semantics: `sqrt(-1)`
///   is nan, `log(0)` is -inf) or tensors / lists of numbers (giving tensors).
/// - `round`, `floor`, `ceil` of a float give an int (Python); `round(x, digits: 2)` gives a float.
/// - `sum`, `min`, `max`, `sort`, `reverse`, `concat`, `split`, `contains`, `abs` dispatch on their first argument:
///   lists and strings get list/string behaviour, tensors get tensor behaviour (see `TensorBuiltins.swift`).
/// - Ordering (sort, min, max) compares numbers with numbers and strings with strings, as the language does, and
///   additionally lists lexicographically, so `sort(xs, key: fn(r) -> [r.a, r.b])` sorts on two keys.
enum CoreBuiltins {
    static func register(_ r: LibRegistrar) {
        registerValues(r)
        registerNumbers(r)
        registerLists(r)
        registerStrings(r)
        registerRecords(r)
    }

    // MARK: - Values, printing, errors, time

    static func registerValues(_ r: LibRegistrar) {
        r.add(nil, "int", [Parameter("value")], doc: """
              Converts to an int: floats truncate toward zero, strings parse ("42", "-7", "0x1F"), bools give 0/1,
              and a one-element tensor gives its value truncated.
              """) { a in
            let v = a["value"]
            switch v {
            case .int: return v
            case let .bool(b): return .int(b ? 1 : 0)
            case let .float(d): return .int(try toInt(d, a, "value"))
            case let .string(s):
                let t = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
                var neg = false, body = Substring(t)
                if body.hasPrefix("-") { neg = true; body = body.dropFirst() } else if body.hasPrefix("+") { body = body.dropFirst() }
                var radix = 10
                if body.hasPrefix("0x") || body.hasPrefix("0X") { radix = 16; body = body.dropFirst(2) }
                else if body.hasPrefix("0b") || body.hasPrefix("0B") { radix = 2; body = body.dropFirst(2) }
                guard !body.isEmpty, let n = Int(neg ? "-" + body : String(body), radix: radix) else {
                    throw a.error("value", "is not an integer: \(v.repr)")
                }
                return .int(n)
            case let .tensor(t):
                guard t.count == 1 else { throw a.error("value", "must be a tensor with one element, got shape \(LibConvert.showShape(t.shape))") }
                return .int(try toInt(Double(t.scalars[0]), a, "value"))
            default: throw a.typeError("value", "a number, string, bool or tensor", v)
            }
        }

        r.add(nil, "float", [Parameter("value")], doc: """
              Converts to a float: numbers, bools (0.0/1.0), strings ("3.5", "1e-3", "inf", "nan") and \
              one-element tensors.
              """) { a in
            let v = a["value"]
            switch v {
            case .float: return v
            case let .int(i): return .float(Double(i))
            case let .bool(b): return .float(b ? 1 : 0)
            case let .string(s):
                let t = s.trimmingCharacters(in: .whitespaces).lowercased()
                switch t {
                case "inf", "+inf", "infinity": return .float(.infinity)
                case "-inf", "-infinity": return .float(-.infinity)
                case "nan": return .float(.nan)
                default:
                    guard let d = Double(t.replacingOccurrences(of: "_", with: "")) else {
                        throw a.error("value", "is not a number: \(v.repr)")
                    }
                    return .float(d)
                }
            case let .tensor(t):
                guard t.count == 1 else { throw a.error("value", "must be a tensor with one element, got shape \(LibConvert.showShape(t.shape))") }
                return .float(LibConvert.double(t.scalars[0]))
            default: throw a.typeError("value", "a number, string, bool or tensor", v)
            }
        }

        r.add(nil, "bool", [Parameter("value")], doc: """
              The truth value the language uses in conditions: false for `false` and `nil`, true for anything else.
              """) { a in .bool(a["value"].isTruthy) }

        r.add(nil, "assert", [Parameter("condition"), Parameter("message", .string, default: .string("assertion failed"))],
              doc: """
              Raises an error with `message` unless the condition is truthy; returns nil.
              """) { a in
            if !a["condition"].isTruthy { throw LoupeError(.user, try a.string("message"), at: a.raw.span) }
            return .nil
        }

        r.add(nil, "help", [Parameter("f", .function)], doc: """
              The signature and documentation of a function (a built-in or one written in Loupe), as a string.
              """) { a in
            guard case let .function(f) = try a.function("f") else { return .nil }
            return .string(f.signature + (f.doc.isEmpty ? "" : "\n\n" + f.doc))
        }

        r.add(nil, "clock", [], doc: """
              Seconds from an arbitrary fixed point, monotonic: subtract two readings to time code.
              """) { _ in
            var ts = timespec()
            clock_gettime(CLOCK_MONOTONIC, &ts)
            return .float(Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9)
        }

        r.add(nil, "time", [], doc: """
              The current wall-clock time in seconds since 1970-01-01 UTC (a float).
              """) { _ in .float(Date().timeIntervalSince1970) }
    }

    static func toInt(_ d: Double, _ a: LibArgs, _ name: String) throws -> Int {
        guard d.isFinite, d > -9.3e18, d < 9.3e18 else {
            throw a.error(name, "cannot be converted to an int: \(Value.float(d).repr)")
        }
        return Int(d.rounded(.towardZero))
    }

    // MARK: - Numbers and math

    /// Applies a float function to a number, or the tensor form to a tensor / list of numbers.
    static func math(_ r: LibRegistrar, _ name: String, doc: String, _ f: @escaping (Double) -> Double,
                     _ t: @escaping (Tensor) throws -> Tensor) {
        r.add(nil, name, [Parameter("x")], doc: doc) { a in
            switch a["x"] {
            case let .int(i): return .float(f(Double(i)))
            case let .float(d): return .float(f(d))
            case .tensor, .list, .range: return .tensor(try t(try a.tensor("x")))
            default: throw a.typeError("x", "a number, a tensor or a list of numbers", a["x"])
            }
        }
    }

    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x)) }

    static func registerNumbers(_ r: LibRegistrar) {
        let each = "On a number gives a float; on a tensor or list of numbers, a tensor (elementwise)."
        math(r, "sqrt", doc: "Square root (nan for negative numbers).\n" + each, { $0.squareRoot() }, { $0.sqrt() })
        math(r, "exp", doc: "e raised to x.\n" + each, { Foundation.exp($0) }, { $0.exp() })
        math(r, "log", doc: "Natural logarithm (-inf at 0, nan below).\n" + each, { Foundation.log($0) }, { $0.log() })
        math(r, "log1p", doc: "log(1 + x), accurate for small x.\n" + each, { Foundation.log1p($0) }, { $0.log1p() })
        math(r, "log2", doc: "Base-2 logarithm.\n" + each, { Foundation.log2($0) }, { try $0.log() / Float(Foundation.log(2.0)) })
        math(r, "log10", doc: "Base-10 logarithm.\n" + each, { Foundation.log10($0) }, { try $0.log() / Float(Foundation.log(10.0)) })
        math(r, "tanh", doc: "Hyperbolic tangent.\n" + each, { Foundation.tanh($0) }, { $0.tanh() })
        math(r, "sigmoid", doc: "Logistic function 1 / (1 + exp(-x)).\n" + each, sigmoid, { $0.sigmoid() })
        math(r, "relu", doc: "max(x, 0).\n" + each, { $0 > 0 ? $0 : ($0.isNaN ? $0 : 0) }, { $0.relu() })
        math(r, "silu", doc: "x * sigmoid(x) (SwiGLU's gate).\n" + each, { $0 * sigmoid($0) }, { $0.silu() })
        math(r, "gelu", doc: "GELU, tanh approximation (GPT-2, Gemma).\n" + each,
             { x in 0.5 * x * (1 + Foundation.tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) }, { $0.gelu() })
        math(r, "sin", doc: "Sine (radians).\n" + each, { Foundation.sin($0) }, { try mapScalars($0) { Foundation.sin($0) } })
        math(r, "cos", doc: "Cosine (radians).\n" + each, { Foundation.cos($0) }, { try mapScalars($0) { Foundation.cos($0) } })

        r.add(nil, "abs", [Parameter("x")], doc: """
              Absolute value: an int for an int, a float for a float, elementwise for a tensor or list of numbers.
              """) { a in
            switch a["x"] {
            case let .int(i):
                guard i != .min else { throw a.fail("integer overflow") }
                return .int(Swift.abs(i))
            case let .float(d): return .float(Swift.abs(d))
            case .tensor, .list: return .tensor(try a.tensor("x").abs())
            default: throw a.typeError("x", "a number, a tensor or a list of numbers", a["x"])
            }
        }

        r.add(nil, "round", [Parameter("x"), Parameter("digits", .int, default: .nil, keywordOnly: true)], doc: """
              Rounds half to even: round(2.5) is 2 (an int); round(x, digits: 2) keeps a float.
              On a tensor or list of numbers, rounds elementwise to `digits` (default 0) decimals.
              """) { a in
            let digits = try a.optInt("digits")
            switch a["x"] {
            case let .int(i): return digits == nil ? .int(i) : .float(Double(i))
            case let .float(d):
                guard let digits else { return .int(try toInt(d.rounded(.toNearestOrEven), a, "x")) }
                return .float(roundDigits(d, digits))
            case .tensor, .list:
                let n = digits ?? 0
                return .tensor(try mapScalars(try a.tensor("x")) { Float(roundDigits(Double($0), n)) })
            default: throw a.typeError("x", "a number, a tensor or a list of numbers", a["x"])
            }
        }

        for (name, rule, summary) in [("floor", FloatingPointRoundingRule.down, "Largest int not above x"),
                                      ("ceil", .up, "Smallest int not below x")] {
            r.add(nil, name, [Parameter("x")], doc: """
                  \(summary) (an int); elementwise (floats) on a tensor or list of numbers.
                  """) { a in
                switch a["x"] {
                case let .int(i): return .int(i)
                case let .float(d): return .int(try toInt(d.rounded(rule), a, "x"))
                case .tensor, .list: return .tensor(try mapScalars(try a.tensor("x")) { $0.rounded(rule) })
                default: throw a.typeError("x", "a number, a tensor or a list of numbers", a["x"])
                }
            }
        }

        r.add(nil, "isnan", [Parameter("x")], doc: """
              True for a float that is nan; elementwise (1/0) for a tensor.
              """) { a in
            switch a["x"] {
            case .int: return .bool(false)
            case let .float(d): return .bool(d.isNaN)
            case .tensor, .list: return .tensor(try a.tensor("x").isnan())
            default: throw a.typeError("x", "a number or a tensor", a["x"])
            }
        }
        r.add(nil, "isfinite", [Parameter("x")], doc: """
              True for a number that is neither infinite nor nan; elementwise (1/0) for a tensor.
              """) { a in
            switch a["x"] {
            case .int: return .bool(true)
            case let .float(d): return .bool(d.isFinite)
            case .tensor, .list: return .tensor(try a.tensor("x").isfinite())
            default: throw a.typeError("x", "a number or a tensor", a["x"])
            }
        }

        for (name, greater) in [("max", true), ("min", false)] {
            let word = greater ? "largest" : "smallest"
            r.add(nil, name, [Parameter("x"), Parameter("y", default: .nil),
                              Parameter("axis", default: .nil, keywordOnly: true),
                              Parameter("keepdims", .bool, default: .bool(false), keywordOnly: true),
                              Parameter("key", default: .nil, keywordOnly: true)],
                  doc: """
                  The \(word) of two numbers, of a list's elements, or of a tensor (over `axis:`).
                  \(name)(a, b) of numbers gives the \(word); if either is a tensor, the elementwise \(name)imum.
                  \(name)(xs) of a list (or range) gives its \(word) element, by `key:` (a function) if given;
                  an empty list is an error. \(name)(t, axis: -1, keepdims: false) reduces a tensor (a float without axis).
                  """) { a in
                try extremum(a, greater: greater)
            }
        }

        r.add(nil, "sum", [Parameter("x"), Parameter("axis", default: .nil, keywordOnly: true),
                           Parameter("keepdims", .bool, default: .bool(false), keywordOnly: true)],
              doc: """
              Sum of a list's numbers (an int when all are ints) or tensors, or of a tensor's elements.
              sum(t, axis: -1, keepdims: false) sums over an axis (or a list of axes); without axis the whole
              tensor is summed into a float. sum([]) is 0.
              """) { a in
            let x = a["x"]
            if case .tensor = x { return try TensorBuiltins.reduce(a, "x") { t, axes, keep in try t.sum(axes: axes, keepDims: keep) } }
            if case let .range(rg) = x, a.isNil("axis") {
                // Closed form, so sum(0..10_000_000_000) needs no list: count * (first + last) / 2.
                let n = rg.count
                guard n > 0 else { return .int(0) }
                let (span, o1) = (n - 1).multipliedReportingOverflow(by: rg.step)
                let (last, o2) = rg.start.addingReportingOverflow(span)
                let (pair, o3) = rg.start.addingReportingOverflow(last)
                let (product, o4) = pair.multipliedReportingOverflow(by: n)
                guard !(o1 || o2 || o3 || o4) else { throw a.fail("integer overflow") }
                return .int(product / 2)
            }
            guard let items = try LibConvert.items(x), !{ if case .string = x { return true }; return false }() else {
                throw a.typeError("x", "a list, range or tensor", x)
            }
            if !a.isNil("axis") { return try TensorBuiltins.reduce(a, "x") { t, axes, keep in try t.sum(axes: axes, keepDims: keep) } }
            return try sumValues(items, a)
        }
    }

    static func roundDigits(_ d: Double, _ digits: Int) -> Double {
        guard d.isFinite else { return d }
        if digits > 300 { return d }
        if digits < -300 { return 0 }
        // Correctly rounded from the binary value, as Python does: round(2.675, 2) is 2.67 (2.675 is 2.67499...).
        if digits >= 0 { return Double(String(format: "%.\(digits)f", d)) ?? d }
        let p = Foundation.pow(10.0, Double(-digits))
        return (d / p).rounded(.toNearestOrEven) * p
    }

    /// A new tensor with `f` applied to each element (no gradient).
    static func mapScalars(_ t: Tensor, _ f: (Float) -> Float) throws -> Tensor {
        try Tensor(shape: t.shape, data: t.scalars.map(f))
    }

    static func sumValues(_ items: [Value], _ a: LibArgs) throws -> Value {
        var acc: Value = .int(0)
        for (i, v) in items.enumerated() {
            switch (acc, v) {
            case let (.int(x), .int(y)):
                let (s, o) = x.addingReportingOverflow(y)
                if o { throw a.fail("integer overflow") }
                acc = .int(s)
            case let (.int(x), .float(y)): acc = .float(Double(x) + y)
            case let (.float(x), .int(y)): acc = .float(x + Double(y))
            case let (.float(x), .float(y)): acc = .float(x + y)
            case let (.int(x), .tensor(t)): acc = .tensor(i == 0 ? t : try t + Float(x))
            case let (.float(x), .tensor(t)): acc = .tensor(try t + Float(x))
            case let (.tensor(t), .int(y)): acc = .tensor(try t + Float(y))
            case let (.tensor(t), .float(y)): acc = .tensor(try t + Float(y))
            case let (.tensor(t), .tensor(u)): acc = .tensor(try t + u)
            default:
                throw a.error("x", "must hold numbers or tensors, found \(v.typeName) at index \(i)", kind: .type)
            }
        }
        return acc
    }

    static func extremum(_ a: LibArgs, greater: Bool) throws -> Value {
        let x = a["x"], y = a["y"]
        let name = greater ? "max" : "min"
        if case .nil = y {
            if case let .tensor(t) = x {
                if !a.isNil("key") { throw a.error("key", "is not supported for tensors") }
                return try TensorBuiltins.reduce(a, "x") { _, axes, keep in
                    greater ? try t.max(axes: axes, keepDims: keep) : try t.min(axes: axes, keepDims: keep)
                }
            }
            if !a.isNil("axis") {
                return try TensorBuiltins.reduce(a, "x") { t, axes, keep in
                    greater ? try t.max(axes: axes, keepDims: keep) : try t.min(axes: axes, keepDims: keep)
                }
            }
            let items: [Value]
            switch x {
            case .list, .range: items = try a.items("x")
            case .int, .float, .string:
                throw a.fail("needs a list, or two values to compare; got one \(x.typeName)", kind: .type)
            default: throw a.typeError("x", "a list, range or tensor", x)
            }
            guard !items.isEmpty else { throw a.error("x", "is empty; \(name) of nothing is undefined") }
            let key = a["key"]
            var keys = items
            if case .function = key { keys = try items.map { try a.call(key, [$0]) } }
            else if case .nil = key {} else { throw a.typeError("key", "a function or nil", key) }
            var best = 0
            for i in 1..<items.count {
                guard let c = LibCompare.compare(keys[i], keys[best]) else {
                    throw a.fail("cannot compare \(keys[i].typeName) with \(keys[best].typeName)", kind: .type)
                }
                if greater ? c > 0 : c < 0 { best = i }
                if case let .float(d) = keys[i], d.isNaN { return items[i] }
            }
            return items[best]
        }
        let anyTensor: Bool = { if case .tensor = x { return true }; if case .tensor = y { return true }; return false }()
        if anyTensor {
            let t = try a.tensor("x"), u = try a.tensor("y")
            return .tensor(greater ? try t.maximum(u) : try t.minimum(u))
        }
        guard let c = LibCompare.compare(x, y) else {
            throw a.fail("cannot compare \(x.typeName) with \(y.typeName)", kind: .type)
        }
        if case let .float(d) = x, d.isNaN { return x }
        if case let .float(d) = y, d.isNaN { return y }
        return (greater ? c >= 0 : c <= 0) ? x : y
    }

    // MARK: - Lists

    static func registerLists(_ r: LibRegistrar) {
        r.add(nil, "range", [Parameter("start", .int), Parameter("stop", .int, default: .nil),
                             Parameter("step", .int, default: .int(1))],
              doc: """
              The integers from start up to (not including) stop, by step: a lazy range value.
              range(n) is 0..n; range(a, b) is a..b; range(a, b, step: -1) counts down. step 0 is an error.
              """) { a in
            var start = try a.int("start")
            let stop: Int
            if let s = try a.optInt("stop") { stop = s } else { stop = start; start = 0 }
            let step = try a.int("step")
            guard step != 0 else { throw a.error("step", "must not be zero") }
            // Keep every count and index computation of the range inside Int.
            guard Swift.abs(Double(stop) - Double(start)) + Swift.abs(Double(step)) < 4e18 else {
                throw a.fail("range from \(start) to \(stop) by \(step) is too large")
            }
            return .range(RangeValue(start: start, end: stop, step: step))
        }

        r.add(nil, "sort", [Parameter("x"), Parameter("key", default: .nil, keywordOnly: true),
                            Parameter("reverse", .bool, default: .bool(false), keywordOnly: true),
                            Parameter("axis", .int, default: .int(-1), keywordOnly: true)],
              doc: """
              A sorted copy of a list (stable), or a tensor's values sorted along `axis:`.
              key: a function giving each element's sort key (called once per element); reverse: true sorts in
              descending order (still stable: equal elements keep their order). Numbers compare with numbers,
              strings with strings, lists lexicographically. For a tensor, NaN sorts last.
              """) { a in
            if case let .tensor(t) = a["x"] {
                if !a.isNil("key") { throw a.error("key", "is not supported for tensors (sort a list instead)") }
                return .tensor(try t.sort(axis: try a.int("axis"), descending: try a.bool("reverse")))
            }
            return .list(try sortValues(try a.items("x"), key: a["key"], reverse: try a.bool("reverse"), a))
        }

        r.add(nil, "reverse", [Parameter("x")], doc: """
              The elements in reverse order: a list from a list or range, a string from a string, a tensor \
              flipped along its first axis.
              """) { a in
            switch a["x"] {
            case let .string(s): return .string(String(s.reversed()))
            case let .tensor(t):
                guard t.rank > 0 else { return .tensor(t) }
                return .tensor(try t.flip(axis: 0))
            default: return .list(Array(try a.items("x").reversed()))
            }
        }

        r.add(nil, "append", [Parameter("xs", .list), Parameter("x")], doc: """
              A new list with x added at the end (the original is unchanged).
              """) { a in .list(try a.list("xs") + [a["x"]]) }

        r.add(nil, "concat", [Parameter("x"), Parameter("y", default: .nil),
                              Parameter("axis", default: .nil, keywordOnly: true)],
              doc: """
              Joins lists, strings or tensors.
              concat(xs, ys) joins two lists (or two strings). concat(list_of_lists) joins all the lists.
              concat(list_of_tensors, axis: 0) joins tensors along an existing axis (numpy's concatenate); a list
              holding a tensor, or an explicit axis, selects the tensor form.
              """) { a in
            let x = a["x"], y = a["y"]
            if case .nil = y {
                let parts = try a.list("x")
                let tensorForm = !a.isNil("axis") || parts.contains { if case .tensor = $0 { return true }; return false }
                if tensorForm { return try TensorBuiltins.concatTensors(a) }
                var out: [Value] = []
                for (i, p) in parts.enumerated() {
                    guard case let .list(xs) = p else {
                        throw a.error("x", "must be a list of lists or of tensors, found \(p.typeName) at index \(i)", kind: .type)
                    }
                    out += xs
                }
                return .list(out)
            }
            switch (x, y) {
            case let (.list(p), .list(q)): return .list(p + q)
            case let (.string(p), .string(q)): return .string(p + q)
            case (.tensor, _), (_, .tensor):
                let axis = try a.optInt("axis") ?? 0
                return .tensor(try Tensor.concat([try a.tensor("x"), try a.tensor("y")], axis: axis))
            default: throw a.fail("cannot join \(x.typeName) and \(y.typeName)", kind: .type)
            }
        }

        r.add(nil, "unique", [Parameter("xs")], doc: """
              The distinct elements of a list, in order of first appearance.
              """) { a in
            var out: [Value] = []
            var seen = Set<String>()
            for v in try a.items("xs") {
                switch v {
                case .int, .float, .string, .bool, .nil:
                    // Numbers compare by value (1 == 1.0), so they share a key.
                    let k: String
                    switch v {
                    case let .int(i): k = "n" + String(i)
                    case let .float(d): k = d == d.rounded() && Swift.abs(d) < 9e18 ? "n" + String(Int(d)) : "f" + String(d)
                    default: k = v.typeName + ":" + v.repr
                    }
                    if seen.insert(k).inserted { out.append(v) }
                default:
                    if !out.contains(where: { LibCompare.equal($0, v) }) { out.append(v) }
                }
            }
            return .list(out)
        }

        r.add(nil, "index_of", [Parameter("x"), Parameter("item")], doc: """
              Position of the first element equal to `item` in a list (or of a substring in a string, counted \
              in characters); -1 if absent.
              """) { a in
            if case let .string(s) = a["x"] {
                let sub = try a.string("item")
                guard let range = s.range(of: sub) else { return .int(-1) }
                return .int(s.distance(from: s.startIndex, to: range.lowerBound))
            }
            let item = a["item"]
            return .int(try a.items("x").firstIndex { LibCompare.equal($0, item) } ?? -1)
        }

        r.add(nil, "contains", [Parameter("x"), Parameter("item")], doc: """
              Whether a list or range holds `item`, a string contains a substring, or a record has a field.
              """) { a in
            let item = a["item"]
            switch a["x"] {
            case let .string(s): return .bool(s.contains(try a.string("item")))
            case let .record(rec):
                guard case let .string(k) = item else { return .bool(false) }
                return .bool(rec[k] != nil)
            case let .range(rg):
                guard case let .int(i) = item else {
                    if case let .float(d) = item, d == d.rounded(), Swift.abs(d) < 9e18 {
                        return .bool(rangeContains(rg, Int(d)))
                    }
                    return .bool(false)
                }
                return .bool(rangeContains(rg, i))
            case let .list(xs): return .bool(xs.contains { LibCompare.equal($0, item) })
            default: throw a.typeError("x", "a list, range, string or record", a["x"])
            }
        }

        r.add(nil, "repeat", [Parameter("x"), Parameter("n", .int)], doc: """
              A string repeated n times, or (for any other value) a list of n copies of it.
              """) { a in
            let n = try a.int("n")
            guard n >= 0 else { throw a.error("n", "must not be negative, got \(n)") }
            let unit: Int = { if case let .string(s) = a["x"] { return Swift.max(s.utf8.count, 1) }; return 1 }()
            guard n <= LibLimits.maxElements / unit else {
                throw a.error("n", "is too large: the result would exceed \(LibLimits.maxElements) elements")
            }
            if case let .string(s) = a["x"] { return .string(String(repeating: s, count: n)) }
            return .list(Array(repeating: a["x"], count: n))
        }
    }

    static func rangeContains(_ r: RangeValue, _ i: Int) -> Bool {
        if r.step > 0 { guard i >= r.start, i < r.end else { return false } }
        else { guard i <= r.start, i > r.end else { return false } }
        let (d, overflow) = i.subtractingReportingOverflow(r.start)
        return overflow ? false : d % r.step == 0
    }

    /// Stable sort of values by their keys (computed once each).
    static func sortValues(_ items: [Value], key: Value, reverse: Bool, _ a: LibArgs) throws -> [Value] {
        var keys = items
        switch key {
        case .nil:
            if let sorted = RadixSort.sortedNumbers(items, reverse: reverse) { return sorted }
        case .function: keys = try items.map { try a.call(key, [$0]) }
        default: throw a.typeError("key", "a function or nil", key)
        }
        if let order = numericOrder(keys, reverse: reverse) { return order.map { items[$0] } }
        var order = Array(items.indices)
        try order.sort { i, j in
            guard let c = LibCompare.compare(keys[i], keys[j]) else {
                throw a.fail("cannot compare \(keys[i].typeName) with \(keys[j].typeName)", kind: .type)
            }
            if c != 0 { return reverse ? c > 0 : c < 0 }
            return i < j
        }
        return order.map { items[$0] }
    }

    /// The stable sorting order of keys that are all numbers (ints exactly, otherwise as doubles; nan last in
    /// both directions), or nil when some key is not a number. A radix sort of plain numbers is linear and many
    /// times faster than comparing `Value`s.
    static func numericOrder(_ keys: [Value], reverse: Bool) -> [Int]? {
        var allInts = true
        for k in keys {
            switch k {
            case .int: continue
            case .float: allInts = false
            default: return nil
            }
        }
        if allInts {
            // Signed order as unsigned: flip the sign bit.
            let radixKeys = keys.map { k -> UInt64 in
                guard case let .int(x) = k else { return 0 }
                let up = UInt64(bitPattern: Int64(x)) ^ (1 << 63)
                return reverse ? ~up : up
            }
            return RadixSort.stableOrder(radixKeys)
        }
        // Mixed ints and floats compare by value; beyond 2^53 an int has no exact double, so compare those.
        var radixKeys = [UInt64](repeating: 0, count: keys.count)
        var nans: [Int] = []
        for (i, k) in keys.enumerated() {
            let d: Double
            switch k {
            case let .int(x):
                guard x.magnitude <= 1 << 53 else { return nil }
                d = Double(x)
            case let .float(x): d = x
            default: return nil
            }
            if d.isNaN { nans.append(i); radixKeys[i] = UInt64.max; continue }
            radixKeys[i] = RadixSort.orderedBits(d, descending: reverse)
        }
        // nan last in both directions: its key is the largest, and only ties (in input order) share it.
        let order = RadixSort.stableOrder(radixKeys)
        return nans.isEmpty ? order : Array(order.prefix(keys.count - nans.count)) + nans
    }

    // MARK: - Strings

    static func registerStrings(_ r: LibRegistrar) {
        r.add(nil, "join", [Parameter("xs"), Parameter("sep", .string, default: .string(""))], doc: """
              Joins a list's elements into one string with `sep` between them; non-strings are converted with str.
              """) { a in
            .string(try a.items("xs").map(LibConvert.text).joined(separator: try a.string("sep")))
        }

        r.add(nil, "split", [Parameter("x"), Parameter("sep", default: .nil),
                             Parameter("axis", .int, default: .int(0), keywordOnly: true)],
              doc: """
              Splits a string at each `sep` (at runs of whitespace when sep is nil), or cuts a tensor.
              For a tensor, split(t, n, axis: 0) cuts into n equal pieces and split(t, [sizes], axis: 0) into pieces
              of the given sizes; the result is a list of tensors.
              """) { a in
            if case let .string(s) = a["x"] {
                guard let sep = try a.optString("sep") else {
                    return .list(s.split(whereSeparator: { $0.isWhitespace }).map { .string(String($0)) })
                }
                guard !sep.isEmpty else { throw a.error("sep", "must not be empty") }
                return .list(s.components(separatedBy: sep).map { .string($0) })
            }
            if case .nil = a["x"] { throw a.typeError("x", "a string or a tensor", a["x"]) }
            return try TensorBuiltins.splitTensor(a)
        }

        func stringOp(_ name: String, _ doc: String, _ f: @escaping (String) -> String) {
            r.add(nil, name, [Parameter("s", .string)], doc: doc) { a in .string(f(try a.string("s"))) }
        }
        stringOp("upper", "The string in upper case.") { $0.uppercased() }
        stringOp("lower", "The string in lower case.") { $0.lowercased() }

        for (name, side) in [("strip", 0), ("lstrip", -1), ("rstrip", 1)] {
            let where_ = side == 0 ? "both ends" : side < 0 ? "the start" : "the end"
            r.add(nil, name, [Parameter("s", .string), Parameter("chars", .string, default: .nil)], doc: """
                  Removes whitespace (or any of `chars`) from \(where_) of a string.
                  """) { a in
                let s = try a.string("s")
                let set = try a.optString("chars").map { Set($0) }
                let strip: (Character) -> Bool = { c in set.map { $0.contains(c) } ?? c.isWhitespace }
                var sub = Substring(s)
                if side <= 0 { sub = sub.drop(while: strip) }
                if side >= 0 { while let last = sub.last, strip(last) { sub = sub.dropLast() } }
                return .string(String(sub))
            }
        }

        r.add(nil, "replace", [Parameter("s", .string), Parameter("old", .string), Parameter("new", .string)], doc: """
              The string with every occurrence of `old` replaced by `new`.
              """) { a in
            let old = try a.string("old")
            guard !old.isEmpty else { throw a.error("old", "must not be empty") }
            return .string(try a.string("s").replacingOccurrences(of: old, with: try a.string("new")))
        }

        r.add(nil, "starts_with", [Parameter("s", .string), Parameter("prefix", .string)], doc: """
              Whether the string begins with `prefix`.
              """) { a in .bool(try a.string("s").hasPrefix(try a.string("prefix"))) }
        r.add(nil, "ends_with", [Parameter("s", .string), Parameter("suffix", .string)], doc: """
              Whether the string ends with `suffix`.
              """) { a in .bool(try a.string("s").hasSuffix(try a.string("suffix"))) }

        r.add(nil, "chars", [Parameter("s", .string)], doc: """
              The characters of a string as a list of one-character strings.
              """) { a in .list(try a.string("s").map { .string(String($0)) }) }

        r.add(nil, "lines", [Parameter("s", .string)], doc: """
              The lines of a string (split at \\n, \\r\\n; no trailing empty line).
              """) { a in
            // Split on scalars: "\r\n" is one Character, so a Character split would miss it.
            var ls = try a.string("s").unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
            if ls.last?.isEmpty == true { ls.removeLast() }
            return .list(ls.map { l in .string(String(l.last == "\r" ? l.dropLast() : l)) })
        }

        r.add(nil, "format", [Parameter("value"), Parameter("spec", .string, default: .string(""))], doc: """
              Formats a value with a Python-style spec, as in f-strings: format(0.1234, ".1%") is "12.3%".
              Spec: [[fill]align][sign][width][,][.precision][type], align one of < > ^, types d f e g % s x b.
              """) { a in
            do { return .string(try LibFormat.format(a["value"], spec: try a.string("spec"))) } catch let LibFormat.Problem.message(m) {
                throw a.error("spec", m)
            }
        }

        r.add(nil, "pad", [Parameter("s"), Parameter("width", .int),
                           Parameter("align", .string, default: .string("left"), keywordOnly: true),
                           Parameter("fill", .string, default: .string(" "), keywordOnly: true)],
              doc: """
              Pads str(s) with `fill` to at least `width` characters; align: "left" (pad on the right), "right" or "center".
              """) { a in
            let s = LibConvert.text(a["s"])
            let width = try a.int("width"), fill = try a.string("fill")
            guard width <= LibLimits.maxElements else { throw a.error("width", "is too large, got \(width)") }
            guard fill.count == 1 else { throw a.error("fill", "must be one character, got \(Value.string(fill).repr)") }
            let n = width <= s.count ? 0 : width - s.count
            switch try a.string("align") {
            case "left": return .string(s + String(repeating: fill, count: n))
            case "right": return .string(String(repeating: fill, count: n) + s)
            case "center": return .string(String(repeating: fill, count: n / 2) + s + String(repeating: fill, count: n - n / 2))
            case let other: throw a.error("align", "must be \"left\", \"right\" or \"center\", got \(Value.string(other).repr)")
            }
        }
    }

    // MARK: - Records

    static func registerRecords(_ r: LibRegistrar) {
        r.add(nil, "keys", [Parameter("r", .record)], doc: "The field names of a record, in order, as a list of strings.") { a in
            .list(try a.record("r").keys.map { .string($0) })
        }
        r.add(nil, "values", [Parameter("r", .record)], doc: "The field values of a record, in order.") { a in
            .list(try a.record("r").values)
        }
        r.add(nil, "items", [Parameter("r", .record)], doc: "The fields of a record as a list of [name, value] pairs.") { a in
            let rec = try a.record("r")
            return .list(zip(rec.keys, rec.values).map { .list([.string($0), $1]) })
        }
        r.add(nil, "has", [Parameter("r", .record), Parameter("key", .string)], doc: "Whether a record has the field `key`.") { a in
            .bool(try a.record("r")[try a.string("key")] != nil)
        }
        r.add(nil, "get", [Parameter("r", .record), Parameter("key", .string), Parameter("default", default: .nil)], doc: """
              A record's field `key`, or `default` (nil) when it has none.
              """) { a in
            try a.record("r")[try a.string("key")] ?? a["default"]
        }
        r.add(nil, "from_pairs", [Parameter("pairs")], doc: """
              A record from a list of [name, value] pairs (a later pair replaces an earlier one's value).
              """) { a in
            var keys: [String] = [], values: [Value] = [], index: [String: Int] = [:]
            for (i, p) in try a.items("pairs").enumerated() {
                guard case let .list(kv) = p, kv.count == 2, case let .string(k) = kv[0] else {
                    throw a.error("pairs", "must hold [string, value] pairs, found \(p.repr) at index \(i)", kind: .type)
                }
                if let j = index[k] { values[j] = kv[1] } else { index[k] = keys.count; keys.append(k); values.append(kv[1]) }
            }
            return .record(Record(keys: keys, values: values))
        }
        r.add(nil, "without", [Parameter("r", .record), Parameter("key")], doc: """
              A copy of a record without the field `key` (a string) or fields (a list of strings).
              """) { a in
            let rec = try a.record("r")
            let drop: Set<String>
            switch a["key"] {
            case let .string(k): drop = [k]
            case let .list(ks): drop = Set(ks.compactMap { if case let .string(s) = $0 { return s }; return nil })
            default: throw a.typeError("key", "a string or a list of strings", a["key"])
            }
            let kept = rec.keys.indices.filter { !drop.contains(rec.keys[$0]) }
            return .record(Record(keys: kept.map { rec.keys[$0] }, values: kept.map { rec.values[$0] }))
        }
    }
}
