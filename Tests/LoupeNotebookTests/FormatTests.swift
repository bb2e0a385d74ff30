import Foundation
import LoupeTensor
import XCTest
@testable import LoupeNotebook

/// Paths and helpers shared by the notebook tests.
enum Fixture {
    static var directory: String { Bundle.module.resourceURL!.appendingPathComponent("Fixtures").path }
    static func path(_ name: String) -> String { directory + "/" + name }
    static func text(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }
    /// The repository root (for notebooks/tour.nb).
    static var repoRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// A fresh temporary folder.
    static func tempDir() throws -> String {
        let d = NSTemporaryDirectory() + "loupe-nb-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    /// Writes `text` as NAME.nb in a fresh folder and returns its path.
    static func write(_ text: String, name: String = "t") throws -> String {
        let p = try tempDir() + "/" + name + ".nb"
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }

    /// The NotebookError a throwing body raises (fails the test when it raises none).
    static func notebookError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> NotebookError? {
        do { try body() } catch let e as NotebookError { return e } catch {
            XCTFail("expected a NotebookError, got \(error)", file: file, line: line); return nil
        }
        XCTFail("expected a NotebookError, got none", file: file, line: line)
        return nil
    }
}

final class FormatTests: XCTestCase {
    func testRoundTripOfEveryNotebook() throws {
        var paths = try FileManager.default.contentsOfDirectory(atPath: Fixture.directory)
            .filter { $0.hasSuffix(".nb") }.map(Fixture.path)
        paths.append(Fixture.repoRoot + "/notebooks/tour.nb")
        XCTAssertGreaterThanOrEqual(paths.count, 4)
        for p in paths {
            let text = try String(contentsOfFile: p, encoding: .utf8)
            let nb = try Notebook.parse(text, path: p)
            XCTAssertEqual(nb.text, text, p)
            XCTAssertFalse(nb.cells.isEmpty, p)
        }
    }

    func testRoundTripKeepsLineEndingsAndOddSpacing() throws {
        let text = "---\r\ntitle: x\r\n---\r\n\r\nprose  \r\n```loupe name=a  \r\nlet a = 1\r\n```   \r\n\t tail without newline"
        let nb = try Notebook.parse(text)
        XCTAssertEqual(nb.text, text)
        XCTAssertEqual(nb.cells.count, 1)
        XCTAssertEqual(nb.cells[0].code, "let a = 1\n")
        XCTAssertEqual(nb.cells[0].options.name, "a")
    }

    /// Random documents built from notebook fragments: every one that parses prints back the same bytes, and every
    /// one that does not fails with a NotebookError that names a line.
    func testFuzzedRoundTrip() throws {
        let pieces = ["---\n", "title: t\n", "params:\n", "  n: 1\n", "  s: \"a b\"\n", "seed: 3\n", "```loupe\n",
                      "```loupe name=x caption=\"c\" hide\n", "```\n", "~~~loupe\n", "~~~\n", "````\n", "```python\n",
                      "let q = 1\n", "text\n", "\n", "\r\n", "  ```\n", "# h\n", "x", " ", "é", "`", "-", "\t"]
        var rng = RandomStream(seed: 2024, name: "format-fuzz")
        var parsed = 0, failed = 0
        for _ in 0..<3000 {
            let n = Int.random(in: 0..<14, using: &rng)
            let text = (0..<n).map { _ in pieces.randomElement(using: &rng)! }.joined()
            do {
                let nb = try Notebook.parse(text, path: "f.nb")
                XCTAssertEqual(nb.text, text, "round trip of \(text.debugDescription)")
                parsed += 1
            } catch let e as NotebookError {
                XCTAssertNotNil(e.line, "error without a line for \(text.debugDescription): \(e)")
                XCTAssertTrue(e.description.hasPrefix("f.nb:"), e.description)
                failed += 1
            }
        }
        XCTAssertGreaterThan(parsed, 100)
        XCTAssertGreaterThan(failed, 100)
    }

