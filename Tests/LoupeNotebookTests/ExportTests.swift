import Foundation
import XCTest
@testable import LoupeNotebook

final class ExportTests: XCTestCase {
    func exportRun() throws -> (NotebookRun, NotebookRunner) {
        var o = RunOptions()
        o.useCache = false
        let runner = try NotebookRunner(notebook: try Notebook.parse(try Fixture.text("export.nb"), path: "export.nb"), options: o)
        return (runner.run(), runner)
    }

    /// Drops what changes from run to run (timings) so two exports compare equal.
    func stable(_ o: Any) -> Any {
        if var d = o as? [String: Any] {
            d["seconds"] = nil
            d["version"] = nil
            for (k, v) in d { d[k] = stable(v) }
            return d
        }
        if let a = o as? [Any] { return a.map(stable) }
        return o
    }

    /// The export matches, up to timings, the one validated against nbformat 4.5's schema by
    /// Tests/Fixtures/make_notebook_fixtures.py (export.ipynb, with its record in ipynb_validation.json).
    func testIpynbMatchesTheValidatedFixture() throws {
        let (run, _) = try exportRun()
        let mine = try JSONSerialization.jsonObject(with: Data(try Exporter.ipynb(run).utf8))
        let validated = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixture.path("export.ipynb"))))
        XCTAssertEqual(NSDictionary(dictionary: stable(mine) as! [String: Any]), NSDictionary(dictionary: stable(validated) as! [String: Any]))
        let record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixture.path("ipynb_validation.json")))) as? [String: Any])
        XCTAssertEqual(record["valid"] as? Bool, true)
        XCTAssertEqual(record["nbformat"] as? Int, 4)
        XCTAssertEqual(record["nbformat_minor"] as? Int, 5)
    }

    func testIpynbStructure() throws {
        let (run, _) = try exportRun()
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(try Exporter.ipynb(run).utf8)) as? [String: Any])
        XCTAssertEqual(doc["nbformat"] as? Int, 4)
        XCTAssertEqual(doc["nbformat_minor"] as? Int, 5)
        let cells = try XCTUnwrap(doc["cells"] as? [[String: Any]])
        XCTAssertEqual(cells.map { $0["cell_type"] as? String }, ["raw", "markdown", "code", "code", "code", "code"])
        XCTAssertEqual(cells.map { $0["id"] as? String }, ["front-matter", "md-1", "cell-1", "cell-2", "cell-3", "cell-4"])
        let outs = cells[2]["outputs"] as! [[String: Any]]
        XCTAssertEqual(outs.map { $0["output_type"] as? String }, ["stream", "execute_result"])
        XCTAssertEqual(outs[0]["text"] as? [String], ["rows: 2\n"])
        XCTAssertEqual(((outs[1]["data"] as? [String: Any])?["text/plain"] as? [String]), ["[{i: 0, sq: 0}, {i: 1, sq: 1}]"])
        XCTAssertEqual(cells[2]["source"] as? [String], ["let rows = map(0..params.k, fn(i) { {i: i, sq: i * i} })\n", "print(\"rows:\", len(rows))\n", "rows"])
        XCTAssertEqual(((cells[3]["metadata"] as? [String: Any])?["jupyter"] as? [String: Bool]), ["source_hidden": true])
        let fig = (cells[4]["outputs"] as! [[String: Any]])
        XCTAssertEqual(fig.map { $0["output_type"] as? String }, ["display_data"])
        let data = try XCTUnwrap(fig[0]["data"] as? [String: Any])
        XCTAssertTrue((data["image/svg+xml"] as? [String])?.first?.hasPrefix("<svg") == true)
        XCTAssertEqual(data["text/plain"] as? [String], ["Squares"])
        let err = (cells[5]["outputs"] as! [[String: Any]])[0]
        XCTAssertEqual(err["output_type"] as? String, "error")
        XCTAssertTrue((err["evalue"] as? String)?.hasPrefix("export.nb:25:") == true, "\(err)")
        for c in cells { XCTAssertTrue(["raw", "markdown"].contains(c["cell_type"] as! String) || c["execution_count"] != nil) }
    }

    func testMarkdownExport() throws {
        let (run, _) = try exportRun()
        let md = Exporter.markdown(run)
        XCTAssertTrue(md.hasPrefix("# Export fixture\n\n"))
        XCTAssertTrue(md.contains("Some *Markdown* prose."))
        XCTAssertTrue(md.contains("```loupe\nlet rows = map(0..params.k"))
        XCTAssertTrue(md.contains("```text\nrows: 2\n```\n"))
        XCTAssertTrue(md.contains("| i | sq |\n|---|---|\n| 0 | 0 |\n| 1 | 1 |\n"))
        XCTAssertFalse(md.contains("sum(map(rows"), "hidden code stays hidden")
        XCTAssertTrue(md.contains("```text\n1\n```"))
        XCTAssertTrue(md.contains("export.nb:25:"))
        XCTAssertTrue(md.contains("<figure>\n<svg"))
        XCTAssertTrue(md.contains("<figcaption>Squares</figcaption>"))
    }
}
