import Foundation
import XCTest

import LoupeTensor

/// Reference outputs of numpy's Philox, written by Tests/Fixtures/make_random_fixtures.py.
private struct RandomFixture: Decodable {
    struct KnownAnswer: Decodable { let counter: [String]; let key: [String]; let block: [String] }
    struct Mixed: Decodable { let widths: [Int]; let values: [String] }
    struct Integers: Decodable { let low: String; let high: String; let values: [String] }
    struct Permutation: Decodable { let n: Int; let values: [Int] }
    struct Case: Decodable {
        let name: String
        let key: [String]
        let counter: [String]
        let raw64: [String]
        let raw32: [UInt32]
        let mixed: Mixed
        let float32Bits: [UInt32]
        let integers: [Integers]
        let permutation: Permutation
    }
    struct Stream: Decodable { let seed: String; let names: [String]; let key: [String]; let raw64: [String] }
    let generator: String
    let kat: [KnownAnswer]
    let cases: [Case]
    let streams: [Stream]

    static func load() throws -> RandomFixture {
        let url = Bundle.module.url(forResource: "random", withExtension: "json", subdirectory: "Fixtures")
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/random.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(RandomFixture.self, from: Data(contentsOf: url))
    }
}

private func hex(_ s: String) -> UInt64 { UInt64(s, radix: 16)! }
private func key(_ s: [String]) -> SIMD2<UInt64> { SIMD2(hex(s[0]), hex(s[1])) }
private func counter(_ s: [String]) -> SIMD4<UInt64> { SIMD4(hex(s[0]), hex(s[1]), hex(s[2]), hex(s[3])) }
private func generator(_ c: RandomFixture.Case) -> Philox { Philox(key: key(c.key), counter: counter(c.counter)) }

final class RandomTests: XCTestCase {
    // MARK: - Bit-exactness against Random123 and numpy

    func testPhiloxBlockMatchesRandom123KnownAnswers() throws {
        let fixture = try RandomFixture.load()
        XCTAssertEqual(fixture.kat.count, 3)
        for kat in fixture.kat {
            let block = Philox.block(counter: counter(kat.counter), key: key(kat.key))
            XCTAssertEqual(block, counter(kat.block), "\(kat.counter) \(kat.key)")
        }
    }

    func testRaw64MatchesNumpy() throws {
        let fixture = try RandomFixture.load()
        XCTAssertEqual(fixture.cases.count, 4)
        for c in fixture.cases {
            var g = generator(c)
            XCTAssertEqual(c.raw64.map { _ in g.next64() }, c.raw64.map(hex), c.name)
            // The same words through the stream API.
            var s = RandomStream(generator: generator(c))
            XCTAssertEqual(c.raw64.map { _ in s.nextUInt64() }, c.raw64.map(hex), c.name)
        }
    }

    func testCounterAdvancesLikeNumpy() throws {
        // numpy increments the counter before each block, carrying across its 64-bit words and wrapping at 2^256.
        var g = Philox(key: SIMD2(1, 2), counter: SIMD4(UInt64.max - 1, UInt64.max, 5, 0))
        _ = g.next64()
        XCTAssertEqual(g.counter, SIMD4(UInt64.max, UInt64.max, 5, 0))
        for _ in 0..<4 { _ = g.next64() }
        XCTAssertEqual(g.counter, SIMD4(0, 0, 6, 0))
        var w = Philox(key: SIMD2(0, 0), counter: SIMD4(repeating: UInt64.max))
        _ = w.next64()
        XCTAssertEqual(w.counter, SIMD4(repeating: 0))
    }

    func testRaw32MatchesNumpy() throws {
        for c in try RandomFixture.load().cases {
            var g = generator(c)
            XCTAssertEqual(c.raw32.map { _ in g.next32() }, c.raw32, c.name)
        }
    }

    func testMixedWidthsMatchNumpy() throws {
        // numpy keeps the high half of a word split by next_uint32 pending across next_uint64 calls.
        for c in try RandomFixture.load().cases {
            var g = generator(c)
            let got = c.mixed.widths.map { $0 == 32 ? UInt64(g.next32()) : g.next64() }
            XCTAssertEqual(got, c.mixed.values.map(hex), c.name)
        }
    }

