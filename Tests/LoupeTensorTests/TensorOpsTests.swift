import Foundation
import XCTest
@testable import LoupeTensor

/// Every forward op against numpy: the cases live in Fixtures/ops.json, written by
/// Tests/Fixtures/make_tensor_fixtures.py (which documents the file's layout and the tolerances).
///
/// Each test method runs the cases of one family of ops, so a failure points at the family; within it every
/// mismatch is reported with the case name, the first differing element and both values.
final class TensorOpsTests: XCTestCase {
    // MARK: - Fixture loading

    /// What an op produced (or the fixture expects): float tensors, or integer indices.
    enum Value {
        case floats(Tensor)
        case ints(IndexTensor)
    }

    struct Case {
        let name: String
        let op: String
        let inputs: [Value]
        let args: [String: Any]
        /// nil when the case expects an error.
        let expect: [Value]?
        let errorKind: String?
        let rtol: Double
        let atol: Double
    }

    /// Parsed once for all tests (the file is ~300 KB).
    static let fixture: (numpy: String, cases: [Case]) = {
        do { return try loadFixture() } catch { fatalError("cannot load Fixtures/ops.json: \(error)") }
    }()

    static func loadFixture() throws -> (numpy: String, cases: [Case]) {
        guard let url = Bundle.module.url(forResource: "ops", withExtension: "json", subdirectory: "Fixtures")
            ?? Bundle.module.url(forResource: "ops", withExtension: "json") else {
            throw TensorError.invalidArgument(op: "fixture", message: "ops.json is not in the test bundle")
        }
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var named: [String: Value] = [:]
        for (k, v) in root["tensors"] as! [String: Any] { named[k] = try decodeValue(v) }
        func input(_ v: Any) throws -> Value {
            if let s = v as? String { return named[s]! }
            return try decodeValue(v)
        }
        let cases = try (root["cases"] as! [[String: Any]]).map { c -> Case in
            let tol = (c["tol"] as! [Any]).map(number)
            var expect: [Value]? = nil, kind: String? = nil
            if let e = c["expect"] as? [String: Any], let k = e["error"] as? String {
                kind = k
            } else if let list = c["expect"] as? [Any] {
                expect = try list.map(decodeValue)
            } else {
                expect = [try decodeValue(c["expect"]!)]
            }
            return Case(name: c["name"] as! String, op: c["op"] as! String,
                        inputs: try (c["inputs"] as! [Any]).map(input), args: c["args"] as? [String: Any] ?? [:],
                        expect: expect, errorKind: kind, rtol: tol[0], atol: tol[1])
        }
        return (root["numpy"] as? String ?? "?", cases)
    }

    /// JSON numbers arrive as NSNumber (Int or Double); NaN and infinities as strings.
    static func number(_ v: Any) -> Double {
        if let s = v as? String {
            switch s {
            case "nan": return .nan
            case "inf": return .infinity
            case "-inf": return -.infinity
            default: fatalError("bad number \(s)")
            }
        }
        return (v as! NSNumber).doubleValue
    }

    static func decodeValue(_ v: Any) throws -> Value {
        let d = v as! [String: Any]
        let shape = (d["shape"] as! [Any]).map { ($0 as! NSNumber).intValue }
        if let ints = d["ints"] as? [Any] {
            return .ints(try IndexTensor(shape: shape, data: ints.map { ($0 as! NSNumber).intValue }))
        }
        // Values are float32 written exactly as doubles (or their shortest float32 form): Float(double) is exact.
        let data = (d["data"] as! [Any]).map { Float(number($0)) }
        return .floats(try Tensor(shape: shape, data: data))
    }

    // MARK: - Running one case

    struct Args {
        let raw: [String: Any]
        func has(_ k: String) -> Bool { raw[k] != nil && !(raw[k] is NSNull) }
        func int(_ k: String) -> Int { (raw[k] as! NSNumber).intValue }
        func int(_ k: String, default d: Int) -> Int { has(k) ? int(k) : d }
        func float(_ k: String) -> Float { Float(TensorOpsTests.number(raw[k]!)) }
        func bool(_ k: String, default d: Bool = false) -> Bool { has(k) ? (raw[k] as! NSNumber).boolValue : d }
        func ints(_ k: String) -> [Int] { (raw[k] as! [Any]).map { ($0 as! NSNumber).intValue } }
        func optInts(_ k: String) -> [Int]? { has(k) ? ints(k) : nil }
        func optFloat(_ k: String) -> Float? { has(k) ? float(k) : nil }
    }

