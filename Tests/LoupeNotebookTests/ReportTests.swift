import Foundation
import LoupeLang
import LoupeLibrary
import XCTest
@testable import LoupeNotebook

/// A host object shaped like the plot namespace's figures (type "figure", an `svg()` method, `title`, `caption`),
/// which is the contract the runner's figure extractor reads.
final class SquareFigure: HostObject {
    let side: Int
    init(side: Int) { self.side = side }
    var typeName: String { "figure" }
    var memberNames: [String] { ["svg", "title", "caption"] }
    func member(_ name: String) -> Value? {
        switch name {
        case "svg":
            return .function(Builtin(name: "svg", parameters: [], doc: "") { [side] _ in
                .string("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(side)\" height=\"\(side)\"><rect width=\"\(side)\" height=\"\(side)\"/></svg>")
            })
        case "title": return .string("square \(side)")
        case "caption": return side == 1 ? .string("the unit square") : .nil
        default: return nil
        }
    }
    var summary: String { "<figure square \(side)>" }
}

final class ReportTests: XCTestCase {
    static func options() -> RunOptions {
        var o = RunOptions()
        o.useCache = false
        o.makeRegistry = {
            let r = LoupeLibrary.makeRegistry()
            r.register(nil, "square_figure", [Parameter("side", .int)], doc: "test figure") { a in
                guard case let .int(s) = a[0] else { return .nil }
                return .object(SquareFigure(side: s))
            }
            return r
        }
        return o
    }

    func render(_ text: String, path: String = "rep.nb") throws -> (NotebookRun, String, NotebookRunner) {
        let runner = try NotebookRunner(notebook: try Notebook.parse(text, path: path), options: ReportTests.options())
        let run = runner.run()
        return (run, Report.html(run, interpreter: runner.interpreter), runner)
    }

    func testReportIsSelfContainedAndShowsEverything() throws {
        let text = """
            ---
            title: "Report <test>"
            seed: 9
            params:
              n: 2
            ---
            Some **bold** prose and a [link](#x).

            ```loupe name=rows
            # rows of a table
            let rows = [{name: "a", v: 1}, {name: "b<", v: 2.5}]
            print("two rows")
            rows
            ```

            ```loupe name=rec
            {mean: 0.5, label: "x"}
            ```

            ```loupe name=t
            randn([2, 3])
            ```

            ```loupe name=figs caption="Two squares"
            let figs = [square_figure(1), square_figure(2)]
            ```

            ```loupe name=boom hide
            let boom = rows[7]
            ```

            ```loupe name=after
            let after = boom + 1
            ```

            """
        let (run, html, _) = try render(text)
        XCTAssertEqual(run.results.map(\.status), [.computed, .computed, .computed, .computed, .failed, .skipped])
        // Self-contained: no external fetches (the SVG namespace URI is an identifier, not a fetch).
        for bad in ["<script src", "<link", "@import", "src=\"http", "href=\"http", "url("] {
            XCTAssertFalse(html.contains(bad), bad)
        }
        XCTAssertTrue(html.contains("<style>"))
        XCTAssertTrue(html.contains("<title>Report &lt;test&gt;</title>"))
        XCTAssertTrue(html.contains("<strong>bold</strong>"), "prose rendered from Markdown")
        // Highlighting from the lexer.
        XCTAssertTrue(html.contains("<span class=\"k\">let</span> rows <span class=\"o\">=</span>"), html)
        XCTAssertTrue(html.contains("<span class=\"c\"># rows of a table</span>"))
        XCTAssertTrue(html.contains("<span class=\"s\">&quot;b&lt;&quot;</span>"))
        XCTAssertTrue(html.contains("<span class=\"f\">square_figure</span>"))
        // Output and values: a list of records as a table, a record as rows, a tensor summarised.
        XCTAssertTrue(html.contains("<pre class=\"output\">two rows</pre>"))
        XCTAssertTrue(html.contains("<thead><tr><th>name</th><th>v</th></tr></thead><tbody><tr><td>a</td><td>1</td></tr><tr><td>b&lt;</td><td>2.5</td></tr>"), html)
        XCTAssertTrue(html.contains("<tr><th>mean</th><td>0.5</td></tr><tr><th>label</th><td>x</td></tr>"))
        XCTAssertTrue(html.contains("tensor [2, 3] float32 · min "))
        // Figures with captions: the figure's own, else the cell's.
        XCTAssertEqual(run.results[3].figures.count, 2)
        XCTAssertTrue(html.contains("<rect width=\"1\" height=\"1\"/></svg>\n<figcaption>the unit square</figcaption>"))
        XCTAssertTrue(html.contains("<rect width=\"2\" height=\"2\"/></svg>\n<figcaption>Two squares</figcaption>"))
        // The error with its caret; hidden code; the skipped cell and why.
        XCTAssertTrue(html.contains("rep.nb:29:"), html)
        XCTAssertTrue(html.contains("    let boom = rows[7]\n    "))
        XCTAssertFalse(html.contains("<span class=\"k\">let</span> boom"), "hidden code is not shown")
        XCTAssertTrue(html.contains("skipped: uses 'boom' from cell 'boom' (line 28), which failed"))
        // Provenance.
        XCTAssertTrue(html.contains("sha256 <code>\(run.notebookHash.prefix(16))</code>"))
        XCTAssertTrue(html.contains("<th>seed</th><td><code>9</code></td>"))
        XCTAssertTrue(html.contains("<code>n=2</code>"))
        XCTAssertTrue(html.contains("<th>loupe</th><td><code>\(NotebookRunner.version)</code></td>"))
        XCTAssertTrue(html.contains("not stored: caching is off (--no-cache)"))
    }

    func testOutputFolderHasManifestAndFigures() throws {
        let text = "```loupe name=f\nlet f = square_figure(3)\nprint(\"hi\")\n```\n```loupe name=bad\nlet z = nope\n```\n"
        let dir = try Fixture.tempDir()
        let nbPath = dir + "/figs.nb"
        try text.write(toFile: nbPath, atomically: true, encoding: .utf8)
        let runner = try NotebookRunner(notebook: try Notebook.load(nbPath), options: ReportTests.options())
        let run = runner.run()
        let paths = try OutputWriter.write(run, interpreter: runner.interpreter, outDirectory: dir + "/out")
        XCTAssertEqual(paths.html, dir + "/out/figs.html")
        let svg = try String(contentsOfFile: dir + "/out/figs.nb.out/cell-1-fig-1.svg", encoding: .utf8)
        XCTAssertTrue(svg.hasPrefix("<svg"))
        let manifest = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/out/figs.nb.out/manifest.json"))) as? [String: Any])
        XCTAssertEqual(manifest["failed"] as? Bool, true)
        let cells = try XCTUnwrap(manifest["cells"] as? [[String: Any]])
        XCTAssertEqual(cells.map { $0["status"] as? String }, ["computed", "failed"])
        XCTAssertEqual(cells[0]["figures"] as? [String], ["cell-1-fig-1.svg"])
        XCTAssertEqual(cells[0]["output"] as? String, "hi\n")
        XCTAssertEqual(cells[0]["cached"] as? Bool, false)
        XCTAssertTrue((cells[1]["error"] as? String)?.hasPrefix(nbPath + ":6:9: error: undefined name 'nope'") == true)
        XCTAssertTrue(FileManager.default.fileExists(atPath: paths.html))
    }
}
