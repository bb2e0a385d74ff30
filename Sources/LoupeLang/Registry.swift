/// A built-in function: Swift code with declared parameters and documentation. Arguments are matched and
/// type-checked from the declaration before `body` runs, so every built-in reports argument errors the same way.
public final class Builtin: FunctionValue {
    public let body: (Arguments) throws -> Value
    /// The parameters' names, computed once for `Arguments`.
    let parameterNames: [String]
    /// Takes any number of positional arguments (`print`); `values` holds them all.
    let variadic: Bool
    /// No keyword-only parameters: a call with one positional argument per parameter needs no matching.
    let simple: Bool

    public init(name: String, parameters: [Parameter], doc: String, body: @escaping (Arguments) throws -> Value) {
        self.body = body
        self.parameterNames = parameters.map(\.name)
        self.variadic = false
        self.simple = !parameters.contains { $0.keywordOnly }
        super.init(name: name, parameters: parameters, doc: doc)
        kindTag = 2
    }

    /// The language's own variadic built-ins (print) are made here, outside the registry.
    init(variadic name: String, doc: String, body: @escaping (Arguments) throws -> Value) {
        self.body = body
        self.parameterNames = []
        self.variadic = true
        self.simple = true
        super.init(name: name, parameters: [], doc: doc)
        kindTag = 2
    }
}

/// Arguments of a built-in call, matched to its parameters (defaults filled in).
public struct Arguments {
    /// The function being called (for messages).
    public let function: String
    /// One value per declared parameter, in declaration order.
    public let values: [Value]
    let names: [String]
    /// Where the call is, for errors raised by the body.
    public let span: SourceSpan?
    /// Calls a function value (a closure or a built-in) with positional arguments: how built-ins such as
    /// `map` or `sort_by` call back into Loupe code. Provided by the interpreter.
    public let call: (Value, [Value]) throws -> Value

    public init(function: String, names: [String], values: [Value], span: SourceSpan?,
                call: @escaping (Value, [Value]) throws -> Value) {
        self.function = function; self.names = names; self.values = values; self.span = span; self.call = call
    }

    public subscript(name: String) -> Value {
        guard let i = names.firstIndex(of: name) else { return .nil }
        return values[i]
    }
    public subscript(i: Int) -> Value { values[i] }

    /// An error about argument `name` ("metrics.ece: argument 'bins' must be positive, got -1").
    public func error(_ name: String, _ problem: String, kind: LoupeError.Kind = .value) -> LoupeError {
        LoupeError(kind, "\(function): argument '\(name)' \(problem)", at: span)
    }
}

/// All built-ins, by qualified name ("len", "metrics.ece"). The language sees namespaces as records of
/// functions; `:doc` and tab completion read the registry directly.
public final class BuiltinRegistry {
    public private(set) var functions: [String: Builtin] = [:]
    /// Registration order, so listings are stable.
    public private(set) var names: [String] = []
    /// Documentation of each namespace ("metrics" -> "Evaluation metrics...").
    public private(set) var namespaceDocs: [String: String] = [:]

    public init() {}

    /// Registers `namespace.name` (or a top-level `name` when namespace is nil). Registering a name twice is a
    /// programming error in Loupe itself, reported when the registry is built.
    public func register(_ namespace: String?, _ name: String, _ parameters: [Parameter] = [], doc: String,
                         _ body: @escaping (Arguments) throws -> Value) {
        let qualified = namespace.map { "\($0).\(name)" } ?? name
        precondition(functions[qualified] == nil, "built-in \(qualified) registered twice")
        functions[qualified] = Builtin(name: qualified, parameters: parameters, doc: doc, body: body)
        names.append(qualified)
    }

    public func documentNamespace(_ namespace: String, _ doc: String) { namespaceDocs[namespace] = doc }

    public func lookup(_ qualified: String) -> Builtin? { functions[qualified] }

    /// Top-level namespaces ("metrics", "plot") in registration order.
    public var namespaces: [String] {
        var seen = Set<String>(), out: [String] = []
        for n in names { if let dot = n.firstIndex(of: ".") { let ns = String(n[..<dot]); if seen.insert(ns).inserted { out.append(ns) } } }
        return out
    }
}