    func testFloatsMatchNumpy() throws {
        for c in try RandomFixture.load().cases {
            var s = RandomStream(generator: generator(c))
            XCTAssertEqual(c.float32Bits.map { _ in s.nextFloat().bitPattern }, c.float32Bits, c.name)
            var t = RandomStream(generator: generator(c))
            let tensor = try Tensor.rand([c.float32Bits.count], stream: &t)
            XCTAssertEqual(tensor.scalars.map(\.bitPattern), c.float32Bits, c.name)
            XCTAssertEqual(s, t, "tensor fill and scalar draws end in the same state")
        }
    }

    func testIntegersMatchNumpy() throws {
        for c in try RandomFixture.load().cases {
            XCTAssertEqual(c.integers.count, 6)
            for spec in c.integers {
                let low = Int(spec.low)!, high = Int(spec.high)!, expected = spec.values.map { Int($0)! }
                var s = RandomStream(generator: generator(c))
                XCTAssertEqual(try expected.map { _ in try s.nextInt(low, high) }, expected, "\(c.name) [\(low), \(high))")
                var t = RandomStream(generator: generator(c))
                let tensor = try Tensor.randint(low, high, [3, 4], stream: &t)
                XCTAssertEqual(tensor.shape, [3, 4])
                XCTAssertEqual(tensor.data, expected, "\(c.name) [\(low), \(high))")
                XCTAssertEqual(s, t)
            }
        }
    }

    func testPermutationMatchesNumpy() throws {
        for c in try RandomFixture.load().cases {
            var s = RandomStream(generator: generator(c))
            XCTAssertEqual(try s.permutation(c.permutation.n), c.permutation.values, c.name)
        }
    }

    // MARK: - Seeds, names and stream independence

    func testStreamKeysMatchReferenceDerivation() throws {
        // The keys come from the fixture script's own Python SplitMix64 / FNV-1a / Philox code, so this pins the
        // derivation to a second, independent implementation (and to the same bits on every platform).
        let fixture = try RandomFixture.load()
        XCTAssertEqual(fixture.streams.count, 10)
        for spec in fixture.streams {
            var s = RandomStream(seed: UInt64(spec.seed)!)
            for name in spec.names { s = s.derive(name) }
            XCTAssertEqual(s.generator.key, key(spec.key), "\(spec.seed) \(spec.names)")
            XCTAssertEqual(spec.raw64.map { _ in s.nextUInt64() }, spec.raw64.map(hex), "\(spec.seed) \(spec.names)")
            if spec.names.count == 1 {
                XCTAssertEqual(RandomStream(seed: UInt64(spec.seed)!, name: spec.names[0]).generator.key, key(spec.key))
            }
        }
    }

    func testGoldenValues() throws {
        // Computed once by this implementation; they hold on every platform because they are integer math and
        // IEEE arithmetic only (the normal draws use Loupe's own log/sin/cos polynomials, not libm).
        var s = RandomStream(seed: 42)
        XCTAssertEqual(s.generator.key, SIMD2(0xBDD7_3226_2FEB_6E95, 0x28EF_E333_B266_F103))
        XCTAssertEqual([s.nextUInt64(), s.nextUInt64()], [0xEF51_87B4_D040_F49C, 0xAA17_F098_2727_4D47])
        XCTAssertEqual(s.nextUInt32(), 0x62F7_4C02)
        XCTAssertEqual(s.nextFloat().bitPattern, 0x3F44_D0F5)  // 0.76881343
        XCTAssertEqual(s.nextNormal().bitPattern, 0x3E96_D68A)  // 0.29460555
        XCTAssertEqual(try s.nextInt(0, 1000), 922)
        let t = try Tensor.randn([5], seed: 0)
        XCTAssertEqual(t.scalars.map(\.bitPattern), [0xBFD8_EC4F, 0x3E89_AF1A, 0xBE86_AF77, 0x3E9A_0BA6, 0xBF37_CC66])  // -1.6947116, 0.26891404, ...
        var w = RandomStream(seed: 7, name: "weights")
        XCTAssertEqual(try Tensor.rand([3], stream: &w).scalars.map(\.bitPattern), [0x3F08_5B13, 0x3F09_F2E5, 0x3F01_7E0B])  // 0.5326397, 0.5388625, 0.5058295
    }

