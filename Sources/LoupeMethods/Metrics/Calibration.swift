import Foundation

// MARK: - Calibration: ECE, reliability bins, Brier

extension Metrics {
    /// One bin of a reliability diagram.
    public struct CalibrationBin: Equatable {
        /// The bin's interval (lower, upper]; the first bin also holds confidence 0.
        public let lower: Double
        public let upper: Double
        /// How many items fall in the bin.
        public let count: Int
        /// Mean confidence and accuracy of those items; NaN for an empty bin.
        public let confidence: Double
        public let accuracy: Double
    }

    /// The most bins a reliability table may have (one table entry per bin is allocated).
    public static let maxBins = 1_000_000

    /// The bin (0-based) of confidence `c` among `bins` equal-width bins ((m-1)/M, m/M]: confidence 0 goes to the
    /// first bin and 1 to the last. The edges are the doubles m / M (correctly rounded), so a confidence written
    /// as an edge (0.3 with 10 bins) lands in the bin it closes, not the next one as ceil(0.3 * 10) - 1 would
    /// put it (0.3 * 10 is 3.0000000000000004 in Double).
    public static func calibrationBin(_ c: Double, bins: Int) -> Int {
        let m = Double(bins)
        var b = Swift.min(Swift.max(Int((c * m).rounded(.up)), 1), bins)  // 1-based guess, then exact edges
        while b > 1, c <= Double(b - 1) / m { b -= 1 }
        while b < bins, c > Double(b) / m { b += 1 }
        return b - 1
    }

    /// The reliability diagram: `bins` equal-width bins of confidence, each with its count, mean confidence and
    /// accuracy (see `calibrationBin` for the edges).
    public static func reliabilityBins(conf: [Double], correct: [Double], bins: Int = 10) throws
        -> [CalibrationBin] {
        let y = try calibrationInputs(conf: conf, correct: correct)
        guard bins >= 1, bins <= maxBins else {
            throw MetricsError.invalidParameter(argument: "bins", message: "must be between 1 and \(maxBins), got \(bins)")
        }
        var count = [Int](repeating: 0, count: bins)
        var confSum = [Double](repeating: 0, count: bins), hitSum = [Double](repeating: 0, count: bins)
        for (c, hit) in zip(conf, y) {
            let b = calibrationBin(c, bins: bins)
            count[b] += 1
            confSum[b] += c
            if hit { hitSum[b] += 1 }
        }
        return (0..<bins).map { b in
            let n = Double(count[b])
            return CalibrationBin(lower: Double(b) / Double(bins), upper: Double(b + 1) / Double(bins),
                                  count: count[b], confidence: count[b] == 0 ? .nan : confSum[b] / n,
                                  accuracy: count[b] == 0 ? .nan : hitSum[b] / n)
        }
    }

    /// Expected calibration error (specs/methods.md): ECE = sum_m |B_m| / n * |acc(B_m) - conf(B_m)| over
    /// `bins` equal-width bins ((m-1)/M, m/M], confidence 0 in bin 1; empty bins add nothing.
    /// Test vector: conf (.9, .8, .3, .6), correct (1, 0, 0, 1) gives 0.40.
    ///
    /// - Parameters:
    ///   - conf: confidences, numbers in [0, 1].
    ///   - correct: 0 or 1 per item.
    public static func ece(conf: [Double], correct: [Double], bins: Int = 10) throws -> Double {
        let table = try reliabilityBins(conf: conf, correct: correct, bins: bins)
        let n = Double(conf.count)
        var total = 0.0
        for b in table where b.count > 0 { total += Double(b.count) / n * Swift.abs(b.accuracy - b.confidence) }
        return total
    }

    /// The Brier score: mean (c - y)^2 over items (scikit-learn's `brier_score_loss` for binary outcomes).
    /// Test vector: conf (.9, .8, .3, .6), correct (1, 0, 0, 1) gives 0.225.
    public static func brier(conf: [Double], correct: [Double]) throws -> Double {
        let y = try calibrationInputs(conf: conf, correct: correct)
        var total = 0.0
        for (c, hit) in zip(conf, y) { let d = c - (hit ? 1 : 0); total += d * d }
        return total / Double(conf.count)
    }

    static func calibrationInputs(conf: [Double], correct: [Double]) throws -> [Bool] {
        try Check.nonEmpty(conf, "conf")
        try Check.sameCount(conf, "conf", correct, "correct")
        try Check.unit(conf, "conf")
        return try Check.binary(correct, "correct")
    }
}
