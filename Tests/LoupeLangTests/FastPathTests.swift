import XCTest
@testable import LoupeLang
import LoupeLibrary

/// The fused nodes (`if n < k { n } else { f(..) + f(..) }`, `a + b + c` on slots) must give the same values and
/// the same errors as the unfused code they replace.
final class FastPathTests: XCTestCase {
    private func run(_ src: String) throws -> Value {
        let interp = try Interpreter(registry: LoupeLibrary.makeRegistry())
        interp.output = { _ in }
        return try interp.run(src, file: "t")
    }

    private func error(_ src: String) throws -> LoupeError? {
        do { _ = try run(src); return nil } catch let e as LoupeError { return e }
    }

    func testFusedIfAddOfTwoCalls() throws {
        XCTAssertTrue(Value.equal(try run("fn g(n) { if n < 2 { n } else { g(n - 1) + g(n - 2) } }; g(20)"), .int(6765)))
        XCTAssertTrue(Value.equal(try run("fn h(n) { if n < 2 { 1.5 } else { h(n - 1) + h(n - 2) } }; h(3)"), .float(4.5)))
        XCTAssertTrue(Value.equal(try run("fn s(n) { if n < 1 { \"a\" } else { s(n - 1) + s(n - 1) } }; s(2)"), .string("aaaa")))
        XCTAssertTrue(Value.equal(try run("fn g(n) { if n < 2 { n } else { g(n - 1) + g(n - 2) } }; g(1.0)"), .float(1.0)))
        let fused = try error("fn b(n) { if n < 1 { 9223372036854775807 } else { b(n - 1) + b(n - 1) } }; b(1)")
        let plain = try error("fn b(n) { if n < 1 { 9223372036854775807 } else { let x = b(n - 1); x + b(n - 1) } }; b(1)")
        XCTAssertNotNil(fused)
        XCTAssertEqual(fused?.message, plain?.message)
        XCTAssertEqual(fused?.kind, plain?.kind)
        let mixed = try error("fn q(n) { if n < 1 { n } else { q(n - 1) + str(n) } }; q(1)")
        let mixedPlain = try error("fn q(n) { if n < 1 { n } else { let x = q(n - 1); x + str(n) } }; q(1)")
        XCTAssertNotNil(mixed)
        XCTAssertEqual(mixed?.message, mixedPlain?.message)
    }

    func testThreeSlotAddSub() throws {
        XCTAssertTrue(Value.equal(try run("fn f(a, b, c) { a + b - c }; f(1, 2, 3)"), .int(0)))
        XCTAssertTrue(Value.equal(try run("fn f(a, b, c) { a - b + c }; f(1, 2, 3)"), .int(2)))
        XCTAssertTrue(Value.equal(try run("fn f(a, b, c) { a + b + c }; f(1.5, 2, 0.5)"), .float(4.0)))
        XCTAssertTrue(Value.equal(try run("fn f(a, b, c) { a + b + c }; f(\"x\", \"y\", \"z\")"), .string("xyz")))
        XCTAssertTrue(Value.equal(try run("fn c(n) { let k = 3; let add = fn(a, b) -> a + b + k; var s = 0; for i in 0..n { s = add(s, i) }; s }; c(10)"), .int(75)))
        // The inner operator is at column 19, the outer at 23.
        for (args, src, col) in [("9223372036854775807, 1, 0", "a + b + c", 19), ("9223372036854775807, 0, 1", "a + b + c", 23),
                                 ("-9223372036854775807, 0, 2", "a - b - c", 23), ("-9223372036854775807, 2, 0", "a - b + c", 19),
                                 ("1, \"x\", 2", "a + b + c", 19), ("1, 2, \"x\"", "a + b + c", 23)] {
            let fused = try error("fn f(a, b, c) { \(src) }; f(\(args))")
            let plain = try error("fn f(a, b, c) { let t = \(src.prefix(5)); t \(src.dropFirst(6)) }; f(\(args))")
            XCTAssertNotNil(fused, src + " " + args)
            XCTAssertEqual(fused?.message, plain?.message, src + " " + args)
            XCTAssertEqual(fused?.span?.column, col, src + " " + args)
        }
    }

