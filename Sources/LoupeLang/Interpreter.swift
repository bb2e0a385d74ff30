import Foundation
import LoupeTensor

/// Runs Loupe code: parse, resolve (all name errors before running), compile to closures, execute.
///
/// Top-level `let`/`var`/`fn` of successive `run` calls persist (REPL lines, notebook cells). Execution happens on
/// a thread with a large stack, so deep recursion ends in a `stack overflow` error at `maxDepth` instead of a crash.
public final class Interpreter {
    public let registry: BuiltinRegistry
    let machine = Machine()
    /// The session's top-level names.
    let module = Module(path: "")
    /// Names defined by the standard library, restored by `reset()`.
    private var stdlibGlobals: [String: GlobalInfo] = [:]
    private var sources: [String: String] = [:]
    /// The language's own built-ins, used when the registry does not define the name.
    private var intrinsics: [String: Value] = [:]
    private var namespaces: [String: Value] = [:]
    /// Imported files by absolute path: their top-level names as a record.
    private var modules: [String: Record] = [:]
    private var importing: [String] = []
    private var importNameCache: [String: [String]] = [:]

    /// Where print() output goes (default: stdout). Notebooks and tests redirect it.
    public var output: (String) -> Void = { s in
        FileHandle.standardOutput.write(s.data(using: .utf8) ?? Data())
    }

    /// Calls deeper than this stop with a `stack overflow` error.
    public var maxDepth: Int {
        get { machine.st.pointee.maxDepth }
        set { machine.st.pointee.maxDepth = max(1, min(newValue, 200_000)) }
    }

    public init(registry: BuiltinRegistry, loadStdlib: Bool = true) throws {
        self.registry = registry
        makeIntrinsics()
        buildNamespaces()
        if loadStdlib, let dir = Bundle.module.resourceURL?.appendingPathComponent("stdlib").path,
           let files = try? FileManager.default.contentsOfDirectory(atPath: dir) {
            for name in files.filter({ $0.hasSuffix(".loupe") }).sorted() {
                let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
                try run(text, file: "stdlib/" + name)
            }
        }
        stdlibGlobals = module.globals
    }

    /// Asks the running program to stop with an `interrupted` error (safe to call from a signal handler).
    public static func requestInterrupt() { loupeInterruptFlag = 1 }

    // MARK: Running

    /// Runs statements; top-level let/var/fn persist across calls. Returns the last statement's value (nil if it
    /// was a declaration). Throws LoupeError.
    @discardableResult
    public func run(_ source: String, file: String) throws -> Value {
        sources[file] = source
        return try Interpreter.onBigStack {
            loupeInterruptFlag = 0
            let stmts = try Parser.parse(source, file: file)
            let resolver = self.makeResolver(self.module)
            let slots = resolver.resolveProgram(stmts)
            if let first = resolver.errors.first { throw first }
            resolver.commit()
            return try self.execute(stmts, slots: slots)
        }
    }

    /// Runs compiled top-level code in a frame at the current top of the value stack.
    private func execute(_ stmts: [Stmt], slots: Int) throws -> Value {
        let compiler = Compiler(machine: machine, interpreter: self, localCount: slots, captureCount: 0)
        let code = compiler.compileProgram(stmts)
        let st = machine.st
        let fp = st.pointee.top
        guard machine.reserve(upTo: fp + slots + 1, keep: fp) else {
            throw LoupeError(.stackOverflow, "stack overflow at depth \(st.pointee.depth)")
        }
        st.pointee.top = fp + slots
        defer {
            for k in 0..<slots { fp[k] = .nil }
            st.pointee.top = fp
            st.pointee.unwind = 0
            st.pointee.ret = .nil
        }
        let v = try code(fp)
        if let last = stmts.last, !(last is ExprStmt) { return .nil }
        return v
    }

    /// Parse + resolve only (no execution): all syntax and name errors.
    public func check(_ source: String, file: String) -> [LoupeError] {
        sources[file] = source
        return (try? Interpreter.onBigStack { self.checkHere(source, file: file) }) ?? []
    }

    private func checkHere(_ source: String, file: String) -> [LoupeError] {
        do {
            let stmts = try Parser.parse(source, file: file)
            let resolver = makeResolver(module)
            _ = resolver.resolveProgram(stmts)
            return resolver.errors
        } catch let e as LoupeError {
            return [e]
        } catch {
            return [LoupeError(.syntax, "\(error)")]
        }
    }

