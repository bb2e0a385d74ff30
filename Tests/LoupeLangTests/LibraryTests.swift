import XCTest
import LoupeLang
import LoupeLibrary
import LoupeTensor

/// Calls built-ins straight through the registry (matching arguments to parameters here, as the interpreter
/// does), so the library is tested independently of the interpreter.
final class LibraryTests: XCTestCase {
    lazy var registry: BuiltinRegistry = LoupeLibrary.makeRegistry()

    /// Matches positionals then keywords to the built-in's parameters, fills defaults, and runs it.
    func call(_ name: String, _ positional: [Value] = [], _ keywords: KeyValuePairs<String, Value> = [:]) throws -> Value {
        guard let b = registry.lookup(name) else { XCTFail("no built-in \(name)"); return .nil }
        return try invoke(b, positional, Array(keywords))
    }

    func invoke(_ b: Builtin, _ positional: [Value], _ keywords: [(String, Value)] = []) throws -> Value {
        var values: [Value?] = Array(repeating: nil, count: b.parameters.count)
        let positionalParams = b.parameters.indices.filter { !b.parameters[$0].keywordOnly }
        guard positional.count <= positionalParams.count else {
            throw LoupeError(.type, "\(b.name): too many arguments")
        }
        for (i, v) in positional.enumerated() { values[positionalParams[i]] = v }
        for (k, v) in keywords {
            guard let i = b.parameters.firstIndex(where: { $0.name == k }) else { throw LoupeError(.type, "\(b.name): unknown argument '\(k)'") }
            values[i] = v
        }
        for (i, p) in b.parameters.enumerated() where values[i] == nil {
            guard let d = p.defaultValue else { throw LoupeError(.type, "\(b.name): missing argument '\(p.name)'") }
            values[i] = d
        }
        let args = Arguments(function: b.name, names: b.parameters.map(\.name), values: values.map { $0! }, span: nil,
                             call: { [unowned self] f, xs in
                                 guard case let .function(fn) = f, let bf = fn as? Builtin else { throw LoupeError(.type, "not callable") }
                                 return try self.invoke(bf, xs)
                             })
        return try b.body(args)
    }

    /// A Loupe function value backed by Swift, for map/filter/sort tests.
    func fn(_ arity: Int = 1, _ body: @escaping ([Value]) throws -> Value) -> Value {
        let params = (0..<arity).map { Parameter("p\($0)") }
        return .function(Builtin(name: "<lambda>", parameters: params, doc: "") { a in try body(a.values) })
    }

    func list(_ xs: Value...) -> Value { .list(xs) }
    func ints(_ xs: Int...) -> Value { .list(xs.map { .int($0) }) }
    func floats(_ xs: Double...) -> Value { .list(xs.map { .float($0) }) }

    func assertEqual(_ a: Value, _ b: Value, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(a.repr == b.repr && a.typeName == b.typeName, "\(a.repr) != \(b.repr)", file: file, line: line)
    }

