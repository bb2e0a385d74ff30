import XCTest
@testable import LoupeMethods

/// The module links; real tests live beside this file, one file per area.
final class LoupeMethodsSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(LoupeMethods.self as Any.Type?) }
}
