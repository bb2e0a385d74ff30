import Foundation
import LoupeLang
import XCTest
@testable import LoupeNotebook

/// Prose `{{ expr }}`: found outside code, checked before the run, evaluated after it, shown in every output.
final class InterpolationTests: XCTestCase {
    func runner(_ text: String, cache: String? = nil) throws -> NotebookRunner {
        var o = RunOptions()
        o.useCache = cache != nil
        o.cacheDirectory = cache
        return try NotebookRunner(notebook: try Notebook.parse(text, path: "p.nb"), options: o)
    }

    let notebook = """
        ---
        title: "Interpolation"
        params:
          n: 4
        ---

        The mean of {{ n }} squares is {{ stats.mean:.2f }}, {{ stats.share:.1% }} of the largest; `{{ not code }}`
        and \\{{ escaped }} stay as written.

        ```sh
        echo {{ not this either }}
        ```

        ```loupe name=data
        let n = params.n
        let xs = map(0..n, fn(i) { i * i })
        let stats = {mean: sum(xs) / n, share: sum(xs) / n / xs[-1]}
        ```

        Last: {{ xs[-1] }} and {{ "<b>" }}.

        """

    func testExpressionsAreFoundOutsideCodeWithTheirPlaces() throws {
        let nb = try Notebook.parse(notebook, path: "p.nb")
        let found = try ProseInterpolation.expressions(in: nb)
        XCTAssertEqual(found.map(\.source), ["n", "stats.mean:.2f", "stats.share:.1%", "xs[-1]", "\"<b>\""])
        XCTAssertEqual(found.map(\.line), [7, 7, 7, 20, 20])
        XCTAssertEqual(found[0].column, 13)
        XCTAssertEqual(found[1].column, 32)
    }

    func testValuesAppearInReportMarkdownSnapshotAndManifest() throws {
        let r = try runner(notebook)
        let run = r.run()
        XCTAssertFalse(run.failed)
        XCTAssertEqual(run.prose.map { $0.text ?? "ERR" }, ["4", "3.50", "38.9%", "9", "<b>"])
        let html = Report.html(run, interpreter: r.interpreter)
        XCTAssertTrue(html.contains("The mean of <span class=\"value\">4</span> squares is <span class=\"value\">3.50</span>"), html)
        XCTAssertTrue(html.contains("<span class=\"value\">&lt;b&gt;</span>"))
        XCTAssertTrue(html.contains("{{ not code }}"))
        XCTAssertTrue(html.contains("echo {{ not this either }}"))
        let md = Exporter.markdown(run)
        XCTAssertTrue(md.contains("The mean of 4 squares is 3.50, 38.9% of the largest"), md)
        XCTAssertTrue(md.contains("Last: 9 and <b>."))
        let snap = Snapshot(run: run)
        let prose = snap.cells.filter { ($0["cell"] as? String)?.hasPrefix("prose") == true }
        XCTAssertEqual(prose.map { $0["output"] as? String }, ["4", "3.50", "38.9%", "9", "<b>"])
        XCTAssertEqual(prose[1]["cell"] as? String, "prose {{ stats.mean:.2f }}")
    }

    func testAChangedValueIsASnapshotDifference() throws {
        let before = Snapshot(run: try runner(notebook).run())
        let after = Snapshot(run: try runner(notebook.replacingOccurrences(of: "n: 4", with: "n: 5")).run())
        let diffs = after.differences(from: before, tolerance: 1e-9)
        XCTAssertTrue(diffs.contains("prose {{ stats.mean:.2f }}: output line 1: expected '3.50', got '6.00'"), "\(diffs)")
    }

    func testCachedRerunStillShowsValues() throws {
        let dir = NSTemporaryDirectory() + "loupe-interp-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try runner(notebook, cache: dir).run()
        let again = try runner(notebook, cache: dir).run()
        XCTAssertEqual(again.results.map(\.status), [.cached])
        XCTAssertEqual(again.prose.map { $0.text ?? "ERR" }, ["4", "3.50", "38.9%", "9", "<b>"])
    }

    func testBadExpressionsFailBeforeTheRunNamingTheLine() throws {
        func error(_ prose: String) -> String? {
            let text = "---\ntitle: t\n---\n\n\(prose)\n\n```loupe name=a\nlet x = 1\n```\n"
            do { _ = try runner(text); return nil } catch let e as NotebookError { return e.description } catch { return "\(error)" }
        }
        XCTAssertEqual(error("Value {{ y }}."), "p.nb:5:7: error: in prose '{{ y }}': undefined name 'y' (did you mean 'x'?)")
        XCTAssertEqual(error("Value {{ x + }}."), "p.nb:5:7: error: in prose '{{ x + }}': expected an expression, got end of input")
        XCTAssertEqual(error("Value {{ x"), "p.nb:5:7: error: '{{' in prose is not closed by '}}' on the same line")
        XCTAssertEqual(error("Value {{  }}"), "p.nb:5:7: error: empty '{{ }}' in prose: put an expression between the braces")
        XCTAssertNil(error("Value {{ x }} and `{{ y`."))
    }

    func testAFailedCellMakesItsProseAnErrorAndTheRunFail() throws {
        let text = "---\ntitle: t\n---\n\nShown: {{ x }}; fine: {{ 1 + 1 }}.\n\n```loupe name=a\nlet x = error(\"boom\")\n```\n"
        let r = try runner(text)
        let run = r.run()
        XCTAssertTrue(run.failed)
        XCTAssertEqual(run.prose.map(\.text), [nil, "2"])
        XCTAssertEqual(run.prose[0].error, "'x' is not available: cell 'a' (line 7) failed")
        let html = Report.html(run, interpreter: r.interpreter)
        XCTAssertTrue(html.contains("<span class=\"value-error\""), html)
    }
}
