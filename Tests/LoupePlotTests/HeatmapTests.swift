import XCTest
@testable import LoupePlot

final class HeatmapTests: XCTestCase {
    /// Cell rects: those grouped under a fill inside the crisp-edged group, in drawing order per colour.
    func cells(_ doc: ParsedSVG) -> [ParsedSVG.Element] {
        doc.all("rect").filter { $0.ancestors.count == 3 && $0.inherited[1]["shape-rendering"] == "crispEdges" && $0.attributes["fill"] == nil }
    }

    func testCellsColoursAndTokenLabels() throws {
        let tokens = ["<bos>", "The", " cat"]
        let m: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]
        let fig = try Figure(title: "head 0", width: 400, height: 400)
        try fig.heatmap(m, rowLabels: tokens, columnLabels: tokens)
        let doc = try ParsedSVG(fig.svg())
        let rects = cells(doc)
        XCTAssertEqual(rects.count, 9)
        // The largest value is viridis's top (yellow), the smallest its bottom (purple).
        func cell(_ r: Int, _ c: Int) -> ParsedSVG.Element? {
            let xs = Set(rects.compactMap { $0.number("x") }).sorted(), ys = Set(rects.compactMap { $0.number("y") }).sorted()
            return rects.first { $0.number("x") == xs[c] && $0.number("y") == ys[r] }
        }
        XCTAssertEqual(cell(0, 0)?.resolved("fill"), "#fde725")
        XCTAssertEqual(cell(0, 1)?.resolved("fill"), "#440154")
        XCTAssertEqual(cell(1, 0)?.resolved("fill"), Palette.viridis(0.5))
        // Square cells, row 0 on top, column 0 on the left.
        let w = try XCTUnwrap(rects.first?.number("width")), h = try XCTUnwrap(rects.first?.number("height"))
        XCTAssertEqual(w, h)
        XCTAssertLessThan(try XCTUnwrap(cell(0, 0)?.number("y")), try XCTUnwrap(cell(2, 0)?.number("y")))
        // Each token labels a row and a column (escaped on the way in, intact on the way out).
        for t in tokens { XCTAssertEqual(doc.text(t).count, 2, t) }
        XCTAssertEqual(doc.all("rect").filter { $0.inherited.count == 2 && $0.inherited[1]["shape-rendering"] == "crispEdges" }.count, 64,
                       "colour bar bands")
        XCTAssertEqual(doc.text("1.0").count, 1, "colour bar top tick")
    }

    func testViridisEnds() {
        XCTAssertEqual(Palette.viridis(0), "#440154")
        XCTAssertEqual(Palette.viridis(1), "#fde725")
        XCTAssertEqual(Palette.viridis(0.5), "#26828e")
        XCTAssertEqual(Palette.viridis(-3), "#440154", "clamped")
    }

    func testMaskedCellsAreGrey() throws {
        let fig = try Figure()
        try fig.heatmap([[1, -.infinity], [0.5, 0.25]])
        let rects = cells(try ParsedSVG(fig.svg()))
        XCTAssertEqual(rects.filter { $0.resolved("fill") == "#d9d9d9" }.count, 1)
    }

    func testExplicitRangeClampsColours() throws {
        let fig = try Figure()
        try fig.heatmap([[0, 5, 10]], range: 0...5)
        XCTAssertEqual(cells(try ParsedSVG(fig.svg())).filter { $0.resolved("fill") == "#fde725" }.count, 2)
    }

    func testHeatmapErrors() throws {
        XCTAssertThrowsError(try Figure().heatmap([])) { XCTAssertEqual($0 as? PlotError, .emptyData(series: "heatmap")) }
        XCTAssertThrowsError(try Figure().heatmap([[1, 2], [3]])) {
            XCTAssertEqual($0 as? PlotError, .raggedMatrix(row: 1, expected: 2, got: 1))
        }
        XCTAssertThrowsError(try Figure().heatmap([[1, 2]], columnLabels: ["a"])) {
            XCTAssertEqual($0 as? PlotError, .labelCountMismatch(axis: "x", expected: 2, got: 1))
        }
        XCTAssertThrowsError(try Figure().heatmap([[.nan]])) { XCTAssertEqual($0 as? PlotError, .noFiniteValues(series: "heatmap")) }
        let fig = try Figure()
        try fig.heatmap([[1]])
        XCTAssertThrowsError(try fig.heatmap([[1]])) { XCTAssertEqual($0 as? PlotError, .incompatibleKinds(existing: .heatmap, adding: .heatmap)) }
    }

    func testLargeMatricesAreAveragedInBlocks() throws {
        let n = 180
        let fig = try Figure(width: 160, height: 160)
        // Row r holds r everywhere, so 3 x 3 blocks average to the middle row of each block.
        try fig.heatmap((0..<n).map { r in [Double](repeating: Double(r), count: n) })
        let rects = cells(try ParsedSVG(fig.svg()))
        XCTAssertEqual(rects.count, 60 * 60, "budget 80 per side: blocks of 3")
        let firstRow = rects.compactMap { $0.number("y") }.min()
        let top = rects.filter { $0.number("y") == firstRow }
        XCTAssertEqual(Set(top.map { $0.resolved("fill")! }), [Palette.viridis(1.0 / 179)], "block mean of rows 0, 1, 2")
    }

    func testManyTokensThinTheLabels() throws {
        let n = 60
        let tokens = (0..<n).map { "tok\($0)" }
        let fig = try Figure()
        try fig.heatmap((0..<n).map { r in (0..<n).map { Double(($0 + r) % 7) } }, rowLabels: tokens, columnLabels: tokens)
        let doc = try ParsedSVG(fig.svg())
        let shown = doc.all("text").filter { $0.text.hasPrefix("tok") }
        XCTAssertLessThan(shown.count, 2 * n)
        XCTAssertGreaterThan(shown.count, 10)
        XCTAssertEqual(doc.text("tok0").count, 2)
    }
}
