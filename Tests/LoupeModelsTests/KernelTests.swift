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

    /// The fixture's matrix as stored and in its decode layout (`repackedForDecode`: Q5_0 as Q8_0), which must
    /// hold the same values and give the same products.
    func layouts(_ c: Case) throws -> [WeightMatrix] {
        let m = try matrix(c)
        return [m, m.repackedForDecode()]
    }

    func testEveryFormatIsCovered() {
        let covered = Set(Self.fixture.cases.map(\.type))
        for t in WeightMatrix.supportedTypes { XCTAssertTrue(covered.contains(t.name), "no fixture for \(t.name)") }
    }

    func testRowsAreBitExactAgainstGGUFDequantize() throws {
        for c in Self.fixture.cases { for m in try layouts(c) {
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
        } }
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
        for c in Self.fixture.cases { for m in try layouts(c) {
            let x = Self.activations(seed: c.seed, count: Self.fixture.tokens * c.cols)
            var y = [Float](repeating: .nan, count: Self.fixture.tokens * c.rows)
            for t in 0..<Self.fixture.tokens {
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        m.matvec(x: xp.baseAddress! + t * c.cols, y: yp.baseAddress! + t * c.rows)
                    }
                }
            }
            check(c, y, tokens: Self.fixture.tokens, what: "matvec \(m.type.name)")
        } }
    }

    func testMatmulMatchesFloat64Reference() throws {
        for c in Self.fixture.cases { for m in try layouts(c) {
            let x = Self.activations(seed: c.seed, count: Self.fixture.tokens * c.cols)
            for tokens in [1, 7, 64, 130] {
                var y = [Float](repeating: .nan, count: tokens * c.rows)
                m.matmul(x: x, tokens: tokens, y: &y)
                check(c, y, tokens: tokens, what: "matmul(tokens: \(tokens)) \(m.type.name)")
            }
        } }
    }

    /// A matrix large enough to run on both cores, over many row chunks of the prefill product: the fixture's rows
    /// repeated to an odd count, checked against a float64 product of the exact rows that row() returns.
    func testLargeMatricesSplitAcrossCoresAndChunks() throws {
        for c in Self.fixture.cases where ["random-Q4_1", "random-F16", "gemma-Q6_K", "gemma-Q5_0"].contains(c.name) {
            let bytes = Self.hex(c.bytes), rowBytes = bytes.count / c.rows
            let rows = 1003
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

    /// The prefill product's blocking against a float64 product of the exact rows: rows wide enough for several
    /// k-blocks (nine fixture rows end to end, 864 or 4608 values), a row count that is neither whole tiles nor whole
    /// chunks (53), token counts that leave an 8-token tile and padding (4, 5, 13, 37), and super-blocks of 16
    /// tokens (the loop that long prompts take, reached with few tokens).
    func testPrefillProductBlocking() throws {
        for c in Self.fixture.cases where ["random-Q8_0", "random-BF16", "gemma-Q4_K"].contains(c.name) {
            let bytes = Self.hex(c.bytes), rowBytes = bytes.count / c.rows, join = 9, rows = 53
            var wide = [UInt8]()
            for r in 0..<rows { for k in 0..<join { wide += bytes[((r + k) % c.rows) * rowBytes ..< ((r + k) % c.rows + 1) * rowBytes] } }
            let cols = c.cols * join
            XCTAssertGreaterThan(cols, PrefillGEMM.maxKBlock, "the rows must span several k-blocks")
            let m = try WeightMatrix(bytes: wide, type: Self.type(c.type), rows: rows, cols: cols)
            var w = [Float](repeating: 0, count: rows * cols)
            w.withUnsafeMutableBufferPointer { for r in 0..<rows { m.row(r, into: $0.baseAddress! + r * cols) } }
            for (tokens, superTokens) in [(4, 256), (5, 256), (13, 256), (37, 256), (37, 16)] {
                let x = Self.activations(seed: c.seed &+ UInt32(tokens), count: tokens * cols)
                var y = [Float](repeating: .nan, count: tokens * rows)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        PrefillGEMM.multiply(m, x: xp.baseAddress!, tokens: tokens, y: yp.baseAddress!, superTokens: superTokens)
                    }
                }
                var worst = 0.0
                for t in 0..<tokens {
                    for r in 0..<rows {
                        var want = 0.0, scale = 0.0
                        for j in 0..<cols {
                            let p = Double(w[r * cols + j]) * Double(x[t * cols + j])
                            want += p; scale += abs(p)
                        }
                        worst = max(worst, abs(Double(y[t * rows + r]) - want) / scale)
                    }
                }
                XCTAssertLessThanOrEqual(worst, 1e-5, "\(c.name) \(rows)x\(cols), \(tokens) tokens, super-blocks of \(superTokens)")
            }
        }
    }

    /// The 32-value block kernels take four blocks per pass and the rest one at a time; the fixtures' rows are
    /// 3 blocks wide, so here each row is five fixture rows laid end to end (15 blocks: three passes of four and a
    /// tail of three), checked against a float64 product of the exact values row() gives (bit-exact above).
    func testWideRowsCoverFourBlockPasses() throws {
        for c in Self.fixture.cases where c.cols == 96 && Self.type(c.type).blockSize == 32 {
            let bytes = Self.hex(c.bytes), rowBytes = bytes.count / c.rows, join = 5
            var wide = [UInt8]()
            for r in 0..<c.rows { for k in 0..<join { wide += bytes[((r + k) % c.rows) * rowBytes ..< ((r + k) % c.rows + 1) * rowBytes] } }
            let cols = c.cols * join
            let m = try WeightMatrix(bytes: wide, type: Self.type(c.type), rows: c.rows, cols: cols)
            let x = Self.activations(seed: c.seed &+ 2, count: cols)
            var y = [Float](repeating: .nan, count: c.rows), row = [Float](repeating: 0, count: cols)
            m.matvec(x: x, y: &y)
            for r in 0..<c.rows {
                m.row(r, into: &row)
                var want = 0.0, scale = 0.0
                for j in 0..<cols { want += Double(row[j]) * Double(x[j]); scale += abs(Double(row[j]) * Double(x[j])) }
                XCTAssertLessThanOrEqual(abs(Double(y[r]) - want), 1e-5 * scale, "\(c.name) x\(join) row \(r)")
            }
        }
    }

    /// One hand-off for two or three products (q/k/v, gate/up in decode) gives exactly what separate products give,
    /// with matrices of different formats and row counts side by side (Gemma's q and k are Q5_0, its v Q8_0 or Q5_0).
    func testFusedMatvecEqualsSeparateProducts() throws {
        let wide = Self.fixture.cases.filter { $0.cols == 96 }
        let x = Self.activations(seed: 11, count: 96)
        // Rows repeated so the fused job is large enough to be split over the cores.
        func big(_ c: Case, rows: Int) throws -> WeightMatrix {
            let bytes = Self.hex(c.bytes), rowBytes = bytes.count / c.rows
            var b = [UInt8]()
            for r in 0..<rows { b += bytes[(r % c.rows) * rowBytes ..< (r % c.rows + 1) * rowBytes] }
            return try WeightMatrix(bytes: b, type: Self.type(c.type), rows: rows, cols: c.cols)
        }
        for i in 0..<wide.count {
            let a = try big(wide[i], rows: 301), b = try big(wide[(i + 3) % wide.count], rows: 77)
            let c = try big(wide[(i + 5) % wide.count], rows: 250)
            var ya = [Float](repeating: .nan, count: a.rows), yb = [Float](repeating: .nan, count: b.rows)
            var yc = [Float](repeating: .nan, count: c.rows)
            var wa = ya, wb = yb, wc = yc
            a.matvec(x: x, y: &wa); b.matvec(x: x, y: &wb); c.matvec(x: x, y: &wc)
            x.withUnsafeBufferPointer { xp in
                WeightMatrix.matvec(a, b, c, x: xp.baseAddress!, ya: &ya, yb: &yb, yc: &yc)
            }
            XCTAssertEqual(ya.map(\.bitPattern), wa.map(\.bitPattern), "\(a.type) in a fused triple")
            XCTAssertEqual(yb.map(\.bitPattern), wb.map(\.bitPattern), "\(b.type) in a fused triple")
            XCTAssertEqual(yc.map(\.bitPattern), wc.map(\.bitPattern), "\(c.type) in a fused triple")
            var pa = [Float](repeating: .nan, count: a.rows), pb = [Float](repeating: .nan, count: b.rows)
            x.withUnsafeBufferPointer { xp in WeightMatrix.matvec(a, b, x: xp.baseAddress!, ya: &pa, yb: &pb) }
            XCTAssertEqual(pa.map(\.bitPattern), wa.map(\.bitPattern), "\(a.type) in a fused pair")
            XCTAssertEqual(pb.map(\.bitPattern), wb.map(\.bitPattern), "\(b.type) in a fused pair")
        }
    }

    /// Page-backed buffers: growing keeps the values, released pages read back as zeros, the rest is untouched.
    func testPageBufferGrowAndRelease() {
        let b = PageBuffer(count: 1000)
        XCTAssertGreaterThanOrEqual(b.capacity, 1000)
        for i in 0..<1000 { b.pointer[i] = Float(i) }
        b.grow(to: 100_000, keep: 1000)
        XCTAssertGreaterThanOrEqual(b.capacity, 100_000)
        XCTAssertEqual((0..<1000).map { b.pointer[$0] }, (0..<1000).map(Float.init))
        for i in 0..<100_000 { b.pointer[i] = 1 }
        b.release(from: 50_000)
        // Pages wholly past float 50_000 are zero again; those before it keep their values.
        XCTAssertEqual(b.pointer[49_999], 1)
        XCTAssertEqual(b.pointer[99_999], 0)
    }

    /// LOUPE_KERNEL_THREADS caps the pool; anything but a positive integer means one thread per core.
    func testKernelThreadCountFromEnvironment() {
        XCTAssertEqual(KernelPool.threadCount(environment: ["LOUPE_KERNEL_THREADS": "1"]), 1)
        XCTAssertEqual(KernelPool.threadCount(environment: ["LOUPE_KERNEL_THREADS": " 3 "]), 3)
        XCTAssertEqual(KernelPool.threadCount(environment: ["LOUPE_KERNEL_THREADS": "0"]), Parallel.cores)
        XCTAssertEqual(KernelPool.threadCount(environment: ["LOUPE_KERNEL_THREADS": "many"]), Parallel.cores)
        XCTAssertEqual(KernelPool.threadCount(environment: [:]), Parallel.cores)
    }

    /// Every chunk of every job runs exactly once, with contiguous spans per thread and stealing from their backs:
    /// pools of 1 to 4 workers (more threads than this machine's cores, so workers start late and steal), jobs of
    /// 1 to 700 chunks, a chunk count past the 16-bit span limit, and a second caller while the pool is busy.
    func testPoolRunsEveryChunkOnceAcrossSpansAndSteals() {
        for workers in 1...4 {
            let pool = KernelPool(workers: workers)
            for (count, chunk) in [(1, 1), (2, 1), (7, 3), (100, 1), (1000, 7), (5000, 16), (700, 1), (200_001, 1)] {
                let hits = UnsafeMutablePointer<Int32>.allocate(capacity: count)
                hits.initialize(repeating: 0, count: count)
                defer { hits.deallocate() }
                for _ in 0..<3 {
                    pool.run(count: count, chunk: chunk) { range in
                        // Uneven work per chunk, so that spans finish at different times.
                        if count < 10_000 && range.lowerBound % 5 == 0 { for _ in 0..<20 { _ = sched_yield() } }
                        for i in range { hits[i] += 1 }
                    }
                }
                let wrong = (0..<count).filter { hits[$0] != 3 }
                XCTAssertTrue(wrong.isEmpty, "workers \(workers), count \(count), chunk \(chunk): \(wrong.prefix(5))")
            }
            // Two callers at once: the one that finds the pool busy runs its job alone; both cover their ranges.
            let a = UnsafeMutablePointer<Int32>.allocate(capacity: 4000), b = UnsafeMutablePointer<Int32>.allocate(capacity: 4000)
            a.initialize(repeating: 0, count: 4000); b.initialize(repeating: 0, count: 4000)
            DispatchQueue.concurrentPerform(iterations: 2) { k in
                let out = k == 0 ? a : b
                for _ in 0..<20 { pool.run(count: 4000, chunk: 37) { for i in $0 { out[i] += 1 } } }
            }
            XCTAssertTrue((0..<4000).allSatisfy { a[$0] == 20 && b[$0] == 20 }, "workers \(workers): concurrent callers")
            a.deallocate(); b.deallocate()
        }
    }

    /// A session reused after reset() (its KV pages and activation rows past the first handed back to the kernel)
    /// and after truncation gives bit-identical logits to a fresh session, for prefill and decode steps.
    func testReusedSessionAfterReleasedPagesMatchesFresh() throws {
        let m = try TestModels.qwen2()
        let prompt = (0..<90).map { ($0 * 37 + 11) % 260 }
        let s = m.makeSession()
        _ = try s.prefill(prompt)
        for t in 0..<40 { _ = try s.step((t * 13 + 5) % 260) }
        s.reset()
        let again = try s.prefill(prompt).scalars
        let fresh = m.makeSession()
        XCTAssertEqual(again, try fresh.prefill(prompt).scalars)
        XCTAssertEqual(try s.step(17).scalars, try fresh.step(17).scalars)
        s.cache.truncate(to: 30)
        fresh.cache.truncate(to: 30)
        XCTAssertEqual(try s.prefill(Array(prompt[30..<60])).scalars, try fresh.prefill(Array(prompt[30..<60])).scalars)
        let other = m.makeSession()
        XCTAssertEqual(try fresh.step(3).scalars.count, m.config.vocab)
        _ = try other.prefill(Array(prompt[..<60]))
        XCTAssertLessThan(zip(try other.step(3).scalars, try s.step(3).scalars).map { abs($0 - $1) }.max()!, 1e-4)
    }

    /// fastExp (softmax, SiLU, GELU) against Foundation's exp: relative 1e-6 over the float range, 0 below the
    /// underflow clamp and at -inf, finite at the top.
    func testFastExpAgainstExp() {
        var worst: Float = 0
        var v: Float = -87
        while v < 88 {
            let got = fastExp(SIMD8(repeating: v))
            let want = exp(Double(v))
            worst = max(worst, Float(abs(Double(got[0]) - want) / want))
            XCTAssertEqual(got[0], got[7])
            v += 0.0137
        }
        XCTAssertLessThan(worst, 1e-6)
        let edge = fastExp(SIMD8(-.infinity, -1000, -87.4, 0, 1, 88.2, 88.3, 1000))
        XCTAssertEqual(edge[0], 0); XCTAssertEqual(edge[1], 0); XCTAssertEqual(edge[2], 0)
        XCTAssertEqual(edge[3], 1)
        XCTAssertEqual(Double(edge[4]), M_E, accuracy: 1e-6)
        XCTAssertTrue(edge[5].isFinite && edge[6].isFinite && edge[7].isFinite)
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

    /// Gemma-3's Q5_0 matrices in their decode layout (Q8_0) on the real file: every row the same floats as the
    /// file's Q5_0 row, products within float rounding. The file's pages of the tensor are handed back by the repack
    /// and fault back in when the original is read again.
    func testRepackedQ5_0MatrixOfTheGemmaFile() throws {
        let path = try Self.modelPath("gemma-3-270m", "gemma-3-270m-q4_k_m.gguf")
        let file = try GGUFFile(path: path)
        let original = try WeightMatrix(gguf: file, name: "blk.0.attn_q.weight")
        XCTAssertEqual(original.type, .q5_0)
        let m = original.repackedForDecode()
        XCTAssertEqual(m.type, .q8_0); XCTAssertEqual([m.rows, m.cols], [original.rows, original.cols])
        XCTAssertEqual(m.byteCount, original.rows * original.cols / 32 * 34)
        var a = [Float](repeating: 0, count: m.cols), b = a
        for r in 0..<m.rows {
            original.row(r, into: &a); m.row(r, into: &b)
            if a.map(\.bitPattern) != b.map(\.bitPattern) { XCTFail("row \(r) differs"); return }
        }
        let x = Self.activations(seed: 11, count: m.cols)
        var y1 = [Float](repeating: 0, count: m.rows), y2 = y1
        original.matvec(x: x, y: &y1); m.matvec(x: x, y: &y2)
        for r in 0..<m.rows { XCTAssertEqual(y1[r], y2[r], accuracy: 1e-5 * (abs(y1[r]) + 1), "row \(r)") }
        // Other formats are their own decode layout.
        let k = try WeightMatrix(gguf: file, name: "token_embd.weight")
        XCTAssertTrue(k.repackedForDecode() === k)
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