    static func sliceIndices(_ raw: [Any]) -> [SliceIndex] {
        raw.map { item -> SliceIndex in
            if let s = item as? String { return s == "newaxis" ? .newAxis : .ellipsis }
            let d = item as! [String: Any]
            if let i = d["index"] { return .index((i as! NSNumber).intValue) }
            let r = (d["range"] as! [Any]).map { ($0 as? NSNumber)?.intValue }
            return .range(r[0], r[1], r[2])
        }
    }

    /// Calls the Swift op the case names. The names are the fixture's (numpy-like) spellings.
    static func run(_ c: Case) throws -> [Value] {
        let a = Args(raw: c.args)
        func f(_ i: Int) -> Tensor { if case let .floats(t) = c.inputs[i] { return t }; fatalError("\(c.name): input \(i) is not float") }
        func ix(_ i: Int) -> IndexTensor { if case let .ints(t) = c.inputs[i] { return t }; fatalError("\(c.name): input \(i) is not int") }
        func one(_ t: Tensor) -> [Value] { [.floats(t)] }
        let floats = c.inputs.map { v -> Tensor? in if case let .floats(t) = v { return t }; return nil }
        switch c.op {
        // Creation
        case "zeros": return one(try Tensor.zeros(a.ints("shape")))
        case "ones": return one(try Tensor.ones(a.ints("shape")))
        case "full": return one(try Tensor.full(a.ints("shape"), a.float("value")))
        case "arange":
            return one(try Tensor.arange(a.optFloat("start") ?? 0, a.float("stop"), step: a.optFloat("step") ?? 1))
        case "linspace": return one(try Tensor.linspace(a.float("start"), a.float("stop"), num: a.int("num")))
        case "eye": return one(try Tensor.eye(a.int("n"), a.has("m") ? a.int("m") : nil, k: a.int("k")))
        // Binary
        case "add": return one(try f(0) + f(1))
        case "sub": return one(try f(0) - f(1))
        case "mul": return one(try f(0) * f(1))
        case "div": return one(try f(0) / f(1))
        case "pow": return one(try f(0).pow(f(1)))
        case "maximum": return one(try f(0).maximum(f(1)))
        case "minimum": return one(try f(0).minimum(f(1)))
        case "eq": return one(try f(0) == f(1))
        case "ne": return one(try f(0) != f(1))
        case "lt": return one(try f(0) < f(1))
        case "le": return one(try f(0) <= f(1))
        case "gt": return one(try f(0) > f(1))
        case "ge": return one(try f(0) >= f(1))
        case "add_scalar": return one(a.bool("left") ? try a.float("scalar") + f(0) : try f(0) + a.float("scalar"))
        case "sub_scalar": return one(a.bool("left") ? try a.float("scalar") - f(0) : try f(0) - a.float("scalar"))
        case "mul_scalar": return one(a.bool("left") ? try a.float("scalar") * f(0) : try f(0) * a.float("scalar"))
        case "div_scalar": return one(a.bool("left") ? try a.float("scalar") / f(0) : try f(0) / a.float("scalar"))
        case "pow_scalar": return one(try f(0).pow(a.float("scalar")))
        case "where": return one(try Tensor.where(f(0), f(1), f(2)))
        // Unary
        case "neg": return one(-f(0))
        case "abs": return one(f(0).abs())
        case "exp": return one(f(0).exp())
        case "log": return one(f(0).log())
        case "log1p": return one(f(0).log1p())
        case "sqrt": return one(f(0).sqrt())
        case "rsqrt": return one(f(0).rsqrt())
        case "tanh": return one(f(0).tanh())
        case "sigmoid": return one(f(0).sigmoid())
        case "silu": return one(f(0).silu())
        case "relu": return one(f(0).relu())
        case "gelu_tanh": return one(f(0).gelu(approximate: true))
        case "gelu_erf": return one(f(0).gelu(approximate: false))
        case "clamp": return one(try f(0).clamp(min: a.optFloat("min"), max: a.optFloat("max")))
        case "isnan": return one(f(0).isnan())
        case "isfinite": return one(f(0).isfinite())
        // Reductions
        case "sum": return one(try f(0).sum(axes: a.optInts("axes"), keepDims: a.bool("keepDims")))
        case "mean": return one(try f(0).mean(axes: a.optInts("axes"), keepDims: a.bool("keepDims")))
        case "max": return one(try f(0).max(axes: a.optInts("axes"), keepDims: a.bool("keepDims")))
        case "min": return one(try f(0).min(axes: a.optInts("axes"), keepDims: a.bool("keepDims")))
        case "var":
            return one(try f(0).variance(axes: a.optInts("axes"), keepDims: a.bool("keepDims"), ddof: a.int("ddof", default: 0)))
        case "std":
            return one(try f(0).std(axes: a.optInts("axes"), keepDims: a.bool("keepDims"), ddof: a.int("ddof", default: 0)))
        case "logsumexp": return one(try f(0).logsumexp(axes: a.optInts("axes"), keepDims: a.bool("keepDims")))
        case "norm": return one(try f(0).norm(p: a.float("p"), axes: a.optInts("axes"), keepDims: a.bool("keepDims")))
        case "argmax": return [.ints(try f(0).argmax(axis: a.has("axis") ? a.int("axis") : nil, keepDims: a.bool("keepDims")))]
        case "argmin": return [.ints(try f(0).argmin(axis: a.has("axis") ? a.int("axis") : nil, keepDims: a.bool("keepDims")))]
        case "cumsum": return one(try f(0).cumsum(axis: a.int("axis")))
        case "softmax": return one(try f(0).softmax(axis: a.int("axis")))
        case "log_softmax": return one(try f(0).logSoftmax(axis: a.int("axis")))
        // Sorting
        case "argsort": return [.ints(try f(0).argsort(axis: a.int("axis"), descending: a.bool("descending")))]
        case "sort": return one(try f(0).sort(axis: a.int("axis"), descending: a.bool("descending")))
        case "topk":
            let (v, i) = try f(0).topk(a.int("k"), axis: a.int("axis"), largest: a.bool("largest", default: true))
            return [.floats(v), .ints(i)]
        // Shape
        case "reshape": return one(try f(0).reshape(a.ints("shape")))
        case "permute": return one(try f(0).permute(a.ints("order")))
        case "transpose":
            return one(a.has("a0") ? try f(0).transpose(a.int("a0"), a.int("a1")) : try f(0).transpose())
        case "squeeze": return one(try f(0).squeeze(axes: a.optInts("axes")))
        case "unsqueeze": return one(try f(0).unsqueeze(a.int("axis")))
        case "broadcast_to": return one(try f(0).broadcast(to: a.ints("shape")))
        case "expand": return one(try f(0).expand(a.ints("shape")))
        case "concat": return one(try Tensor.concat(floats.map { $0! }, axis: a.int("axis")))
        case "stack": return one(try Tensor.stack(floats.map { $0! }, axis: a.int("axis")))
        case "split":
            let parts = a.has("sizes") ? try f(0).split(sizes: a.ints("sizes"), axis: a.int("axis"))
                : try f(0).split(sections: a.int("sections"), axis: a.int("axis"))
            return parts.map { .floats($0) }
        case "flip": return one(try f(0).flip(axis: a.int("axis")))
        case "slice": return one(try f(0).slice(sliceIndices(c.args["index"] as! [Any])))
        // Integer indexing
        case "take_along_axis": return one(try f(0).takeAlongAxis(ix(1), axis: a.int("axis")))
        case "gather": return one(try f(0).gather(axis: a.int("axis"), index: ix(1)))
        case "index_select": return one(try f(0).indexSelect(axis: a.int("axis"), indices: a.ints("indices")))
        case "one_hot": return one(try Tensor.oneHot(ix(0), classes: a.int("classes")))
        case "embedding": return one(try f(0).embedding(ix(1)))
        // Products
        case "matmul": return one(try f(0).matmul(f(1)))
        case "outer": return one(try Tensor.outer(f(0), f(1)))
        default:
            throw TensorError.invalidArgument(op: "fixture", message: "no Swift mapping for op \(c.op)")
        }
    }