    func testCallsWithArgumentsWrittenIntoTheFrame() throws {
        // A local function called with two slot arguments: a closure, a built-in, and a wrong arity.
        XCTAssertTrue(Value.equal(try run("fn f(a, b) { let g = fn(x, y) -> x * y; g(a, b) }; f(6, 7)"), .int(42)))
        XCTAssertTrue(Value.equal(try run("fn f(a, b) { let g = str; let h = fn(x, y) -> x + y; h(g(a), g(b)) }; f(1, 2)"), .string("12")))
        XCTAssertNotNil(try error("fn f(a, b) { let g = fn(x) -> x; g(a, b) }; f(1, 2)"))
        // A top-level function called with a computed argument, before and after its call site caches it.
        XCTAssertTrue(Value.equal(try run("fn d(x) { x * 2 }; fn h(n) { d(d(n)) + d(n - 1) }; h(3) + h(4)"), .int(12 + 4 + 16 + 6)))
        XCTAssertTrue(Value.equal(try run("fn d(x) { x + x }; fn h(s) { d(s + \"b\") }; h(\"a\") + h(\"c\")"), .string("ababcbcb")))
        let e = try error("fn d(x) { x }; fn h(n) { d(n + 1) }; h(9223372036854775807)")
        XCTAssertEqual(e?.message, "integer overflow in 9223372036854775807 + 1")
    }

    /// A loop that only appends to a local string grows a byte buffer in place; a loop that also reads the
    /// string (here `let seen = s`, which turns the buffering off) is the plain code. Both must agree on values,
    /// errors and what the string holds afterwards.
    func testBufferedAppendsMatchPlainAppends() throws {
        let interp = try Interpreter(registry: LoupeLibrary.makeRegistry())
        interp.output = { _ in }
        func outcome(_ src: String) -> Result<Value, LoupeError> {
            do { return .success(try interp.run(src, file: "t")) } catch let e as LoupeError { return .failure(e) } catch {
                return .failure(LoupeError(.value, "\(error)"))
            }
        }
        let pieces = ["\"x\"", "\"\\u0301\"", "\"\\ud83d\\udc4d\"", "\"h\u{e9}llo\"", "\"\\r\"", "\"\\n\"", "str(i)",
                      "f\"{i}:\"", "i", "[i]", "t", "\"\""]
        var k = 0
        for start in ["\"\"", "\"e\"", "0", "[]", "\"\\r\""] {
            for a in pieces {
                for b in pieces {
                    for form in ["s += \(a); s = s + \(b)", "s += \(a); if i == 2 { break }; s += \(b)",
                                 "if i == 3 { return 7 }; s = s + \(a); s += \(b)"] {
                        k += 1
                        let body = "var s = \(start); let t = \"ab\"; for i in 0..5 { \(form)"
                        // The same text but for one name, so that errors after the loop have the same columns.
                        let buffered = "fn b\(k)() { \(body); let seen = t }; [s, len(s), s == \"\" + s] }; b\(k)()"
                        let plain = "fn p\(k)() { \(body); let seen = s }; [s, len(s), s == \"\" + s] }; p\(k)()"
                        switch (outcome(buffered), outcome(plain)) {
                        case let (.success(x), .success(y)): XCTAssertTrue(Value.equal(x, y), buffered)
                        case let (.failure(x), .failure(y)):
                            XCTAssertEqual(x.message, y.message, buffered)
                            XCTAssertEqual(x.span?.column, y.span?.column, buffered)
                        default: XCTFail(buffered)
                        }
                    }
                }
            }
        }
        // An error part-way: the string holds what was appended before it.
        let caught = "fn c() { var s = \"\"; let r = try { for i in 0..9 { s += \"ab\"; if i == 4 { error(\"x\") } } } else e { 0 }; s }; c()"
        XCTAssertTrue(Value.equal(try run(caught), .string(String(repeating: "ab", count: 5))))
    }
}
