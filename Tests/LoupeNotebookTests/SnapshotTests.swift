import Foundation
import XCTest
@testable import LoupeNotebook

final class SnapshotTests: XCTestCase {
    func snapshot(_ text: String) throws -> Snapshot {
        var o = RunOptions()
        o.useCache = false
        return Snapshot(run: try NotebookRunner(notebook: try Notebook.parse(text, path: "s.nb"), options: o).run())
    }

    func testSameRunMatchesItsSnapshotAfterARoundTripThroughJSON() throws {
        let text = try Fixture.text("basic.nb")
        let a = try snapshot(text)
        let stored = try XCTUnwrap(try JSONSerialization.jsonObject(with: a.data()) as? [String: Any])
        let back = Snapshot(cells: try XCTUnwrap(stored["cells"] as? [[String: Any]]))
        XCTAssertEqual(try snapshot(text).differences(from: back, tolerance: 0), [])
    }

    func testNumbersWithinToleranceMatchAndOthersAreReported() throws {
        let base = "```loupe name=x\nprint(\"loss 0.5000 at step 3\")\n[1.0, 2.0]\n```\n"
        let expected = try snapshot(base)
        let near = try snapshot(base.replacingOccurrences(of: "0.5000", with: "0.5000004").replacingOccurrences(of: "2.0]", with: "2.0000001]"))
        XCTAssertEqual(near.differences(from: expected, tolerance: 1e-6), [])
        let far = try snapshot(base.replacingOccurrences(of: "0.5000", with: "0.51").replacingOccurrences(of: "2.0]", with: "2.5]"))
        XCTAssertEqual(far.differences(from: expected, tolerance: 1e-6), [
            "x: output line 1: expected 'loss 0.5000 at step 3', got 'loss 0.51 at step 3'",
            "x: value[1]: expected 2.0, got 2.5",
        ])
        let words = try snapshot(base.replacingOccurrences(of: "at step", with: "after step"))
        XCTAssertEqual(words.differences(from: expected, tolerance: 1), [
            "x: output line 1: expected 'loss 0.5000 at step 3', got 'loss 0.5000 after step 3'",
        ])
    }

    func testStatusErrorsAndCellSetChangesAreReported() throws {
        let expected = try snapshot("```loupe name=a\nlet a = 1\n```\n```loupe name=gone\n2\n```\n")
        let now = try snapshot("```loupe name=a\nlet a = nope\n```\n```loupe name=new\n3\n```\n")
        let d = now.differences(from: expected, tolerance: 1e-6)
        XCTAssertEqual(d[0], "a: status: expected 'computed', got 'failed'")
        XCTAssertTrue(d[1].hasPrefix("a: error: expected nothing, got 's.nb:2:9: error: undefined name 'nope'"), d[1])
        XCTAssertEqual(Array(d[2...]), ["gone: in the snapshot but no longer in the notebook", "new: new cell, not in the snapshot"])
    }

    func testNumberSplitting() {
        let (text, nums) = Snapshot.splitNumbers("x1 = -0.25, y=3e-2 [1,2] v2.0")
        XCTAssertEqual(nums, [-0.25, 3e-2, 1, 2])
        XCTAssertEqual(text, ["x1 = ", ", y=", " [", ",", "] v2.0"])
        XCTAssertTrue(Snapshot.textMatches("p = 100.0001", "p = 100.0", 1e-6))
        XCTAssertFalse(Snapshot.textMatches("p = 100.01", "p = 100.0", 1e-6))
        XCTAssertTrue(Snapshot.textMatches("tiny 1e-9", "tiny 0", 1e-6))
    }
}
