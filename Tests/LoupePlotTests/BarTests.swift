import XCTest
@testable import LoupePlot

final class BarTests: XCTestCase {
    /// Bar rects (inside the clipped group), by fill colour.
    func bars(_ doc: ParsedSVG) -> [ParsedSVG.Element] {
        doc.all("rect").filter { $0.ancestors.count >= 3 && $0.resolved("fill") != nil && $0.ancestors.last == "g" }
    }

    func testGroupedBarsHaveHeightsProportionalToValues() throws {
        let fig = try Figure(width: 500, height: 300)
        try fig.bar(categories: ["a", "b", "c"], values: [1, 2, 4], name: "base")
        try fig.bar(values: [3, 0.5, 2], name: "tuned")
        let doc = try ParsedSVG(fig.svg())
        let rects = bars(doc)
        XCTAssertEqual(rects.count, 6)
        let base = rects.filter { $0.resolved("fill") == Palette.series[0] }
        let tuned = rects.filter { $0.resolved("fill") == Palette.series[1] }
        XCTAssertEqual(base.count, 3); XCTAssertEqual(tuned.count, 3)
        let unit = base[0].number("height")!
        for (r, v) in zip(base + tuned, [1.0, 2, 4, 3, 0.5, 2]) {
            XCTAssertEqual(r.number("height")!, v * unit, accuracy: 0.02 * max(v, 1))
        }
        // All bars stand on the same baseline (the y of tick "0").
        let zero = try XCTUnwrap(tickPositions(doc).y["0"])
        for r in rects { XCTAssertEqual(r.number("y")! + r.number("height")!, zero, accuracy: 0.011) }
        // Within a category the series sit side by side, base first.
        XCTAssertLessThan(base[1].number("x")!, tuned[1].number("x")!)
        XCTAssertLessThan(tuned[0].number("x")!, base[1].number("x")!)
        XCTAssertEqual(doc.text("b").count, 1, "category label")
        XCTAssertEqual(doc.text("tuned").count, 1, "legend")
    }

    func testNegativeBarsHangBelowZeroAndErrorBarsAreDrawn() throws {
        let fig = try Figure()
        try fig.bar(categories: ["up", "down"], values: [2, -1], err: [0.5, 0.25])
        let doc = try ParsedSVG(fig.svg())
        let zero = try XCTUnwrap(tickPositions(doc).y["0"])
        let rects = bars(doc)
        XCTAssertEqual(rects[0].number("y")! + rects[0].number("height")!, zero, accuracy: 0.011)
        XCTAssertEqual(rects[1].number("y")!, zero, accuracy: 0.011)
        let whiskers = try XCTUnwrap(doc.all("path").first { $0.attributes["stroke-width"] == "1.2" })
        XCTAssertEqual(subpaths(whiskers.attributes["d"]!).count, 6)
    }

    func testBarErrors() throws {
        let fig = try Figure()
        try fig.bar(categories: ["a", "b"], values: [1, 2])
        XCTAssertThrowsError(try fig.bar(values: [1, 2, 3], name: "x")) {
            XCTAssertEqual($0 as? PlotError, .lengthMismatch(series: "x", field: "values", expected: 2, got: 3))
        }
        XCTAssertThrowsError(try fig.bar(categories: ["a", "c"], values: [1, 2]))
        XCTAssertThrowsError(try fig.line(y: [1])) { XCTAssertEqual($0 as? PlotError, .incompatibleKinds(existing: .bar, adding: .line)) }
        let log = try Figure(logY: true)
        XCTAssertThrowsError(try log.bar(values: [1, 0])) {
            XCTAssertEqual($0 as? PlotError, .nonPositiveOnLogAxis(axis: "y", series: "series 1", index: 1, value: 0))
        }
        XCTAssertThrowsError(try Figure().bar(values: [])) { XCTAssertEqual($0 as? PlotError, .emptyData(series: "series 1")) }
    }

    func testLongCategoryLabelsSlant() throws {
        let fig = try Figure(width: 300, height: 300)
        try fig.bar(categories: (0..<8).map { "a long category \($0)" }, values: (0..<8).map(Double.init))
        let labels = try ParsedSVG(fig.svg()).all("text").filter { $0.text.hasPrefix("a long") }
        XCTAssertFalse(labels.isEmpty)
        for l in labels { XCTAssertTrue(l.attributes["transform"]?.hasPrefix("rotate(-45") ?? false) }
    }
}
