import Foundation

/// Renders a parsed template. Scoping follows Jinja: a for loop's body gets its own scope (a `set` inside it is
/// gone after the loop; `namespace` objects are how templates carry state out), `if` shares its parent's scope.
final class JinjaInterpreter {
    let source: [Character]
    private var scopes: [[String: JinjaValue]]
    private var output = ""

    init(source: [Character], globals: [String: JinjaValue]) {
        self.source = source
        scopes = [globals]
    }

    func error(_ pos: Int, _ message: String) -> ChatTemplateError { JinjaScanner.error(source, pos, message) }

    func render(_ nodes: [JinjaNode]) throws -> String {
        output = ""
        try run(nodes)
        return output
    }

    private func lookup(_ name: String) -> JinjaValue {
        for s in scopes.reversed() { if let v = s[name] { return v } }
        return .undefined
    }

    private func assign(_ name: String, _ v: JinjaValue) { scopes[scopes.count - 1][name] = v }

    private func run(_ nodes: [JinjaNode]) throws {
        for node in nodes { try run(node) }
    }

    private func run(_ node: JinjaNode) throws {
        switch node {
        case let .text(t): output += t
        case let .output(e): output += try eval(e).printed
        case let .ifChain(branches, otherwise):
            for (cond, body) in branches where try eval(cond).isTruthy {
                try run(body)
                return
            }
            try run(otherwise)
        case let .forLoop(targets, iterable, filter, body, otherwise, pos):
            var items: [JinjaValue]
            switch try eval(iterable) {
            case let .array(a): items = a
            case let .dict(d): items = d.keys.map { .string($0) }
            case let .string(s): items = s.map { .string(String($0)) }
            case .undefined, .none: items = []
            case let other: throw error(pos, "cannot loop over \(other.typeName)")
            }
            if let f = filter {
                items = try items.filter { item in
                    scopes.append([:])
                    defer { scopes.removeLast() }
                    try bind(targets, item, pos)
                    return try eval(f).isTruthy
                }
            }
            if items.isEmpty { try run(otherwise); return }
            for (i, item) in items.enumerated() {
                scopes.append([:])
                defer { scopes.removeLast() }
                try bind(targets, item, pos)
                let n = items.count
                var loop = JinjaDict()
                loop["index"] = .int(i + 1)
                loop["index0"] = .int(i)
                loop["revindex"] = .int(n - i)
                loop["revindex0"] = .int(n - i - 1)
                loop["first"] = .bool(i == 0)
                loop["last"] = .bool(i == n - 1)
                loop["length"] = .int(n)
                loop["previtem"] = i > 0 ? items[i - 1] : .undefined
                loop["nextitem"] = i + 1 < n ? items[i + 1] : .undefined
                loop["cycle"] = .function(JinjaFunction { args, _ in args.isEmpty ? .undefined : args[i % args.count] })
                assign("loop", .dict(loop))
                try run(body)
            }
        case let .set(target, attribute, value, pos):
            let v = try eval(value)
            if let attr = attribute {
                guard case let .namespace(ns) = lookup(target[0]) else {
                    throw error(pos, "cannot set attribute '\(attr)' on '\(target[0])' (not a namespace)")
                }
                ns.attributes[attr] = v
            } else {
                try bind(target, v, pos)
            }
        case let .setBlock(name, body):
            let saved = output
            output = ""
            try run(body)
            let captured = output
            output = saved
            assign(name, .string(captured))
        case let .macro(m):
            assign(m.name, .macro(m))
        case .callBlock:
            break
        }
    }

    private func bind(_ targets: [String], _ v: JinjaValue, _ pos: Int) throws {
        if targets.count == 1 { assign(targets[0], v); return }
        guard case let .array(parts) = v, parts.count == targets.count else {
            throw error(pos, "cannot unpack \(v.typeName) into \(targets.count) names")
        }
        for (t, p) in zip(targets, parts) { assign(t, p) }
    }

    // MARK: Expressions

