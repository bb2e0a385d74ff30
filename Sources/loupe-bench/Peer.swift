import Foundation

/// A long-lived Python peer process (bench/peers/*.py) spoken to over a line protocol on stdin/stdout, so that
/// single repetitions of Loupe and of the peer can alternate. Its stderr goes to ours.
final class PythonPeer {
    /// Why the peer cannot answer (python missing, module not importable, process died); nil while it works.
    private(set) var unavailable: String?
    /// The peer's first line (`hello ...`): library versions, BLAS and threads.
    private(set) var hello = ""
    let python: String
    let script: String
    private var process: Process?
    private var toPeer: FileHandle?
    private var fromPeer: Int32 = -1
    private var pending = [UInt8]()
    /// Longest wait for one reply (JAX compiles the block in a few seconds; a hung peer must not hang the bench).
    var replyTimeout: Double = 600

    /// Environment variables Loupe sets for its own OpenBLAS; they would otherwise leak into the peer and change
    /// numpy's kernels (OPENBLAS_CORETYPE=PRESCOTT makes numpy's sgemm ~4x slower, for instance).
    static let scrubbedEnvironment = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"]

    init(python: String, script: String) {
        self.python = python
        self.script = script
        start()
    }

    deinit { close() }

    /// The interpreter's full path: as given when it contains a slash, otherwise the first match on PATH.
    static func resolve(_ name: String, environment: [String: String]) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for dir in (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    private func start() {
        var env = ProcessInfo.processInfo.environment
        for key in Self.scrubbedEnvironment { env.removeValue(forKey: key) }
        env["PYTHONUNBUFFERED"] = "1"
        guard FileManager.default.fileExists(atPath: script) else {
            unavailable = "peer script \(script) not found"
            return
        }
        guard let exe = Self.resolve(python, environment: env) else {
            unavailable = "python interpreter '\(python)' not found (set LOUPE_BENCH_PYTHON)"
            return
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = ["-u", script]
        p.environment = env
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        do { try p.run() } catch {
            unavailable = "cannot start \(exe): \(error)"
            return
        }
        process = p
        toPeer = input.fileHandleForWriting
        fromPeer = output.fileHandleForReading.fileDescriptor
        // Keep the read end's FileHandle alive as long as we read its descriptor.
        readHandle = output.fileHandleForReading
        guard let first = readLine() else {
            markDead("\(python) exited before answering (is \(script) runnable?)")
            return
        }
        if first.hasPrefix("hello ") {
            hello = String(first.dropFirst(6))
        } else if first.hasPrefix("missing ") {
            markDead(String(first.dropFirst(8)))
        } else {
            markDead("unexpected first line from peer: \(first)")
        }
    }
    private var readHandle: FileHandle?

    private func markDead(_ why: String) {
        if unavailable == nil { unavailable = why }
        close()
    }

    func close() {
        if let p = process {
            try? toPeer?.write(contentsOf: Data("quit\n".utf8))
            try? toPeer?.close()
            // Give it a moment to exit by itself, then end it.
            let deadline = monotonicSeconds() + 2
            while p.isRunning && monotonicSeconds() < deadline { usleep(10_000) }
            if p.isRunning { p.terminate() }
            p.waitUntilExit()
        }
        process = nil
        toPeer = nil
        readHandle = nil
        fromPeer = -1
    }

    /// One line from the peer, or nil on end of file / timeout.
    private func readLine() -> String? {
        let deadline = monotonicSeconds() + replyTimeout
        while true {
            if let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                return line
            }
            guard fromPeer >= 0 else { return nil }
            let left = deadline - monotonicSeconds()
            if left <= 0 { return nil }
            var pfd = pollfd(fd: fromPeer, events: Int16(POLLIN), revents: 0)
            let r = poll(&pfd, 1, Int32(Swift.min(left * 1000, 60_000)))
            if r < 0 { if errno == EINTR { continue }; return nil }
            if r == 0 { continue }
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = buf.withUnsafeMutableBytes { read(fromPeer, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return nil }
            pending.append(contentsOf: buf[..<n])
        }
    }

    /// Sends one command and returns the reply line; nil (and the peer marked unavailable) if it died.
    func request(_ command: String) -> String? {
        guard unavailable == nil, let out = toPeer else { return nil }
        do { try out.write(contentsOf: Data((command + "\n").utf8)) } catch {
            markDead("peer stopped reading (\(error))")
            return nil
        }
        guard let line = readLine() else {
            markDead("peer did not answer '\(command)' (exited or timed out)")
            return nil
        }
        return line
    }

    /// Prepares a case (inputs made by the peer, outside any timing). `ok` false: why this case has no peer
    /// (`missing ...` when a module is not importable, or an error); `ok` true: extra info the peer gave.
    func setup(_ name: String, kind: String, args: [(String, Any)]) -> (ok: Bool, message: String) {
        let argText = args.map { "\($0.0)=\($0.1)" }.joined(separator: " ")
        guard let reply = request("setup \(name) \(kind) \(argText)") else { return (false, unavailable ?? "peer unavailable") }
        if reply == "ok" || reply.hasPrefix("ok ") { return (true, String(reply.dropFirst(2)).trimmingCharacters(in: .whitespaces)) }
        return (false, reply)
    }

    /// Runs `n` timed repetitions in the peer; seconds per repetition.
    func run(_ name: String, _ n: Int) -> [Double]? {
        guard let reply = request("run \(name) \(n)") else { return nil }
        let words = reply.split(separator: " ")
        guard words.first == "time" else {
            FileHandle.standardError.write(Data("loupe-bench: peer: \(reply)\n".utf8))
            return nil
        }
        let times = words.dropFirst().compactMap { Double($0) }
        return times.count == n ? times : nil
    }

    /// key=value pairs from `check CASE`.
    func check(_ name: String) -> [String: Double]? {
        guard let reply = request("check \(name)"), reply.hasPrefix("check ") else { return nil }
        var out: [String: Double] = [:]
        for w in reply.dropFirst(6).split(separator: " ") {
            let kv = w.split(separator: "=", maxSplits: 1)
            if kv.count == 2, let v = Double(kv[1]) { out[String(kv[0])] = v }
        }
        return out
    }
}
