import XCTest
import LoupeLang
@testable import LoupeLibrary

/// `sort` of numbers goes through a radix sort; it must order exactly as the comparison sort it replaces:
/// by value, stably (equal values, including 0.0 and -0.0 or 1 and 1.0, keep their input order), nan last.
final class SortTests: XCTestCase {
    private func order(_ xs: [Value], reverse: Bool = false) -> [Int]? { CoreBuiltins.numericOrder(xs, reverse: reverse) }

    func testFloatsByValueStableWithSignedZerosAndNaNLast() {
        let xs: [Value] = [.float(0.0), .float(-0.0), .float(.nan), .float(-1.5), .float(.infinity), .float(-.infinity),
                           .int(1), .float(1.0), .float(2e-310), .float(-2e-310)]
        XCTAssertEqual(order(xs), [5, 3, 9, 0, 1, 8, 6, 7, 4, 2])
        // Descending keeps ties in input order too, and nan still last.
        XCTAssertEqual(order(xs, reverse: true), [4, 6, 7, 8, 0, 1, 9, 3, 5, 2])
    }

    func testIntsIncludingExtremes() {
        let xs: [Value] = [.int(3), .int(Int.min), .int(Int.max), .int(-1), .int(0), .int(3)]
        XCTAssertEqual(order(xs), [1, 3, 4, 0, 5, 2])
        XCTAssertEqual(order(xs, reverse: true), [2, 0, 5, 4, 3, 1])
    }

    func testMatchesComparisonSortOnRandomData() {
        var rng = SystemRandomNumberGenerator()
        for n in [0, 1, 2, 17, 5000] {
            let xs: [Value] = (0..<n).map { i in
                i % 3 == 0 ? .int(Int.random(in: -50...50, using: &rng)) : .float(Double(Int.random(in: -50...50, using: &rng)) / 4)
            }
            func key(_ v: Value) -> Double { if case let .int(i) = v { return Double(i) }; if case let .float(d) = v { return d }; return 0 }
            let expected = xs.indices.sorted { key(xs[$0]) != key(xs[$1]) ? key(xs[$0]) < key(xs[$1]) : $0 < $1 }
            XCTAssertEqual(order(xs), expected, "n = \(n)")
        }
    }

    func testHugeIntsMixedWithFloatsFallBackToComparison() {
        XCTAssertNil(order([.int(1 << 60), .float(0.5)]))
        XCTAssertNil(order([.string("a"), .int(1)]))
    }

    /// The direct path (sort keys, decode them back) must give the same list as the index path.
    func testDirectNumberSortMatchesIndexSort() {
        var rng = SystemRandomNumberGenerator()
        let floats: [Value] = (0..<3000).map { i in
            i % 97 == 0 ? .float(.nan) : .float(Double(Int.random(in: -1000...1000, using: &rng)) / 8)
        } + [.float(.infinity), .float(-.infinity), .float(5e-324)]
        let ints: [Value] = (0..<3000).map { _ in .int(Int.random(in: -5...5, using: &rng)) } + [.int(Int.min), .int(Int.max)]
        for xs in [floats, ints] {
            for reverse in [false, true] {
                let direct = RadixSort.sortedNumbers(xs, reverse: reverse)!
                let viaIndex = order(xs, reverse: reverse)!.map { xs[$0] }
                XCTAssertEqual(direct.map(\.repr), viaIndex.map(\.repr))
            }
        }
        // -0.0 shares 0.0's key, so its lists keep input order through the index path instead.
        XCTAssertNil(RadixSort.sortedNumbers([.float(0), .float(-0.0)], reverse: false))
        XCTAssertNil(RadixSort.sortedNumbers([.int(1), .float(0.5)], reverse: false))
    }
}
