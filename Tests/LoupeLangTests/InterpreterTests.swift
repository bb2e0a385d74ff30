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

extension InterpreterTests {
    func testGlobalsPersistAndReset() throws {
        let (i, _) = try makeInterpreter()
        try i.run("let a = 1\nvar b = 2\nfn f(x) { x + a }", file: "cell1")
        XCTAssertTrue(Value.equal(try i.run("b = b + 1; f(b)", file: "cell2"), .int(4)))
        XCTAssertTrue(i.globalNames.contains("f"))
        XCTAssertTrue(i.globalNames.contains("len"))
        XCTAssertNotNil(i.global("a"))
        i.reset()
        XCTAssertNil(i.global("a"))
        XCTAssertThrowsError(try i.run("a", file: "cell3")) { e in
            XCTAssertEqual((e as? LoupeError)?.kind, .name)
        }
    }

    func testRedeclarationInLaterCell() throws {
        let (i, _) = try makeInterpreter()
        try i.run("let x = 1", file: "c1")
        try i.run("let x = 2", file: "c2")
        XCTAssertTrue(Value.equal(try i.run("x", file: "c3"), .int(2)))
    }

    /// Code compiled against a top-level name keeps reading the value it was compiled with after a later line
    /// re-declares the name (regression: the old storage was freed and the function read a dangling pointer).
    func testFunctionsKeepTheBindingTheyWereCompiledAgainst() throws {
        let (i, _) = try makeInterpreter()
        try i.run("let x = 1", file: "c1")
        try i.run("fn g() { x }", file: "c2")
        try i.run("var y = [1, 2]", file: "c3")
        try i.run("fn h() { y }", file: "c4")
        for k in 0..<200 {
            try i.run("let x = \"v\(k)\"", file: "c5")
            try i.run("var y = \"w\(k)\"", file: "c6")
            XCTAssertEqual(try i.run("g()", file: "c7").repr, "1")
            XCTAssertEqual(try i.run("h()", file: "c8").repr, "[1, 2]")
        }
        XCTAssertEqual(try i.run("x", file: "c9").repr, "\"v199\"")
    }

    func testCallWithKeywords() throws {
        let (i, _) = try makeInterpreter()
        let f = try i.run("fn(a, b = 10) -> a * b", file: "t")
        XCTAssertTrue(Value.equal(try i.call(f, [.int(2)]), .int(20)))
        XCTAssertTrue(Value.equal(try i.call(f, [.int(2)], keywords: [("b", .int(3))]), .int(6)))
        XCTAssertThrowsError(try i.call(f, [], keywords: [("c", .int(3))]))
        XCTAssertThrowsError(try i.call(.int(1), []))
    }

    func testOutputRedirection() throws {
        let (i, lines) = try makeInterpreter()
        try i.run("print(1, \"a\", [\"b\"])\nprint(f\"{2 + 2}\")", file: "t")
        XCTAssertEqual(lines(), ["1 a [\"b\"]", "4"])
    }

