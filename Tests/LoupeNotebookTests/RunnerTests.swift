import Foundation
import LoupeLang
import LoupeTensor
import XCTest
@testable import LoupeNotebook

final class RunnerTests: XCTestCase {
    func run(_ text: String, overrides: [(String, String)] = [], path: String = "r.nb") throws -> (NotebookRun, NotebookRunner) {
        var o = RunOptions()
        o.useCache = false
        o.overrides = overrides.map { (name: $0.0, value: $0.1) }
        let runner = try NotebookRunner(notebook: try Notebook.parse(text, path: path), options: o)
        return (runner.run(), runner)
    }

    func result(_ run: NotebookRun, _ name: String) -> CellResult {
        run.results.first { $0.cell.options.name == name }!
    }

    func testBasicNotebookRunsInDependencyOrderWithParams() throws {
        let (run, _) = try self.run(try Fixture.text("basic.nb"))
        XCTAssertFalse(run.failed)
        XCTAssertEqual(run.order, [1, 0, 2, 3])
        let later = result(run, "uses-later")
        XCTAssertEqual(later.status, .computed)
        XCTAssertEqual(later.output, "doubled: [0, 2, 4]\n")
        XCTAssertEqual(later.value?.repr, "[0, 2, 4]")
        let rec = result(run, "record")
        XCTAssertEqual(rec.value?.repr, "{n: 3, scale: 0.5, label: \"run A\", total: 6}")
        XCTAssertEqual(run.params.map(\.name), ["n", "scale", "verbose", "label"])
    }

    func testOverridesAreTypedAndChecked() throws {
        let (run, _) = try self.run(try Fixture.text("basic.nb"), overrides: [("n", "5"), ("label", "B")])
        XCTAssertEqual(result(run, "record").value?.repr, "{n: 5, scale: 0.5, label: \"B\", total: 20}")
        let text = try Fixture.text("basic.nb")
        guard let e = Fixture.notebookError({ _ = try self.run(text, overrides: [("n", "five")]) }) else { return }
        XCTAssertEqual(e.kind, .param)
        XCTAssertEqual(e.line, 6)
        XCTAssertEqual(e.description, "r.nb:6: error: param 'n' is an int (default 3); cannot set it to 'five'")
        guard let u = Fixture.notebookError({ _ = try self.run(text, overrides: [("m", "1")]) }) else { return }
        XCTAssertTrue(u.description.contains("unknown param 'm' (params: n, scale, verbose, label)"), u.description)
        XCTAssertEqual(NotebookRunner.helpParams(try Notebook.parse(text, path: "basic.nb")), """
            params of basic (set with -P NAME=VALUE):
              n        int, default 3
              scale    float, default 0.5
              verbose  bool, default false
              label    string, default "run A"

            """)
    }

    func testFailingCellSkipsDependentsOnly() throws {
        let (run, _) = try self.run(try Fixture.text("failing.nb"), path: "failing.nb")
        XCTAssertTrue(run.failed)
        XCTAssertEqual(result(run, "ok").status, .computed)
        XCTAssertEqual(result(run, "ok").output, "a is 1\n")
        let bad = result(run, "bad")
        XCTAssertEqual(bad.status, .failed)
        XCTAssertEqual(bad.errorLine, 11)
        XCTAssertTrue(bad.error!.hasPrefix("failing.nb:11:13: error: undefined name 'undefined_thing'"), bad.error!)
        XCTAssertTrue(bad.error!.contains("\n    let b = a + undefined_thing\n                ^~~~~~~~~~~~~~~"), bad.error!)
        XCTAssertEqual(result(run, "waits").status, .skipped)
        XCTAssertEqual(result(run, "waits").skipReason, "uses 'b' from cell 'bad' (line 10), which failed")
        XCTAssertEqual(result(run, "waits-more").skipReason, "uses 'c' from cell 'waits' (line 14), which was skipped")
        XCTAssertEqual(result(run, "independent").status, .computed)
        XCTAssertEqual(result(run, "independent").value?.repr, "11")
    }

    func testRuntimeErrorsPointAtNotebookLines() throws {
        let (run, _) = try self.run("# t\n\n```loupe\nlet xs = [1, 2]\nlet y = xs[5]\n```\n")
        let r = run.results[0]
        XCTAssertEqual(r.status, .failed)
        XCTAssertEqual(r.errorLine, 5)
        XCTAssertTrue(r.error!.hasPrefix("r.nb:5:"), r.error!)
    }