    static let families: [String: Set<String>] = [
        "creation": ["zeros", "ones", "full", "arange", "linspace", "eye"],
        "binary": ["add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge",
                   "add_scalar", "sub_scalar", "mul_scalar", "div_scalar", "pow_scalar", "where"],
        "unary": ["neg", "abs", "exp", "log", "log1p", "sqrt", "rsqrt", "tanh", "sigmoid", "silu", "relu",
                  "gelu_tanh", "gelu_erf", "clamp", "isnan", "isfinite"],
        "reduction": ["sum", "mean", "max", "min", "var", "std", "logsumexp", "norm", "argmax", "argmin", "cumsum"],
        "softmax": ["softmax", "log_softmax"],
        "sorting": ["argsort", "sort", "topk"],
        "shape": ["reshape", "permute", "transpose", "squeeze", "unsqueeze", "broadcast_to", "expand", "concat",
                  "stack", "split", "flip"],
        "slicing": ["slice"],
        "indexing": ["take_along_axis", "gather", "index_select", "one_hot", "embedding"],
        "matmul": ["matmul", "outer"],
    ]

    // MARK: - Comparison

    static func kind(_ e: TensorError) -> String {
        switch e {
        case .shapeMismatch: return "shapeMismatch"
        case .indexOutOfRange: return "indexOutOfRange"
        case .invalidAxis: return "invalidAxis"
        case .invalidArgument: return "invalidArgument"
        case .allocationTooLarge: return "allocationTooLarge"
        case .linalgFailed: return "linalgFailed"
        case .blasUnavailable: return "blasUnavailable"
        case .autograd: return "autograd"
        }
    }