    func testJSON() throws {
        let (i, _) = try makeInterpreter()
        let v = try i.run("{a: [1, 2.5, \"x\", nil, true], b: {c: 0..3}}", file: "t")
        XCTAssertEqual(try v.json(), #"{"a": [1, 2.5, "x", null, true], "b": {"c": [0, 1, 2]}}"#)
        XCTAssertThrowsError(try i.run("fn() -> 1", file: "t").json())
    }

    func testCheckReportsAllNameErrorsWithoutRunning() throws {
        let (i, lines) = try makeInterpreter()
        let errors = i.check("print(1)\nlet a = foo1\nlet b = qux2\nlet c = 1\nc = 2", file: "t.loupe")
        XCTAssertEqual(errors.map(\.kind), [.name, .name, .name])
        XCTAssertEqual(errors.map { $0.span?.line }, [2, 3, 5])
        XCTAssertEqual(lines(), [])
        XCTAssertEqual(i.check("let x = (1", file: "t").first?.kind, .syntax)
        XCTAssertNotNil(i.source(of: "t.loupe"))
    }

    func testRenderedErrorHasCaret() throws {
        let (i, _) = try makeInterpreter()
        let src = "let length = 1\nlet n = lenght + 1"
        do {
            try i.run(src, file: "script.loupe")
            XCTFail("expected an error")
        } catch let e as LoupeError {
            XCTAssertEqual(e.rendered(source: i.source(of: "script.loupe")), """
                script.loupe:2:9: error: undefined name 'lenght' (did you mean 'length'?)
                    let n = lenght + 1
                            ^~~~~~
                """)
        }
    }

    func testInterruptStopsARunawayLoop() throws {
        let (i, _) = try makeInterpreter()
        let done = expectation(description: "interrupted")
        DispatchQueue.global().async {
            do {
                try i.run("var n = 0\nwhile true { n += 1 }", file: "loop")
            } catch let e as LoupeError {
                XCTAssertEqual(e.kind, .interrupted)
                XCTAssertEqual(e.message, "interrupted")
                done.fulfill()
            } catch {}
        }
        Thread.sleep(forTimeInterval: 0.3)
        Interpreter.requestInterrupt()
        wait(for: [done], timeout: 10)
        // The interpreter is still usable afterwards.
        XCTAssertTrue(Value.equal(try i.run("1 + 1", file: "t"), .int(2)))
    }

    func testDeepRecursionIsAnErrorNotACrash() throws {
        let (i, _) = try makeInterpreter()
        i.maxDepth = 50_000
        XCTAssertTrue(Value.equal(try i.run("fn d(n) { if n == 0 { 0 } else { 1 + d(n - 1) } }\nd(40000)", file: "t"), .int(40000)))
        XCTAssertThrowsError(try i.run("d(60000)", file: "t")) { e in
            XCTAssertEqual((e as? LoupeError)?.kind, .stackOverflow)
            XCTAssertEqual((e as? LoupeError)?.message, "stack overflow at depth 50000")
        }
    }

    /// The value stack is `.nil`-filled lazily, 16k slots at a time: frames that cross those steps, including
    /// ones entered from a built-in's callback, see their arguments and captures; running out of slots (rather
    /// than depth, at ~8 slots a frame) is the same clear error, and the interpreter works afterwards.
    func testValueStackGrowsOnDemandAndOverflowsCleanly() throws {
        let (i, _) = try makeInterpreter()
        i.maxDepth = 200_000
        let program = """
        let base = 7
        fn wide(n, tag) {
          let a = n * 2
          let b = [tag, a]
          let c = nil
          let d = base
          if n == 0 { return [c, d, b] }
          if n % 1000 == 0 { let r = map([n], fn(k) -> wide(k - 1, tag)); return r[0] }
          wide(n - 1, tag)
        }
        wide(20000, "t")
        """
        let v = try i.run(program, file: "t")
        XCTAssertEqual(v.repr, "[nil, 7, [\"t\", 0]]")
        XCTAssertThrowsError(try i.run("wide(190000, \"u\")", file: "t")) { e in
            XCTAssertEqual((e as? LoupeError)?.kind, .stackOverflow)
            // The 1M slots ran out before the depth limit did.
            let depth = Int((e as? LoupeError)?.message.split(separator: " ").last ?? "") ?? 0
            XCTAssertTrue(depth > 100_000 && depth < 160_000, "\(depth)")
        }
        XCTAssertEqual(try i.run("wide(3, \"v\")", file: "t").repr, "[nil, 7, [\"v\", 0]]")
    }

    func testBuiltinCallbacksAndNamespaces() throws {
        let reg = BuiltinRegistry()
        reg.register("ns", "twice", [Parameter("f", .function), Parameter("x", .int, default: .int(1))], doc: "calls f twice") { a in
            try a.call(a[0], [try a.call(a[0], [a[1]])])
        }
        reg.register(nil, "boom", [], doc: "fails") { _ in throw LoupeError(.value, "boom") }
        let i = try Interpreter(registry: reg, loadStdlib: false)
        XCTAssertTrue(Value.equal(try i.run("ns.twice(fn(v) -> v * 3, x: 2)", file: "t"), .int(18)))
        XCTAssertThrowsError(try i.run("ns.twice(fn(v) -> v, x: \"s\")", file: "t")) { e in
            XCTAssertEqual((e as? LoupeError)?.message, "ns.twice: argument 'x' must be an int, got string")
        }
        XCTAssertThrowsError(try i.run("\n  boom()", file: "t")) { e in
            XCTAssertEqual((e as? LoupeError)?.span?.line, 2)
        }
        XCTAssertTrue(i.globalNames.contains("ns"))
    }
}

extension InterpreterTests {
    func testDefineFromHost() throws {
        let (i, _) = try makeInterpreter()
        i.define("params", .record(Record(keys: ["n"], values: [.int(5)])))
        XCTAssertTrue(Value.equal(try i.run("params.n * 2", file: "t"), .int(10)))
        XCTAssertThrowsError(try i.run("params = 1", file: "t"))
    }
}

extension InterpreterTests {
    func testTensorJSONAndDisplay() throws {
        let (i, _) = try makeInterpreter()
        try i.run("let t = tensor([[1, 2.5], [3, 4]])", file: "t")
        let t = try i.run("t", file: "t")
        XCTAssertEqual(try t.json(), "[[1.0, 2.5], [3.0, 4.0]]")
        XCTAssertEqual(Value.string("a\"b").display, "a\"b")
        XCTAssertEqual(Value.string("a\"b").repr, "\"a\\\"b\"")
        XCTAssertEqual(try i.run("t[1, 0]", file: "t").repr, "3.0")
    }

    func testErrorsFromNestedCallsCarryATrace() throws {
        let (i, _) = try makeInterpreter()
        XCTAssertThrowsError(try i.run("fn inner(x) { x + \"s\" }\nfn outer(x) { inner(x) }\nouter(1)", file: "t.loupe")) { e in
            let err = e as! LoupeError
            XCTAssertEqual(err.kind, .type)
            XCTAssertEqual(err.span?.line, 1)
            XCTAssertEqual(err.trace, ["in inner called at t.loupe:2:20", "in outer called at t.loupe:3:6"])
        }
    }
}