    func eval(_ e: JinjaExpr) throws -> JinjaValue {
        switch e {
        case let .literal(v): return v
        case let .name(n, _): return lookup(n)
        case let .list(items): return .array(try items.map { try eval($0) })
        case let .dict(pairs):
            var d = JinjaDict()
            for (k, v) in pairs { d[try eval(k).printed] = try eval(v) }
            return .dict(d)
        case let .attribute(base, name, pos):
            let b = try eval(base)
            return try member(b, name, pos)
        case let .subscriptIndex(base, index, pos):
            let b = try eval(base), i = try eval(index)
            switch (b, i) {
            case let (.array(a), .int(k)):
                let j = k < 0 ? a.count + k : k
                return j >= 0 && j < a.count ? a[j] : .undefined
            case let (.string(s), .int(k)):
                let chars = Array(s)
                let j = k < 0 ? chars.count + k : k
                return j >= 0 && j < chars.count ? .string(String(chars[j])) : .undefined
            case let (_, .string(k)): return try member(b, k, pos)
            case (.undefined, _): return .undefined
            default: throw error(pos, "cannot index \(b.typeName) with \(i.typeName)")
            }
        case let .slice(base, a, b, c, pos):
            let v = try eval(base)
            func opt(_ x: JinjaExpr?) throws -> Int? {
                guard let x = x else { return nil }
                if case let .int(i) = try eval(x) { return i }
                if case .none = try eval(x) { return nil }
                throw error(pos, "slice indices must be integers")
            }
            let start = try opt(a), stop = try opt(b), step = try opt(c) ?? 1
            switch v {
            case let .array(arr): return .array(JinjaInterpreter.slice(arr, start, stop, step))
            case let .string(s): return .string(String(JinjaInterpreter.slice(Array(s), start, stop, step)))
            default: throw error(pos, "cannot slice \(v.typeName)")
            }
        case let .call(fn, args, kwargs, pos):
            let f = try eval(fn)
            let a = try args.map { try eval($0) }
            let k = try kwargs.map { ($0.0, try eval($0.1)) }
            return try call(f, a, k, pos)
        case let .filter(base, name, args, kwargs, pos):
            let b = try eval(base)
            return try JinjaBuiltins.filter(name, b, try args.map { try eval($0) },
                                            try kwargs.map { ($0.0, try eval($0.1)) }, pos: pos, interp: self)
        case let .test(base, name, args, negated, pos):
            let r = try JinjaBuiltins.test(name, try eval(base), try args.map { try eval($0) }, pos: pos, interp: self)
            return .bool(negated ? !r : r)
        case let .unary(op, x, pos):
            let v = try eval(x)
            switch (op, v) {
            case ("not", _): return .bool(!v.isTruthy)
            case ("-", .int(let i)): return .int(-i)
            case ("-", .double(let d)): return .double(-d)
            case ("+", .int), ("+", .double): return v
            default: throw error(pos, "bad operand \(v.typeName) for unary '\(op)'")
            }
        case let .binary(op, l, r, pos):
            if op == "and" { let a = try eval(l); return a.isTruthy ? try eval(r) : a }
            if op == "or" { let a = try eval(l); return a.isTruthy ? a : try eval(r) }
            return try binary(op, try eval(l), try eval(r), pos)
        case let .ternary(cond, then, otherwise):
            if try eval(cond).isTruthy { return try eval(then) }
            return try otherwise.map { try eval($0) } ?? .undefined
        }
    }

    static func slice<T>(_ a: [T], _ start: Int?, _ stop: Int?, _ step: Int) -> [T] {
        let n = a.count
        func clamp(_ i: Int?, _ dflt: Int) -> Int {
            guard var i = i else { return dflt }
            if i < 0 { i += n }
            return step > 0 ? min(max(i, 0), n) : min(max(i, -1), n - 1)
        }
        var out: [T] = []
        if step > 0 {
            var i = clamp(start, 0)
            let e = clamp(stop, n)
            while i < e { out.append(a[i]); i += step }
        } else if step < 0 {
            var i = clamp(start, n - 1)
            let e = clamp(stop, -1)
            while i > e { out.append(a[i]); i += step }
        }
        return out
    }

