import Foundation

/// Suite `notebook`: `loupe run` as users run it, a fresh process each repetition.
///
/// - `startup-empty`: `loupe run` of a notebook with one prose line, against `python3 -c pass` (target: ratio <= 1).
/// - `tour-cached`: rerunning an unchanged notebooks/tour.nb (every cell served from the cache) against its cold run
///   (`--no-cache`, run by the peer process so both are measured alternately); target: ratio <= 0.05.
///
/// The loupe binary is the one beside loupe-bench (build it: `swift build -c release --product loupe`), or
/// LOUPE_BIN. The tour runs from a copy in a temporary folder, so the repository's cache is left alone.
enum NotebookSuite {
    static func loupeBinary() throws -> String {
        if let b = ProcessInfo.processInfo.environment["LOUPE_BIN"], !b.isEmpty { return b }
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        let bin = here.appendingPathComponent("loupe").path
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            throw BenchError("no loupe binary at \(bin): build it (swift build -c release --product loupe) or set LOUPE_BIN")
        }
        return bin
    }

    struct BenchError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// Runs `bin` with `args`, output to /dev/null; seconds from launch to exit.
    ///
    /// Launched with `posix_spawn` and reaped with `waitpid`, as the Python peer's `subprocess.run` does. Foundation's
    /// `Process.waitUntilExit` on Linux notices the exit only on its run loop's 50 ms ticks: `sleep 0`, `sleep 0.02`,
    /// `sleep 0.07` and `sleep 0.12` measured 51, 51, 101 and 152 ms through it, so every start-up under 50 ms read
    /// as ~51 ms (this is why the bench had Loupe's 20 ms start-up at 0.052 s).
    static func timedRun(_ bin: String, _ args: [String]) throws -> Double {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([bin] + args).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let t0 = DispatchTime.now().uptimeNanoseconds
        let rc = posix_spawn(&pid, bin, &actions, nil, argv, environ)
        guard rc == 0 else { throw BenchError("cannot launch \(bin): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let t = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        // WIFEXITED / WEXITSTATUS, spelled out (the C macros are not imported).
        let exited = status & 0x7f == 0, code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw BenchError("\(bin) \(args.joined(separator: " ")) " + (exited ? "exited with \(code)" : "was killed by signal \(status & 0x7f)"))
        }
        return t
    }

    static func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "loupe-bench-nb-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// The tour notebook: beside the current folder's notebooks/ (the repository root when run from there).
    static func tourPath() throws -> String {
        let p = FileManager.default.currentDirectoryPath + "/notebooks/tour.nb"
        guard FileManager.default.fileExists(atPath: p) else { throw BenchError("run from the repository root: no \(p)") }
        return p
    }

    static var cases: [BenchCase] {
        var startup = BenchCase(name: "startup-empty", summary: "loupe run of a notebook with one prose line (fresh process)",
                                peerName: "python3 -c pass", peerKind: "python-startup", peerArgs: []) {
            let bin = try loupeBinary()
            let dir = try tempDir()
            try "# empty\n".write(toFile: dir + "/empty.nb", atomically: true, encoding: .utf8)
            return .init(rep: { try timedRun(bin, ["run", dir + "/empty.nb", "--out", dir]) }, check: { [:] })
        }
        startup.target = 1.0
        let dir = (try? tempDir()) ?? NSTemporaryDirectory()
        let bin = (try? loupeBinary()) ?? "loupe"
        var tour = BenchCase(name: "tour-cached", summary: "rerun of an unchanged notebooks/tour.nb (all cached) vs its cold run",
                             peerName: "loupe cold run", peerKind: "command",
                             peerArgs: [("bin", bin), ("nb", dir + "/tour.nb"), ("out", dir + "/cold")]) {
            let bin = try loupeBinary()
            let copy = dir + "/tour.nb"
            if !FileManager.default.fileExists(atPath: copy) { try FileManager.default.copyItem(atPath: try tourPath(), toPath: copy) }
            _ = try timedRun(bin, ["run", copy, "--out", dir + "/warm"])  // fills the cache (untimed)
            return .init(rep: { try timedRun(bin, ["run", copy, "--out", dir + "/warm"]) }, check: { [:] })
        }
        tour.target = 0.05
        return [startup, tour]
    }
}
