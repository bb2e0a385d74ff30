import Foundation
import LoupeLang
import LoupeLibrary
import LoupeTensor

/// How a cell's turn went.
public enum CellStatus: String {
    /// Ran now.
    case computed
    /// Served from the cell cache.
    case cached
    /// Raised an error (or was stopped at its timeout).
    case failed
    /// Not run because a cell it depends on failed or was skipped.
    case skipped
}

/// What one cell produced.
public struct CellResult {
    public let cell: Cell
    public var status: CellStatus = .skipped
    /// Text the cell printed.
    public var output = ""
    /// The value of the cell's last expression (nil when it ended with a declaration or gave nil).
    public var value: Value?
    /// The value as text, for a cell shown from a display entry (its value itself was not stored).
    public var valueText: String?
    /// The names the cell bound, with their values, in binding order. For a cached cell the values are decoded
    /// from the cache when first read (a damaged one reads as an error value); `boundValues` tells whether they were.
    public var bindings: [(name: String, value: Value)] {
        get { boundValues.map { ($0.name, $0.value.value) } }
        set { boundValues = newValue.map { ($0.name, BoundValue($0.value)) } }
    }
    /// The bindings as the runner holds them: a cached cell's are restored lazily, decoded only when a cell that
    /// computes uses them (or someone reads `bindings`).
    public internal(set) var boundValues: [(name: String, value: BoundValue)] = []
    public var figures: [RenderedFigure] = []
    /// The error, rendered with its source line and caret.
    public var error: String?
    /// Line (in the notebook) the error points at.
    public var errorLine: Int?
    /// Why a skipped cell did not run.
    public var skipReason: String?
    /// Seconds the cell ran now (computed), or took when it was computed (cached).
    public var seconds: Double = 0
    public var cacheKey: String?
    /// Why the cell's result was not stored (it binds a model, caching is off...).
    public var notCachedBecause: String?
    /// A note about the cache (a damaged entry recomputed).
    public var cacheNote: String?
    /// Model files the cell loaded: path -> sha256.
    public var modelFiles: [String: String] = [:]

    public init(cell: Cell) { self.cell = cell }
}

/// The outcome of running a notebook.
public struct NotebookRun {
    public let notebook: Notebook
    /// The params as the cells saw them (defaults with overrides applied), in declaration order.
    public let params: [(name: String, value: ParamValue)]
    /// One result per cell, in source order.
    public let results: [CellResult]
    /// Cell positions in the order they ran.
    public let order: [Int]
    /// sha256 of the notebook's text.
    public let notebookHash: String
    public let loupeVersion: String
    public let started: Date
    public let seconds: Double

    /// The names of cached bindings that were decoded during the run, in the order they were (a fully cached rerun
    /// decodes none; a computed cell decodes only the names it uses).
    public var decodedBindings: [String] = []

    /// The values of the prose's `{{ expr }}`, in source order (see `ProseInterpolation`).
    public var prose: [ProseValue] = []

    /// true when any cell failed or was skipped, or a prose expression failed.
    public var failed: Bool {
        results.contains { $0.status == .failed || $0.status == .skipped } || prose.contains { $0.error != nil }
    }
}

/// A value a cell bound: at hand when the cell computed, or still in the cache when it was served from there.
public final class BoundValue {
    private enum State {
        case ready(Value)
        case stored(() throws -> Value)
        case damaged(Error)
    }

    private var state: State

    init(_ value: Value) { state = .ready(value) }
    /// A value read by `load` the first time it is needed.
    init(load: @escaping () throws -> Value) { state = .stored(load) }

    /// Whether the value is decoded (or its stored form was found damaged).
    public var isLoaded: Bool {
        if case .stored = state { return false }
        return true
    }

    /// The value, decoding it on first use; throws (every time) when its stored form is damaged.
    public func get() throws -> Value {
        switch state {
        case let .ready(v): return v
        case let .damaged(e): throw e
        case let .stored(load):
            do {
                let v = try load()
                state = .ready(v)
                return v
            } catch {
                state = .damaged(error)
                throw error
            }
        }
    }

    /// The value, or an error value saying why it could not be read.
    public var value: Value {
        do { return try get() } catch { return .error(ErrorValue(LoupeError(.io, "the cached value could not be read: \(error)"))) }
    }
}