    /// Calls a function value with positional and keyword arguments.
    public func call(_ function: Value, _ args: [Value], keywords: [(String, Value)] = []) throws -> Value {
        try Interpreter.onBigStack {
            try self.machine.callFromHost(function, args, keywords, span: nil)
        }
    }

    public var globalNames: [String] {
        var names = Set(module.globals.keys)
        names.formUnion(intrinsics.keys)
        names.formUnion(namespaces.keys)
        for n in registry.names where !n.contains(".") { names.insert(n) }
        return names.sorted()
    }

    public func global(_ name: String) -> Value? {
        if let g = module.globals[name] { return g.box.value }
        return builtinValue(name)
    }

    public func source(of file: String) -> String? { sources[file] }

    /// Defines (or re-defines) a top-level name from the host, e.g. a notebook's `params` record. Code run
    /// afterwards sees it like a `let` (or a `var` when `mutable`).
    public func define(_ name: String, _ value: Value, mutable: Bool = false) {
        let box = GlobalBox(name, value)
        box.constant = !mutable
        module.globals[name] = GlobalInfo(box: box, kind: mutable ? .variable : .constant)
    }

    /// Forgets user globals (keeps built-ins and the standard library).
    public func reset() {
        module.globals = stdlibGlobals
        modules = [:]
    }

    // MARK: Names

    private func builtinValue(_ name: String) -> Value? {
        if name == "print" || name == "error", let v = intrinsics[name] { return v }
        if let b = registry.lookup(name) { return .function(b) }
        if let ns = namespaces[name] { return ns }
        return intrinsics[name]
    }

    private func makeResolver(_ module: Module) -> Resolver {
        Resolver(module: module,
                 builtin: { [unowned self] in self.builtinValue($0) },
                 builtinNames: { [unowned self] in
                     Array(self.intrinsics.keys) + Array(self.namespaces.keys) + self.registry.names.filter { !$0.contains(".") }
                 },
                 importNames: { [unowned self] path, from, span in try self.importNames(path, from: from, span: span) })
    }

    /// Namespaces ("metrics") as records of their functions; deeper names ("a.b.c") nest.
    private func buildNamespaces() {
        // One tree node per namespace; fields keep registration order (the order `:help` and completion show),
        // found in one pass over the registry instead of re-scanning every name per comparison.
        final class Node {
            var keys: [String] = []
            var children: [String: Node] = [:]
            var functions: [String: Builtin] = [:]
        }
        let root = Node()
        for name in registry.names where name.contains(".") {
            let parts = name.split(separator: ".").map(String.init)
            var node = root
            for part in parts.dropLast() {
                if let child = node.children[part] { node = child; continue }
                let child = Node()
                node.children[part] = child
                node.keys.append(part)
                node = child
            }
            let leaf = parts[parts.count - 1]
            if node.functions[leaf] == nil && node.children[leaf] == nil { node.keys.append(leaf) }
            node.functions[leaf] = registry.lookup(name)!
        }
        func value(_ node: Node) -> Value {
            .record(Record(keys: node.keys, values: node.keys.map { k in
                if let child = node.children[k] { return value(child) }
                return .function(node.functions[k]!)
            }))
        }
        for k in root.keys {
            namespaces[k] = root.children[k].map(value) ?? .function(root.functions[k]!)
        }
    }

    private func makeIntrinsics() {
        let out: (String) -> Void = { [unowned self] s in self.output(s) }
        intrinsics["print"] = .function(Builtin(variadic: "print", doc: "print(values...): writes the values separated by spaces, then a newline.") { args in
            out(args.values.map(\.display).joined(separator: " ") + "\n")
            return .nil
        })
        intrinsics["error"] = .function(Builtin(name: "error", parameters: [Parameter("message", .any)],
                                                doc: "error(message): raises a run-time error (catch it with try ... else e { }).") { args in
            throw LoupeError(.user, args[0].display, at: args.span)
        })
        intrinsics["len"] = .function(Builtin(name: "len", parameters: [Parameter("x")],
                                              doc: "len(x): number of items of a list, string (characters), record, range, or rows of a tensor.") { args in
            .int(try Indexing.length(args[0], args.span))
        })
        intrinsics["type"] = .function(Builtin(name: "type", parameters: [Parameter("x")],
                                               doc: "type(x): the name of the value's type (\"int\", \"string\", \"tensor\", ...).") { args in
            .string(args[0].typeName)
        })
        intrinsics["str"] = .function(Builtin(name: "str", parameters: [Parameter("x")],
                                              doc: "str(x): the value as print shows it.") { args in
            .string(args[0].display)
        })
        intrinsics["repr"] = .function(Builtin(name: "repr", parameters: [Parameter("x")],
                                               doc: "repr(x): the value as the REPL shows it (strings quoted).") { args in
            .string(args[0].repr)
        })
    }