    func assertError(_ name: String, _ positional: [Value], _ keywords: KeyValuePairs<String, Value>,
                     _ message: String, kind: LoupeError.Kind? = nil, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let v = try call(name, positional, keywords)
            XCTFail("expected an error, got \(v.repr)", file: file, line: line)
        } catch let e as LoupeError {
            XCTAssertTrue(e.message.hasPrefix(message), "message: \(e.message)", file: file, line: line)
            if let kind { XCTAssertEqual(e.kind, kind, file: file, line: line) }
        } catch {
            XCTFail("not a LoupeError: \(error)", file: file, line: line)
        }
    }

    func assertError(_ name: String, _ positional: [Value], _ message: String, kind: LoupeError.Kind? = nil,
                     file: StaticString = #filePath, line: UInt = #line) {
        assertError(name, positional, [:], message, kind: kind, file: file, line: line)
    }

    func tensorValue(_ v: Value, file: StaticString = #filePath, line: UInt = #line) -> Tensor? {
        guard case let .tensor(t) = v else { XCTFail("not a tensor: \(v.repr)", file: file, line: line); return nil }
        return t
    }

    func assertTensor(_ v: Value, _ shape: [Int], _ data: [Float], accuracy: Float = 1e-5,
                      file: StaticString = #filePath, line: UInt = #line) {
        guard let t = tensorValue(v, file: file, line: line) else { return }
        XCTAssertEqual(t.shape, shape, file: file, line: line)
        let xs = t.scalars
        XCTAssertEqual(xs.count, data.count, file: file, line: line)
        for (x, y) in zip(xs, data) { XCTAssertEqual(x, y, accuracy: accuracy, "\(xs) vs \(data)", file: file, line: line) }
    }

    func assertFloat(_ v: Value, _ x: Float, accuracy: Double = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
        guard case let .float(d) = v else { return XCTFail("not a float: \(v.repr)", file: file, line: line) }
        XCTAssertEqual(d, Double(x), accuracy: accuracy, file: file, line: line)
    }

    // MARK: - Registry

    func testEveryBuiltinHasASummary() {
        XCTAssertGreaterThan(registry.names.count, 120)
        for name in registry.names {
            let doc = registry.lookup(name)!.doc
            let first = doc.split(separator: "\n").first.map(String.init) ?? ""
            XCTAssertFalse(first.trimmingCharacters(in: .whitespaces).isEmpty, "\(name) has no summary")
        }
        XCTAssertEqual(Set(registry.namespaces), ["json", "linalg", "nn", "model", "plot", "metrics", "ml", "availability", "train"])
    }

    func testInstallSkipsNamesTheCoreRegistered() {
        let reg = BuiltinRegistry()
        reg.register(nil, "sum", [Parameter("x")], doc: "other sum") { _ in .int(-1) }
        LoupeLibrary.install(into: reg)
        XCTAssertEqual(reg.lookup("sum")?.doc, "other sum")
        XCTAssertNotNil(reg.lookup("mean"))
    }

    // MARK: - Values

    func testConversions() throws {
        assertEqual(try call("int", [.float(-2.7)]), .int(-2))
        assertEqual(try call("int", [.string(" 42 ")]), .int(42))
        assertEqual(try call("int", [.string("0x1F")]), .int(31))
        assertEqual(try call("int", [.bool(true)]), .int(1))
        assertError("int", [.string("4.5")], "int: argument 'value' is not an integer: \"4.5\"")
        assertError("int", [.float(.nan)], "int: argument 'value' cannot be converted to an int: nan")
        assertError("int", [.list([])], "int: argument 'value' must be a number, string, bool or tensor, got list", kind: .type)
        assertEqual(try call("float", [.string("1e-3")]), .float(0.001))
        assertEqual(try call("float", [.int(3)]), .float(3))
        XCTAssertTrue({ if case let .float(d) = try! call("float", [.string("nan")]) { return d.isNaN }; return false }())
        assertEqual(try call("float", [.tensor(Tensor(scalar: 1.5))]), .float(1.5))
        assertEqual(try call("bool", [.int(0)]), .bool(true))
        assertEqual(try call("bool", [.nil]), .bool(false))
    }

    func testDocComments() throws {
        let docs = LoupeLibrary.docComments(in: """
            # doc: Doubles a number.
            # Works on ints and floats.
            fn double(x) { x * 2 }

            # A plain comment.
            fn plain(x) { x }
            # doc: The answer.
            let answer = 42
            """)
        XCTAssertEqual(docs, ["double": "Doubles a number.\nWorks on ints and floats.", "answer": "The answer."])
        // Every function of the Loupe stdlib has one.
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/LoupeLang/Resources/stdlib")
        for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) where file.hasSuffix(".loupe") {
            let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
            let docs = LoupeLibrary.docComments(in: text)
            for line in text.split(separator: "\n") where line.hasPrefix("fn ") {
                let name = String(line.dropFirst(3).prefix { $0 != "(" })
                XCTAssertNotNil(docs[name], "\(file): fn \(name) has no # doc: comment")
            }
        }
    }

    func testHelp() throws {
        guard case let .string(h) = try call("help", [.function(registry.lookup("softmax")!)]) else { return XCTFail() }
        XCTAssertTrue(h.hasPrefix("softmax(t, axis = -1)\n\nexp(t) / sum(exp(t))"), h)
    }

    func testErrorAndAssert() {
        assertError("assert", [.bool(false)], "assertion failed", kind: .user)
        XCTAssertNoThrow(try call("assert", [.int(1)]))
        XCTAssertNoThrow(try call("clock"))
    }

    // MARK: - Numbers

    func testMath() throws {
        assertEqual(try call("sqrt", [.int(9)]), .float(3))
        assertEqual(try call("exp", [.int(0)]), .float(1))
        assertEqual(try call("log", [.float(1)]), .float(0))
        assertEqual(try call("abs", [.int(-3)]), .int(3))
        assertEqual(try call("abs", [.float(-3)]), .float(3))
        assertTensor(try call("sqrt", [floats(4, 9)]), [2], [2, 3])
        assertTensor(try call("exp", [.tensor(Tensor([0, 1]))]), [2], [1, Float(M_E)])
        assertEqual(try call("sigmoid", [.int(0)]), .float(0.5))
        assertError("sqrt", [.string("x")], "sqrt: argument 'x' must be a number, a tensor or a list of numbers, got string", kind: .type)
        assertEqual(try call("round", [.float(2.5)]), .int(2))
        assertEqual(try call("round", [.float(3.5)]), .int(4))
        assertEqual(try call("round", [.float(3.14159)], ["digits": .int(2)]), .float(3.14))
        assertEqual(try call("floor", [.float(-1.5)]), .int(-2))
        assertEqual(try call("ceil", [.float(1.2)]), .int(2))
        assertError("round", [.float(1)], ["digits": .string("2")], "round: argument 'digits' must be an int, got string", kind: .type)
    }

    func testMinMaxSum() throws {
        assertEqual(try call("max", [.int(1), .float(2.5)]), .float(2.5))
        assertEqual(try call("min", [ints(3, 1, 2)]), .int(1))
        assertEqual(try call("max", [list(.string("b"), .string("c"), .string("a"))]), .string("c"))
        assertEqual(try call("max", [list(.string("bb"), .string("c"))], ["key": fn { a in if case let .string(s) = a[0] { return .int(s.count) }; return .nil }]), .string("bb"))
        assertError("max", [.list([])], "max: argument 'x' is empty")
        assertError("min", [list(.int(1), .string("a"))], "min: cannot compare string with int", kind: .type)
        assertEqual(try call("sum", [ints(1, 2, 3)]), .int(6))
        assertEqual(try call("sum", [list(.int(1), .float(0.5))]), .float(1.5))
        assertEqual(try call("sum", [.list([])]), .int(0))
        assertEqual(try call("sum", [.range(RangeValue(start: 0, end: 5))]), .int(10))
        assertEqual(try call("sum", [.range(RangeValue(start: 10, end: 0, step: -3))]), .int(22))
        assertEqual(try call("sum", [.range(RangeValue(start: 0, end: 1_000_000_000))]), .int(499_999_999_500_000_000))
        assertError("sum", [.range(RangeValue(start: 0, end: 10_000_000_000))], "sum: integer overflow")
        assertError("sum", [ints(Int.max, 1)], "sum: integer overflow")
        let t = Value.tensor(try Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]))
        assertFloat(try call("sum", [t]), 21)
        assertTensor(try call("sum", [t], ["axis": .int(-1)]), [2], [6, 15])
        assertTensor(try call("sum", [t], ["axis": .int(0), "keepdims": .bool(true)]), [1, 3], [5, 7, 9])
        assertTensor(try call("max", [t], ["axis": .int(1)]), [2], [3, 6])
        assertFloat(try call("min", [t]), 1)
        assertTensor(try call("max", [t, .int(4)]), [2, 3], [4, 4, 4, 4, 5, 6])
        assertError("sum", [t], ["axis": .int(5)], "sum: axis 5 is out of range", kind: .shape)
        assertError("sum", [t], ["axis": .string("x")], "sum: argument 'axis' must be an int, a list of ints or nil, got string", kind: .type)
    }

    // MARK: - Lists

    func testRangeAndSort() throws {
        guard case let .range(r) = try call("range", [.int(5)]) else { return XCTFail() }
        XCTAssertEqual(r, RangeValue(start: 0, end: 5, step: 1))
        guard case let .range(r2) = try call("range", [.int(5), .int(0), .int(-2)]) else { return XCTFail() }
        XCTAssertEqual(r2.count, 3)
        assertError("range", [.int(0), .int(5), .int(0)], "range: argument 'step' must not be zero")
        assertEqual(try call("sort", [ints(3, 1, 2)]), ints(1, 2, 3))
        assertEqual(try call("sort", [ints(3, 1, 2)], ["reverse": .bool(true)]), ints(3, 2, 1))
        // Stable with a key, also when reversed.
        let pairs = list(ints(1, 0), ints(0, 1), ints(1, 2), ints(0, 3))
        let first = fn { a in if case let .list(p) = a[0] { return p[0] }; return .nil }
        assertEqual(try call("sort", [pairs], ["key": first]), list(ints(0, 1), ints(0, 3), ints(1, 0), ints(1, 2)))
        assertEqual(try call("sort", [pairs], ["key": first, "reverse": .bool(true)]), list(ints(1, 0), ints(1, 2), ints(0, 1), ints(0, 3)))
        assertError("sort", [list(.int(1), .string("a"))], "sort: cannot compare", kind: .type)
        // Numbers take a fast path: stable (1 before 1.0 as given), nan last in both directions.
        let mixed = list(.float(2.5), .int(1), .float(.nan), .float(1), .int(-3))
        XCTAssertEqual(try call("sort", [mixed]).repr, "[-3, 1, 1.0, 2.5, nan]")
        XCTAssertEqual(try call("sort", [mixed], ["reverse": .bool(true)]).repr, "[2.5, 1, 1.0, -3, nan]")
        assertEqual(try call("sort", [ints(Int.max, Int.max - 1, 0)]), ints(0, Int.max - 1, Int.max))
        let words = list(.string("b"), .string("é"), .string("a"), .string("ab"), .string("Z"), .string(""))
        assertEqual(try call("sort", [words]), list(.string(""), .string("Z"), .string("a"), .string("ab"), .string("b"), .string("é")))
        assertTensor(try call("sort", [.tensor(Tensor([3, 1, 2]))]), [3], [1, 2, 3])
        assertTensor(try call("sort", [.tensor(Tensor([3, 1, 2]))], ["reverse": .bool(true)]), [3], [3, 2, 1])
        assertError("sort", [.tensor(Tensor([1])), ], ["key": first], "sort: argument 'key' is not supported for tensors")
        assertEqual(try call("reverse", [ints(1, 2)]), ints(2, 1))
        assertEqual(try call("reverse", [.string("abc")]), .string("cba"))
        assertEqual(try call("append", [ints(1), .int(2)]), ints(1, 2))
        assertEqual(try call("concat", [ints(1), ints(2)]), ints(1, 2))
        assertEqual(try call("concat", [list(ints(1), ints(2, 3))]), ints(1, 2, 3))
        assertTensor(try call("concat", [list(.tensor(Tensor([1])), floats(2, 3))]), [3], [1, 2, 3])
        assertEqual(try call("unique", [list(.int(1), .float(1), .int(2), .int(1))]), ints(1, 2))
        assertEqual(try call("index_of", [ints(5, 6), .int(6)]), .int(1))
        assertEqual(try call("index_of", [.string("héllo"), .string("l")]), .int(2))
        assertEqual(try call("contains", [.range(RangeValue(start: 0, end: 10, step: 2)), .int(4)]), .bool(true))
        assertEqual(try call("contains", [.string("hello"), .string("ell")]), .bool(true))
        assertEqual(try call("repeat", [.string("ab"), .int(2)]), .string("abab"))
        assertError("repeat", [.string("ab"), .int(1 << 40)], "repeat: argument 'n' is too large")
        assertError("range", [.int(Int.min), .int(Int.max)], "range: range from")
        assertError("map", [.range(RangeValue(start: 0, end: 1 << 40)), fn { $0[0] }], "map: a range of 1099511627776 elements is too large to make into a list")
        assertError("max", [.range(RangeValue(start: 0, end: 1 << 40))], "max: a range of 1099511627776 elements is too large")
        assertError("tensor", [.range(RangeValue(start: 0, end: 1 << 40))], "tensor: argument 'data' is too large: refusing to allocate")
        assertEqual(try call("contains", [.range(RangeValue(start: -5, end: 5, step: 3)), .int(1)]), .bool(true))
        assertError("enumerate", [ints(1, 2)], ["start": .int(Int.max)], "enumerate: argument 'start' is too large")
        assertError("tolist", [.tensor(Tensor([0.5]))], ["ints": .bool(true)], "tolist: argument 't' holds a value 0.5 that is not a whole number")
        assertError("one_hot", [floats(1e30), .int(3)], "one_hot: argument 'indices' holds an index too large for an int")
    }

    func testFunctional() throws {
        let double = fn { a in if case let .int(i) = a[0] { return .int(i * 2) }; return .nil }
        let even = fn { a in if case let .int(i) = a[0] { return .bool(i % 2 == 0) }; return .nil }
        let add = fn(2) { a in if case let .int(x) = a[0], case let .int(y) = a[1] { return .int(x + y) }; return .nil }
        let r5 = Value.range(RangeValue(start: 0, end: 5))
        assertEqual(try call("map", [r5, double]), ints(0, 2, 4, 6, 8))
        assertEqual(try call("filter", [r5, even]), ints(0, 2, 4))
        assertEqual(try call("reduce", [r5, add]), .int(10))
        assertEqual(try call("reduce", [r5, add, .int(5)]), .int(15))
        assertError("reduce", [.list([]), add], "reduce: argument 'xs' is empty")
        assertEqual(try call("zip", [ints(1, 2, 3), list(.string("a"), .string("b"))]), list(list(.int(1), .string("a")), list(.int(2), .string("b"))))
        assertEqual(try call("enumerate", [list(.string("a"))], ["start": .int(1)]), list(list(.int(1), .string("a"))))
        assertEqual(try call("any", [r5, even]), .bool(true))
        assertEqual(try call("all", [r5, even]), .bool(false))
        assertEqual(try call("all", [.list([])]), .bool(true))
        assertEqual(try call("take", [r5, .int(2)]), ints(0, 1))
        assertEqual(try call("drop", [r5, .int(3)]), ints(3, 4))
        assertEqual(try call("flat_map", [ints(1, 2), fn { a in .list([a[0], a[0]]) }]), ints(1, 1, 2, 2))
        assertEqual(try call("find", [r5, fn { a in .bool(a[0].repr == "3") }]), .int(3))
        assertEqual(try call("count", [r5, even]), .int(3))
        assertEqual(try call("partition", [r5, even]), list(ints(0, 2, 4), ints(1, 3)))
        guard case let .record(g) = try call("group_by", [r5, even]) else { return XCTFail() }
        XCTAssertEqual(g.keys, ["true", "false"])
        assertEqual(g["true"]!, ints(0, 2, 4))
        guard case let .record(c) = try call("count_by", [list(.string("a"), .string("b"), .string("a")), fn { a in a[0] }]) else { return XCTFail() }
        assertEqual(.record(c), .record(Record(["a": .int(2), "b": .int(1)])))
        assertEqual(try call("sort_by", [ints(3, 1, 2), fn { a in if case let .int(i) = a[0] { return .int(-i) }; return .nil }]), ints(3, 2, 1))
        assertError("map", [ints(1), .int(3)], "map: argument 'f' must be a function, got int", kind: .type)
        assertError("map", [.int(3), double], "map: argument 'xs' must be a list, range, string, record or tensor, got int", kind: .type)
    }

    // MARK: - Strings and records

    func testStrings() throws {
        assertEqual(try call("join", [list(.string("a"), .int(1))], ["sep": .string(", ")]), .string("a, 1"))
        assertEqual(try call("join", [list(.string("a"), .string("b")), .string("-")]), .string("a-b"))
        assertEqual(try call("split", [.string(" a  b ")]), list(.string("a"), .string("b")))
        assertEqual(try call("split", [.string("a,b,,c"), .string(",")]), list(.string("a"), .string("b"), .string(""), .string("c")))
        assertEqual(try call("upper", [.string("aé")]), .string("AÉ"))
        assertEqual(try call("strip", [.string("  x \n")]), .string("x"))
        assertEqual(try call("rstrip", [.string("x--")], ["chars": .string("-")]), .string("x"))
        assertEqual(try call("replace", [.string("aXbX"), .string("X"), .string("-")]), .string("a-b-"))
        assertEqual(try call("starts_with", [.string("loupe"), .string("lo")]), .bool(true))
        assertEqual(try call("ends_with", [.string("loupe"), .string("x")]), .bool(false))
        assertEqual(try call("lines", [.string("a\r\nb\n")]), list(.string("a"), .string("b")))
        assertEqual(try call("format", [.float(0.1234), .string(".1%")]), .string("12.3%"))
        assertEqual(try call("format", [.int(1234567), .string(",")]), .string("1,234,567"))
        assertEqual(try call("format", [.int(42), .string(">6d")]), .string("    42"))
        assertEqual(try call("format", [.float(3.14159), .string("08.3f")]), .string("0003.142"))
        assertEqual(try call("format", [.string("ab"), .string("*^6")]), .string("**ab**"))
        assertEqual(try call("format", [.float(-1.5), .string("+.2e")]), .string("-1.50e+00"))
        assertError("format", [.float(1.5), .string("d")], "format: argument 'spec' format type 'd' needs an int")
        assertEqual(try call("pad", [.int(7), .int(3)], ["align": .string("right"), "fill": .string("0")]), .string("007"))
        assertError("upper", [.int(1)], "upper: argument 's' must be a string, got int", kind: .type)
    }

    func testRecords() throws {
        let r = Value.record(Record(["a": .int(1), "b": .int(2)]))
        assertEqual(try call("keys", [r]), list(.string("a"), .string("b")))
        assertEqual(try call("values", [r]), ints(1, 2))
        assertEqual(try call("items", [r]), list(list(.string("a"), .int(1)), list(.string("b"), .int(2))))
        assertEqual(try call("has", [r, .string("a")]), .bool(true))
        assertEqual(try call("has", [r, .string("z")]), .bool(false))
        assertEqual(try call("get", [r, .string("z"), .int(0)]), .int(0))
        assertEqual(try call("from_pairs", [list(list(.string("x"), .int(1)))]), .record(Record(["x": .int(1)])))
        assertEqual(try call("without", [r, .string("a")]), .record(Record(["b": .int(2)])))
        assertError("has", [.int(1), .string("a")], "has: argument 'r' must be a record, got int", kind: .type)
    }

    // MARK: - JSON

    func testJSON() throws {
        let v = try call("json.parse", [.string(#"{"a": [1, 2.5, "x\u00e9", true, null], "b": {"c": -3e2}}"#)])
        guard case let .record(r) = v else { return XCTFail() }
        XCTAssertEqual(r.keys, ["a", "b"])
        assertEqual(r["a"]!, list(.int(1), .float(2.5), .string("xé"), .bool(true), .nil))
        assertEqual(try call("json.stringify", [v]), .string(#"{"a":[1,2.5,"xé",true,null],"b":{"c":-300.0}}"#))
        assertEqual(try call("json.stringify", [ints(1, 2)], ["indent": .int(2)]), .string("[\n  1,\n  2\n]"))
        assertEqual(try call("json.parse", [.string("\"\\ud83d\\ude00\"")]), .string("😀"))
        assertEqual(try call("json.stringify", [.tensor(try Tensor(shape: [2, 2], data: [1, 2, 3, 4.5]))]), .string("[[1.0,2.0],[3.0,4.5]]"))
        assertError("json.parse", [.string("{\"a\": }")], "json.parse: argument 'text' is not valid JSON: unexpected character at line 1, column 7")
        assertError("json.parse", [.string("[1,\n 2,]")], "json.parse: argument 'text' is not valid JSON: unexpected character at line 2, column 4")
        assertError("json.stringify", [.float(.nan)], "json.stringify: argument 'value' holds nan")
    }

    // MARK: - Tensors

    func testCreation() throws {
        assertTensor(try call("tensor", [list(ints(1, 2), ints(3, 4))]), [2, 2], [1, 2, 3, 4])
        assertTensor(try call("tensor", [.float(2)]), [], [2])
        assertError("tensor", [list(ints(1, 2), ints(3))], "tensor: argument 'data' is ragged: expected 2 elements at [1], got 1")
        assertError("tensor", [list(.int(1), .string("a"))], "tensor: argument 'data' must hold only numbers, found string at [1]")
        assertError("tensor", [.string("a")], "tensor: argument 'data' must be a tensor or a list of numbers, got string", kind: .type)
        assertTensor(try call("zeros", [ints(2, 1)]), [2, 1], [0, 0])
        assertTensor(try call("ones", [.int(2)]), [2], [1, 1])
        assertTensor(try call("full", [ints(2), .float(0.5)]), [2], [0.5, 0.5])
        assertError("zeros", [ints(-1)], "zeros: argument 'shape' must not have negative dimensions, got (-1,)")
        assertTensor(try call("arange", [.int(3)]), [3], [0, 1, 2])
        assertTensor(try call("arange", [.int(1), .int(2), .float(0.5)]), [2], [1, 1.5])
        assertTensor(try call("linspace", [.int(0), .int(1)], ["num": .int(3)]), [3], [0, 0.5, 1])
        assertTensor(try call("eye", [.int(2)]), [2, 2], [1, 0, 0, 1])
        let a = try call("randn", [ints(2, 3)], ["seed": .int(7)])
        let b = try call("randn", [ints(2, 3)], ["seed": .int(7)])
        XCTAssertEqual(tensorValue(a)?.scalars, tensorValue(b)?.scalars)
        XCTAssertEqual(tensorValue(a)?.scalars, try Tensor.randn([2, 3], seed: 7).scalars)
        assertError("randn", [ints(2)], ["seed": .int(-1)], "randn: argument 'seed' must be a non-negative int, got -1")
        // Unseeded draws differ from call to call, but a fresh registry repeats them.
        let c = tensorValue(try call("randn", [.int(4)]))!.scalars, d = tensorValue(try call("randn", [.int(4)]))!.scalars
        XCTAssertNotEqual(c, d)
        registry = LoupeLibrary.makeRegistry()
        XCTAssertEqual(tensorValue(try call("randn", [.int(4)]))!.scalars, c)
        assertError("randint", [.int(3), .int(3), .int(1)], "randint: argument 'high' must be above low (3), got 3")
        guard case let .list(sh) = try call("shuffle", [.range(RangeValue(start: 0, end: 10))], ["seed": .int(3)]) else { return XCTFail() }
        XCTAssertEqual(Set(sh.map(\.repr)), Set((0..<10).map(String.init)))
        let u = tensorValue(try call("rand", [.int(100)]))!.scalars
        XCTAssertTrue(u.allSatisfy { $0 >= 0 && $0 < 1 })
        let k = tensorValue(try call("randint", [.int(0), .int(3), .int(50)], ["seed": .int(1)]))!.scalars
        XCTAssertTrue(k.allSatisfy { $0 >= 0 && $0 < 3 && $0 == $0.rounded() })
    }

    func testShapeOps() throws {
        let t = Value.tensor(try Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]))
        assertEqual(try call("shape", [t]), ints(2, 3))
        assertEqual(try call("ndim", [t]), .int(2))
        assertEqual(try call("size", [t]), .int(6))
        assertEqual(try call("tolist", [t]), list(floats(1, 2, 3), floats(4, 5, 6)))
        assertEqual(try call("tolist", [t], ["ints": .bool(true)]), list(ints(1, 2, 3), ints(4, 5, 6)))
        assertEqual(try call("item", [.tensor(Tensor([7]))]), .float(7))
        assertError("item", [t], "item: argument 't' must have exactly one element, got shape (2, 3)")
        assertTensor(try call("reshape", [t, ints(3, -1)]), [3, 2], [1, 2, 3, 4, 5, 6])
        assertError("reshape", [t, ints(4, -1)], "reshape:", kind: .shape)
        assertTensor(try call("transpose", [t]), [3, 2], [1, 4, 2, 5, 3, 6])
        assertTensor(try call("permute", [t, ints(1, 0)]), [3, 2], [1, 4, 2, 5, 3, 6])
        assertTensor(try call("unsqueeze", [t, .int(0)]), [1, 2, 3], [1, 2, 3, 4, 5, 6])
        assertTensor(try call("squeeze", [.tensor(try Tensor.zeros([1, 2, 1]))]), [2], [0, 0])
        assertTensor(try call("stack", [list(t, t)], ["axis": .int(0)]), [2, 2, 3], [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6])
        assertTensor(try call("concat", [list(t, t)], ["axis": .int(1)]), [2, 6], [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6])
        guard case let .list(parts) = try call("split", [t, .int(3)], ["axis": .int(1)]) else { return XCTFail() }
        XCTAssertEqual(parts.count, 3)
        assertTensor(parts[2], [2, 1], [3, 6])
        assertTensor(try call("flip", [t], ["axis": .int(1)]), [2, 3], [3, 2, 1, 6, 5, 4])
        assertError("concat", [list(t, .tensor(Tensor([1])))], "concat:", kind: .shape)
    }

    func testTensorMath() throws {
        let t = Value.tensor(try Tensor(shape: [2, 2], data: [1, 2, 3, 4]))
        assertTensor(try call("matmul", [t, t]), [2, 2], [7, 10, 15, 22])
        assertError("matmul", [t, .tensor(Tensor([1, 2, 3]))], "matmul: shapes (2, 2) and (3,)", kind: .shape)
        assertFloat(try call("dot", [floats(1, 2), floats(3, 4)]), 11)
        assertTensor(try call("outer", [floats(1, 2), floats(1, 2)]), [2, 2], [1, 2, 2, 4])
        let sm = try call("softmax", [floats(0, 0)])
        assertTensor(sm, [2], [0.5, 0.5])
        assertTensor(try call("log_softmax", [t], ["axis": .int(-1)]), [2, 2], [-1.3132616, -0.3132616, -1.3132616, -0.3132616])
        assertTensor(try call("where", [floats(1, 0), .int(5), floats(7, 8)]), [2], [5, 8])
        assertTensor(try call("clamp", [floats(-1, 0.5, 2)], ["min": .int(0), "max": .int(1)]), [3], [0, 0.5, 1])
        assertTensor(try call("cumsum", [floats(1, 2, 3)]), [3], [1, 3, 6])
        assertTensor(try call("relu", [floats(-1, 2)]), [2], [0, 2])
        assertFloat(try call("cosine_similarity", [floats(1, 0), floats(1, 1)]), Float(0.5.squareRoot()))
        assertTensor(try call("cosine_similarity", [list(floats(1, 0), floats(0, 2)), floats(0, 1)]), [2], [0, 1])
        assertTensor(try call("normalize", [list(floats(3, 4), floats(0, 0))]), [2, 2], [0.6, 0.8, 0, 0])
        assertTensor(try call("mean", [t], ["axis": .int(0)]), [2], [2, 3])
        assertEqual(try call("mean", [ints(1, 2)]), .float(1.5))
        assertFloat(try call("variance", [floats(1, 2, 3, 4)]), 1.25)
        assertFloat(try call("std", [floats(1, 2, 3, 4)], ["ddof": .int(1)]), 1.2909944)
        assertFloat(try call("logsumexp", [floats(0, 0)]), Float(M_LN2))
        assertFloat(try call("norm", [floats(3, 4)]), 5)
        assertFloat(try call("norm", [floats(3, -4)], ["p": .int(1)]), 7)
    }

    func testIndexing() throws {
        let t = Value.tensor(try Tensor(shape: [2, 3], data: [1, 9, 3, 7, 5, 6]))
        assertEqual(try call("argmax", [t]), .int(1))
        assertTensor(try call("argmax", [t], ["axis": .int(-1)]), [2], [1, 0])
        assertTensor(try call("argmin", [t], ["axis": .int(0)]), [3], [0, 1, 0])
        guard case let .record(top) = try call("topk", [t, .int(2)]) else { return XCTFail() }
        assertTensor(top["values"]!, [2, 2], [9, 3, 7, 6])
        assertTensor(top["indices"]!, [2, 2], [1, 2, 0, 2])
        assertTensor(try call("argsort", [floats(3, 1, 2)]), [3], [1, 2, 0])
        assertTensor(try call("take_along_axis", [t, list(ints(0), ints(2))], ["axis": .int(1)]), [2, 1], [1, 6])
        assertTensor(try call("index_select", [t, ints(1)]), [1, 3], [7, 5, 6])
        assertError("index_select", [t, ints(2)], "index_select: index 2 is out of range", kind: .index)
        assertError("index_select", [t, floats(0.5)], "index_select: argument 'indices' must hold whole numbers, got 0.5")
        assertTensor(try call("one_hot", [ints(2, 0), .int(3)]), [2, 3], [0, 0, 1, 1, 0, 0])
        assertTensor(try call("embedding", [t, ints(1, 1)]), [2, 3], [7, 5, 6, 7, 5, 6])
        // argmax results feed straight back in as indices.
        let idx = try call("argmax", [t], ["axis": .int(-1)])
        assertTensor(try call("one_hot", [idx, .int(3)]), [2, 3], [0, 1, 0, 1, 0, 0])
    }

    func testScalarsFromTensors() throws {
        // Whole reductions give floats with the float32 value's shortest decimal...
        assertEqual(try call("mean", [.tensor(Tensor([0.5, 0.9]))]), .float(0.7))
        assertEqual(try call("item", [.tensor(Tensor([0.7]))]), .float(0.7))
        assertEqual(try call("tolist", [.tensor(Tensor([0.1, 2]))]), floats(0.1, 2))
        // ...but stay 0-d tensors while differentiating, so gradients flow.
        let w = Tensor([1, 2]).requiringGrad()
        guard let loss = tensorValue(try call("sum", [.tensor(w)])) else { return }
        try loss.backward()
        XCTAssertEqual(w.grad?.scalars, [1, 1])
    }

    func testLinalgAndNN() throws {
        let a = Value.tensor(try Tensor(shape: [2, 2], data: [2, 0, 0, 3]))
        guard case let .record(svd) = try call("linalg.svd", [a]) else { return XCTFail() }
        XCTAssertEqual(svd.keys, ["u", "s", "vt"])
        assertTensor(svd["s"]!, [2], [3, 2])
        guard case let .record(eig) = try call("linalg.eigh", [a]) else { return XCTFail() }
        assertTensor(eig["values"]!, [2], [2, 3])
        guard case let .record(qr) = try call("linalg.qr", [a]) else { return XCTFail() }
        XCTAssertEqual(qr.keys, ["q", "r"])
        assertTensor(try call("linalg.solve", [a, floats(2, 3)]), [2], [1, 1])
        assertTensor(try call("linalg.inv", [a]), [2, 2], [0.5, 0, 0, 1.0 / 3])
        guard case let .record(ls) = try call("linalg.lstsq", [a, floats(2, 3)]) else { return XCTFail() }
        assertTensor(ls["solution"]!, [2], [1, 1])
        assertEqual(ls["rank"]!, .int(2))
        assertError("linalg.solve", [.tensor(try Tensor.zeros([2, 2])), floats(1, 1)], "linalg.solve: ")
        assertError("linalg.qr", [floats(1, 2)], "linalg.qr: ")
        assertTensor(try call("nn.layer_norm", [floats(1, 3)]), [2], [-1, 1], accuracy: 1e-3)
        assertTensor(try call("nn.rms_norm", [floats(1, 1)]), [2], [1, 1], accuracy: 1e-3)
        assertFloat(try call("nn.cross_entropy", [list(floats(0, 0)), ints(1)]), Float(M_LN2))
        let q = Value.tensor(try Tensor.randn([3, 4], seed: 1))
        let out = try call("nn.attention", [q, q, q], ["causal": .bool(true)])
        XCTAssertEqual(tensorValue(out)?.shape, [3, 4])
        // The first query attends only to the first key.
        XCTAssertEqual(Array(tensorValue(out)!.scalars[0..<4]), Array(tensorValue(q)!.scalars[0..<4]))
    }

    /// Every built-in, called with odd values (nil, extreme ints, nan, empty and ragged lists, empty and 3-d
    /// tensors, functions) in every positional slot and keyword, returns or throws: none traps.
    func testNoBuiltinTrapsOnOddArguments() throws {
        let reg = LoupeLibrary.makeRegistry()
        let id = Value.function(Builtin(name: "id", parameters: [Parameter("x")], doc: "") { $0.values[0] })
        let pool: [Value] = [.nil, .int(0), .int(-1), .int(2), .int(Int.max), .int(Int.min), .int(1 << 40), .float(.nan), .float(-0.5), .float(1e300),
                             .string("a,b"), .string(""), .list([]), .list([.int(1), .int(2)]), .list([.list([.int(1), .int(2)]), .list([.int(3), .int(4)])]),
                             .list([.string("x"), .int(1)]), .tensor(try Tensor(shape: [2, 2], data: [1, 2, 3, 4])), .tensor(Tensor(scalar: 3)),
                             .tensor(try Tensor(shape: [0, 2], data: [])), .bool(true), .record(Record(["a": .int(1)])), .range(RangeValue(start: 0, end: 3)), id,
                             .tensor(try Tensor(shape: [2, 1, 3], data: [1, .nan, 3, -4, 5, .infinity])), .list([.float(.nan), .float(1)])]
        let small: [Value] = [.nil, .int(-1), .int(1), .float(.nan), .string("a"), .list([.int(0)]), .tensor(Tensor([1, 2])), id]
        var calls = 0
        for name in reg.names {
            let b = reg.lookup(name)!
            let positional = b.parameters.filter { !$0.keywordOnly }
            let n = min(positional.count, 3)
            func run(_ args: [Value]) {
                var vals = b.parameters.map { $0.defaultValue ?? .nil }
                for (i, v) in args.enumerated() { vals[b.parameters.firstIndex { $0.name == positional[i].name }!] = v }
                let a = Arguments(function: name, names: b.parameters.map(\.name), values: vals, span: nil) { f, xs in
                    guard case let .function(fn) = f, let bf = fn as? Builtin else { throw LoupeError(.type, "x") }
                    return try bf.body(Arguments(function: bf.name, names: bf.parameters.map(\.name), values: Array(xs.prefix(bf.parameters.count)) + Array(repeating: .nil, count: max(0, bf.parameters.count - xs.count)), span: nil, call: { _, _ in .nil }))
                }
                calls += 1
                _ = try? b.body(a)
            }
            if n == 0 { run([]) }
            else if n == 1 { for x in pool { run([x]) } }
            else if n == 2 { for x in pool { for y in pool { run([x, y]) } } }
            else { for x in pool { for y in small { for z in small { run([x, y, z]) } } } }
            // keywords: each keyword-only parameter set to each pool value, first positional a tensor
            for p in b.parameters where p.keywordOnly {
                for v in pool { for first in small + [.tensor(try Tensor(shape: [2, 2], data: [1, 2, 3, 4]))] {
                    var vals = b.parameters.map { $0.defaultValue ?? .nil }
                    if let f = positional.first { vals[b.parameters.firstIndex { $0.name == f.name }!] = first }
                    vals[b.parameters.firstIndex { $0.name == p.name }!] = v
                    calls += 1
                    _ = try? b.body(Arguments(function: name, names: b.parameters.map(\.name), values: vals, span: nil, call: { _, _ in .nil }))
                } }
            }
        }
        XCTAssertGreaterThan(calls, 50_000)
    }
}
