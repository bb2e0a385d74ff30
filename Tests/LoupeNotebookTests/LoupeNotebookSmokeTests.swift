import XCTest
@testable import LoupeNotebook

/// The module links; real tests live beside this file, one file per area.
final class LoupeNotebookSmokeTests: XCTestCase {
    func testModuleLinks() { XCTAssertNotNil(LoupeNotebook.self as Any.Type?) }
}
