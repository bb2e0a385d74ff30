import Foundation
import LoupeLang
import LoupeLibrary
import XCTest
@testable import LoupeNotebook

final class DependenciesTests: XCTestCase {
    func graph(_ text: String) throws -> (Notebook, DependencyGraph) {
        let nb = try Notebook.parse(text, path: "g.nb")
        let runner = try NotebookRunner(notebook: nb)
        return (nb, runner.graph)
    }

    func cells(_ codes: [String]) -> String {
        codes.enumerated().map { "```loupe name=c\($0.offset)\n\($0.element)\n```\n" }.joined(separator: "\n")
    }

    func testDependencyOrderIsTopologicalAndStable() throws {
        let (_, g) = try graph(cells([
            "let d = b + c",     // c0 needs c2 (b) and c3 (c)
            "let free = 1",      // c1 independent
            "let b = a * 2",     // c2 needs c4
            "let c = a + 1",     // c3 needs c4
            "let a = 10",        // c4
            "print(free)",       // c5 needs c1
        ]))
        XCTAssertEqual(g.order, [1, 4, 2, 3, 0, 5])
        XCTAssertEqual(g.uses[0], ["b", "c"])
        XCTAssertEqual(g.dependencies[0], [2, 3])
        XCTAssertEqual(g.definer["a"], 4)
    }

    func testScopingDecidesUses() throws {
        let (_, g) = try graph(cells([
            "let x = 1\nlet y = 2\nvar z = 3",
            // A parameter and a local named like another cell's names are not uses; the function body's read of y is.
            "fn f(x) { let z = x + 1\n z + y }",
            // A loop variable shadows; a closure captures w.
            "let w = 5\nlet g = fn() { w }\nfor x in [1, 2] { print(x) }",
            // Uses through a record field, an f-string, an index and a keyword argument.
            "let s = f\"{x}\"\nlet t = [x][0]\nlet u = {k: y}.k\nlet v = sum(tensor([1.0]), axis: z - 3)",
        ]))
        XCTAssertEqual(g.uses[1], ["y"])
        XCTAssertEqual(g.uses[2], [])
        XCTAssertEqual(g.uses[3], ["x", "y", "z"])
        XCTAssertEqual(g.definitions[3].map(\.name), ["s", "t", "u", "v"])
        XCTAssertEqual(g.definitions[1].map(\.kind), [.fn])
        XCTAssertEqual(g.definitions[0].map(\.kind), [.let, .let, .var])
    }

    func testParamsIsAUseOfTheParamsRecord() throws {
        let (_, g) = try graph("---\nparams:\n  n: 2\n---\n" + cells(["let m = params.n + 1"]))
        XCTAssertEqual(g.uses[0], ["params"])
        XCTAssertEqual(g.dependencies[0], [])
    }

    func testDuplicateDefinitionNamesBothCells() {
        let text = cells(["let x = 1", "let y = 2", "fn x() { 3 }"])
        guard let e = Fixture.notebookError({ _ = try self.graph(text) }) else { return }
        XCTAssertEqual(e.kind, .dependency)
        XCTAssertEqual(e.line, 10)
        XCTAssertTrue(e.description.contains("'x' is defined in cell 'c0' (line 1) and again in cell 'c2' (line 9)"), e.description)
        XCTAssertTrue(e.description.hasPrefix("g.nb:10:"), e.description)
    }

    func testCycleIsReportedWithTheNamesThatCloseIt() {
        let text = cells(["let a = c + 1", "let b = a + 1", "let c = b + 1", "let unrelated = 0"])
        guard let e = Fixture.notebookError({ _ = try self.graph(text) }) else { return }
        XCTAssertEqual(e.line, 1)
        XCTAssertTrue(e.description.contains("dependency cycle"), e.description)
        XCTAssertTrue(e.description.contains("cell 'c0' (line 1) uses 'c' from cell 'c2' (line 9)"), e.description)
        XCTAssertTrue(e.description.contains("cell 'c2' (line 9) uses 'b' from cell 'c1' (line 5)"), e.description)
        XCTAssertTrue(e.description.contains("cell 'c1' (line 5) uses 'a' from cell 'c0' (line 1)"), e.description)
    }

    func testAssigningAnotherCellsVarIsAnError() {
        let text = cells(["var total = 0", "total += 5"])
        guard let e = Fixture.notebookError({ _ = try self.graph(text) }) else { return }
        XCTAssertEqual(e.line, 6)
        XCTAssertTrue(e.description.contains("cell 'c1' (line 5) assigns to 'total', which cell 'c0' (line 1) defines"), e.description)
    }

    func testParamsNameIsReserved() {
        guard let e = Fixture.notebookError({ _ = try self.graph(self.cells(["let params = 1"])) }) else { return }
        XCTAssertTrue(e.description.contains("defines 'params'"), e.description)
    }

    func testCellErrorsAreFoundBeforeRunning() throws {
        let (_, g) = try graph(cells(["let a = 1", "let b = a + nope", "let c = (", "let d = a"]))
        XCTAssertEqual(g.cellErrors[1]?.message.contains("undefined name 'nope'"), true)
        XCTAssertEqual(g.cellErrors[1]?.span?.line, 6)
        XCTAssertEqual(g.cellErrors[2]?.kind, .syntax)
        XCTAssertNil(g.cellErrors[0])
        XCTAssertNil(g.cellErrors[3])
        XCTAssertEqual(g.order, [0, 1, 2, 3])
    }

    func testHighlightTokensCoverKeywordsStringsNumbersAndComments() throws {
        let interp = try Interpreter(registry: LoupeLibrary.makeRegistry(), loadStdlib: false)
        let toks = try XCTUnwrap(interp.highlightTokens("let x = \"s#\" # note\nfn f() { 1.5 }"))
        XCTAssertEqual(toks.first, HighlightToken(kind: .keyword, line: 1, column: 1, length: 3))
        XCTAssertTrue(toks.contains(HighlightToken(kind: .string, line: 1, column: 9, length: 4)))
        XCTAssertTrue(toks.contains(HighlightToken(kind: .comment, line: 1, column: 14, length: 6)))
        XCTAssertTrue(toks.contains(HighlightToken(kind: .number, line: 2, column: 10, length: 3)))
    }
}
