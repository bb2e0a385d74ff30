import ArgumentParser
import Foundation
import LoupeLang
import LoupeTensor

// The `loupe` command line. Only this executable talks to the terminal.
// Exit status (specs/api.md): 0 success, 1 a user error with one clear message, 2 bad command-line usage.

struct Loupe: ParsableCommand {
    static let version = "0.1.0"
    static let configuration = CommandConfiguration(
        commandName: "loupe",
        abstract: "A literate scripting runtime for looking inside language models.",
        usage: "loupe [<subcommand>]",
        discussion: """
            Without a subcommand, loupe starts the REPL: line editing, history in ~/.loupe_history, tab \
            completion, multi-line input; :help lists its commands.
            """,
        version: version,
        subcommands: [RunCommand.self, Eval.self, TestCommand.self, ExportCommand.self, CacheCommand.self, ModelsCommand.self, Demo.self, Info.self],
        defaultSubcommand: nil)

    /// No subcommand: the REPL (line editing and history when standard input is a terminal).
    func run() throws {
        let interpreter = try Session.makeInterpreter()
        let status = REPL(interpreter: interpreter, interactive: isatty(0) == 1).run()
        if status != 0 { throw ExitCode(status) }
    }
}

/// `loupe run FILE.loupe`: runs a script; errors name file:line:col. `loupe run FILE.nb`: RunNotebook.swift.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Run a Loupe script (FILE.loupe) or a notebook (FILE.nb).")

    @Argument(help: "The script or notebook to run.") var file: String
    @Option(name: .customShort("P"), help: "Notebooks: set a param, -P NAME=VALUE (repeatable).") var params: [String] = []
    @Option(help: "Notebooks: folder for NAME.html and NAME.nb.out/ (default: beside the notebook).") var out: String?
    @Flag(help: "Notebooks: run every cell; neither read nor write the cell cache.") var noCache = false
    @Flag(help: "Notebooks: list the params with their types and defaults.") var helpParams = false

    func run() throws {
        if file.hasSuffix(".nb") {
            return try NotebookCommand.run(file: file, params: params, out: out, noCache: noCache, helpParams: helpParams)
        }
        if !params.isEmpty || out != nil || noCache || helpParams {
            throw ValidationError("-P, --out, --no-cache and --help-params apply to notebooks (FILE.nb)")
        }
        let source = try Session.readScript(file)
        let interpreter = try Session.makeInterpreter()
        do {
            try interpreter.run(source, file: file)
        } catch {
            throw Reported(Session.message(for: error, interpreter: interpreter, extra: [file: source]))
        }
    }
}

/// `loupe eval [--json] CODE`: runs statements after the standard library and prints the value of the last one.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run statements (separated by ';' or newlines) and print the value of the last one.",
        usage: "loupe eval [--json] <code>")

    @Flag(help: "Print the value as JSON (tensors as nested lists, records as objects).") var json = false
    @Argument(parsing: .allUnrecognized, help: "The code to run (quote it; code that starts with '-' works too).")
    var code: [String] = []

    mutating func validate() throws {
        if code.first == "--" { code.removeFirst() }
        guard !code.isEmpty else { throw ValidationError("Missing expected argument '<code>'.") }
        guard code.count == 1 else {
            throw ValidationError("Expected one CODE argument, got \(code.count): quote the code ('let x = 1; x + 1').")
        }
        if code[0].hasPrefix("--"), code[0].dropFirst(2).allSatisfy({ $0.isLetter || $0 == "-" }) {
            throw ValidationError("Unknown option '\(code[0])'.")
        }
    }

    func run() throws {
        let file = "<eval>"
        let source = code[0]
        let interpreter = try Session.makeInterpreter()
        do {
            let value = try interpreter.run(source, file: file)
            if json {
                print(try value.json())
            } else if case .nil = value {
                // Nothing to show (the code printed what it wanted, or ended with a statement).
            } else if case let .string(text) = value {
                print(text)
            } else {
                // Literal syntax as Value.repr writes it, nothing cut; only absurd nesting is elided.
                print(Printer(maxItems: .max, maxStringLength: .max, width: .max, maxDepth: 1000).format(value))
            }
        } catch {
            throw Reported(Session.message(for: error, interpreter: interpreter, extra: [file: source]))
        }
    }
}

/// A user error whose message is already rendered (exit status 1).
struct Reported: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Prints where the engine stands: version, cores, the OpenBLAS library and the kernels it runs.
struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the engine's configuration (BLAS core type, cores).")

    func run() throws {
        try BLAS.ensureLoaded()
        print("loupe \(Loupe.version)")
        print("cores:        \(Parallel.cores)")
        print("openblas:     \(BLAS.library), core \(BLAS.coreName), \(BLAS.threads) threads")
        let chosen = BLAS.coreTypeChosen
        print("core type:    \(chosen.isEmpty ? "as set in OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "")" : "\(chosen) (chosen from CPU flags)")")
    }
}

