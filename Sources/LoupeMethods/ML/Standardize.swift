import Foundation

/// A small machine-learning toolkit shared by the methods (the hidden-state probes of specs/methods.md):
/// standardisation, L2-regularised logistic regression, stratified k-fold splits and cross-validated AUROC.
/// Double precision throughout; inputs are row-major matrices `[[Double]]` (one row per sample). Each routine
/// matches its scikit-learn counterpart (see Tests/Fixtures/make_metrics_fixtures.py). Problems are
/// `MetricsError`s naming the argument.
public enum ML {
    /// Checks that `x` is a non-empty matrix with rows of one length and finite entries; returns its width.
    static func checkMatrix(_ x: [[Double]], _ name: String) throws -> Int {
        try Check.nonEmpty(x, name)
        let d = x[0].count
        guard d > 0 else { throw MetricsError.invalidValue(argument: name, index: 0, message: "must have at least one feature per row") }
        for (i, row) in x.enumerated() {
            guard row.count == d else {
                throw MetricsError.invalidValue(argument: name, index: i, message:
                    "must have rows of one length, found a row of \(row.count) after rows of \(d)")
            }
            for v in row where !v.isFinite {
                throw MetricsError.invalidValue(argument: name, index: i, message: "must hold finite numbers, found \(v)")
            }
        }
        return d
    }
}

extension ML {
    /// Standardisation to zero mean and unit variance per feature (scikit-learn's `StandardScaler`).
    ///
    /// The scale is the *population* standard deviation (divisor n, `ddof=0`), as scikit-learn uses; a feature
    /// that is constant (its variance within rounding of 0, by scikit-learn's test
    /// var <= n eps var + (n mean eps)^2) gets scale 1, so it maps to 0 instead of dividing by zero.
    public struct StandardScaler: Equatable {
        public let mean: [Double]
        public let scale: [Double]

        /// Fits the mean and scale of each column of `x`.
        public init(fitting x: [[Double]]) throws {
            let d = try ML.checkMatrix(x, "x")
            let n = Double(x.count)
            var mean = [Double](repeating: 0, count: d)
            for row in x { for j in 0..<d { mean[j] += row[j] } }
            for j in 0..<d { mean[j] /= n }
            // Two passes with the rounding correction (the "corrected two-pass" variance scikit-learn computes):
            // var = (sum (x - mean)^2 - (sum (x - mean))^2 / n) / n.
            var squares = [Double](repeating: 0, count: d), residual = [Double](repeating: 0, count: d)
            for row in x {
                for j in 0..<d { let t = row[j] - mean[j]; residual[j] += t; squares[j] += t * t }
            }
            var scale = [Double](repeating: 1, count: d)
            let eps = Double.ulpOfOne
            for j in 0..<d {
                let variance = (squares[j] - residual[j] * residual[j] / n) / n
                let constant = variance <= n * eps * variance + (n * mean[j] * eps) * (n * mean[j] * eps)
                scale[j] = constant ? 1 : variance.squareRoot()
            }
            self.mean = mean
            self.scale = scale
        }

        public init(mean: [Double], scale: [Double]) { self.mean = mean; self.scale = scale }

        /// (x - mean) / scale, column by column.
        public func transform(_ x: [[Double]]) throws -> [[Double]] {
            let d = try ML.checkMatrix(x, "x")
            guard d == mean.count else {
                throw MetricsError.invalidParameter(argument: "x", message:
                    "has \(d) features but the scaler was fitted on \(mean.count)")
            }
            return x.map { row in (0..<d).map { (row[$0] - mean[$0]) / scale[$0] } }
        }
    }
}
