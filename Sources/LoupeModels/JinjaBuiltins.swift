import Foundation

/// The filters, tests, methods and globals chat templates use, with jinja2's (and Python's) behaviour.
enum JinjaBuiltins {
    static func equal(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case let (.string(x), .string(y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case let (.array(x), .array(y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case let (.dict(x), .dict(y)):
            return Set(x.keys) == Set(y.keys) && x.keys.allSatisfy { equal(x[$0]!, y[$0]!) }
        default:
            if let p = a.number, let q = b.number, !(a.isString || b.isString) { return p == q }
            return false
        }
    }

    static var globals: [String: JinjaValue] {
        [
            "range": .function(JinjaFunction { args, _ in
                let ints = args.compactMap { v -> Int? in if case let .int(i) = v { return i }; return nil }
                guard ints.count == args.count, !ints.isEmpty else { throw JinjaRaise(message: "range() needs integers") }
                let (start, stop, step) = ints.count == 1 ? (0, ints[0], 1)
                    : (ints[0], ints[1], ints.count > 2 ? ints[2] : 1)
                guard step != 0 else { throw JinjaRaise(message: "range() step must not be zero") }
                return .array(Swift.stride(from: start, to: stop, by: step).map { .int($0) })
            }),
            "namespace": .function(JinjaFunction { args, kwargs in
                var attrs: [String: JinjaValue] = [:]
                if case let .dict(d)? = args.first { for k in d.keys { attrs[k] = d[k]! } }
                for (k, v) in kwargs { attrs[k] = v }
                return .namespace(JinjaNamespace(attrs))
            }),
            "raise_exception": .function(JinjaFunction { args, _ in
                throw JinjaRaise(message: "raise_exception: " + (args.first?.printed ?? ""))
            }),
            "dict": .function(JinjaFunction { _, kwargs in .dict(JinjaDict(kwargs)) }),
        ]
    }

    static func filter(_ name: String, _ v: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)],
                       pos: Int, interp: JinjaInterpreter) throws -> JinjaValue {
        func arg(_ i: Int, _ key: String) -> JinjaValue? {
            if i < args.count { return args[i] }
            return kwargs.first { $0.0 == key }?.1
        }
        switch name {
        case "trim":
            return .string(v.printed.trimmingCharacters(in: .whitespacesAndNewlines))
        case "length", "count":
            switch v {
            case let .string(s): return .int(s.count)
            case let .array(a): return .int(a.count)
            case let .dict(d): return .int(d.keys.count)
            case .undefined: return .int(0)
            default: throw interp.error(pos, "object of type \(v.typeName) has no length")
            }
        case "upper": return .string(v.printed.uppercased())
        case "lower": return .string(v.printed.lowercased())
        case "capitalize":
            let s = v.printed
            return .string(s.prefix(1).uppercased() + s.dropFirst().lowercased())
        case "title": return .string(v.printed.capitalized)
        case "string": return .string(v.printed)
        case "safe", "e", "escape", "forceescape":
            return name == "safe" ? v : .string(v.printed.replacingOccurrences(of: "&", with: "&amp;")
                .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
                .replacingOccurrences(of: "\"", with: "&#34;").replacingOccurrences(of: "'", with: "&#39;"))
        case "tojson":
            var indent: Int? = nil
            if case let .int(i)? = arg(0, "indent") { indent = i }
            return .string(v.json(indent: indent))
        case "default", "d":
            let dflt = arg(0, "default_value") ?? .string("")
            let boolean = arg(1, "boolean")?.isTruthy ?? false
            if case .undefined = v { return dflt }
            if boolean && !v.isTruthy { return dflt }
            return v
        case "first":
            switch v {
            case let .array(a): return a.first ?? .undefined
            case let .string(s): return s.first.map { .string(String($0)) } ?? .undefined
            default: return .undefined
            }
        case "last":
            switch v {
            case let .array(a): return a.last ?? .undefined
            case let .string(s): return s.last.map { .string(String($0)) } ?? .undefined
            default: return .undefined
            }
        case "join":
            let sep = arg(0, "d")?.printed ?? ""
            guard case let .array(a) = v else { return .string(v.printed) }
            if let attr = arg(1, "attribute") {
                return .string(try a.map { try interp.member($0, attr.printed, pos).printed }.joined(separator: sep))
            }
            return .string(a.map { $0.printed }.joined(separator: sep))
        case "replace":
            guard let old = arg(0, "old"), let new = arg(1, "new") else {
                throw interp.error(pos, "replace needs two arguments")
            }
            return .string(v.printed.replacingOccurrences(of: old.printed, with: new.printed))
        case "int":
            switch v {
            case let .int(i): return .int(i)
            case let .double(d): return .int(Int(d))
            case let .string(s): return .int(Int(s.trimmingCharacters(in: .whitespaces)) ?? 0)
            case let .bool(b): return .int(b ? 1 : 0)
            default: return .int(0)
            }
        case "float":
            return .double(v.number ?? Double(v.printed) ?? 0)
        case "list":
            switch v {
            case let .array(a): return .array(a)
            case let .string(s): return .array(s.map { .string(String($0)) })
            case let .dict(d): return .array(d.keys.map { .string($0) })
            default: return .array([])
            }
        case "reverse":
            switch v {
            case let .array(a): return .array(a.reversed())
            case let .string(s): return .string(String(s.reversed()))
            default: return v
            }
        case "items":
            guard case let .dict(d) = v else { return .array([]) }
            return .array(d.keys.map { .array([.string($0), d[$0]!]) })
        case "abs":
            if case let .int(i) = v { return .int(abs(i)) }
            return .double(abs(v.number ?? 0))
        case "indent":
            let width: Int
            if case let .int(w)? = arg(0, "width") { width = w } else { width = 4 }
            let first = arg(1, "first")?.isTruthy ?? false
            let pad = String(repeating: " ", count: width)
            let lines = v.printed.components(separatedBy: "\n")
            return .string(lines.enumerated().map { i, l in
                (i == 0 && !first) || l.isEmpty ? l : pad + l
            }.joined(separator: "\n"))
        case "map":
            guard case let .array(a) = v else { return .array([]) }
            if let attr = kwargs.first(where: { $0.0 == "attribute" })?.1 {
                return .array(try a.map { try interp.member($0, attr.printed, pos) })
            }
            guard let f = args.first else { throw interp.error(pos, "map needs a filter name or attribute=") }
            return .array(try a.map { try filter(f.printed, $0, Array(args.dropFirst()), [], pos: pos, interp: interp) })
        case "selectattr", "rejectattr":
            guard case let .array(a) = v, let attr = args.first else { return .array([]) }
            let keep = name == "selectattr"
            return .array(try a.filter { item in
                let value = try interp.member(item, attr.printed, pos)
                let r = args.count > 1
                    ? try test(args[1].printed, value, Array(args.dropFirst(2)), pos: pos, interp: interp)
                    : value.isTruthy
                return r == keep
            })
        case "select", "reject":
            guard case let .array(a) = v else { return .array([]) }
            let keep = name == "select"
            return .array(try a.filter { item in
                let r = args.isEmpty ? item.isTruthy
                    : try test(args[0].printed, item, Array(args.dropFirst()), pos: pos, interp: interp)
                return r == keep
            })
        case "unique":
            guard case let .array(a) = v else { return v }
            var out: [JinjaValue] = []
            for x in a where !out.contains(where: { equal($0, x) }) { out.append(x) }
            return .array(out)
        case "sort":
            guard case let .array(a) = v else { return v }
            return .array(a.sorted { x, y in
                if case let .string(p) = x, case let .string(q) = y { return p < q }
                return (x.number ?? 0) < (y.number ?? 0)
            })
        default:
            throw interp.error(pos, "unknown filter '\(name)'")
        }
    }

    static func test(_ name: String, _ v: JinjaValue, _ args: [JinjaValue], pos: Int,
                     interp: JinjaInterpreter) throws -> Bool {
        switch name {
        case "defined": if case .undefined = v { return false }; return true
        case "undefined": if case .undefined = v { return true }; return false
        case "none": if case .none = v { return true }; return false
        case "string": return v.isString
        case "number": if case .int = v { return true }; if case .double = v { return true }; return false
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "mapping": if case .dict = v { return true }; return false
        case "sequence", "iterable":
            switch v { case .array, .string, .dict: return true; default: return false }
        case "callable": switch v { case .function, .macro: return true; default: return false }
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "even": if case let .int(i) = v { return i % 2 == 0 }; return false
        case "odd": if case let .int(i) = v { return i % 2 != 0 }; return false
        case "eq", "equalto", "==": return args.first.map { equal(v, $0) } ?? false
        case "ne", "!=": return !(args.first.map { equal(v, $0) } ?? false)
        case "in": return try args.first.map { try interp.binary("in", v, $0, pos).isTruthy } ?? false
        default: throw interp.error(pos, "unknown test '\(name)'")
        }
    }

    /// Bound methods of strings, lists and dicts (Python's, as templates call them).
    static func method(_ v: JinjaValue, _ name: String) -> JinjaValue? {
        func fn(_ f: @escaping ([JinjaValue]) throws -> JinjaValue) -> JinjaValue {
            .function(JinjaFunction { args, _ in try f(args) })
        }
        switch v {
        case let .string(s):
            func chars(_ a: [JinjaValue]) -> CharacterSet {
                if let c = a.first, case let .string(set) = c { return CharacterSet(charactersIn: set) }
                return .whitespacesAndNewlines
            }
            switch name {
            case "strip": return fn { .string(s.trimmingCharacters(in: chars($0))) }
            case "lstrip": return fn { a in
                let cs = chars(a)
                return .string(String(s.unicodeScalars.drop { cs.contains($0) }))
            }
            case "rstrip": return fn { a in
                let cs = chars(a)
                var u = Array(s.unicodeScalars)
                while let l = u.last, cs.contains(l) { u.removeLast() }
                var r = String.UnicodeScalarView(); r.append(contentsOf: u)
                return .string(String(r))
            }
            case "upper": return fn { _ in .string(s.uppercased()) }
            case "lower": return fn { _ in .string(s.lowercased()) }
            case "title": return fn { _ in .string(s.capitalized) }
            case "capitalize": return fn { _ in .string(s.prefix(1).uppercased() + s.dropFirst().lowercased()) }
            case "startswith": return fn { a in .bool(a.contains { s.hasPrefix($0.printed) } || a.contains {
                if case let .array(opts) = $0 { return opts.contains { s.hasPrefix($0.printed) } }; return false }) }
            case "endswith": return fn { a in .bool(a.contains { s.hasSuffix($0.printed) } || a.contains {
                if case let .array(opts) = $0 { return opts.contains { s.hasSuffix($0.printed) } }; return false }) }
            case "split": return fn { a in
                if let sep = a.first, case let .string(sp) = sep {
                    return .array(s.components(separatedBy: sp).map { .string($0) })
                }
                return .array(s.split(whereSeparator: { $0.isWhitespace }).map { .string(String($0)) })
            }
            case "replace": return fn { a in
                guard a.count >= 2 else { throw JinjaRaise(message: "replace() needs two arguments") }
                return .string(s.replacingOccurrences(of: a[0].printed, with: a[1].printed))
            }
            case "find": return fn { a in
                guard let sub = a.first?.printed, let r = s.range(of: sub) else { return .int(-1) }
                return .int(s.distance(from: s.startIndex, to: r.lowerBound))
            }
            case "count": return fn { a in
                guard let sub = a.first?.printed, !sub.isEmpty else { return .int(0) }
                return .int(s.components(separatedBy: sub).count - 1)
            }
            case "join": return fn { a in
                guard case let .array(items)? = a.first else { return .string("") }
                return .string(items.map { $0.printed }.joined(separator: s))
            }
            case "format": return fn { a in
                var out = s
                for x in a { if let r = out.range(of: "%s") { out.replaceSubrange(r, with: x.printed) } }
                return .string(out)
            }
            default: return nil
            }
        case let .dict(d):
            switch name {
            case "items": return fn { _ in .array(d.keys.map { .array([.string($0), d[$0]!]) }) }
            case "keys": return fn { _ in .array(d.keys.map { .string($0) }) }
            case "values": return fn { _ in .array(d.keys.map { d[$0]! }) }
            case "get": return fn { a in
                guard let k = a.first else { return .none }
                return d[k.printed] ?? (a.count > 1 ? a[1] : .none)
            }
            default: return nil
            }
        case let .array(arr):
            switch name {
            case "index": return fn { a in
                guard let x = a.first, let i = arr.firstIndex(where: { equal($0, x) }) else {
                    throw JinjaRaise(message: "value is not in list")
                }
                return .int(i)
            }
            case "count": return fn { a in .int(arr.filter { equal($0, a.first ?? .none) }.count) }
            default: return nil
            }
        default:
            return nil
        }
    }
}

extension JinjaValue {
    var isString: Bool { if case .string = self { return true }; return false }
}