    // MARK: Imports

    private func resolvePath(_ path: String, from file: String) -> String {
        if path.hasPrefix("/") { return (path as NSString).standardizingPath }
        let dir = (file as NSString).deletingLastPathComponent
        let base = dir.isEmpty ? FileManager.default.currentDirectoryPath : (dir.hasPrefix("/") ? dir : FileManager.default.currentDirectoryPath + "/" + dir)
        return ((base as NSString).appendingPathComponent(path) as NSString).standardizingPath
    }

    private func readSource(_ path: String, _ span: SourceSpan) throws -> String {
        if let s = sources[path] { return s }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw LoupeError(.io, "cannot import '\(path)': no such file", at: span)
        }
        sources[path] = text
        return text
    }

    /// The top-level names an import binds (resolution time: the file is parsed, not run).
    private func importNames(_ path: String, from file: String, span: SourceSpan) throws -> (String, [String]) {
        let full = resolvePath(path, from: file)
        if let names = importNameCache[full] { return (full, names) }
        let text = try readSource(full, span)
        let stmts = try Parser.parse(text, file: full)
        var names: [String] = []
        for s in stmts {
            if let l = s as? LetStmt { names += l.pattern.names.map(\.0) }
            if let f = s as? FnStmt { names.append(f.name) }
        }
        var seen = Set<String>()
        names = names.filter { seen.insert($0).inserted }
        importNameCache[full] = names
        return (full, names)
    }

    /// Runs an imported file once and returns its top-level names as a record.
    func importModule(_ path: String, span: SourceSpan) throws -> Record {
        if let r = modules[path] { return r }
        if let i = importing.firstIndex(of: path) {
            let cycle = (importing[i...] + [path]).map { ($0 as NSString).lastPathComponent }.joined(separator: " -> ")
            throw LoupeError(.io, "import cycle: \(cycle)", at: span)
        }
        importing.append(path)
        defer { importing.removeLast() }
        let text = try readSource(path, span)
        let stmts = try Parser.parse(text, file: path)
        let mod = Module(path: path)
        let resolver = makeResolver(mod)
        let slots = resolver.resolveProgram(stmts)
        if let first = resolver.errors.first { throw first }
        resolver.commit()
        _ = try execute(stmts, slots: slots)
        let names = importNameCache[path] ?? []
        let rec = Record(keys: names, values: names.map { mod.globals[$0]?.box.value ?? .nil })
        modules[path] = rec
        return rec
    }

    // MARK: Threads

    private static let bigStackKey = "loupe.interpreter.bigstack"

    /// Runs `body` on the big-stack worker thread (or directly, if already on it).
    static func onBigStack<T>(_ body: @escaping () throws -> T) throws -> T {
        if Thread.current.threadDictionary[bigStackKey] != nil { return try body() }
        let box = ResultBox<T>()
        BigStackWorker.shared.perform { box.result = Result { try body() } }
        return try box.result!.get()
    }
}

/// One long-lived thread with a 1 GiB stack runs all Loupe code: reusing it keeps its stack pages mapped (a fresh
/// thread per `run` paid page faults on every deep recursion) and costs no thread start per call.
private final class BigStackWorker: @unchecked Sendable {
    static let shared = BigStackWorker()
    private let condition = NSCondition()
    private let submit = NSLock()
    private var job: (() -> Void)?
    private var finished = false

    private init() {
        let thread = Thread { [unowned self] in self.loop() }
        thread.stackSize = 1 << 30
        thread.name = "loupe-interpreter"
        thread.start()
    }

    private func loop() {
        Thread.current.threadDictionary["loupe.interpreter.bigstack"] = true
        while true {
            condition.lock()
            while job == nil { condition.wait() }
            let j = job!
            condition.unlock()
            j()
            condition.lock()
            job = nil
            finished = true
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Runs `work` on the worker and waits for it; callers from several threads take turns.
    func perform(_ work: @escaping () -> Void) {
        submit.lock()
        defer { submit.unlock() }
        condition.lock()
        finished = false
        job = work
        condition.broadcast()
        while !finished { condition.wait() }
        condition.unlock()
    }
}

/// Carries a result from the big-stack thread back to the caller, which waits on a semaphore.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}
