import XCTest
@testable import LoupePlot

/// The module links; real tests live beside this file, one file per area.
final class LoupePlotSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(LoupePlot.self as Any.Type?) }
}