    /// nil when `got` matches `want`, else a description of the first difference.
    static func mismatch(_ got: Value, _ want: Value, rtol: Double, atol: Double) -> String? {
        switch (got, want) {
        case let (.floats(g), .floats(w)):
            guard g.shape == w.shape else { return "shape \(g.shape), expected \(w.shape)" }
            let gs = g.scalars, ws = w.scalars
            for i in 0..<gs.count {
                let x = Double(gs[i]), y = Double(ws[i])
                if x.isNaN && y.isNaN { continue }
                if x == y { continue }
                if x.isFinite && y.isFinite && Swift.abs(x - y) <= atol + rtol * Swift.abs(y) { continue }
                return "element \(i): got \(gs[i]), expected \(ws[i]) (rtol \(rtol), atol \(atol))"
                    + (gs.count <= 40 ? "\n  got      \(gs)\n  expected \(ws)" : "")
            }
            return nil
        case let (.ints(g), .ints(w)):
            guard g.shape == w.shape else { return "shape \(g.shape), expected \(w.shape)" }
            return g.data == w.data ? nil : "indices \(g.data), expected \(w.data)"
        case (.floats, .ints): return "got floats, expected indices"
        case (.ints, .floats): return "got indices, expected floats"
        }
    }

    /// Runs every case of one family; returns how many ran.
    @discardableResult
    func check(family: String, file: StaticString = #filePath, line: UInt = #line) -> Int {
        let ops = Self.families[family]!
        var ran = 0
        for c in Self.fixture.cases where ops.contains(c.op) {
            ran += 1
            do {
                let out = try Self.run(c)
                if let kind = c.errorKind {
                    XCTFail("\(c.name): expected \(kind), got a result", file: file, line: line)
                    continue
                }
                let want = c.expect!
                guard out.count == want.count else {
                    XCTFail("\(c.name): \(out.count) results, expected \(want.count)", file: file, line: line)
                    continue
                }
                for (k, (g, w)) in zip(out, want).enumerated() {
                    if let m = Self.mismatch(g, w, rtol: c.rtol, atol: c.atol) {
                        XCTFail("\(c.name)\(want.count > 1 ? " [result \(k)]" : ""): \(m)", file: file, line: line)
                    }
                }
            } catch let e as TensorError {
                if let kind = c.errorKind {
                    XCTAssertEqual(Self.kind(e), kind, "\(c.name): \(e)", file: file, line: line)
                } else {
                    XCTFail("\(c.name): threw \(e)", file: file, line: line)
                }
            } catch {
                XCTFail("\(c.name): threw \(error)", file: file, line: line)
            }
        }
        XCTAssertGreaterThan(ran, 0, "no fixture cases for \(family)", file: file, line: line)
        return ran
    }

