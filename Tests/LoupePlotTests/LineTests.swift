import XCTest
@testable import LoupePlot

/// The pixel position of each tick label drawn on an axis: x labels are centred under their tick, y labels
/// end left of theirs, so the labels tell where the figure put each data value.
func tickPositions(_ doc: ParsedSVG) -> (x: [String: Double], y: [String: Double]) {
    var x: [String: Double] = [:], y: [String: Double] = [:]
    for t in doc.all("text") where t.attributes["font-size"] == nil {
        if t.attributes["text-anchor"] == "middle", let v = t.number("x") { x[t.text] = v }
        if t.attributes["text-anchor"] == "end", t.attributes["transform"] == nil, let v = t.number("y") { y[t.text] = v }
    }
    return (x, y)
}

/// Paths drawn with a stroke and no fill: the lines of series (not grid, axes or bands).
func seriesPaths(_ doc: ParsedSVG) -> [ParsedSVG.Element] {
    doc.all("path").filter { $0.attributes["stroke-width"] == "2" && $0.ancestors.contains("g") }
}

final class LineTests: XCTestCase {
    func testPathPointsSitAtTheirDataCoordinates() throws {
        let fig = try Figure(width: 400, height: 300)
        let xs: [Double] = [0, 1, 2, 3, 4], ys: [Double] = [0, 2, 1, 3, 4]
        try fig.line(x: xs, y: ys)
        let doc = try ParsedSVG(fig.svg())
        let ticks = tickPositions(doc)
        // x ticks step by 0.5 (labels "0", "0.5", ... "4.0"); y ticks by 1.
        let x0 = try XCTUnwrap(ticks.x["0"]), x4 = try XCTUnwrap(ticks.x["4.0"])
        let y0 = try XCTUnwrap(ticks.y["0"]), y4 = try XCTUnwrap(ticks.y["4"])
        XCTAssertLessThan(y4, y0, "y grows upwards")
        let path = try XCTUnwrap(seriesPaths(doc).first?.attributes["d"])
        let points = subpaths(path)
        XCTAssertEqual(points.count, 1)
        XCTAssertEqual(points[0].count, 5)
        for (i, p) in points[0].enumerated() {
            XCTAssertEqual(p.0, x0 + xs[i] / 4 * (x4 - x0), accuracy: 0.011, "x of point \(i)")
            XCTAssertEqual(p.1, y0 + ys[i] / 4 * (y4 - y0), accuracy: 0.011, "y of point \(i)")
        }
        XCTAssertEqual(seriesPaths(doc).first?.attributes["stroke"], Palette.series[0])
    }

    func testNonFiniteValuesBreakTheLine() throws {
        let fig = try Figure()
        try fig.line(y: [1, 2, .nan, 3, 4, .infinity, 5, 6])
        let doc = try ParsedSVG(fig.svg())
        let pieces = subpaths(try XCTUnwrap(seriesPaths(doc).first?.attributes["d"]))
        XCTAssertEqual(pieces.map(\.count), [2, 2, 2])
        // A point alone between gaps is a dot, not an invisible zero-length path.
        let lone = try Figure()
        try lone.line(y: [1, .nan, 2, 3])
        let loneDoc = try ParsedSVG(lone.svg())
        XCTAssertEqual(loneDoc.all("circle").count, 1)
        XCTAssertEqual(subpaths(try XCTUnwrap(seriesPaths(loneDoc).first?.attributes["d"])).map(\.count), [2])
    }

    func testLogAxisPlacesDecadesEvenlyAndRefusesNonPositiveValues() throws {
        let fig = try Figure(logY: true)
        try fig.line(y: [1, 10, 100, 1000])
        let pts = subpaths(try XCTUnwrap(seriesPaths(try ParsedSVG(fig.svg())).first?.attributes["d"]))[0]
        let gaps = zip(pts, pts.dropFirst()).map { $1.1 - $0.1 }
        for g in gaps { XCTAssertEqual(g, gaps[0], accuracy: 0.02) }

        let bad = try Figure(logY: true)
        XCTAssertThrowsError(try bad.line(y: [1, 0, 2], name: "loss")) { e in
            XCTAssertEqual(e as? PlotError, .nonPositiveOnLogAxis(axis: "y", series: "loss", index: 1, value: 0))
            XCTAssertEqual("\(e)", "series 'loss': value 0 at index 1 cannot be shown on a log y axis (log axes need values > 0)")
        }
        let badX = try Figure(logX: true)
        XCTAssertThrowsError(try badX.scatter(x: [1, -2], y: [1, 2])) { e in
            XCTAssertEqual(e as? PlotError, .nonPositiveOnLogAxis(axis: "x", series: "series 1", index: 1, value: -2))
        }
        XCTAssertThrowsError(try bad.line(y: [1, 2], band: (lo: [0.5, -1], hi: [2, 3]))) { e in
            XCTAssertEqual(e as? PlotError, .nonPositiveOnLogAxis(axis: "y", series: "series 1 (band lo)", index: 1, value: -1))
        }
        // NaN is a gap, not an error, on a log axis too.
        XCTAssertNoThrow(try bad.line(y: [1, .nan, 2]))
    }

