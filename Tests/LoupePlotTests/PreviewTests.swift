import XCTest
@testable import LoupePlot

final class PreviewTests: XCTestCase {
    func testLinePreviewIsBrailleWithinTheSizeWithRangesAndTitle() throws {
        let fig = try Figure(title: "loss", xLabel: "step")
        try fig.line(y: (0..<50).map { Double($0 * $0) })
        let text = fig.terminalPreview(width: 60, height: 12)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.first, "loss")
        XCTAssertLessThanOrEqual(lines.count, 12)
        for l in lines { XCTAssertLessThanOrEqual(l.count, 60, String(l)) }
        XCTAssertTrue(text.unicodeScalars.contains { (0x2801...0x28FF).contains($0.value) }, "braille dots")
        XCTAssertTrue(lines[1].hasPrefix("2500"), "y axis top")
        XCTAssertTrue(lines.last!.contains("step") && lines.last!.hasSuffix("50"), "x range and label: \(lines.last!)")
    }

    func testBrailleLineConnectsTheEnds() {
        var c = BrailleCanvas(columns: 2, rows: 1)
        c.line(0, 0, 3, 3)
        // Dots (0,0), (1,1) in the first cell: bits 0x01 | 0x10; (2,2), (3,3) in the second: 0x04 | 0x80.
        XCTAssertEqual(c.row(0), "\u{2811}\u{2884}")
    }

    func testBarPreviewLengthsInEighths() throws {
        let fig = try Figure(title: "acc")
        try fig.bar(categories: ["a", "b"], values: [4, 1])
        let lines = fig.terminalPreview(width: 30, height: 8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        let full = try XCTUnwrap(lines[1].split(separator: "│").last).split(separator: " ").first!
        let quarter = try XCTUnwrap(lines[2].split(separator: "│").last).split(separator: " ").first!
        XCTAssertTrue(full.allSatisfy { $0 == "█" })
        // b is a quarter of a: its bar is a quarter as long, to the eighth of a cell.
        let eighths = { (s: Substring) in s.reduce(0) { $0 + ("▏▎▍▌▋▊▉█".firstIndex(of: $1).map { "▏▎▍▌▋▊▉█".distance(from: "▏▎▍▌▋▊▉█".startIndex, to: $0) + 1 } ?? 0) } }
        XCTAssertEqual(Double(eighths(quarter)), Double(eighths(full)) / 4, accuracy: 1)
        XCTAssertEqual(Figure.bar(0.5, columns: 3), "█▌")
    }

    func testHistogramPreviewUsesColumns() throws {
        let fig = try Figure()
        try fig.histogram([1, 2, 2, 3, 3, 3, 4, 4, 4, 4], bins: 4)
        let text = fig.terminalPreview(width: 40, height: 10)
        XCTAssertTrue(text.contains("█"))
        XCTAssertTrue(text.contains("4 ┤"), "peak count labels the top")
    }

    func testHeatmapPreviewShades() throws {
        let fig = try Figure(title: "attn")
        try fig.heatmap([[0, 1], [1, 0]], rowLabels: ["q0", "q1"], columnLabels: ["k0", "k1"])
        let lines = fig.terminalPreview(width: 30, height: 10).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "attn")
        XCTAssertEqual(lines[1], "q0 │  ██")
        XCTAssertEqual(lines[2], "q1 │██  ")
        XCTAssertTrue(lines.last!.hasPrefix("scale: 0 ░▒▓█ 1"))
    }

    func testLogAxesAreNamedAndEmptyFiguresSaySo() throws {
        let fig = try Figure(title: "t", logX: true, logY: true)
        try fig.scatter(x: [1, 10], y: [1, 100])
        XCTAssertEqual(fig.terminalPreview(width: 40, height: 8).split(separator: "\n").first, "t (log x, log y)")
        XCTAssertEqual(try Figure().terminalPreview(width: 40, height: 8), "empty figure\n(no data)")
    }
}
