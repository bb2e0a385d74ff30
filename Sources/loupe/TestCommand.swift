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
    @Option(name: .customShort("P"), help: ArgumentHelp("Override a param (NAME=VALUE). With --update the overrides are kept in the snapshot and every later test run uses them.", valueName: "name=value"))
    var params: [String] = []

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
        let given = try NotebookCommand.overrides(params)
        for file in files {
            let snapPath = Snapshot.path(for: file)
            let expected: Snapshot?
            do { expected = try Snapshot.load(snapPath) } catch let e as NotebookError { throw Reported(e.description) }
            // Overrides: the snapshot's (unless updating), then the command line's on top.
            var overrides = update ? [] : expected?.params ?? []
            for g in given { overrides.removeAll { $0.name == g.name }; overrides.append(g) }
            var options = RunOptions()
            options.useCache = false
            options.overrides = overrides
            let runner = try NotebookCommand.prepare(file, options)
            let result = runner.run()
            var snap = Snapshot(run: result)
            snap.params = overrides
            let time = String(format: "%.2f s", result.seconds)
            let shownParams = overrides.isEmpty ? "" : ", " + overrides.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
            if update {
                try snap.data().write(to: URL(fileURLWithPath: snapPath), options: .atomic)
                print("updated \(snapPath) (\(result.results.count) cells, \(time)\(shownParams))")
                continue
            }
            guard let expected else {
                failures += 1
                print("FAIL \(file): no snapshot (\(snapPath)); create it with 'loupe test --update \(file)'")
                continue
            }
            let diffs = snap.differences(from: expected, tolerance: runner.notebook.frontMatter.tolerance)
            if diffs.isEmpty {
                print("PASS \(file) (\(result.results.count) cells, \(time)\(shownParams))")
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