    func testBadDataIsAClearError() throws {
        let fig = try Figure()
        XCTAssertThrowsError(try fig.line(y: [])) { XCTAssertEqual($0 as? PlotError, .emptyData(series: "series 1")) }
        XCTAssertThrowsError(try fig.line(y: [.nan, .infinity])) { XCTAssertEqual($0 as? PlotError, .noFiniteValues(series: "series 1")) }
        XCTAssertThrowsError(try fig.line(x: [1, 2], y: [1, 2, 3], name: "a")) {
            XCTAssertEqual($0 as? PlotError, .lengthMismatch(series: "a", field: "x", expected: 3, got: 2))
        }
        XCTAssertThrowsError(try fig.line(y: [1, 2, 3], name: "a", err: [1, 2])) {
            XCTAssertEqual("\($0)", "series 'a': err has 2 values but 3 are needed")
        }
        XCTAssertEqual(fig.seriesCount, 0, "failed additions leave the figure unchanged")
        try fig.line(y: [1, 2])
        XCTAssertThrowsError(try fig.bar(values: [1])) {
            XCTAssertEqual($0 as? PlotError, .incompatibleKinds(existing: .line, adding: .bar))
        }
        XCTAssertNoThrow(try fig.scatter(y: [2, 1]), "line and scatter share a figure")
    }

    func testBandsErrorBarsAndLegend() throws {
        let fig = try Figure()
        try fig.line(y: [1, 2, 3], name: "mean", band: (lo: [0.5, 1.5, 2.5], hi: [1.5, 2.5, 3.5]))
        try fig.line(y: [3, 2, 1], name: "other", err: [0.1, 0.2, .nan])
        let doc = try ParsedSVG(fig.svg())
        let band = try XCTUnwrap(doc.all("path").first { $0.attributes["fill-opacity"] == "0.2" })
        XCTAssertTrue(band.attributes["d"]!.hasSuffix("Z"))
        XCTAssertEqual(subpaths(band.attributes["d"]!).first?.count, 6, "upper edge out, lower edge back")
        XCTAssertEqual(band.attributes["fill"], Palette.series[0])
        let bars = try XCTUnwrap(doc.all("path").first { $0.attributes["stroke-width"] == "1.5" })
        XCTAssertEqual(subpaths(bars.attributes["d"]!).count, 6, "two points with error bars: a whisker and two caps each")
        XCTAssertEqual(bars.attributes["stroke"], Palette.series[1])
        XCTAssertEqual(doc.text("mean").count, 1)
        XCTAssertEqual(doc.text("other").count, 1)

        let single = try Figure()
        try single.line(y: [1, 2])
        XCTAssertFalse(single.legendShown, "one unnamed series needs no legend")
        single.showLegend = true
        XCTAssertEqual(try ParsedSVG(single.svg()).text("series 1").count, 1)
    }

    func testPaletteRepeatsWithDashes() throws {
        let fig = try Figure()
        for i in 0..<8 { try fig.line(y: [Double(i), Double(i + 1)]) }
        let paths = seriesPaths(try ParsedSVG(fig.svg()))
        XCTAssertEqual(paths.count, 8)
        XCTAssertEqual(Set(paths.prefix(7).compactMap { $0.attributes["stroke"] }).count, 7, "seven distinct colours")
        XCTAssertNil(paths[0].attributes["stroke-dasharray"])
        XCTAssertEqual(paths[7].attributes["stroke"], paths[0].attributes["stroke"])
        XCTAssertNotNil(paths[7].attributes["stroke-dasharray"], "a repeated colour is dashed")
    }

    func testScatterDrawsOneMarkerPerFinitePoint() throws {
        let fig = try Figure()
        try fig.scatter(x: [0, 1, 2, .nan, 4], y: [1, 2, 3, 4, -.infinity])
        let doc = try ParsedSVG(fig.svg())
        XCTAssertEqual(doc.all("circle").count, 3)
        XCTAssertEqual(doc.all("circle").first?.resolved("fill"), Palette.series[0])
    }
}
