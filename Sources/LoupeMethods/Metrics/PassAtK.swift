import Foundation

// MARK: - pass@k

extension Metrics {
    /// The most samples per problem: the product below has one factor per correct sample.
    public static let maxSamples = 100_000_000

    /// The unbiased pass@k estimator of Chen et al. 2021 for one problem with `n` samples of which `c` are
    /// correct: 1 - C(n-c, k) / C(n, k), the chance that k samples drawn without replacement include a correct one.
    /// Computed in the stable product form 1 - prod_{i=n-c+1}^{n} (1 - k/i), and 1 when n - c < k (every k-subset
    /// holds a correct sample). Test vector: n = 5, c = 2, k = 2 gives 0.7.
    ///
    /// - Throws: `MetricsError.invalidParameter` unless 1 <= k <= n, 0 <= c <= n and n <= `maxSamples`.
    public static func passAtK(n: Int, c: Int, k: Int) throws -> Double {
        guard n >= 1, n <= maxSamples else {
            throw MetricsError.invalidParameter(argument: "n", message: "must be between 1 and \(maxSamples), got \(n)")
        }
        guard c >= 0, c <= n else {
            throw MetricsError.invalidParameter(argument: "c", message: "must be between 0 and n = \(n), got \(c)")
        }
        guard k >= 1, k <= n else {
            throw MetricsError.invalidParameter(argument: "k", message: "must be between 1 and n = \(n), got \(k)")
        }
        if n - c < k { return 1 }
        if c == 0 { return 0 }
        var miss = 1.0  // C(n-c, k) / C(n, k), one factor per correct sample
        for i in (n - c + 1)...n { miss *= 1 - Double(k) / Double(i) }
        return 1 - miss
    }

    /// pass@k averaged over problems: problem j has `n[j]` samples and `c[j]` correct ones.
    public static func passAtK(n: [Int], c: [Int], k: Int) throws -> Double {
        try Check.nonEmpty(c, "c")
        try Check.sameCount(n, "n", c, "c")
        var total = 0.0
        for (j, (nj, cj)) in zip(n, c).enumerated() {
            do { total += try passAtK(n: nj, c: cj, k: k) } catch let e as MetricsError {
                // Name the problem at fault: "argument 'c' must be between 0 and n = 5, got 7 (problem 3)".
                throw MetricsError.invalidParameter(argument: e.argument, message: e.problem + " (problem \(j))")
            }
        }
        return total / Double(c.count)
    }
}
