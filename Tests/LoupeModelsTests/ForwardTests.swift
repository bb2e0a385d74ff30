import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// The KV cache and sessions: token-by-token decoding, batched prefill and branching agree.
final class ForwardTests: XCTestCase {
    let ids = [5, 9, 200, 31, 77, 140, 12, 99, 3, 64, 250]

    func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

    /// Prefill of a prefix, then one step per token, gives every position's logits of one batched pass.
    func testStepByStepEqualsBatched() throws {
        for m in [try TestModels.qwen2(), try TestModels.qwen3()] {
            let v = m.config.vocab
            let all = try m.logits(ids).scalars
            let s = m.makeSession()
            let first = try s.prefill(Array(ids[..<3]), allLogits: true).scalars
            XCTAssertLessThan(maxAbsDiff(first, Array(all[..<(3 * v)])), 1e-4)
            for t in 3..<ids.count {
                let l = try s.step(ids[t]).scalars
                XCTAssertLessThan(maxAbsDiff(l, Array(all[(t * v)..<((t + 1) * v)])), 1e-4, "position \(t)")
            }
            XCTAssertEqual(s.position, ids.count)
            XCTAssertEqual(s.tokens, ids)
        }
    }

    /// Two prefills in a row equal one (the second attends to the first's cache), and the cache grows past its
    /// initial capacity without losing rows.
    func testChunkedPrefillAndCacheGrowth() throws {
        let m = try TestModels.qwen2()
        let long = (0..<150).map { ($0 * 37 + 11) % 260 }
        let whole = try m.logits(long).scalars
        let s = m.makeSession()
        _ = try s.prefill(Array(long[..<70]))
        let rest = try s.prefill(Array(long[70...]), allLogits: true).scalars
        let v = m.config.vocab
        XCTAssertLessThan(maxAbsDiff(rest, Array(whole[(70 * v)...])), 1e-4)
    }

    func testForkIsIndependent() throws {
        let m = try TestModels.qwen3()
        let s = m.makeSession()
        _ = try s.prefill(Array(ids[..<5]))
        let f = s.fork()
        let a = try s.step(42).scalars
        let b = try f.step(42).scalars
        XCTAssertEqual(a, b)
        let c = try f.step(7).scalars
        let fresh = m.makeSession()
        _ = try fresh.prefill(Array(ids[..<5]) + [42])
        XCTAssertLessThan(maxAbsDiff(try fresh.step(7).scalars, c), 1e-4)
        XCTAssertEqual(s.position, 6)
        XCTAssertEqual(f.position, 7)
    }

    func testRunErrors() throws {
        let m = try TestModels.qwen2()
        XCTAssertThrowsError(try m.logits([1, 265])) { e in
            XCTAssertEqual(e as? ModelRunError, .tokenOutOfRange(id: 265, position: 1, vocab: 265))
        }
        XCTAssertThrowsError(try m.logits([]))
        XCTAssertThrowsError(try m.logits([Int](repeating: 1, count: 257))) { e in
            XCTAssertEqual(e as? ModelRunError, .contextOverflow(needed: 257, context: 256))
        }
    }
}