    // MARK: - Tests

    func testFixtureCoversEveryOp() {
        let all = Self.families.values.reduce(into: Set<String>()) { $0.formUnion($1) }
        let seen = Set(Self.fixture.cases.map(\.op))
        XCTAssertEqual(seen.subtracting(all), [], "fixture ops with no Swift mapping")
        XCTAssertEqual(all.subtracting(seen), [], "Swift ops with no fixture case")
        XCTAssertGreaterThan(Self.fixture.cases.count, 800)
    }

    func testCreation() { check(family: "creation") }
    func testBinaryBroadcasting() { check(family: "binary") }
    func testUnary() { check(family: "unary") }
    func testReductions() { check(family: "reduction") }
    func testSoftmax() { check(family: "softmax") }
    func testSorting() { check(family: "sorting") }
    func testShapeOps() { check(family: "shape") }
    func testSlicing() { check(family: "slicing") }
    func testIndexing() { check(family: "indexing") }
    func testMatmul() throws {
        try BLAS.ensureLoaded()
        check(family: "matmul")
    }

    /// Printing: numpy's spellings of special values, integers with a trailing dot, and no two different
    /// float32 values printed alike.
    func testFormat() throws {
        XCTAssertEqual(Tensor(scalar: 2.5).description, "tensor(2.5, shape=())")
        XCTAssertEqual(try Tensor([1, -0.0, .nan, .infinity, -.infinity, 0.125]).description,
                       "tensor([1., -0., nan, inf, -inf, 0.125], shape=(6,))")
        XCTAssertEqual(try Tensor([1_000_000.5, 1_000_000.4, 0.12345679, 1e-5, 3e20]).description,
                       "tensor([1000000.5, 1000000.4, 0.12345679, 1e-05, 3e+20], shape=(5,))")
        XCTAssertEqual(try Tensor.zeros([0]).description, "tensor([], shape=(0,))")
        XCTAssertEqual(try Tensor.zeros([2, 0]).description, "tensor([[],\n        []], shape=(2, 0))")
        XCTAssertEqual(try Tensor.arange(0, 6).reshape([2, 3]).description,
                       "tensor([[0., 1., 2.],\n        [3., 4., 5.]], shape=(2, 3))")
        let long = try Tensor.arange(0, 2000).description
        XCTAssertEqual(long, "tensor([0., 1., 2., ..., 1997., 1998., 1999.], shape=(2000,))")
    }

    /// topk's NaN convention (numpy has no topk): NaN sorts last whichever end is asked for.
    func testTopkNaNSortsLast() throws {
        let x = try Tensor([1, .nan, 3, 3, -2])
        let (v, i) = try x.topk(3, largest: true)
        XCTAssertEqual(v.scalars, [3, 3, 1])
        XCTAssertEqual(i.data, [2, 3, 0])
        let (w, j) = try x.topk(5, largest: true)
        XCTAssertEqual(j.data, [2, 3, 0, 4, 1])
        XCTAssertTrue(w.scalars[4].isNaN)
        XCTAssertEqual(try x.topk(2, largest: false).indices.data, [4, 0])
    }

    // MARK: - Paths the small fixture cannot reach

