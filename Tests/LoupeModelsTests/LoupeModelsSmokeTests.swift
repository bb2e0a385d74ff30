import XCTest
@testable import LoupeModels

/// The module links; real tests live beside this file, one file per area.
final class LoupeModelsSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(LoupeModels.self as Any.Type?) }
}
