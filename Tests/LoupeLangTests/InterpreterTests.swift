import Foundation
import XCTest
@testable import LoupeLang
import LoupeLibrary

final class InterpreterTests: XCTestCase {
    func makeInterpreter() throws -> (Interpreter, () -> [String]) {
        let interp = try Interpreter(registry: LoupeLibrary.makeRegistry())
        var out = ""
        interp.output = { out += $0 }
        return (interp, { out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) })
    }

    func testRunReturnsLastValue() throws {
        let (i, _) = try makeInterpreter()
        XCTAssertTrue(Value.equal(try i.run("1 + 2", file: "t"), .int(3)))
        XCTAssertTrue(Value.equal(try i.run("let x = 3", file: "t"), .nil))
        XCTAssertTrue(Value.equal(try i.run("x * 2; x + 1", file: "t"), .int(4)))
    }
}