    /// A deterministic sequence in [-2, 2) (the RNG under test elsewhere must not be relied on here).
    static func values(_ n: Int, seed: UInt64) -> [Float] {
        var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<n).map { _ in
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return Float(Double(s >> 40) / Double(1 << 24) * 4 - 2)
        }
    }

    /// Large inputs go through the multi-core split of the broadcast kernel; every chunk boundary must be right.
    func testLargeBroadcastMatchesNaive() throws {
        let (rows, cols) = (700, 131)  // rows * cols > 2^16: parallel; 131 is not a multiple of 8 or 16
        let av = Self.values(rows * cols, seed: 1), bv = Self.values(cols, seed: 2), cv = Self.values(rows, seed: 3)
        let a = try Tensor(shape: [rows, cols], data: av)
        let b = try Tensor(shape: [cols], data: bv)
        let c = try Tensor(shape: [rows, 1], data: cv)
        let ab = try (a * b).scalars, ac = try (a - c).scalars, bc = try (b + c).scalars
        for i in 0..<rows {
            for j in 0..<cols {
                XCTAssertEqual(ab[i * cols + j], av[i * cols + j] * bv[j])
                XCTAssertEqual(ac[i * cols + j], av[i * cols + j] - cv[i])
                XCTAssertEqual(bc[i * cols + j], bv[j] + cv[i])
            }
        }
        let big = try Tensor(shape: [rows * cols], data: av)
        let e = big.exp().scalars, s = try (big * Tensor(scalar: 3)).scalars
        for i in stride(from: 0, to: av.count, by: 97) {
            XCTAssertEqual(Double(e[i]), Foundation.exp(Double(av[i])), accuracy: Foundation.exp(Double(av[i])) * 1e-6)
            XCTAssertEqual(s[i], av[i] * 3)
        }
    }

    /// Whole-tensor sum, max and min split across cores; a NaN anywhere must still win max/min.
    func testLargeReductionsMatchNaive() throws {
        let n = 300_007
        var v = Self.values(n, seed: 4)
        let t = try Tensor(shape: [n], data: v)
        let exact = v.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(Double(try t.sum().item()), exact, accuracy: 1e-3)
        XCTAssertEqual(try t.max().item(), v.max()!)
        XCTAssertEqual(try t.min().item(), v.min()!)
        XCTAssertEqual(try t.argmax().data, [v.firstIndex(of: v.max()!)!])
        v[n - 3] = .nan
        let tn = try Tensor(shape: [n], data: v)
        XCTAssertTrue(try tn.max().item().isNaN)
        XCTAssertTrue(try tn.min().item().isNaN)
        XCTAssertEqual(try tn.argmax().data, [n - 3])
        // Column reductions (inner > 1) over a large block.
        let m = try Tensor(shape: [1000, 300], data: Array(v.prefix(300_000)).map { $0.isNaN ? 0 : $0 })
        let cols = try m.sum(axes: [0]).scalars
        let w = m.scalars
        for j in stride(from: 0, to: 300, by: 7) {
            var s = 0.0
            for i in 0..<1000 { s += Double(w[i * 300 + j]) }
            XCTAssertEqual(Double(cols[j]), s, accuracy: 1e-3)
        }
    }

    /// Large strided copies (permute of a big tensor) cross chunk boundaries mid-row.
    func testLargePermuteMatchesNaive() throws {
        let (p, q, r) = (37, 41, 53)
        let v = Self.values(p * q * r, seed: 5)
        let t = try Tensor(shape: [p, q, r], data: v)
        let u = try t.permute([2, 0, 1]).scalars
        for k in 0..<r { for i in 0..<p { for j in 0..<q {
            XCTAssertEqual(u[(k * p + i) * q + j], v[(i * q + j) * r + k])
        } } }
        let rev = try t.slice([.range(nil, nil, -1), .all, .range(nil, nil, -3)]).scalars
        let r3 = (r + 2) / 3
        for i in 0..<p { for j in 0..<q { for k in 0..<r3 {
            XCTAssertEqual(rev[(i * q + j) * r3 + k], v[((p - 1 - i) * q + j) * r + (r - 1 - 3 * k)])
        } } }
    }

    /// Softmax rows of many lengths (SIMD body and tail, long rows) sum to 1 and match a Double reference.
    func testSoftmaxRowLengths() throws {
        for n in [1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4099] {
            let v = Self.values(3 * n, seed: UInt64(n)).map { $0 * 10 }
            let y = try Tensor(shape: [3, n], data: v).softmax(axis: -1).scalars
            let ly = try Tensor(shape: [3, n], data: v).logSoftmax(axis: -1).scalars
            for r in 0..<3 {
                let row = v[(r * n)..<((r + 1) * n)].map(Double.init)
                let m = row.max()!
                let s = row.reduce(0) { $0 + Foundation.exp($1 - m) }
                for j in 0..<n {
                    let want = Foundation.exp(row[j] - m) / s
                    XCTAssertEqual(Double(y[r * n + j]), want, accuracy: want * 1e-5 + 1e-30, "n=\(n)")
                    let lwant = row[j] - m - Foundation.log(s)
                    XCTAssertEqual(Double(ly[r * n + j]), lwant, accuracy: Swift.abs(lwant) * 1e-5 + 1e-6, "n=\(n)")
                }
            }
        }
    }
}