/// A short tour of the engine until the notebook tour replaces it: broadcasting, a softmax, GEMM speed, and
/// training a small network with autograd and AdamW.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run a short demonstration of the tensor engine.")

    @Option(help: "Training steps for the small network.") var steps = 300
    @Option(help: "Seed for data and initial weights.") var seed: UInt64 = 0

    func run() throws {
        try BLAS.ensureLoaded()
        print("Loupe \(Loupe.version) engine demo: OpenBLAS core \(BLAS.coreName), \(Parallel.cores) cores\n")

        // 1. Broadcasting and a stable softmax.
        let x = try Tensor.from(nested: [[1.0, 2.0, 3.0], [1000.0, 1001.0, 1002.0]])
        print("softmax of two rows that differ by 999 (stable, so both rows agree):")
        print(try x.softmax(axis: -1), "\n")

        // 2. GEMM speed.
        var rng = RandomStream(seed: seed, name: "demo.gemm")
        let n = 1024
        let a = try Tensor.randn([n, n], stream: &rng), b = try Tensor.randn([n, n], stream: &rng)
        _ = try a.matmul(b)
        let t0 = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<5 { _ = try a.matmul(b) }
        let secs = Double(DispatchTime.now().uptimeNanoseconds - t0) / 5e9
        print(String(format: "sgemm %dx%d: %.1f ms, %.0f GFLOP/s\n", n, n, secs * 1e3, 2 * pow(Double(n), 3) / secs / 1e9))

        // 3. Two interleaved spirals, classified by a 2-layer MLP trained with AdamW and a warm-up cosine schedule.
        try trainSpirals()
    }

    private func spirals(_ perClass: Int, _ rng: inout RandomStream) throws -> (Tensor, IndexTensor) {
        var points: [Float] = [], labels: [Int] = []
        for c in 0..<2 {
            for i in 0..<perClass {
                let r = Float(i) / Float(perClass) * 5 + 0.5
                let t = Float(i) / Float(perClass) * 3.5 * .pi + Float(c) * .pi
                points += [r * cos(t) + 0.1 * rng.nextNormal(), r * sin(t) + 0.1 * rng.nextNormal()]
                labels.append(c)
            }
        }
        return (try Tensor(shape: [2 * perClass, 2], data: points), IndexTensor(labels))
    }

    private func trainSpirals() throws {
        var rng = RandomStream(seed: seed, name: "demo.spirals")
        let (x, y) = try spirals(200, &rng)
        let h = 64
        var params = [
            try (Tensor.randn([2, h], stream: &rng) * 0.7).detached(), try Tensor.zeros([h]),
            try (Tensor.randn([h, h], stream: &rng) * (1 / Float(h).squareRoot())).detached(), try Tensor.zeros([h]),
            try (Tensor.randn([h, 2], stream: &rng) * (1 / Float(h).squareRoot())).detached(), try Tensor.zeros([2]),
        ].map { $0.requiringGrad() }
        let opt = AdamW(lr: 0.01, weightDecay: 1e-4)
        let schedule = LRSchedule.warmupCosine(base: 0.02, warmup: 20, total: steps)
        func logits(_ p: [Tensor]) throws -> Tensor {
            let a = try (x.matmul(p[0]) + p[1]).tanh()
            let b = try (a.matmul(p[2]) + p[3]).tanh()
            return try b.matmul(p[4]) + p[5]
        }
        print("training a 2-64-64-2 MLP on two spirals (400 points):")
        let start = DispatchTime.now().uptimeNanoseconds
        for step in 0..<steps {
            let loss = try logits(params).crossEntropy(y)
            try loss.backward()
            opt.lr = schedule(step)
            params = try opt.step(params)
            if step % 50 == 0 || step == steps - 1 {
                print(String(format: "  step %4d  loss %.4f", step, try loss.item()))
            }
        }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        let pred = try Autograd.noGrad { try logits(params).argmax(axis: -1) }
        let acc = Double(zip(pred.data, y.data).filter { $0 == $1 }.count) / Double(y.count)
        print(String(format: "accuracy %.1f%% after %d steps (%.0f ms)", acc * 100, steps, ms))
    }
}

// ArgumentParser reports usage errors with EX_USAGE (64); Loupe's contract is 2, and 1 for user errors.
do {
    var command = try Loupe.parseAsRoot()
    try command.run()
} catch let error as Reported {
    Session.printError(error.message)
    exit(1)
} catch let error as LoupeError {
    Session.printError(Session.message(for: error, interpreter: nil))
    exit(1)
} catch let error as UserError {
    Session.printError("error: " + error.message)
    exit(1)
} catch let error as TensorError {
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(1)
} catch let error as ExitCode where error != .success && error != .validationFailure {
    exit(error.rawValue)
} catch {
    let code = Loupe.exitCode(for: error)
    if code == .success {
        Loupe.exit(withError: error)  // --help, --version
    }
    FileHandle.standardError.write(Data((Loupe.fullMessage(for: error) + "\n").utf8))
    exit(code == .validationFailure ? 2 : 1)
}
