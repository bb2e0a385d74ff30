import Foundation

/// Splits work across the machine's cores when it is big enough to pay for the hand-off.
public enum Parallel {
    /// Cores used by Loupe's own kernels (BLAS has its own pool).
    public static let cores: Int = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Below this many elements of simple work, one thread is faster than waking another.
    public static let grain = 1 << 16

    /// Calls `body(range)` on disjoint chunks covering `0..<count`, in parallel when `count * cost >= grain`.
    /// `cost` is a rough per-element weight: 1 for an add, ~8 for an exp.
    @inlinable
    public static func forEach(_ count: Int, cost: Int = 1, _ body: (Range<Int>) -> Void) {
        let chunks = Swift.min(cores, Swift.max(1, count * cost / grain))
        if chunks <= 1 {
            body(0..<count)
            return
        }
        // Chunk boundaries rounded to 16 elements so that SIMD loops in each chunk start aligned.
        let per = ((count + chunks - 1) / chunks + 15) & ~15
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = Swift.min(count, c * per)
            let hi = Swift.min(count, lo + per)
            if lo < hi { body(lo..<hi) }
        }
    }
}