    func testEachCellDrawsFromItsOwnStream() throws {
        let text = "---\nseed: 11\n---\n```loupe name=a\nlet x = randn([4])\n```\n```loupe name=b\nlet y = randn([4])\n```\n"
        let (run, _) = try self.run(text)
        guard case let .tensor(x)? = result(run, "a").bindings.first?.value,
              case let .tensor(y)? = result(run, "b").bindings.first?.value else { return XCTFail("no tensors") }
        var sa = RandomStream(seed: 11, name: "cell:a")
        XCTAssertEqual(x.scalars, try Tensor.randn([4], stream: &sa).scalars)
        XCTAssertNotEqual(x.scalars, y.scalars)

        // A new cell before them, drawing too, changes neither; nor does reordering them.
        let inserted = "---\nseed: 11\n---\n```loupe name=new\nlet z = randn([100])\n```\n```loupe name=b\nlet y = randn([4])\n```\n```loupe name=a\nlet x = randn([4])\n```\n"
        let (run2, _) = try self.run(inserted)
        guard case let .tensor(x2)? = result(run2, "a").bindings.first?.value,
              case let .tensor(y2)? = result(run2, "b").bindings.first?.value else { return XCTFail("no tensors") }
        XCTAssertEqual(x2.scalars, x.scalars)
        XCTAssertEqual(y2.scalars, y.scalars)

        // An unnamed cell's stream follows its code, not its position.
        let unnamed1 = "```loupe\nlet u = rand([3])\n```\n"
        let unnamed2 = "```loupe\nlet other = 1\n```\n\n" + unnamed1
        let u1 = try self.run(unnamed1).0.results[0].bindings[0].value.repr
        let u2 = try self.run(unnamed2).0.results[1].bindings[0].value.repr
        XCTAssertEqual(u1, u2)
        // Seeded draws are untouched by the cell stream.
        let seeded = try self.run("```loupe\nrandn([3], seed: 5)\n```\n").0.results[0].value
        guard case let .tensor(s)? = seeded else { return XCTFail("no tensor") }
        XCTAssertEqual(s.scalars, try Tensor.randn([3], seed: 5).scalars)
        XCTAssertNil(HostHooks.randomStream, "the cell stream is removed after the run")
    }

    func testTimeoutStopsACell() throws {
        let text = "```loupe name=spin timeout=0.3\nvar i = 0\nwhile true { i += 1 }\n```\n```loupe name=after\nlet done = 1\n```\n"
        let start = Date()
        let (run, _) = try self.run(text)
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
        XCTAssertEqual(result(run, "spin").status, .failed)
        XCTAssertTrue(result(run, "spin").error!.contains("ran longer than its timeout of 0.3 s"), result(run, "spin").error!)
        XCTAssertEqual(result(run, "after").status, .computed)
    }

    func testPrintedOutputStaysInTheCell() throws {
        let (run, runner) = try self.run("```loupe\nprint(\"one\")\n```\n```loupe\nprint(\"two\")\n2\n```\n")
        XCTAssertEqual(run.results.map(\.output), ["one\n", "two\n"])
        XCTAssertEqual(run.results[1].value?.repr, "2")
        XCTAssertNil(run.results[0].value)
        _ = runner
    }

    func testProgressGoesToItsSinkAsTimestampedLines() throws {
        var lines = ""
        let fixed = Date(timeIntervalSince1970: 3600 * 7 + 60 * 41 + 2)
        let progress = ConsoleProgress(terminal: false, clock: { fixed }, write: { lines += $0 })
        var o = RunOptions()
        o.useCache = false
        o.observer = progress
        let runner = try NotebookRunner(notebook: try Notebook.parse("```loupe name=a\n1\n```\n```loupe\nnope\n```\n", path: "p.nb"), options: o)
        let run = runner.run()
        XCTAssertEqual(run.results.map(\.status), [.computed, .failed])
        let split = lines.split(separator: "\n")
        XCTAssertEqual(split.count, 2)
        XCTAssertTrue(split[0].hasPrefix("[07:41:02] cell 1/2 'a' (line 1): computed "), String(split[0]))
        XCTAssertEqual(split[1], "[07:41:02] cell 2/2 (line 4): FAILED")

        HostHooks.progress = progress
        defer { HostHooks.progress = nil }
        lines = ""
        let task = ProgressTask("generate", total: 3)
        task.advance()
        task.finish()
        XCTAssertEqual(lines, "[07:41:02] generate: started (3 steps)\n[07:41:02] generate: done 1/3\n")
    }
}
