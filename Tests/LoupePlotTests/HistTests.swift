import Foundation
import XCTest
@testable import LoupePlot

/// Histogram bins against numpy.histogram (Tests/Fixtures/make_plot_fixtures.py writes the fixture).
final class HistTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let data: [Double]
        let bins: Int
        let range: [Double]?
        let counts: [Int]
        let edges: [Double]
    }
    struct Fixture: Decodable { let numpy: String; let cases: [Case] }

    func fixture() throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "histograms", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testCountsAndEdgesMatchNumpy() throws {
        let f = try fixture()
        XCTAssertGreaterThanOrEqual(f.cases.count, 10)
        for c in f.cases {
            let range = c.range.map { $0[0]...$0[1] }
            let h = try Histogram.compute(c.data, bins: c.bins, range: range)
            XCTAssertEqual(h.counts, c.counts, c.name)
            XCTAssertEqual(h.edges.count, c.edges.count, c.name)
            for (a, b) in zip(h.edges, c.edges) { XCTAssertEqual(a, b, c.name) }
        }
    }

    func testNonFiniteValuesAreSkipped() throws {
        let c = try XCTUnwrap(try fixture().cases.first { $0.name == "normal-1000-bins10" })
        let h = try Histogram.compute(c.data + [.nan, .infinity, -.infinity], bins: c.bins)
        XCTAssertEqual(h.counts, c.counts)
        XCTAssertThrowsError(try Histogram.compute([.nan], bins: 3)) { XCTAssertEqual($0 as? PlotError, .noFiniteValues(series: "series 1")) }
    }

    func testBadBinsAndRanges() throws {
        XCTAssertThrowsError(try Histogram.compute([1, 2], bins: 0)) { XCTAssertEqual($0 as? PlotError, .invalidBins(0)) }
        XCTAssertThrowsError(try Histogram.compute([1, 2], bins: 3, range: 2...2)) {
            XCTAssertEqual($0 as? PlotError, .invalidRange(lo: 2, hi: 2))
        }
        XCTAssertThrowsError(try Figure().histogram([])) { XCTAssertEqual($0 as? PlotError, .emptyData(series: "series 1")) }
        let log = try Figure(logX: true)
        XCTAssertThrowsError(try log.histogram([1, 0, 3])) {
            XCTAssertEqual($0 as? PlotError, .nonPositiveOnLogAxis(axis: "x", series: "series 1", index: 1, value: 0))
        }
    }

    func testLogBinsAreEvenInLog10() throws {
        let h = try Histogram.compute([1, 3, 10, 30, 100, 300, 1000], bins: 3, logarithmic: true)
        XCTAssertEqual(h.edges.count, 4)
        for (e, want) in zip(h.edges, [1.0, 10, 100, 1000]) { XCTAssertEqual(e, want, accuracy: want * 1e-12) }
        XCTAssertEqual(h.counts, [2, 2, 3])
    }

    func testOneRectPerNonEmptyBinSpanningItsEdges() throws {
        let fig = try Figure(width: 400, height: 300)
        try fig.histogram([0.5, 1.5, 1.6, 3.5], bins: 4, range: 0...4)
        let doc = try ParsedSVG(fig.svg())
        let rects = doc.all("rect").filter { $0.ancestors.last == "g" && $0.ancestors.count >= 3 }
        XCTAssertEqual(rects.count, 3, "bins with counts 1, 2, 0, 1")
        let ticks = tickPositions(doc)
        let x0 = try XCTUnwrap(ticks.x["0"]), x4 = try XCTUnwrap(ticks.x["4.0"])
        let unit = (x4 - x0) / 4
        XCTAssertEqual(rects[0].number("x")!, x0, accuracy: 0.011)
        XCTAssertEqual(rects[1].number("x")!, x0 + unit, accuracy: 0.011)
        XCTAssertEqual(rects[2].number("x")!, x0 + 3 * unit, accuracy: 0.011)
        XCTAssertEqual(rects[1].number("height")!, 2 * rects[0].number("height")!, accuracy: 0.02)
    }
}
