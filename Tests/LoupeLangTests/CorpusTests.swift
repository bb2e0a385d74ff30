import Foundation
import XCTest
import LoupeLang
import LoupeLibrary

/// Runs every `Corpus/*.loupe` program and compares its printed output with its `# expect:` lines and its error
/// (if any) with its `# error: LINE:COL: MESSAGE-PREFIX` line (see Corpus/README.md).
final class CorpusTests: XCTestCase {
    static var corpusDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
    }

    static func corpusFiles() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: corpusDirectory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "loupe" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    struct Expectation {
        var output: [String] = []
        var error: (line: Int, col: Int, message: String)?
    }

    static func expectations(_ source: String) -> Expectation {
        var e = Expectation()
        for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
            if let r = line.range(of: "# expect: ") {
                e.output.append(String(line[r.upperBound...]))
            } else if line.hasSuffix("# expect:") {
                e.output.append("")
            } else if let r = line.range(of: "# error: ") {
                let rest = line[r.upperBound...]
                let parts = rest.split(separator: ":", maxSplits: 2).map(String.init)
                if parts.count == 3, let l = Int(parts[0]), let c = Int(parts[1]) {
                    e.error = (l, c, parts[2].trimmingCharacters(in: .whitespaces))
                }
            }
        }
        return e
    }

    func testCorpus() throws {
        let files = try CorpusTests.corpusFiles()
        XCTAssertGreaterThanOrEqual(files.count, 40, "the corpus should cover the whole spec")
        let registry = LoupeLibrary.makeRegistry()
        for url in files {
            let source = try String(contentsOf: url, encoding: .utf8)
            if url.lastPathComponent.hasPrefix("_") { continue }  // helper modules imported by other files
            let expected = CorpusTests.expectations(source)
            let interp = try Interpreter(registry: registry)
            interp.maxDepth = 2_000
            var lines: [String] = []
            var pending = ""
            interp.output = { s in
                pending += s
                while let nl = pending.firstIndex(of: "\n") {
                    lines.append(String(pending[..<nl]))
                    pending = String(pending[pending.index(after: nl)...])
                }
            }
            let name = url.lastPathComponent
            do {
                try interp.run(source, file: url.path)
                if let e = expected.error {
                    XCTFail("\(name): expected error \(e.line):\(e.col): \(e.message), but it ran to the end")
                }
            } catch let err as LoupeError {
                if let e = expected.error {
                    let span = err.span
                    XCTAssertEqual(span?.line, e.line, "\(name): error line for \(err)")
                    XCTAssertEqual(span?.column, e.col, "\(name): error column for \(err)")
                    XCTAssertTrue(err.message.hasPrefix(e.message), "\(name): message '\(err.message)' should start with '\(e.message)'")
                } else {
                    XCTFail("\(name): unexpected error \(err.rendered(source: source))")
                }
            }
            if !pending.isEmpty { lines.append(pending) }
            XCTAssertEqual(lines, expected.output, "\(name): printed output")
        }
    }
}