    func testStreamIndependence() throws {
        // Drawing more from one stream changes nothing in another, however the two were made.
        let root = RandomStream(seed: 3)
        var a1 = root.derive("a"), a2 = root.derive("a")
        var b1 = root.derive("b"), b2 = root.derive("b")
        _ = try Tensor.randn([1000], stream: &a1)
        _ = a2.nextUInt32()
        XCTAssertEqual(try Tensor.rand([64], stream: &b1).scalars, try Tensor.rand([64], stream: &b2).scalars)

        // A child does not depend on how far its parent has drawn.
        var parent = RandomStream(seed: 3)
        _ = try Tensor.rand([12345], stream: &parent)
        XCTAssertEqual(parent.derive("a").generator, root.derive("a").generator)

        // Same (seed, name): same stream; different names, seeds or derivation order: different streams.
        XCTAssertEqual(RandomStream(seed: 3, name: "a"), root.derive("a"))
        var x = RandomStream(seed: 3, name: "a"), y = RandomStream(seed: 3, name: "a")
        XCTAssertEqual((0..<8).map { _ in x.nextUInt64() }, (0..<8).map { _ in y.nextUInt64() })
        let keys = [
            RandomStream(seed: 3), RandomStream(seed: 4), RandomStream(seed: 3, name: "a"), RandomStream(seed: 3, name: "b"),
            RandomStream(seed: 4, name: "a"), RandomStream(seed: 3, name: "A"), RandomStream(seed: 3, name: ""),
            root.derive("a").derive("b"), root.derive("b").derive("a"), root.derive("ab"),
        ].map(\.generator.key)
        XCTAssertEqual(Set(keys.map { [$0[0], $0[1]] }).count, keys.count)

        // Copies are independent values.
        var original = RandomStream(seed: 9)
        var copy = original
        let first = original.nextUInt64()
        XCTAssertEqual(copy.nextUInt64(), first)
    }

    // MARK: - Tensor fills equal the scalar draws

    /// Streams in every position state: fresh, mid-block, with a pending 32-bit half, and near the counter carry.
    private func startStates() -> [RandomStream] {
        var midBlock = RandomStream(seed: 11); _ = midBlock.nextUInt64()
        var pending = RandomStream(seed: 12); _ = pending.nextUInt32(); _ = pending.nextUInt64()
        var pendingAtBlockEnd = RandomStream(seed: 13); for _ in 0..<7 { _ = pendingAtBlockEnd.nextUInt32() }
        let nearCarry = RandomStream(generator: Philox(key: SIMD2(5, 6), counter: SIMD4(UInt64.max - 700, 0, 0, 0)))
        return [RandomStream(seed: 10), midBlock, pending, pendingAtBlockEnd, nearCarry]
    }

