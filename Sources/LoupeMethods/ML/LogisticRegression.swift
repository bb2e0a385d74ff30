import Foundation

extension ML {
    /// Binary logistic regression with an L2 penalty on the weights (not on the intercept), fitted by Newton's
    /// method (iteratively reweighted least squares) to a tight tolerance.
    ///
    /// It minimises C * sum_i log-loss_i + ||w||^2 / 2, the objective of scikit-learn's
    /// `LogisticRegression(C=C, penalty='l2')` with the `lbfgs` / `newton-cg` solvers (which leave the intercept
    /// unpenalised). scikit-learn stops at `tol=1e-4` by default; at a tight `tol` its coefficients and these
    /// agree to ~1e-8 on well-conditioned data (the fixtures check 1e-6).
    public struct LogisticRegression: Equatable {
        /// One weight per feature.
        public let coef: [Double]
        public let intercept: Double
        /// The inverse regularisation strength it was fitted with.
        public let c: Double
        /// Newton iterations taken.
        public let iterations: Int

        public init(coef: [Double], intercept: Double, c: Double, iterations: Int = 0) {
            self.coef = coef; self.intercept = intercept; self.c = c; self.iterations = iterations
        }

        /// Fits the model to rows `x` and labels `y` (0 or 1, both present).
        ///
        /// - Parameters:
        ///   - c: inverse regularisation strength (> 0; larger means weaker).
        ///   - maxIterations: Newton steps at most; convergence normally takes 5-15.
        public init(fitting x: [[Double]], labels y: [Double], c: Double = 1, maxIterations: Int = 100) throws {
            let d = try ML.checkMatrix(x, "x")
            try Check.sameCount(x, "x", y, "labels")
            let yb = try Check.binary(y, "labels")
            guard yb.contains(true), yb.contains(false) else {
                throw MetricsError.singleClass(argument: "labels", detail:
                    "must hold both classes (0 and 1) to fit a logistic regression, found only \(yb[0] ? 1 : 0)")
            }
            guard c > 0, c.isFinite else {
                throw MetricsError.invalidParameter(argument: "C", message: "must be a positive number, got \(c)")
            }
            let p = d + 1  // weights, then the intercept
            let lambda = 1 / c
            let targets = yb.map { $0 ? 1.0 : 0.0 }
            var theta = [Double](repeating: 0, count: p)

            func objective(_ t: [Double]) -> Double {
                var f = 0.0
                for (row, yi) in zip(x, targets) {
                    let z = LogisticRegression.linear(row, t)
                    f += LogisticRegression.softplus(z) - yi * z
                }
                var w2 = 0.0
                for j in 0..<d { w2 += t[j] * t[j] }
                return f + 0.5 * lambda * w2
            }

            var f = objective(theta)
            var iterations = 0
            while iterations < maxIterations {
                iterations += 1
                // Gradient X~^T (p - y) + lambda [w, 0] and Hessian X~^T diag(p (1 - p)) X~ + lambda diag(1.., 0).
                var g = [Double](repeating: 0, count: p)
                var h = [Double](repeating: 0, count: p * p)
                for (row, yi) in zip(x, targets) {
                    let prob = LogisticRegression.sigmoid(LogisticRegression.linear(row, theta))
                    let r = prob - yi, wgt = prob * (1 - prob)
                    for a in 0..<p {
                        let xa = a < d ? row[a] : 1
                        g[a] += r * xa
                        let wa = wgt * xa
                        for b in 0...a { h[a * p + b] += wa * (b < d ? row[b] : 1) }
                    }
                }
                for j in 0..<d { g[j] += lambda * theta[j]; h[j * p + j] += lambda }
                for a in 0..<p { for b in 0..<a { h[b * p + a] = h[a * p + b] } }
                let step = ML.solveSymmetric(h, g, p)
                // Newton decrement g . step / 2 estimates how far f is above its minimum.
                var decrement = 0.0
                for a in 0..<p { decrement += g[a] * step[a] }
                if decrement / 2 <= 1e-20 * Swift.max(1, Swift.abs(f)) { break }
                // Backtracking (Armijo) keeps each step a descent even far from the optimum.
                var t = 1.0
                var candidate = theta
                var fc = f
                while t > 1e-12 {
                    for a in 0..<p { candidate[a] = theta[a] - t * step[a] }
                    fc = objective(candidate)
                    if fc <= f - 1e-4 * t * decrement { break }
                    t /= 2
                }
                if fc >= f { break }  // no further decrease representable
                theta = candidate
                f = fc
            }
            coef = Array(theta[0..<d])
            intercept = theta[d]
            self.c = c
            self.iterations = iterations
        }

        /// w . x + b per row.
        public func decisionFunction(_ x: [[Double]]) throws -> [Double] {
            let d = try ML.checkMatrix(x, "x")
            guard d == coef.count else {
                throw MetricsError.invalidParameter(argument: "x", message:
                    "has \(d) features but the model was fitted on \(coef.count)")
            }
            return x.map { LogisticRegression.linear($0, coef + [intercept]) }
        }

        /// P(y = 1 | x) per row (scikit-learn's `predict_proba(x)[:, 1]`).
        public func predictProba(_ x: [[Double]]) throws -> [Double] {
            try decisionFunction(x).map(LogisticRegression.sigmoid)
        }

        /// w . x + b, with theta = [w..., b].
        static func linear(_ row: [Double], _ theta: [Double]) -> Double {
            var z = theta[row.count]
            for j in 0..<row.count { z += row[j] * theta[j] }
            return z
        }

        /// log(1 + e^z) without overflow.
        static func softplus(_ z: Double) -> Double {
            z > 0 ? z + Foundation.log1p(Foundation.exp(-z)) : Foundation.log1p(Foundation.exp(z))
        }

        /// 1 / (1 + e^-z) without overflow.
        static func sigmoid(_ z: Double) -> Double {
            if z >= 0 { return 1 / (1 + Foundation.exp(-z)) }
            let e = Foundation.exp(z)
            return e / (1 + e)
        }
    }

    /// Solves A x = b for a symmetric positive (semi)definite A (row-major n x n) by Cholesky. A matrix that is
    /// singular in Double (a Hessian whose weights p (1 - p) all underflowed) gets a growing ridge until it
    /// factors, which turns the Newton step into a damped one instead of failing.
    static func solveSymmetric(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
        var ridge = 0.0
        var scale = 0.0
        for i in 0..<n { scale = Swift.max(scale, Swift.abs(a[i * n + i])) }
        while true {
            var l = [Double](repeating: 0, count: n * n)
            var ok = true
            outer: for i in 0..<n {
                for j in 0...i {
                    var s = a[i * n + j] + (i == j ? ridge : 0)
                    for k in 0..<j { s -= l[i * n + k] * l[j * n + k] }
                    if i == j {
                        guard s > 0 else { ok = false; break outer }
                        l[i * n + i] = s.squareRoot()
                    } else {
                        l[i * n + j] = s / l[j * n + j]
                    }
                }
            }
            if ok {
                var y = b
                for i in 0..<n {
                    for k in 0..<i { y[i] -= l[i * n + k] * y[k] }
                    y[i] /= l[i * n + i]
                }
                for i in stride(from: n - 1, through: 0, by: -1) {
                    for k in (i + 1)..<n { y[i] -= l[k * n + i] * y[k] }
                    y[i] /= l[i * n + i]
                }
                return y
            }
            ridge = ridge == 0 ? Swift.max(scale, 1) * 1e-12 : ridge * 10
        }
    }
}