    func testFrontMatterAndOptions() throws {
        let nb = try Notebook.parse(try Fixture.text("basic.nb"), path: "basic.nb")
        let fm = nb.frontMatter
        XCTAssertEqual(fm.title, "Basic notebook")
        XCTAssertEqual(fm.seed, 7)
        XCTAssertEqual(fm.tolerance, 1e-6)
        XCTAssertEqual(fm.params.map(\.name), ["n", "scale", "verbose", "label"])
        XCTAssertEqual(fm.params.map(\.value), [.int(3), .float(0.5), .bool(false), .string("run A")])
        XCTAssertEqual(fm.params.map(\.line), [6, 7, 8, 9])
        XCTAssertEqual(nb.cells.map { $0.options.name }, ["uses-later", "base", "draws", "record"])
        XCTAssertEqual(nb.cells[3].options.caption, "a record")
        XCTAssertEqual(nb.cells[1].line, 22)
        XCTAssertEqual(nb.name, "basic")

        let o = try Notebook.parse("```loupe name=a caption=\"say \\\"hi\\\"\" cache=false timeout=2.5 hide\n1\n```\n").cells[0].options
        XCTAssertEqual(o, CellOptions(name: "a", caption: "say \"hi\"", cache: false, timeout: 2.5, hide: true))
    }

    func testErrorsNameTheLine() {
        func check(_ text: String, line: Int, column: Int? = nil, _ fragment: String) {
            guard let e = Fixture.notebookError({ _ = try Notebook.parse(text, path: "bad.nb") }) else { return }
            XCTAssertEqual(e.line, line, e.description)
            XCTAssertEqual(e.column, column, e.description)
            XCTAssertTrue(e.description.contains(fragment), e.description)
            XCTAssertTrue(e.description.hasPrefix("bad.nb:\(line)"), e.description)
        }
        check("---\ntitle: x\nsed: 3\n---\n", line: 3, "unknown key 'sed'")
        check("---\ntitle: x\n", line: 1, "never closed")
        check("---\njust words\n---\n", line: 2, "expected 'key: value'")
        check("---\nparams:\n  n:\n---\n", line: 3, "param 'n' needs a default")
        check("---\nseed: -1\n---\n", line: 2, "'seed' must be a non-negative integer")
        check("---\n  n: 1\n---\n", line: 2, "outside 'params:'")
        check("text\n\n```loupe\nlet a = 1\n", line: 3, "unterminated fence")
        check("```python\nx\n", line: 1, "unterminated fence")
        check("a\n```loupe name=x cahce=false\n1\n```\n", line: 2, column: 17, "unknown cell option 'cahce'")
        check("```loupe timeout=soon\n1\n```\n", line: 1, column: 10, "'timeout' needs a positive number")
        check("```loupe name=a\n1\n```\n```loupe name=a\n2\n```\n", line: 4, "two cells are named 'a' (the other is at line 1)")
        check("```loupe caption=\"open\n1\n```\n", line: 1, column: 18, "unterminated string")
    }

    func testLongerFencesAndTildes() throws {
        let text = "````loupe name=a\nlet s = \"```\"\n```\n````\n~~~loupe\nlet t = 2\n~~~\n"
        let nb = try Notebook.parse(text)
        XCTAssertEqual(nb.cells.count, 2)
        XCTAssertEqual(nb.cells[0].code, "let s = \"```\"\n```\n")
        XCTAssertEqual(nb.cells[1].code, "let t = 2\n")
        XCTAssertEqual(nb.text, text)
    }

    func testParamOverridesAreTyped() {
        XCTAssertEqual(ParamValue.int(1).parseOverride("42"), .int(42))
        XCTAssertNil(ParamValue.int(1).parseOverride("4.5"))
        XCTAssertEqual(ParamValue.float(1).parseOverride("3"), .float(3))
        XCTAssertNil(ParamValue.float(1).parseOverride("nan"))
        XCTAssertEqual(ParamValue.bool(true).parseOverride("false"), .bool(false))
        XCTAssertNil(ParamValue.bool(true).parseOverride("yes"))
        XCTAssertEqual(ParamValue.string("a").parseOverride("gemma-3-270m"), .string("gemma-3-270m"))
        XCTAssertEqual(ParamValue.string("a").parseOverride("\"q\\n\""), .string("q\n"))
    }
}