    func testTensorFillsEqualSequentialDraws() throws {
        // Sizes below, at and well above the point where fills go parallel, even and odd.
        for n in [0, 1, 2, 3, 7, 8, 9, 31, 50_001] {
            for start in startStates() {
                var t = start, s = start
                let rand = try Tensor.rand([n], stream: &t)
                XCTAssertEqual(rand.scalars, (0..<n).map { _ in s.nextFloat() }, "rand \(n)")
                XCTAssertEqual(t, s, "rand \(n)")

                t = start; s = start
                let uni = try Tensor.uniform([n], -2, 5, stream: &t)
                XCTAssertEqual(uni.scalars, try (0..<n).map { _ in try s.uniform(-2, 5) }, "uniform \(n)")
                XCTAssertEqual(t, s, "uniform \(n)")

                t = start; s = start
                let normal = try Tensor.randn([n], stream: &t)
                var expected: [Float] = []
                while expected.count < n { let (a, b) = s.nextNormalPair(); expected += [a, b] }
                if n % 2 == 1 {
                    expected.removeLast()
                    var r = start
                    for _ in 0..<n / 2 { _ = r.nextNormalPair() }
                    XCTAssertEqual(r.nextNormal(), expected.last, "odd randn ends with nextNormal()")
                }
                XCTAssertEqual(normal.scalars.map(\.bitPattern), expected.map(\.bitPattern), "randn \(n)")
                XCTAssertEqual(t, s, "randn \(n)")

                do {
                    t = start; s = start
                    let ints = try Tensor.randint(-3, 1000, [n], stream: &t)
                    XCTAssertEqual(ints.data, try (0..<n).map { _ in try s.nextInt(-3, 1000) }, "randint \(n)")
                    XCTAssertEqual(t, s)
                }
            }
        }
    }

    func testShapes() throws {
        var s = RandomStream(seed: 1)
        XCTAssertEqual(try Tensor.rand([2, 3, 4], stream: &s).shape, [2, 3, 4])
        XCTAssertEqual(try Tensor.randn([], stream: &s).shape, [])
        XCTAssertEqual(try Tensor.randn([0, 5], stream: &s).count, 0)
        XCTAssertEqual(try Tensor.uniform([7, 1], 0, 1, stream: &s).shape, [7, 1])
        XCTAssertEqual(try Tensor.randint(0, 2, [2, 2], stream: &s).shape, [2, 2])
        XCTAssertEqual(try Tensor.rand([4], seed: 5).scalars, try Tensor.rand([4], seed: 5).scalars)
        XCTAssertNotEqual(try Tensor.randn([4], seed: 5).scalars, try Tensor.randn([4], seed: 6).scalars)
    }

    // MARK: - Distributions

    func testUniformMoments() throws {
        let n = 1_000_000
        var s = RandomStream(seed: 2024)
        let x = try Tensor.rand([n], stream: &s).scalars.map(Double.init)
        let mean = x.reduce(0, +) / Double(n)
        let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        // Standard errors: 0.29 / sqrt(n) = 2.9e-4 for the mean, 0.075 / sqrt(n) = 7.5e-5 for the variance.
        XCTAssertEqual(mean, 0.5, accuracy: 0.0015)
        XCTAssertEqual(variance, 1.0 / 12, accuracy: 0.0004)
        XCTAssertGreaterThanOrEqual(x.min()!, 0)
        XCTAssertLessThan(x.max()!, 1)
        // Each tenth of [0, 1) holds about n / 10 values (chi-square, 9 degrees of freedom, p = 0.001: 27.88).
        var bins = [Int](repeating: 0, count: 10)
        for v in x { bins[Int(v * 10)] += 1 }
        XCTAssertLessThan(chiSquare(bins, expected: [Double](repeating: Double(n) / 10, count: 10)), 27.88)

        let u = try Tensor.uniform([n], -3, 5, stream: &s).scalars
        XCTAssertGreaterThanOrEqual(u.min()!, -3)
        XCTAssertLessThan(u.max()!, 5)
        XCTAssertEqual(u.reduce(0) { $0 + Double($1) } / Double(n), 1.0, accuracy: 8 * 0.0015)
        // A tiny interval near a large value: rounding must never reach high.
        for _ in 0..<10_000 { XCTAssertLessThan(try s.uniform(1000, 1000.0001), 1000.0001) }
    }

