import Foundation

// MARK: - Regression: MSE, MAE, RMSE

extension Metrics {
    /// Mean squared error over all elements (scikit-learn's `mean_squared_error`; for forecasts, flatten every
    /// horizon into one list first: "over all horizons").
    public static func mse(truth: [Double], predicted: [Double]) throws -> Double {
        try regressionInputs(truth, predicted)
        var total = 0.0
        for (t, p) in zip(truth, predicted) { let d = p - t; total += d * d }
        return total / Double(truth.count)
    }

    /// Root mean squared error: sqrt(mse).
    public static func rmse(truth: [Double], predicted: [Double]) throws -> Double {
        try mse(truth: truth, predicted: predicted).squareRoot()
    }

    /// Mean absolute error over all elements (scikit-learn's `mean_absolute_error`).
    public static func mae(truth: [Double], predicted: [Double]) throws -> Double {
        try regressionInputs(truth, predicted)
        var total = 0.0
        for (t, p) in zip(truth, predicted) { total += Swift.abs(p - t) }
        return total / Double(truth.count)
    }

    static func regressionInputs(_ truth: [Double], _ predicted: [Double]) throws {
        try Check.nonEmpty(truth, "truth")
        try Check.sameCount(truth, "truth", predicted, "predicted")
        try Check.finite(truth, "truth")
        try Check.finite(predicted, "predicted")
    }
}
