import Foundation

// MARK: - Information: entropy, KL, JSD (nats)

extension Metrics {
    /// How far from 1 a distribution's sum may be: Float32 softmax over a 50k vocabulary sums to 1 within ~1e-5.
    public static let distributionTolerance = 1e-3

    /// Shannon entropy H(p) = -sum p log p in nats, with 0 log 0 = 0 (scipy's `stats.entropy(p)`).
    /// `p` must be a distribution: finite, non-negative, summing to 1 within `distributionTolerance`. It is used
    /// as given, not renormalised (scipy divides by the sum; the two agree on distributions).
    public static func entropy(_ p: [Double], argument: String = "p") throws -> Double {
        try checkDistribution(p, argument)
        var h = 0.0
        for x in p where x > 0 { h -= x * Foundation.log(x) }
        return h
    }

    /// KL(p || q) = sum p log(p / q) in nats, 0 log 0 = 0; +infinity where q is 0 and p is not (scipy's
    /// `stats.entropy(p, q)`).
    public static func kl(_ p: [Double], _ q: [Double]) throws -> Double {
        try checkDistribution(p, "p")
        try checkDistribution(q, "q")
        try Check.sameCount(p, "p", q, "q")
        var d = 0.0
        for (x, y) in zip(p, q) where x > 0 {
            if y == 0 { return .infinity }
            d += x * Foundation.log(x / y)
        }
        return d
    }

    /// The generalized Jensen-Shannon divergence of distributions q_1..q_K with weights pi (uniform by default):
    /// JSD_pi = H(sum pi_k q_k) - sum pi_k H(q_k), in nats (specs/methods.md). It is computed in the equal form
    /// sum pi_k KL(q_k || m), m = sum pi_k q_k, whose terms are each >= 0, so the result never comes out as a
    /// tiny negative number. For two distributions with equal weights this is the square of scipy's
    /// `spatial.distance.jensenshannon(p, q)` (which returns the distance, the square root).
    /// With uniform weights it is also the mutual information of an ensemble (the "epistemic" part of its entropy).
    public static func jsd(_ distributions: [[Double]], weights: [Double]? = nil) throws -> Double {
        try Check.nonEmpty(distributions, "distributions")
        let v = distributions[0].count
        for (k, q) in distributions.enumerated() {
            guard q.count == v else {
                throw MetricsError.invalidValue(argument: "distributions", index: k, message:
                    "must hold distributions of one length, found \(q.count) after \(v)")
            }
            try checkDistribution(q, "distributions", element: k)
        }
        let w = weights ?? Array(repeating: 1 / Double(distributions.count), count: distributions.count)
        if weights != nil {
            try Check.sameCount(distributions, "distributions", w, "weights")
            try checkDistribution(w, "weights")
        }
        var m = [Double](repeating: 0, count: v)
        for (q, wk) in zip(distributions, w) { for i in 0..<v { m[i] += wk * q[i] } }
        var total = 0.0
        for (q, wk) in zip(distributions, w) where wk > 0 {
            var d = 0.0
            for i in 0..<v where q[i] > 0 { d += q[i] * Foundation.log(q[i] / m[i]) }
            total += wk * d
        }
        return total
    }

    /// Perplexity exp(mean NLL) of per-token negative log-likelihoods in nats (specs/methods.md section 9 evaluates
    /// head pruning by it). NLLs are >= 0 and finite.
    public static func perplexity(nll: [Double]) throws -> Double {
        try Check.nonEmpty(nll, "nll")
        for (i, x) in nll.enumerated() where !(x.isFinite && x >= 0) {
            throw MetricsError.invalidValue(argument: "nll", index: i, message:
                "must hold negative log-likelihoods (finite, >= 0), found \(x)")
        }
        return Foundation.exp(nll.reduce(0, +) / Double(nll.count))
    }

    static func checkDistribution(_ p: [Double], _ name: String, element: Int? = nil) throws {
        let which = element.map { "element \($0) " } ?? ""
        if p.isEmpty {
            if let element { throw MetricsError.invalidValue(argument: name, index: element, message: "must not hold an empty distribution") }
            throw MetricsError.empty(argument: name)
        }
        var sum = 0.0
        for (i, x) in p.enumerated() {
            guard x.isFinite, x >= 0 else {
                throw MetricsError.invalidValue(argument: name, index: element ?? i, message:
                    "must hold probabilities (finite, >= 0), \(which)has \(x)\(element == nil ? "" : " at position \(i)")")
            }
            sum += x
        }
        guard Swift.abs(sum - 1) <= distributionTolerance else {
            throw MetricsError.invalidValue(argument: name, index: element, message:
                "must be a probability distribution summing to 1, \(which)sums to \(sum)")
        }
    }
}
