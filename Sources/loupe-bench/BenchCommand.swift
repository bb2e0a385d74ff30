import ArgumentParser
import Foundation
import LoupeTensor

/// `loupe-bench [SUITE...] [--json]`: one line per case,
/// `SUITE/CASE loupe=SECONDS peer=SECONDS ratio=R peer_name=NAME` (R = loupe / peer; below 1 Loupe is faster).
/// Both sides are measured in the same run, alternating single repetitions, and the medians are reported.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loupe-bench",
        abstract: "Benchmarks Loupe against its peers (numpy, JAX, ...).",
        discussion: """
            Each case prints `SUITE/CASE loupe=SECONDS peer=SECONDS ratio=R peer_name=NAME` on stdout (R = loupe/peer), \
            medians of alternating repetitions (Loupe, pause, peer, pause, ...) after warm-up; a repetition of a fast case \
            is a ~0.1 s batch of calls timed one by one. A peer that cannot run prints \
            peer=missing. Environment: LOUPE_BENCH_PYTHON (default python3) runs the Python peers; LOUPE_BENCH_PEERS \
            overrides the folder of the peer scripts (default bench/peers). Suites: tensor, interp, notebook, model.
            """)

    static let implemented = ["tensor", "interp", "notebook", "model"]
    static let planned: [String] = []

    @Argument(help: "Suites to run (tensor, interp, notebook, model). Default: every implemented suite.")
    var suites: [String] = []

    @Flag(help: "Print one JSON object with all cases instead of case lines.")
    var json = false

    @Option(name: .customLong("filter"), help: "Run only cases whose name contains this text (repeatable).")
    var filters: [String] = []

    @Option(help: "Target measured seconds per side per case (repetitions adapt to it).")
    var seconds: Double = 1.5

    @Option(help: "Minimum timed repetitions per side.")
    var minReps: Int = 5

    @Option(help: "Milliseconds of idle after each repetition, so that one side's spinning BLAS threads (OpenBLAS spins ~0.11 s after a call) are asleep before the other side runs.")
    var gapMs: Double = 150

    @Option(help: "Milliseconds of back-to-back calls in one repetition of a fast case.")
    var batchMs: Double = 100

    @Flag(help: "List the cases of the requested suites and exit.")
    var list = false

    func run() throws {
        var requested: [String] = []
        for s in suites {
            if Self.implemented.contains(s) {
                if !requested.contains(s) { requested.append(s) }
            } else if Self.planned.contains(s) {
                note("loupe-bench: suite \(s) is not implemented yet")
            } else {
                note("loupe-bench: unknown suite \(s) (suites: \((Self.implemented + Self.planned).joined(separator: ", ")))")
            }
        }
        if suites.isEmpty { requested = Self.implemented }
        if requested.isEmpty { throw ExitCode(2) }  // only unimplemented or unknown suites

        var cases: [(suite: String, c: BenchCase)] = []
        for s in requested {
            let all: [BenchCase]
            switch s {
            case "tensor": all = TensorSuite.cases
            case "interp": all = InterpSuite.cases
            case "notebook": all = NotebookSuite.cases
            case "model": all = ModelSuite.cases
            default: all = []
            }
            for c in all where filters.isEmpty || filters.contains(where: { "\(s)/\(c.name)".contains($0) }) {
                cases.append((s, c))
            }
        }
        if list {
            for (s, c) in cases { print("\(s)/\(c.name)  [\(c.peerName)\(c.target.map { ", target ratio <= \($0)" } ?? "")]  \(c.summary)") }
            return
        }
        if cases.isEmpty {
            note("loupe-bench: no case matches \(filters)")
            throw ExitCode(2)
        }

        let host = HostInfo.current()
        let core = BLAS.coreName
        note("loupe-bench: \(host.date)  cpu: \(host.cpu), \(host.cores) cores  load average: \(host.load)")
        note("loupe-bench: loupe: BLAS core \(core) (library \(BLAS.library), OPENBLAS_CORETYPE chosen: \(BLAS.coreTypeChosen.isEmpty ? "none" : BLAS.coreTypeChosen), \(BLAS.threads) BLAS threads), kernels on \(Parallel.cores) cores")

        let env = ProcessInfo.processInfo.environment
        let python = env["LOUPE_BENCH_PYTHON"].flatMap { $0.isEmpty ? nil : $0 } ?? "python3"
        // One peer process per suite (bench/peers/SUITE_peer.py), started when the suite's first case runs.
        var peers: [String: PythonPeer] = [:]
        defer { peers.values.forEach { $0.close() } }
        func peer(for suite: String) -> PythonPeer {
            if let p = peers[suite] { return p }
            let p = PythonPeer(python: python, script: Self.peersDirectory() + "/\(suite)_peer.py")
            if let why = p.unavailable {
                note("loupe-bench: \(suite) peer: missing (\(why))")
            } else {
                note("loupe-bench: \(suite) peer: \(p.hello) (interpreter \(python); OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment)")
            }
            peers[suite] = p
            return p
        }
        let options = RunOptions(seconds: seconds, minReps: Swift.max(1, minReps), batch: batchMs / 1000, gap: gapMs / 1000)

        var results: [CaseResult] = []
        for (s, c) in cases {
            let r = measure(c, suite: s, peer: peer(for: s), options: options)
            results.append(r)
            if json {
                note("loupe-bench: \(r.line)  (\(r.reps) reps of \(r.loupeCalls)/\(r.peerCalls) calls)")
            } else {
                print(r.line)
                fflush(stdout)
            }
        }
        let withTarget = results.filter { $0.target != nil && $0.ratio != nil }
        if !withTarget.isEmpty {
            let missed = withTarget.filter { $0.ratio! > $0.target! }
            let list = missed.map { String(format: "%@ %.3f > %.2f", $0.fullName, $0.ratio!, $0.target!) }
            note("loupe-bench: targets met \(withTarget.count - missed.count)/\(withTarget.count)" + (list.isEmpty ? "" : "; missed: " + list.joined(separator: ", ")))
        }
        let loadAfter = HostInfo.loadAverage()
        note("loupe-bench: done; load average now \(loadAfter)")
        if json {
            let object: [String: Any] = [
                "date": host.date, "cpu": host.cpu, "cores": host.cores, "load_before": host.load, "load_after": loadAfter,
                "loupe_blas_core": core, "loupe_blas_library": BLAS.library, "loupe_blas_threads": BLAS.threads,
                "peers": peers.mapValues { $0.unavailable.map { "missing: \($0)" } ?? $0.hello }, "python": python,
                "suites": requested, "not_implemented": suites.filter { !Self.implemented.contains($0) },
                "options": ["seconds": seconds, "min_reps": minReps, "gap_ms": gapMs, "batch_ms": batchMs, "filters": filters],
                "cases": results.map(\.json),
            ]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }

    /// bench/peers: $LOUPE_BENCH_PEERS, else ./bench/peers, else the checkout this executable was built from.
    static func peersDirectory() -> String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["LOUPE_BENCH_PEERS"], !d.isEmpty { return d }
        let cwd = FileManager.default.currentDirectoryPath + "/bench/peers"
        if FileManager.default.fileExists(atPath: cwd + "/tensor_peer.py") { return cwd }
        // #filePath = <root>/Sources/loupe-bench/BenchCommand.swift
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("bench/peers").path
    }
}

struct HostInfo {
    let date: String, cpu: String, cores: Int, load: String

    static func current() -> HostInfo {
        var cpu = "unknown"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
           let colon = line.firstIndex(of: ":") {
            cpu = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HostInfo(date: utcTimestamp(), cpu: cpu, cores: ProcessInfo.processInfo.activeProcessorCount, load: loadAverage())
    }

    /// Now in UTC as ISO 8601 ("2026-11-29T15:20:00Z"), through libc: Foundation's ISO8601DateFormatter loads ICU's
    /// calendar, time-zone and date-format data, ~5 MiB of pages that then stayed resident and counted in the model
    /// cases' peak memory, which is meant to measure the engine.
    static func utcTimestamp() -> String {
        var now = time(nil), parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%SZ", &parts)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}
