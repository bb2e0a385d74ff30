import ArgumentParser
import Foundation
import LoupeLang
import LoupeNotebook

/// `loupe export FILE.nb --to html|md|ipynb [-o OUT]`: runs the notebook (through the cache) and writes it in
/// another format, beside it by default (NAME.html, NAME.md, NAME.ipynb).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Run a notebook and write it as HTML, Markdown or a Jupyter notebook.")

    @Argument(help: "The notebook (FILE.nb).") var file: String
    @Option(help: "html, md or ipynb.") var to: String
    @Option(name: .shortAndLong, help: "The file to write (default: beside the notebook).") var output: String?
    @Option(name: .customShort("P"), help: "Set a param: -P NAME=VALUE (repeatable).") var params: [String] = []
    @Flag(help: "Run every cell; neither read nor write the cell cache.") var noCache = false

    func validate() throws {
        guard Exporter.Format(rawValue: to) != nil else {
            throw ValidationError("--to must be html, md or ipynb, got '\(to)'")
        }
        guard file.hasSuffix(".nb") else { throw ValidationError("export takes a notebook (FILE.nb), got '\(file)'") }
    }

    func run() throws {
        let format = Exporter.Format(rawValue: to)!
        let progress = ConsoleProgress()
        let runner = try NotebookCommand.prepare(file, try NotebookCommand.options(params: params, noCache: noCache, progress: progress))
        HostHooks.progress = progress
        defer { HostHooks.progress = nil }
        let result = runner.run()
        let dest = output ?? String(file.dropLast(3)) + "." + format.rawValue
        do {
            let text = try Exporter.export(result, to: format, interpreter: runner.interpreter)
            try text.write(toFile: dest, atomically: true, encoding: .utf8)
        } catch {
            throw Reported("error: cannot write \(dest): \(error)")
        }
        FileHandle.standardError.write(Data("wrote \(dest)\n".utf8))
        if result.failed {
            for r in result.results where r.status == .failed { Session.printError(r.error ?? "error") }
            throw ExitCode(1)
        }
    }
}
