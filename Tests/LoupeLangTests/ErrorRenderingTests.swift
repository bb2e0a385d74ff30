import XCTest
@testable import LoupeLang

final class ErrorRenderingTests: XCTestCase {
    func testCaretUnderTheSpan() {
        let source = "let xs = [1, 2]\nlet n = lenght(xs)\n"
        let e = LoupeError(.name, "undefined name 'lenght' (did you mean 'len'?)",
                           at: SourceSpan(file: "script.loupe", line: 2, column: 9, length: 6))
        XCTAssertEqual(e.rendered(source: source), """
            script.loupe:2:9: error: undefined name 'lenght' (did you mean 'len'?)
                let n = lenght(xs)
                        ^~~~~~
            """)
    }

    func testReprOfValues() {
        let r = Value.record(Record(keys: ["name", "k", "two words"], values: [.string("a\"b\n"), .int(3), .float(0.5)]))
        XCTAssertEqual(Value.list([.nil, .bool(true), .float(2), r]).repr,
                       #"[nil, true, 2.0, {name: "a\"b\n", k: 3, "two words": 0.5}]"#)
    }
}
