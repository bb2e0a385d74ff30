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

    /// Runs `bin` with `args`; seconds from launch to exit.
    static func timedRun(_ bin: String, _ args: [String]) throws -> Double {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bin)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        let t0 = DispatchTime.now().uptimeNanoseconds
        try p.run()
        p.waitUntilExit()
        let t = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        guard p.terminationStatus == 0 else { throw BenchError("\(bin) \(args.joined(separator: " ")) exited with \(p.terminationStatus)") }
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