/// Settings for one run.
public struct RunOptions {
    /// `-P name=value` overrides, as typed on the command line.
    public var overrides: [(name: String, value: String)] = []
    /// Read and write the cell cache.
    public var useCache = true
    /// Where the cache lives (default: `.NAME.nb.cache` beside the notebook).
    public var cacheDirectory: String?
    /// Told when each cell starts and ends (for progress on stderr).
    public var observer: RunObserver?
    /// Makes the interpreter's built-ins (default: the whole library). Hosts add their own built-ins here.
    public var makeRegistry: () -> BuiltinRegistry = LoupeLibrary.makeRegistry

    public init() {}
}

/// Hears about cells starting and ending (the command line shows progress on stderr with it).
public protocol RunObserver: AnyObject {
    func cellStarted(_ cell: Cell, position: Int, of total: Int)
    func cellFinished(_ result: CellResult, position: Int, of total: Int)
}

/// Runs a notebook: checks it statically (params, definitions, dependency order), then runs each cell in dependency
/// order with its own random stream, serving unchanged cells from the cache.
public final class NotebookRunner {
    /// The runtime version that goes into cache keys and provenance (the command line sets it).
    nonisolated(unsafe) public static var version = "0.1.0"

    public let notebook: Notebook
    public let options: RunOptions
    public let interpreter: Interpreter
    public let params: [(name: String, value: ParamValue)]
    public let graph: DependencyGraph

    /// Checks the notebook and prepares an interpreter; throws NotebookError for bad params, a duplicate
    /// definition, a cell assigning another cell's name, or a dependency cycle.
    public init(notebook: Notebook, options: RunOptions = RunOptions()) throws {
        self.notebook = notebook
        self.options = options
        self.params = try NotebookRunner.resolveParams(notebook, options.overrides)
        interpreter = try Interpreter(registry: options.makeRegistry())
        interpreter.define(DependencyGraph.paramsName, NotebookRunner.paramsRecord(params))
        let cells = notebook.cells
        graph = try DependencyGraph.build(notebook, interpreter: interpreter) { NotebookRunner.padded(cells[$0]) }
        // Prose `{{ expr }}` is parsed and its names resolved now, so a typo fails before any cell runs.
        try ProseInterpolation.check(notebook, graph: graph, interpreter: interpreter)
    }

    /// A cell's code preceded by blank lines so that line numbers in errors are the notebook's.
    static func padded(_ cell: Cell) -> String {
        String(repeating: "\n", count: cell.codeLine - 1) + cell.code
    }

    // MARK: Params

    /// Applies `-P` overrides to the front matter's defaults, typed by each default's type.
    public static func resolveParams(_ nb: Notebook, _ overrides: [(name: String, value: String)]) throws -> [(name: String, value: ParamValue)] {
        var values = nb.frontMatter.params.map { (name: $0.name, value: $0.value) }
        for (name, text) in overrides {
            guard let i = values.firstIndex(where: { $0.name == name }) else {
                let known = nb.frontMatter.params.map(\.name)
                throw NotebookError(.param, "unknown param '\(name)'" + (known.isEmpty ? " (this notebook has no params)" : " (params: \(known.joined(separator: ", ")))"),
                                    file: nb.path)
            }
            let p = nb.frontMatter.params[i]
            guard let v = p.value.parseOverride(text) else {
                let article = p.value.typeName == "int" ? "an" : "a"
                throw NotebookError(.param, "param '\(name)' is \(article) \(p.value.typeName) (default \(p.value)); cannot set it to '\(text)'",
                                    file: nb.path, line: p.line)
            }
            values[i].value = v
        }
        return values
    }

    static func paramsRecord(_ params: [(name: String, value: ParamValue)]) -> Value {
        .record(Record(keys: params.map(\.name), values: params.map {
            switch $0.value {
            case let .int(i): return .int(i)
            case let .float(d): return .float(d)
            case let .bool(b): return .bool(b)
            case let .string(s): return .string(s)
            }
        }))
    }

    /// `--help-params`: each param with its type and default.
    public static func helpParams(_ nb: Notebook) -> String {
        if nb.frontMatter.params.isEmpty { return "\(nb.name): no params\n" }
        var out = "params of \(nb.name) (set with -P NAME=VALUE):\n"
        let w = nb.frontMatter.params.map(\.name.count).max() ?? 0
        for p in nb.frontMatter.params {
            out += "  " + p.name.padding(toLength: w, withPad: " ", startingAt: 0) + "  \(p.value.typeName), default \(p.value)\n"
        }
        return out
    }

    // MARK: Running