    func call(_ f: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)], _ pos: Int) throws -> JinjaValue {
        switch f {
        case let .function(fn):
            do { return try fn.call(args, kwargs) } catch let e as JinjaRaise {
                throw error(pos, e.message)
            }
        case let .macro(m):
            scopes.append([:])
            defer { scopes.removeLast() }
            for (i, (name, dflt)) in m.parameters.enumerated() {
                if i < args.count {
                    assign(name, args[i])
                } else if let kv = kwargs.first(where: { $0.0 == name }) {
                    assign(name, kv.1)
                } else {
                    assign(name, try dflt.map { try eval($0) } ?? .undefined)
                }
            }
            let saved = output
            output = ""
            try run(m.body)
            let result = output
            output = saved
            return .string(result)
        case .undefined:
            throw error(pos, "call of an undefined value")
        default:
            throw error(pos, "\(f.typeName) is not callable")
        }
    }

    func member(_ b: JinjaValue, _ name: String, _ pos: Int) throws -> JinjaValue {
        switch b {
        case let .dict(d):
            if let v = d[name] { return v }
            return JinjaBuiltins.method(b, name) ?? .undefined
        case let .namespace(ns): return ns.attributes[name] ?? .undefined
        case .undefined, .none: return .undefined
        case let .array(a):
            if let i = Int(name) { return i >= 0 && i < a.count ? a[i] : .undefined }
            return JinjaBuiltins.method(b, name) ?? .undefined
        default:
            return JinjaBuiltins.method(b, name) ?? .undefined
        }
    }

    func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue, _ pos: Int) throws -> JinjaValue {
        switch op {
        case "==": return .bool(JinjaBuiltins.equal(a, b))
        case "!=": return .bool(!JinjaBuiltins.equal(a, b))
        case "~": return .string(a.printed + b.printed)
        case "in":
            switch b {
            case let .array(arr): return .bool(arr.contains { JinjaBuiltins.equal($0, a) })
            case let .dict(d): if case let .string(k) = a { return .bool(d[k] != nil) }; return .bool(false)
            case let .string(s):
                guard case let .string(sub) = a else { throw error(pos, "'in <string>' needs a string on the left") }
                return .bool(sub.isEmpty || s.contains(sub))
            case .undefined, .none: return .bool(false)
            default: throw error(pos, "'in' needs a list, dict or string, not \(b.typeName)")
            }
        case "<", ">", "<=", ">=":
            let c: Bool
            switch (a, b) {
            case let (.string(x), .string(y)):
                c = op == "<" ? x < y : op == ">" ? x > y : op == "<=" ? x <= y : x >= y
            default:
                guard let x = a.number, let y = b.number else {
                    throw error(pos, "cannot compare \(a.typeName) and \(b.typeName) with '\(op)'")
                }
                c = op == "<" ? x < y : op == ">" ? x > y : op == "<=" ? x <= y : x >= y
            }
            return .bool(c)
        case "+":
            switch (a, b) {
            case let (.string(x), .string(y)): return .string(x + y)
            case let (.array(x), .array(y)): return .array(x + y)
            case let (.int(x), .int(y)): return .int(x + y)
            default:
                if let x = a.number, let y = b.number { return .double(x + y) }
                throw error(pos, "cannot add \(a.typeName) and \(b.typeName)")
            }
        case "-", "*", "/", "//", "%", "**":
            if case let .string(s) = a, case let .int(k) = b, op == "*" { return .string(String(repeating: s, count: max(k, 0))) }
            if case let .int(x) = a, case let .int(y) = b {
                switch op {
                case "-": return .int(x - y)
                case "*": return .int(x * y)
                case "/": guard y != 0 else { throw error(pos, "division by zero") }; return .double(Double(x) / Double(y))
                case "//":
                    guard y != 0 else { throw error(pos, "division by zero") }
                    return .int(Int((Double(x) / Double(y)).rounded(.down)))
                case "%":
                    guard y != 0 else { throw error(pos, "modulo by zero") }
                    let m = x % y
                    return .int(m != 0 && (m < 0) != (y < 0) ? m + y : m)
                default: return .int(Int(pow(Double(x), Double(y))))
                }
            }
            guard let x = a.number, let y = b.number else {
                throw error(pos, "bad operands \(a.typeName) and \(b.typeName) for '\(op)'")
            }
            switch op {
            case "-": return .double(x - y)
            case "*": return .double(x * y)
            case "/": return .double(x / y)
            case "//": return .double((x / y).rounded(.down))
            case "%": return .double(x.truncatingRemainder(dividingBy: y))
            default: return .double(pow(x, y))
            }
        default:
            throw error(pos, "unknown operator '\(op)'")
        }
    }
}

/// `raise_exception(message)` from a template.
struct JinjaRaise: Error { let message: String }

extension JinjaValue {
    var number: Double? {
        switch self {
        case let .int(i): return Double(i)
        case let .double(d): return d
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    var typeName: String {
        switch self {
        case .undefined: return "undefined"
        case .none: return "none"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "string"
        case .array: return "list"
        case .dict: return "dict"
        case .namespace: return "namespace"
        case .function: return "function"
        case .macro: return "macro"
        }
    }
}
