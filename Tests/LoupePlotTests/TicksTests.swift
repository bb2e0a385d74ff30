import XCTest
@testable import LoupePlot

final class TicksTests: XCTestCase {
    func labels(_ lo: Double, _ hi: Double, _ scale: Scale = .linear) -> [String] {
        Axis.covering(lo, hi, scale: scale).ticks.map(\.label)
    }

    func testNiceStepsAreOneTwoFive() {
        XCTAssertEqual(Ticks.niceStep(span: 1, target: 5), .init(mantissa: 2, power: -1))
        XCTAssertEqual(Ticks.niceStep(span: 100, target: 5), .init(mantissa: 2, power: 1))
        XCTAssertEqual(Ticks.niceStep(span: 7, target: 5), .init(mantissa: 1, power: 0))
        XCTAssertEqual(Ticks.niceStep(span: 30, target: 5), .init(mantissa: 5, power: 0))
        XCTAssertEqual(Ticks.niceStep(span: 0.0004, target: 5), .init(mantissa: 1, power: -4))
        // 8 / 5 = 1.6 lies above sqrt(2), so 2; 6.5 / 5 = 1.3 lies below, so 1.
        XCTAssertEqual(Ticks.niceStep(span: 8, target: 5), .init(mantissa: 2, power: 0))
        XCTAssertEqual(Ticks.niceStep(span: 6.5, target: 5), .init(mantissa: 1, power: 0))
    }

    func testLinearTicksEncloseTheDataOnStepMultiples() {
        XCTAssertEqual(labels(0, 1), ["0", "0.2", "0.4", "0.6", "0.8", "1.0"])
        XCTAssertEqual(labels(0, 100), ["0", "20", "40", "60", "80", "100"])
        XCTAssertEqual(labels(-3.7, 12.1), ["-4", "-2", "0", "2", "4", "6", "8", "10", "12", "14"])
        XCTAssertEqual(labels(0.3, 0.9), ["0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9"])
        let t = Ticks.linear(0.3, 0.9)
        XCTAssertEqual(t.domain, 0.3...0.9, "data ending on ticks adds no extra tick")
        XCTAssertEqual(t.values[4], 0.7, "no 0.7000000000000001 from repeated addition")
    }

    func testDegenerateRangeIsWidened() {
        let t = Ticks.linear(5, 5)
        XCTAssertTrue(t.domain.lowerBound < 5 && t.domain.upperBound > 5)
        XCTAssertEqual(t.step, .init(mantissa: 2, power: -1))
        XCTAssertEqual(labels(0, 0), ["-1.0", "-0.5", "0", "0.5", "1.0"])
    }

    func testLargeAndSmallValuesUseExponents() {
        XCTAssertEqual(labels(0, 5e6), ["0", "1e6", "2e6", "3e6", "4e6", "5e6"])
        XCTAssertEqual(labels(0, 2.5e6), ["0", "5e5", "1e6", "1.5e6", "2e6", "2.5e6"])
        XCTAssertEqual(labels(0, 4e-5), ["0", "1e-5", "2e-5", "3e-5", "4e-5"])
        XCTAssertEqual(labels(0, 4e-4), ["0", "0.0001", "0.0002", "0.0003", "0.0004"])
    }

    func testLogTicksOnDecades() {
        let t = Ticks.log(1, 1000)
        XCTAssertEqual(t.major, [1, 10, 100, 1000])
        XCTAssertEqual(t.domain, 1...1000)
        XCTAssertEqual(t.minor.count, 3 * 8)
        XCTAssertEqual(labels(0.002, 30, .log), ["0.001", "0.01", "0.1", "1", "10", "100"])
        // Within one or two decades, 2 and 5 are labelled too.
        XCTAssertEqual(labels(0.15, 8, .log), ["0.1", "0.2", "0.5", "1", "2", "5", "10"])
        // Many decades: every k-th, at most about 8 labels, exponent form outside 0.001...100000.
        let wide = labels(1e-12, 1e12, .log)
        XCTAssertEqual(wide, ["1e-12", "1e-9", "1e-6", "0.001", "1", "1000", "1e6", "1e9", "1e12"])
        XCTAssertEqual(Ticks.log(10, 10).domain, 10...100)
    }

    func testExplicitTicksKeepTheirLabels() {
        let axis = Axis.labelled(Figure.indexTicks(["a", "b", "c"]), 0, 2, scale: .linear)
        XCTAssertEqual(axis.ticks.map(\.label), ["a", "b", "c"])
        XCTAssertEqual(axis.domain, 0...2)
    }
}
