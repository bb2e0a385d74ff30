import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// WeightMatrix against PyPI gguf (Tests/Fixtures/make_kernel_fixtures.py -> Fixtures/kernels.json):
/// row() and dequantized() bit for bit against `gguf.quants.dequantize`; matvec and matmul within 1e-5 of
/// sum |w x| against float64 numpy products, for every format, with odd row counts and 1, 7, 64, 130 tokens.
final class KernelTests: XCTestCase {
    struct Case: Decodable {
        let name: String
        let type: String
        let rows: Int
        let cols: Int
        let seed: UInt32
        let bytes: String
        let dequantized: String
        let y: [Double]
        let absy: [Double]
    }

    struct Fixture: Decodable {
        let tokens: Int
        let cases: [Case]
    }

    static let fixture: Fixture = {
        let url = Bundle.module.url(forResource: "kernels", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    static func hex(_ s: String) -> [UInt8] {
        var out = [UInt8](), it = s.utf8.makeIterator()
        out.reserveCapacity(s.utf8.count / 2)
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
        while let a = it.next(), let b = it.next() { out.append(nibble(a) << 4 | nibble(b)) }
        return out
    }

    /// The fixture script's activations: a 32-bit LCG whose outputs are exact float32 values in [-1, 1).
    static func activations(seed: UInt32, count: Int) -> [Float] {
        var s = seed
        return (0..<count).map { _ in
            s = s &* 1664525 &+ 1013904223
            return Float(s >> 8) * 0x1p-23 - 1
        }
    }

    static func type(_ name: String) -> GGMLType {
        GGMLType.allCases.first { $0.name == name }!
    }

    func matrix(_ c: Case) throws -> WeightMatrix {
        try WeightMatrix(bytes: Self.hex(c.bytes), type: Self.type(c.type), rows: c.rows, cols: c.cols, name: c.name)
    }

    func testEveryFormatIsCovered() {
        let covered = Set(Self.fixture.cases.map(\.type))
        for t in WeightMatrix.supportedTypes { XCTAssertTrue(covered.contains(t.name), "no fixture for \(t.name)") }
    }

    func testRowsAreBitExactAgainstGGUFDequantize() throws {
        for c in Self.fixture.cases {
            let m = try matrix(c)
            let expected = Self.hex(c.dequantized).withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
            var row = [Float](repeating: .nan, count: c.cols)
            for r in 0..<c.rows {
                m.row(r, into: &row)
                for j in 0..<c.cols where row[j].bitPattern != UInt32(littleEndian: expected[r * c.cols + j]) {
                    XCTFail("\(c.name) row \(r) col \(j): \(row[j]) vs gguf "
                            + "\(Float(bitPattern: UInt32(littleEndian: expected[r * c.cols + j])))")
                    return
                }
            }
            let all = m.dequantized()
            XCTAssertEqual(all.shape, [c.rows, c.cols])
            XCTAssertEqual(all.scalars.map(\.bitPattern), expected.map { UInt32(littleEndian: $0) }, c.name)
        }
    }

    /// |y - reference| <= 1e-5 * sum |w x| (+ a tiny absolute floor for rows of zeros).
    func check(_ c: Case, _ y: [Float], tokens: Int, what: String, file: StaticString = #filePath, line: UInt = #line) {
        for t in 0..<tokens {
            for r in 0..<c.rows {
                let want = c.y[t * c.rows + r], scale = c.absy[t * c.rows + r]
                let err = abs(Double(y[t * c.rows + r]) - want)
                if err > 1e-5 * scale + 1e-30 {
                    XCTFail("\(c.name) \(what) token \(t) row \(r): \(y[t * c.rows + r]) vs \(want) "
                            + "(error \(err), scale \(scale))", file: file, line: line)
                    return
                }
            }
        }
    }

    func testMatvecMatchesFloat64Reference() throws {
        for c in Self.fixture.cases {
            let m = try matrix(c)
            let x = Self.activations(seed: c.seed, count: Self.fixture.tokens * c.cols)
            var y = [Float](repeating: .nan, count: Self.fixture.tokens * c.rows)
            for t in 0..<Self.fixture.tokens {
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        m.matvec(x: xp.baseAddress! + t * c.cols, y: yp.baseAddress! + t * c.rows)
                    }
                }
            }
            check(c, y, tokens: Self.fixture.tokens, what: "matvec")
        }
    }

    func testMatmulMatchesFloat64Reference() throws {
        for c in Self.fixture.cases {
            let m = try matrix(c)
            let x = Self.activations(seed: c.seed, count: Self.fixture.tokens * c.cols)
            for tokens in [1, 7, 64, 130] {
                var y = [Float](repeating: .nan, count: tokens * c.rows)
                m.matmul(x: x, tokens: tokens, y: &y)
                check(c, y, tokens: tokens, what: "matmul(tokens: \(tokens))")
            }
        }
    }

