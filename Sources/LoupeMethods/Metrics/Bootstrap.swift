import Foundation
import LoupeTensor

// MARK: - Bootstrap confidence intervals

extension Metrics {
    /// A bootstrap confidence interval.
    public struct BootstrapInterval: Equatable {
        /// The statistic on the original sample.
        public let estimate: Double
        /// The interval's ends.
        public let low: Double
        public let high: Double
        public let confidence: Double
        /// Resamples drawn, and those whose statistic was a number (NaN statistics are left out).
        public let resamples: Int
        public let used: Int
    }

    /// The most resamples one interval draws (their statistics are kept in memory).
    public static let maxResamples = 10_000_000

    /// A percentile bootstrap confidence interval for a statistic of `count` items.
    ///
    /// Each of `resamples` resamples draws `count` indices uniformly with replacement,
    /// `stream.nextInt(0, count)` one after the other (numpy's `Generator(Philox(key)).integers(0, count,
    /// size=count)` draws the same indices), and evaluates `statistic` on them. The interval is the
    /// (1 - confidence)/2 and (1 + confidence)/2 quantiles of the resampled statistics, by linear interpolation
    /// between order statistics (numpy's default `percentile` method). A statistic that is NaN on some resample
    /// (an AUROC of a resample holding one class) leaves that resample out; `used` says how many remained.
    ///
    /// - Parameters:
    ///   - count: the number of items (at least 1).
    ///   - resamples: how many resamples to draw (1...`maxResamples`; 1000 by default).
    ///   - confidence: the interval's coverage, in (0, 1).
    ///   - stream: the caller's seeded random stream, advanced by `resamples * count` draws.
    ///   - statistic: the statistic of the items at the given indices (the original sample is 0..<count).
    public static func bootstrapCI(count: Int, resamples: Int = 1000, confidence: Double = 0.95,
                                   stream: inout RandomStream, statistic: ([Int]) throws -> Double) throws
        -> BootstrapInterval {
        guard count >= 1 else { throw MetricsError.empty(argument: "data") }
        guard resamples >= 1, resamples <= maxResamples else {
            throw MetricsError.invalidParameter(argument: "resamples", message:
                "must be between 1 and \(maxResamples), got \(resamples)")
        }
        guard confidence > 0, confidence < 1 else {
            throw MetricsError.invalidParameter(argument: "confidence", message: "must be in (0, 1), got \(confidence)")
        }
        let estimate = try statistic(Array(0..<count))
        var stats: [Double] = []
        stats.reserveCapacity(resamples)
        var indices = [Int](repeating: 0, count: count)
        for _ in 0..<resamples {
            for i in 0..<count { indices[i] = try stream.nextInt(0, count) }
            let s = try statistic(indices)
            if !s.isNaN { stats.append(s) }
        }
        guard !stats.isEmpty else {
            throw MetricsError.invalidParameter(argument: "statistic", message: "was NaN on every resample")
        }
        stats.sort()
        let alpha = 1 - confidence
        return BootstrapInterval(estimate: estimate, low: quantile(sorted: stats, alpha / 2),
                                 high: quantile(sorted: stats, 1 - alpha / 2), confidence: confidence,
                                 resamples: resamples, used: stats.count)
    }

    /// The q-quantile of sorted values by linear interpolation between order statistics: position (m - 1) q
    /// (numpy's `quantile(method='linear')`, Hyndman & Fan type 7).
    public static func quantile(sorted xs: [Double], _ q: Double) -> Double {
        let h = Double(xs.count - 1) * q
        let lo = Int(h.rounded(.down))
        let hi = Swift.min(lo + 1, xs.count - 1)
        let t = h - Double(lo)
        // numpy's lerp: from the nearer end, so that t = 1 gives the upper value exactly.
        return t < 0.5 ? xs[lo] + (xs[hi] - xs[lo]) * t : xs[hi] - (xs[hi] - xs[lo]) * (1 - t)
    }
}