    public func run() -> NotebookRun {
        let started = Date()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let cells = notebook.cells
        var results = cells.map { CellResult(cell: $0) }
        let cacheDir = options.cacheDirectory ?? CellCache.directory(for: notebook.path.isEmpty ? "notebook.nb" : notebook.path)
        let cache = options.useCache ? CellCache(directory: cacheDir) : nil
        let hasher = FileHasher(cacheDirectory: options.useCache ? cacheDir : nil)
        /// Content hash (or, for values with no serial form, an identity derived from the producing cell's key)
        /// of every name bound so far.
        var valueHashes: [String: String] = [DependencyGraph.paramsName: ValueCodec.hash(NotebookRunner.paramsRecord(params)) ?? ""]
        /// Cells shown from a display-only entry whose names are not defined yet (see `prepare`).
        var deferred = Set<Int>()
        /// Names served from the cache and not yet defined in the interpreter: defined (decoded) only when a cell
        /// that computes uses them (see `prepare`).
        var undefined: [String: BoundValue] = [:]
        let decoded = DecodeLog()
        let savedOutput = interpreter.output
        defer {
            interpreter.output = savedOutput
            HostHooks.randomStream = nil
            HostHooks.fileLoaded = nil
            hasher.save()
        }

        /// Runs cell i now and records its names' hashes; stores it in the cache when it can.
        func computeAndStore(_ i: Int, key: String) {
            var r = CellResult(cell: cells[i])
            r.cacheKey = key
            r.cacheNote = results[i].cacheNote
            for d in graph.definitions[i] { undefined[d.name] = nil }
            compute(cells[i], index: i, key: key, into: &r, hasher: hasher)
            if r.status != .failed {
                // Each value is encoded once: its bytes give its hash and, when caching, the stored form.
                var encoded: [String: Result<Data, Error>] = [:]
                var hashes: [String: String] = [:]
                for (name, value) in r.bindings {
                    let e = Result { try ValueCodec.encode(value, path: "'\(name)'") }
                    encoded[name] = e
                    hashes[name] = (try? e.get()).map { SHA256.hex($0) }
                        ?? NotebookRunner.unstoredHash(key: key, name: name, modelFiles: r.modelFiles)
                    valueHashes[name] = hashes[name]
                }
                if let cache {
                    r.notCachedBecause = store(r, key: key, encoded: encoded, hashes: hashes, cache: cache)
                } else {
                    r.notCachedBecause = "caching is off (--no-cache)"
                }
            }
            results[i] = r
        }

        /// Runs a dependency d of cell i again (a display-only entry, or an entry whose side file turned out
        /// damaged), its own dependencies first. Returns false if it failed.
        func rerun(_ d: Int, for i: Int, note: String) -> Bool {
            guard prepare(d) else { return false }
            computeAndStore(d, key: results[d].cacheKey ?? "")
            if results[d].status == .failed { return false }
            results[d].cacheNote = note
            return true
        }

        /// A cell about to be computed needs the names it uses defined: names served from the cache are decoded
        /// now, and any dependency that was only shown from a display entry (or whose stored value is damaged)
        /// runs now. Returns false if one failed.
        func prepare(_ i: Int) -> Bool {
            for d in graph.dependencies[i] {
                if deferred.contains(d) {
                    deferred.remove(d)
                    guard rerun(d, for: i, note: "ran again because \(cells[i].label) needed its names") else { return false }
                    continue
                }
                let kinds = Dictionary(graph.definitions[d].map { ($0.name, $0.kind) }, uniquingKeysWith: { a, _ in a })
                for name in graph.uses[i] where graph.definer[name] == d {
                    guard let lazy = undefined[name] else { continue }
                    do {
                        interpreter.define(name, try lazy.get(), mutable: kinds[name] == .var)
                        undefined[name] = nil
                    } catch {
                        // The entry was damaged after it was looked up (a side file changed): a cache miss after all.
                        if let key = results[d].cacheKey { cache?.remove(key) }
                        guard rerun(d, for: i, note: "cache entry was damaged (\(error)); recomputed") else { return false }
                        break
                    }
                }
            }
            return true
        }

        for (position, i) in graph.order.enumerated() {
            let cell = cells[i]
            options.observer?.cellStarted(cell, position: position, of: cells.count)
            defer { options.observer?.cellFinished(results[i], position: position, of: cells.count) }
            if let bad = graph.dependencies[i].first(where: { results[$0].status == .failed || results[$0].status == .skipped }) {
                let name = graph.uses[i].first { graph.definer[$0] == bad } ?? "?"
                results[i].status = .skipped
                results[i].skipReason = "uses '\(name)' from \(cells[bad].label), which \(results[bad].status == .failed ? "failed" : "was skipped")"
                continue
            }
            if let e = graph.cellErrors[i] {
                fail(&results[i], e)
                continue
            }
            let key = cacheKey(cell, uses: graph.uses[i], hashes: valueHashes)
            results[i].cacheKey = key
            if let cache, cell.options.cache {
                switch cache.lookup(key) {
                case let .hit(entry):
                    if let restored = restore(entry, into: &results[i], cache: cache, hasher: hasher, log: decoded) {
                        for (name, hash) in restored { valueHashes[name] = hash }
                        for (name, value) in results[i].boundValues { undefined[name] = value }
                        if entry.stub { deferred.insert(i) }
                        continue
                    }
                    if results[i].cacheNote == nil { results[i].cacheNote = "cache entry out of date (a model file changed); recomputed" }
                case let .corrupt(why):
                    results[i].cacheNote = "cache entry was damaged (\(why)); recomputed"
                case .miss:
                    break
                }
            }
            guard prepare(i) else {
                let bad = graph.dependencies[i].first { results[$0].status == .failed } ?? i
                results[i].status = .skipped
                results[i].skipReason = "\(cells[bad].label) failed when it ran again"
                continue
            }
            // A dependency that ran again may have given its names other values than its entry recorded.
            computeAndStore(i, key: cacheKey(cell, uses: graph.uses[i], hashes: valueHashes))
        }
        var run = NotebookRun(notebook: notebook, params: params, results: results, order: graph.order,
                              notebookHash: SHA256.hex(notebook.source), loupeVersion: NotebookRunner.version,
                              started: started, seconds: seconds(since: t0))
        run.prose = ProseInterpolation.evaluate(run, graph: graph, interpreter: interpreter)
        run.decodedBindings = decoded.names
        return run
    }