    /// A matrix large enough to run on both cores (and, for the wide ones, over several sgemm panels): the fixture's
    /// rows repeated to an odd count, checked against a float64 product of the exact rows that row() returns.
    func testLargeMatricesSplitAcrossCoresAndPanels() throws {
        for c in Self.fixture.cases where ["random-Q4_1", "random-F16", "gemma-Q6_K", "gemma-Q5_0"].contains(c.name) {
            let bytes = Self.hex(c.bytes), rowBytes = bytes.count / c.rows
            // Wide fixtures span several sgemm panels; narrow ones just split over the cores (kept small for debug builds).
            let rows = c.cols >= 512 ? PanelScratch.floats / c.cols + 5 : 1003
            var big = [UInt8]()
            for r in 0..<rows { big += bytes[(r % c.rows) * rowBytes ..< (r % c.rows + 1) * rowBytes] }
            let m = try WeightMatrix(bytes: big, type: Self.type(c.type), rows: rows, cols: c.cols)
            let small = try matrix(c)
            let tokens = 5
            let x = Self.activations(seed: c.seed &+ 1, count: tokens * c.cols)
            var w = [Float](repeating: 0, count: c.rows * c.cols)
            for r in 0..<c.rows { w.withUnsafeMutableBufferPointer { small.row(r, into: $0.baseAddress! + r * c.cols) } }
            var y1 = [Float](repeating: .nan, count: tokens * rows), y2 = y1
            for t in 0..<tokens {
                x.withUnsafeBufferPointer { xp in
                    y1.withUnsafeMutableBufferPointer { m.matvec(x: xp.baseAddress! + t * c.cols, y: $0.baseAddress! + t * rows) }
                }
            }
            m.matmul(x: x, tokens: tokens, y: &y2)
            // Row r repeats fixture row r % c.rows, so c.rows references per token cover all of them.
            for t in 0..<tokens {
                var want = [Double](repeating: 0, count: c.rows), scale = want
                for k in 0..<c.rows {
                    for j in 0..<c.cols {
                        let p = Double(w[k * c.cols + j]) * Double(x[t * c.cols + j])
                        want[k] += p; scale[k] += abs(p)
                    }
                }
                for r in 0..<rows {
                    for (what, y) in [("matvec", y1), ("matmul", y2)]
                    where abs(Double(y[t * rows + r]) - want[r % c.rows]) > 1e-5 * scale[r % c.rows] {
                        XCTFail("\(c.name) x\(rows) \(what) token \(t) row \(r): \(y[t * rows + r]) vs \(want[r % c.rows])")
                        return
                    }
                }
            }
        }
    }

    func testFloat32TensorMatrix() throws {
        let t = try Tensor(shape: [3, 5], data: (0..<15).map { Float($0) - 7 })
        let m = try WeightMatrix(t)
        XCTAssertEqual(m.type, .f32)
        var y = [Float](repeating: 0, count: 3)
        m.matvec(x: [1, 2, 3, 4, 5], y: &y)
        XCTAssertEqual(y, [-65, 10, 85])
        XCTAssertEqual(m.dequantized().scalars, t.scalars)
    }

    func testRejectsBadShapesAndTypes() {
        XCTAssertThrowsError(try WeightMatrix(bytes: [UInt8](repeating: 0, count: 18), type: .q4_0, rows: 1, cols: 31))
        XCTAssertThrowsError(try WeightMatrix(bytes: [UInt8](repeating: 0, count: 17), type: .q4_0, rows: 1, cols: 32))
        XCTAssertThrowsError(try WeightMatrix(bytes: [UInt8](repeating: 0, count: 84), type: .q2_K, rows: 1, cols: 256)) {
            XCTAssertTrue("\($0)".contains("Q2_K"), "\($0)")
        }
        XCTAssertThrowsError(try WeightMatrix(Tensor([1, 2, 3])))
    }

    /// Reads a real tensor of the shipped SmolLM2 file in place and checks rows against a float64 product.
    func testGGUFTensorInPlace() throws {
        let path = try Self.modelPath("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")
        let file = try GGUFFile(path: path)
        let m = try WeightMatrix(gguf: file, name: "blk.0.attn_k.weight")
        XCTAssertEqual([m.rows, m.cols], [192, 576]); XCTAssertEqual(m.type, .q4_1)
        XCTAssertThrowsError(try WeightMatrix(gguf: file, name: "no.such.tensor"))
        let x = Self.activations(seed: 7, count: m.cols)
        var y = [Float](repeating: 0, count: m.rows), row = [Float](repeating: 0, count: m.cols)
        m.matvec(x: x, y: &y)
        for r in 0..<m.rows {
            m.row(r, into: &row)
            var want = 0.0, scale = 0.0
            for j in 0..<m.cols { want += Double(row[j]) * Double(x[j]); scale += abs(Double(row[j]) * Double(x[j])) }
            XCTAssertLessThanOrEqual(abs(Double(y[r]) - want), 1e-5 * scale, "row \(r)")
        }
    }

    static func modelPath(_ name: String, _ file: String) throws -> String {
        let env = ProcessInfo.processInfo.environment
        let home = env["LOUPE_HOME"] ?? (NSHomeDirectory() + "/.loupe")
        let path = "\(home)/models/\(name)/\(file)"
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("\(path) is missing: run ./loupe models fetch \(name)")
            throw CocoaError(.fileNoSuchFile)
        }
        return path
    }
}