    func testNormalMoments() throws {
        let n = 1_000_000
        var s = RandomStream(seed: 77)
        let z = try Tensor.randn([n], stream: &s).scalars.map(Double.init)
        let mean = z.reduce(0, +) / Double(n)
        let m2 = z.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n)
        let m4 = z.reduce(0) { $0 + pow($1 - mean, 4) } / Double(n)
        // Standard errors: 1e-3 for the mean, 7e-4 for the std, 2.4e-3 for the kurtosis.
        XCTAssertEqual(mean, 0, accuracy: 0.005)
        XCTAssertEqual(m2.squareRoot(), 1, accuracy: 0.0035)
        XCTAssertEqual(m4 / (m2 * m2), 3, accuracy: 0.02)
        XCTAssertEqual(Double(z.filter { abs($0) < 1 }.count) / Double(n), 0.682689, accuracy: 0.0025)
        XCTAssertTrue(z.allSatisfy { $0.isFinite && abs($0) < 6.7 })
        // The two values of each Box-Muller pair are uncorrelated.
        var cross = 0.0
        for i in stride(from: 0, to: n, by: 2) { cross += z[i] * z[i + 1] }
        XCTAssertEqual(cross / Double(n / 2), 0, accuracy: 0.007)

        // Kolmogorov-Smirnov against the normal CDF (critical value at p = 0.001: 1.95 / sqrt(n)).
        let sorted = z.sorted()
        var d = 0.0
        for (i, v) in sorted.enumerated() {
            let cdf = 0.5 * (1 + erf(v / 2.0.squareRoot()))
            d = max(d, abs(cdf - Double(i) / Double(n)), abs(cdf - Double(i + 1) / Double(n)))
        }
        XCTAssertLessThan(d, 1.95 / Double(n).squareRoot())
    }

    func testBoxMullerMatchesDoublePrecisionFormula() throws {
        // The vector log/sin/cos against libm in double precision on the same words, over all quadrants.
        var words = RandomStream(seed: 5), normals = RandomStream(seed: 5)
        for _ in 0..<100_000 {
            let w = words.nextUInt64()
            let u1 = (Double(UInt32(truncatingIfNeeded: w) >> 1) + 0.5) * 0x1p-31
            let u2 = Double(UInt32(truncatingIfNeeded: w >> 32) >> 8) * 0x1p-24
            let r = (-2 * log(u1)).squareRoot(), theta = 2 * Double.pi * u2
            let (a, b) = normals.nextNormalPair()
            XCTAssertEqual(Double(a), r * cos(theta), accuracy: 2e-6 * (1 + r))
            XCTAssertEqual(Double(b), r * sin(theta), accuracy: 2e-6 * (1 + r))
        }
        // The extremes of u1: the largest radius, and u1 = 1 (radius 0, never NaN).
        var s = RandomStream(generator: Philox(key: .zero))
        for _ in 0..<1000 { XCTAssertFalse(s.nextNormal().isNaN) }
    }

    func testCategoricalFrequencies() throws {
        let probs: [Float] = [0.1, 0.2, 0.3, 0.4, 0]
        let n = 100_000
        var s = RandomStream(seed: 99)
        // The same distribution as unnormalised weights, in a [n, 5] batch: one draw per row.
        let weights = try Tensor(shape: [n, 5], data: (0..<n).flatMap { _ in probs.map { $0 * 7 } })
        let draws = try s.categorical(probs: weights)
        XCTAssertEqual(draws.shape, [n])
        var counts = [Int](repeating: 0, count: 5)
        for d in draws.data { counts[d] += 1 }
        XCTAssertEqual(counts[4], 0, "a zero weight is never drawn")
        // Chi-square with 3 degrees of freedom: 16.27 at p = 0.001.
        XCTAssertLessThan(chiSquare(Array(counts[0..<4]), expected: probs[0..<4].map { Double($0) * Double(n) }), 16.27)

        // multinomial with replacement makes the same draws as repeated categorical calls.
        var a = RandomStream(seed: 4), b = RandomStream(seed: 4)
        let row = Tensor([1, 2, 3, 0, 5])
        let multi = try b.multinomial(row, numSamples: 50, replacement: true)
        XCTAssertEqual(multi.shape, [50])
        XCTAssertEqual(try (0..<50).map { _ in try a.categorical(probs: row).data[0] }, multi.data)
        let batch = try Tensor(shape: [2, 3], data: [1, 2, 3, 0, 5, 1])
        XCTAssertEqual(try a.categorical(probs: batch).data, try b.multinomial(batch, numSamples: 1, replacement: true).data)
        XCTAssertEqual(a, b)
        XCTAssertEqual(try a.categorical(probs: Tensor([0, 0, 1])).shape, [])
    }

    func testMultinomialWithoutReplacement() throws {
        var s = RandomStream(seed: 8)
        let w = try Tensor(shape: [3, 6], data: [1, 1, 1, 1, 1, 1, 0, 5, 0, 1, 2, 3, 9, 0, 0, 0, 0, 1])
        for _ in 0..<200 {
            let d = try s.multinomial(w, numSamples: 2, replacement: false)
            XCTAssertEqual(d.shape, [3, 2])
            for r in 0..<3 {
                let row = Array(d.data[2 * r..<2 * r + 2])
                XCTAssertNotEqual(row[0], row[1])
                XCTAssertTrue(row.allSatisfy { try! w.value(at: [r, $0]) > 0 })
            }
        }
        // All categories of a row, in some order.
        let all = try s.multinomial(Tensor([3, 1, 2, 5]), numSamples: 4, replacement: false)
        XCTAssertEqual(all.data.sorted(), [0, 1, 2, 3])
        // First pick follows the weights: 1 : 9.
        var first = [0, 0]
        for _ in 0..<20_000 { first[try s.multinomial(Tensor([1, 9]), numSamples: 2, replacement: false).data[0]] += 1 }
        XCTAssertLessThan(chiSquare(first, expected: [2000, 18000]), 10.83)  // 1 degree of freedom, p = 0.001
    }

    func testRandintUniformAndBounds() throws {
        var s = RandomStream(seed: 31)
        let n = 700_000
        let x = try Tensor.randint(-3, 4, [n], stream: &s)
        var counts = [Int](repeating: 0, count: 7)
        for v in x.data { counts[v + 3] += 1 }
        // Chi-square with 6 degrees of freedom: 22.46 at p = 0.001.
        XCTAssertLessThan(chiSquare(counts, expected: [Double](repeating: Double(n) / 7, count: 7)), 22.46)
        XCTAssertTrue(try Tensor.randint(5, 6, [100], stream: &s).data.allSatisfy { $0 == 5 })
        let wide = try Tensor.randint(Int.min, Int.max, [1000], stream: &s).data
        XCTAssertTrue(wide.contains { $0 < 0 } && wide.contains { $0 > 0 })
        // A range just above 2^63 where plain modulo would be most biased: values fall in both halves evenly.
        let big = try (0..<10_000).map { _ in try s.nextInt(0, Int.max) }
        XCTAssertEqual(Double(big.filter { $0 < Int.max / 2 }.count) / 10_000, 0.5, accuracy: 0.02)
    }

    func testPermutation() throws {
        var s = RandomStream(seed: 1)
        for n in [0, 1, 2, 10, 1000] {
            let p = try s.permutation(n)
            XCTAssertEqual(p.sorted(), Array(0..<n))
        }
        XCTAssertNotEqual(try s.permutation(50), try s.permutation(50))
        // Every position is equally likely to receive each element: where 0 lands, over many shuffles of 4.
        var where0 = [Int](repeating: 0, count: 4)
        for _ in 0..<40_000 { where0[try s.permutation(4).firstIndex(of: 0)!] += 1 }
        XCTAssertLessThan(chiSquare(where0, expected: [10_000, 10_000, 10_000, 10_000]), 16.27)
        var words = ["a", "b", "c", "d"]
        s.shuffle(&words)
        XCTAssertEqual(words.sorted(), ["a", "b", "c", "d"])
    }

    // MARK: - Errors

    func testBadInputThrows() throws {
        var s = RandomStream(seed: 0)
        let before = s
        func expectInvalid(_ op: String, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try body(), file: file, line: line) { error in
                guard case let .invalidArgument(name, message)? = error as? TensorError else {
                    return XCTFail("expected invalidArgument, got \(error)", file: file, line: line)
                }
                XCTAssertEqual(name, op, message, file: file, line: line)
            }
        }
        expectInvalid("rand") { _ = try Tensor.rand([2, -1], stream: &s) }
        expectInvalid("randn") { _ = try Tensor.randn([-3], stream: &s) }
        expectInvalid("uniform") { _ = try Tensor.uniform([2], 1, 1, stream: &s) }
        expectInvalid("uniform") { _ = try Tensor.uniform([2], 2, 1, stream: &s) }
        expectInvalid("uniform") { _ = try Tensor.uniform([2], 0, .infinity, stream: &s) }
        expectInvalid("uniform") { _ = try Tensor.uniform([2], .nan, 1, stream: &s) }
        expectInvalid("uniform") { _ = try Tensor.uniform([2], -3e38, 3e38, stream: &s) }
        expectInvalid("uniform") { _ = try s.uniform(1, 0) }
        expectInvalid("randint") { _ = try Tensor.randint(3, 3, [2], stream: &s) }
        expectInvalid("randint") { _ = try Tensor.randint(0, 5, [-2], stream: &s) }
        expectInvalid("randint") { _ = try s.nextInt(5, 1) }
        expectInvalid("permutation") { _ = try s.permutation(-1) }
        expectInvalid("categorical") { _ = try s.categorical(probs: Tensor([0.5, -0.1, 0.6])) }
        expectInvalid("categorical") { _ = try s.categorical(probs: Tensor([0.5, .nan])) }
        expectInvalid("categorical") { _ = try s.categorical(probs: Tensor([1, .infinity])) }
        expectInvalid("categorical") { _ = try s.categorical(probs: Tensor(shape: [2, 2], data: [1, 0, 0, 0])) }
        expectInvalid("categorical") { _ = try s.categorical(probs: Tensor(scalar: 1)) }
        expectInvalid("categorical") { _ = try s.categorical(probs: Tensor(shape: [3, 0], data: [])) }
        expectInvalid("multinomial") { _ = try s.multinomial(Tensor([1, 1, 0]), numSamples: 3, replacement: false) }
        expectInvalid("multinomial") { _ = try s.multinomial(Tensor([1, 1]), numSamples: -1, replacement: true) }
        XCTAssertEqual(s, before, "a rejected call draws nothing")

        // Messages say what is wrong and where.
        XCTAssertThrowsError(try s.categorical(probs: Tensor(shape: [2, 3], data: [1, 1, 1, 0, 0, 0]))) {
            XCTAssertEqual("\($0)", "categorical: the weights at [1, :] are all zero")
        }
        XCTAssertThrowsError(try s.categorical(probs: Tensor(shape: [2, 2], data: [1, 1, 1, -2]))) {
            XCTAssertEqual("\($0)", "categorical: weights must be finite and non-negative, got -2.0 at [1, 1]")
        }
        // Without replacement, drawing every positive category is fine.
        XCTAssertEqual(try s.multinomial(Tensor([1, 1, 0]), numSamples: 2, replacement: false).data.sorted(), [0, 1])
        XCTAssertEqual(try s.multinomial(Tensor([1, 1, 0]), numSamples: 0, replacement: false).shape, [0])
    }

    // MARK: - Speed

    func testRandnSpeed() throws {
        #if DEBUG
        throw XCTSkip("timing is only meaningful in release builds (swift test -c release)")
        #else
        var s = RandomStream(seed: 1)
        _ = try Tensor.randn([1 << 20], stream: &s)  // warm up the thread pool
        let start = Date()
        let t = try Tensor.randn([16 << 20], stream: &s)
        let seconds = Date().timeIntervalSince(start)
        print("randn of 16M floats: \(Int(seconds * 1000)) ms")
        XCTAssertEqual(t.count, 16 << 20)
        XCTAssertLessThan(seconds, 1.0)
        #endif
    }
}

/// Pearson's chi-square statistic of observed counts against expected counts.
private func chiSquare(_ observed: [Int], expected: [Double]) -> Double {
    zip(observed, expected).reduce(0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) / $1.1 }
}