    /// The identity of a value with no serial form: the key of the cell that made it, its name, and the model
    /// files that cell loaded.
    static func unstoredHash(key: String, name: String, modelFiles: [String: String]) -> String {
        SHA256.hex("unstored:\(key):\(name):" + modelFiles.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
    }

    /// The cell's cache key: its code, its stream name, the hashes of the values it reads, the seed and the
    /// runtime version. Model files are checked separately (an entry records those it loaded).
    func cacheKey(_ cell: Cell, uses: [String], hashes: [String: String]) -> String {
        var s = "loupe-cell-v2\nversion:\(NotebookRunner.version)\nseed:\(notebook.frontMatter.seed)\nstream:\(cell.stableID)\n"
        for name in uses { s += "use:\(name)=\(hashes[name] ?? "?")\n" }
        s += "code:\n" + cell.code
        return SHA256.hex(s)
    }

    /// The random stream of a cell: the notebook seed, then the cell's stable id.
    public static func stream(seed: UInt64, cell: Cell) -> RandomStream {
        RandomStream(seed: seed, name: "cell:" + cell.stableID)
    }

    private func fail(_ r: inout CellResult, _ error: Error) {
        r.status = .failed
        if let e = error as? LoupeError {
            var e = e
            if e.kind == .interrupted, let t = r.cell.options.timeout {
                e = LoupeError(.interrupted, "cell stopped: it ran longer than its timeout of \(ParamValue.format(t)) s", at: e.span)
            }
            r.error = e.rendered(source: notebook.source)
            r.errorLine = e.span?.line ?? r.cell.codeLine
        } else {
            r.error = "\(notebook.path):\(r.cell.codeLine): error: \(error)"
            r.errorLine = r.cell.codeLine
        }
    }

    private func compute(_ cell: Cell, index i: Int, key: String, into r: inout CellResult, hasher: FileHasher) {
        var printed = ""
        interpreter.output = { printed += $0 }
        HostHooks.randomStream = NotebookRunner.stream(seed: notebook.frontMatter.seed, cell: cell)
        var loaded: [String] = []
        HostHooks.fileLoaded = { loaded.append($0) }
        // A timer asks the interpreter to stop; the flag keeps a late timer from stopping a later cell.
        let running = RunningFlag()
        if let t = cell.options.timeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + t) {
                running.lock.lock(); defer { running.lock.unlock() }
                if running.value { Interpreter.requestInterrupt() }
            }
        }
        let t0 = DispatchTime.now().uptimeNanoseconds
        do {
            let value = try interpreter.run(NotebookRunner.padded(cell), file: notebook.path)
            if case .nil = value {} else { r.value = value }
            var seen = Set<String>()
            for d in graph.definitions[i] where seen.insert(d.name).inserted {
                r.boundValues.append((d.name, BoundValue(interpreter.global(d.name) ?? .nil)))
            }
            r.status = .computed
        } catch {
            fail(&r, error)
        }
        running.lock.lock(); running.value = false; running.lock.unlock()
        r.seconds = seconds(since: t0)
        r.output = printed
        HostHooks.randomStream = nil
        HostHooks.fileLoaded = nil
        for path in loaded {
            r.modelFiles[path] = (try? hasher.sha256(path)) ?? "unreadable"
        }
        if r.status != .failed {
            r.figures = FigureExtractors.collect((r.value.map { [$0] } ?? []) + r.bindings.map(\.value), interpreter: interpreter)
            if let caption = cell.options.caption {
                r.figures = r.figures.map { RenderedFigure(svg: $0.svg, title: $0.title, caption: $0.caption ?? caption) }
            }
        }
    }

    /// Serves a cell from a cache entry: restores its output and value, and its bindings as values decoded only
    /// when first needed (their names are defined by `run` then). Returns the names' hashes, or nil when a model
    /// file it loaded has changed since or its value is damaged (the entry is then recomputed).
    private func restore(_ entry: CacheEntry, into r: inout CellResult, cache: CellCache, hasher: FileHasher,
                         log: DecodeLog) -> [(String, String)]? {
        for (path, sha) in entry.modelFiles where (try? hasher.sha256(path)) != sha { return nil }
        if !entry.stub {
            do {
                // The report shows the value, so it is read now.
                r.value = try entry.value.map { try cache.load($0) }
            } catch {
                cache.remove(entry.key)
                r.cacheNote = "cache entry was damaged (\(error)); recomputed"
                return nil
            }
        }
        r.output = entry.output
        r.status = .cached
        r.seconds = entry.seconds
        r.modelFiles = entry.modelFiles
        if entry.stub {
            r.valueText = entry.valueText
            r.figures = entry.figures
            r.notCachedBecause = "shown from a display entry; runs again when a computed cell needs its names"
            return entry.bindings.map { ($0.name, $0.hash) }
        }
        r.boundValues = entry.bindings.map { b in
            let stored = b.value ?? .bytes(Data())
            return (b.name, BoundValue { [name = b.name, hash = b.hash] in
                log.names.append(name)
                return try cache.load(stored, hash: hash)
            })
        }
        return entry.bindings.map { ($0.name, $0.hash) }
    }

    /// Stores a computed cell; returns why it could not be stored, if it could not.
    private func store(_ r: CellResult, key: String, encoded: [String: Result<Data, Error>], hashes: [String: String],
                       cache: CellCache) -> String? {
        guard r.cell.options.cache else { return "cache=false" }
        var bindings: [(name: String, value: StoredValue?, hash: String)] = []
        do {
            for (name, _) in r.boundValues {
                bindings.append((name, .bytes(try encoded[name]!.get()), hashes[name] ?? ""))
            }
            let value = try r.value.map { StoredValue.bytes(try ValueCodec.encode($0, path: "the cell's value")) }
            try cache.store(CacheEntry(key: key, cell: r.cell.stableID, output: r.output, value: value, bindings: bindings,
                                       modelFiles: r.modelFiles, seconds: r.seconds, created: Date()))
            return nil
        } catch let e as ValueCodec.Unserializable {
            // Keep what the report shows, so an unchanged cell need not run unless a computed cell needs it.
            // The names' hashes are kept (content hashes where a value has one), so cells that use them keep their keys.
            let named = r.boundValues.map { (name: $0.name, value: StoredValue?.none, hash: hashes[$0.name] ?? "") }
            var entry = CacheEntry(key: key, cell: r.cell.stableID, output: r.output, value: nil, bindings: named,
                                   modelFiles: r.modelFiles, seconds: r.seconds, created: Date())
            entry.stub = true
            entry.valueText = r.value.map { Report.isFigure($0, r) ? nil : Report.clip($0.repr, 4000) } ?? nil
            entry.figures = r.figures
            try? cache.store(entry)
            return "display entry only: \(e)"
        } catch {
            return "\(error)"
        }
    }
}

/// The names of cached bindings decoded during a run (`NotebookRun.decodedBindings`).
private final class DecodeLog {
    var names: [String] = []
}

/// Whether a cell is still running, shared with its timeout timer.
private final class RunningFlag: @unchecked Sendable {
    let lock = NSLock()
    var value = true
}
