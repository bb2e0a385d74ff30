import XCTest
import LoupeLang
import LoupeLibrary
import LoupeTensor

/// Runs Loupe snippets through the interpreter with the library's registry and the standard library loaded.
final class LibraryEndToEndTests: XCTestCase {
    static let shared: Interpreter = try! Interpreter(registry: LoupeLibrary.makeRegistry())

    /// The value of the last statement, as its repr.
    func eval(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        let interp = LibraryEndToEndTests.shared
        do { return try interp.run(source, file: "test.loupe").repr } catch {
            XCTFail("\(source): \(error)", file: file, line: line)
            return ""
        }
    }

    func check(_ source: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(eval(source, file: file, line: line), expected, source, file: file, line: line)
    }

    func checkError(_ source: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let v = try LibraryEndToEndTests.shared.run(source, file: "test.loupe")
            XCTFail("expected an error, got \(v.repr)", file: file, line: line)
        } catch let e as LoupeError {
            XCTAssertTrue(e.message.hasPrefix(message), "message: \(e.message)", file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testBuiltinsFromLoupe() {
        check("[3, 1, 2] |> sort", "[1, 2, 3]")
        check("sort([\"bb\", \"a\", \"ccc\"], key: len, reverse: true)", #"["ccc", "bb", "a"]"#)
        check("0..5 |> filter(fn(x) -> x % 2 == 0) |> map(fn(x) -> x * 10)", "[0, 20, 40]")
        check("reduce(1..5, fn(a, b) -> a * b)", "24")
        check("for [i, x] in enumerate([\"a\", \"b\"]) { }; zip([1, 2], [3, 4])", "[[1, 3], [2, 4]]")
        check("group_by([1, 2, 3, 4], fn(x) -> if x % 2 == 0 { \"even\" } else { \"odd\" })", "{odd: [1, 3], even: [2, 4]}")
        check("json.parse(\"{\\\"a\\\": [1, 2.5]}\").a", "[1, 2.5]")
        check("json.stringify({a: 1, b: [true, nil]})", #""{\"a\":1,\"b\":[true,null]}""#)
        check("round(sum([0.1, 0.2]), digits: 3)", "0.3")
        check("split(\"a,b\", \",\") |> join(\"-\")", #""a-b""#)
        check("upper(\"abc\")", #""ABC""#)
        check("format(0.25, \".0%\")", #""25%""#)
    }

    func testTensorsFromLoupe() {
        check("shape(zeros([2, 3]))", "[2, 3]")
        check("tolist(sum(tensor([[1, 2], [3, 4]]), axis: -1))", "[3.0, 7.0]")
        check("round(sum(softmax(randn([4, 5], seed: 1))), digits: 4)", "4.0")
        check("argmax([1, 5, 2])", "1")
        check("tolist(argmax(tensor([[1, 5, 2], [9, 0, 0]]), axis: -1), ints: true)", "[1, 0]")
        check("let t = topk(tensor([3, 1, 2]), 2); tolist(t.indices, ints: true)", "[0, 2]")
        check("let d = linalg.svd(eye(3)); tolist(d.s)", "[1.0, 1.0, 1.0]")
        check("nn.cross_entropy([[0, 0]], [1]) > 0.69", "true")
        check("if mean(tensor([0, 0, 1])) > 0.5 { \"high\" } else { \"low\" }", #""low""#)
        check("mean(tensor([0.5, 0.9]))", "0.7")
        checkError("sum(zeros([2]), axis: 3)", "sum: axis 3 is out of range")
        checkError("matmul(zeros([2, 3]), zeros([2, 3]))", "matmul: shapes (2, 3) and (2, 3) do not match")
        checkError("zeros(\"a\")", "zeros: argument 'shape' must be an int or a list of ints, got string")
    }

    func testStdlib() {
        check("chunks([1, 2, 3, 4, 5], 2)", "[[1, 2], [3, 4], [5]]")
        check("windows([1, 2, 3], 2)", "[[1, 2], [2, 3]]")
        check("median([3, 1, 2, 10])", "2.5")
        check("quantile([1, 2, 3, 4, 5], 0.5)", "3.0")
        check("max_by([{n: 1}, {n: 5}, {n: 3}], fn(r) -> r.n)", "{n: 5}")
        check("tally([\"a\", \"b\", \"a\"])", "{a: 2, b: 1}")
        check("cumulative([1, 2, 3])", "[1, 3, 6]")
        check("compose(fn(x) -> x + 1, fn(x) -> x * 2)(5)", "11")
        check("product([2, 3, 4])", "24")
        check("irange(1, 3)", "1..4")
        check("math.pi > 3.14 and pi < 3.15", "true")
        check("percent(0.1234)", #""12.3%""#)
        check("bar(0.5, 4)", #""██  ""#)
        check("table([{name: \"a\", score: 0.5}, {name: \"bbb\", score: 12}])",
              #""name  score\n----  -----\na       0.5\nbbb      12""#)
        checkError("chunks([1], 0)", "chunks: argument 'n' must be positive, got 0")
    }
}
