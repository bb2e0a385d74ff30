import ArgumentParser
import Foundation
import LoupeLang
import LoupeNotebook

/// `loupe run FILE.nb [-P k=v]... [--out DIR] [--no-cache] [--help-params]`: runs a notebook headless and writes
/// DIR/NAME.html and DIR/NAME.nb.out/. Exit status 1 when a cell failed (the report is still written).
enum NotebookCommand {
    /// Splits `-P name=value` arguments; a missing '=' is a usage error (exit 2).
    static func overrides(_ params: [String]) throws -> [(name: String, value: String)] {
        try params.map { p in
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                throw ValidationError("-P expects NAME=VALUE, got '\(p)'")
            }
            return (String(p[..<eq]), String(p[p.index(after: eq)...]))
        }
    }

    static func options(params: [String], noCache: Bool, progress: ConsoleProgress?) throws -> RunOptions {
        var o = RunOptions()
        o.overrides = try overrides(params)
        o.useCache = !noCache
        o.observer = progress
        return o
    }

    /// Loads and checks a notebook; format, param and dependency errors become one message (exit 1).
    static func prepare(_ file: String, _ options: RunOptions) throws -> NotebookRunner {
        NotebookRunner.version = Loupe.version
        do {
            let nb = try Notebook.load(file)
            return try NotebookRunner(notebook: nb, options: options)
        } catch let e as NotebookError {
            throw Reported(e.description)
        }
    }

    static func run(file: String, params: [String], out: String?, noCache: Bool, helpParams: Bool) throws {
        if helpParams {
            do { print(NotebookRunner.helpParams(try Notebook.load(file)), terminator: "") } catch let e as NotebookError {
                throw Reported(e.description)
            }
            return
        }
        let progress = ConsoleProgress()
        let runner = try prepare(file, try options(params: params, noCache: noCache, progress: progress))
        HostHooks.progress = progress
        defer { HostHooks.progress = nil }
        let result = runner.run()
        let paths: OutputWriter.Paths
        do { paths = try OutputWriter.write(result, interpreter: runner.interpreter, outDirectory: out) } catch {
            throw Reported("error: cannot write the report: \(error)")
        }
        let counts = Dictionary(grouping: result.results, by: \.status).mapValues(\.count)
        let summary = [CellStatus.computed, .cached, .failed, .skipped].compactMap { s in counts[s].map { "\($0) \(s.rawValue)" } }
        FileHandle.standardError.write(Data("\(file): \(result.results.count) cells (\(summary.joined(separator: ", "))) in \(String(format: "%.2f", result.seconds)) s; report \(paths.html)\n".utf8))
        if result.failed {
            // One message per failed cell, as the report shows it; skipped cells are summarised above.
            for r in result.results where r.status == .failed { Session.printError(r.error ?? "error") }
            for v in result.prose { if let e = v.error { Session.printError(e) } }
            throw ExitCode(1)
        }
    }
}
