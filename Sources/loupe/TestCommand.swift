import ArgumentParser
import Foundation
import LoupeNotebook

/// `loupe test [PATH...] [--update]`: reruns notebooks (without the cache) and compares each cell's printed text
/// and value with the snapshot beside it (NAME.nb.snap.json), numbers within the notebook's `tolerance`.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test", abstract: "Rerun notebooks and compare their outputs with their snapshots.")

    @Argument(help: "Notebooks, or folders searched for .nb files (default: notebooks).") var paths: [String] = []
    @Flag(help: "Rewrite the snapshots from this run instead of comparing.") var update = false

    /// The .nb files under `paths`, sorted; hidden and build folders are skipped.
    static func notebooks(_ paths: [String]) throws -> [String] {
        var out: [String] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p, isDirectory: &isDir) else {
                throw UserError("\(p): no such file or folder")
            }
            if !isDir.boolValue { out.append(p); continue }
            let e = FileManager.default.enumerator(atPath: p)
            while let f = e?.nextObject() as? String {
                let last = (f as NSString).lastPathComponent
                if last.hasPrefix(".") { e?.skipDescendants(); continue }
                if f.hasSuffix(".nb") { out.append((p as NSString).appendingPathComponent(f)) }
            }
        }
        return out.sorted()
    }

    func run() throws {
        let files = try TestCommand.notebooks(paths.isEmpty ? ["notebooks"] : paths)
        guard !files.isEmpty else { throw UserError("no .nb notebooks in \(paths.joined(separator: " "))") }
        var failures = 0
        for file in files {
            var options = RunOptions()
            options.useCache = false
            let runner = try NotebookCommand.prepare(file, options)
            let result = runner.run()
            let snap = Snapshot(run: result)
            let snapPath = Snapshot.path(for: file)
            let time = String(format: "%.2f s", result.seconds)
            if update {
                try snap.data().write(to: URL(fileURLWithPath: snapPath))
                print("updated \(snapPath) (\(result.results.count) cells, \(time))")
                continue
            }
            let expected: Snapshot?
            do { expected = try Snapshot.load(snapPath) } catch let e as NotebookError { throw Reported(e.description) }
            guard let expected else {
                failures += 1
                print("FAIL \(file): no snapshot (\(snapPath)); create it with 'loupe test --update \(file)'")
                continue
            }
            let diffs = snap.differences(from: expected, tolerance: runner.notebook.frontMatter.tolerance)
            if diffs.isEmpty {
                print("PASS \(file) (\(result.results.count) cells, \(time))")
            } else {
                failures += 1
                print("FAIL \(file) (tolerance \(runner.notebook.frontMatter.tolerance)):")
                for d in diffs { print("  " + d) }
            }
        }
        if failures > 0 {
            FileHandle.standardError.write(Data("\(failures) of \(files.count) notebooks failed (see above)\n".utf8))
            throw ExitCode(1)
        }
    }
}
