import Foundation

// MARK: - Ranking: AUROC and average precision

extension Metrics {
    /// The area under the ROC curve: P(s+ > s-) + 0.5 P(s+ = s-) over all (positive, negative) pairs, the
    /// Mann-Whitney U statistic divided by n+ n-. Computed from average ranks (ties share their mean rank), which
    /// equals scikit-learn's `roc_auc_score` (trapezoids over the ROC curve at distinct thresholds) exactly in
    /// exact arithmetic, and to ~1e-15 in Double. O(n log n).
    ///
    /// - Parameters:
    ///   - scores: finite scores, higher meaning "more likely positive".
    ///   - labels: 0 or 1 per score (1 = positive).
    /// - Throws: `MetricsError.singleClass` when the labels are all 0 or all 1 (the AUROC is undefined;
    ///   scikit-learn raises a ValueError too), and the usual length / label / finiteness errors.
    public static func auroc(scores: [Double], labels: [Double]) throws -> Double {
        let y = try rankingInputs(scores: scores, labels: labels)
        let nPos = y.reduce(0) { $0 + ($1 ? 1 : 0) }
        let nNeg = y.count - nPos
        guard nPos > 0, nNeg > 0 else {
            throw MetricsError.singleClass(argument: "labels", detail:
                "must hold both classes (0 and 1) for an AUROC, found only \(nPos > 0 ? 1 : 0)")
        }
        let ranks = averageRanks(scores)
        var positiveRankSum = 0.0
        for (r, isPos) in zip(ranks, y) where isPos { positiveRankSum += r }
        let u = positiveRankSum - Double(nPos) * Double(nPos + 1) / 2
        return u / (Double(nPos) * Double(nNeg))
    }

    /// Average precision (scikit-learn's `average_precision_score`): sum over distinct thresholds, from the
    /// highest score down, of (R_k - R_{k-1}) P_k, where P_k and R_k are the precision and recall of predicting
    /// positive every item scoring >= the k-th threshold (R_0 = 0). Tied scores enter together. This is the
    /// step-function area under the precision-recall curve, without interpolation.
    ///
    /// - Throws: `MetricsError.singleClass` when no label is 1 (scikit-learn returns 0.0 with a warning there;
    ///   Loupe refuses, as recall is undefined). All positives give 1.
    public static func averagePrecision(scores: [Double], labels: [Double]) throws -> Double {
        let y = try rankingInputs(scores: scores, labels: labels)
        let nPos = y.reduce(0) { $0 + ($1 ? 1 : 0) }
        guard nPos > 0 else {
            throw MetricsError.singleClass(argument: "labels", detail:
                "must hold at least one positive (1) for an average precision, found none")
        }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, seen = 0, ap = 0.0, previousRecall = 0.0
        var i = 0
        while i < order.count {
            // Take every item tied at this threshold.
            let s = scores[order[i]]
            while i < order.count, scores[order[i]] == s {
                if y[order[i]] { tp += 1 }
                seen += 1
                i += 1
            }
            let recall = Double(tp) / Double(nPos)
            ap += (recall - previousRecall) * (Double(tp) / Double(seen))
            previousRecall = recall
        }
        return ap
    }

    /// Ranks 1...n of `xs` in ascending order, ties sharing the mean of the ranks they span (scipy's
    /// `rankdata(method='average')`).
    public static func averageRanks(_ xs: [Double]) -> [Double] {
        let order = xs.indices.sorted { xs[$0] < xs[$1] }
        var ranks = [Double](repeating: 0, count: xs.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, xs[order[j + 1]] == xs[order[i]] { j += 1 }
            // Positions i...j (0-based) hold ranks i+1...j+1, whose mean is (i + j) / 2 + 1.
            let r = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = r }
            i = j + 1
        }
        return ranks
    }

    static func rankingInputs(scores: [Double], labels: [Double]) throws -> [Bool] {
        try Check.nonEmpty(scores, "scores")
        try Check.sameCount(scores, "scores", labels, "labels")
        try Check.finite(scores, "scores")
        return try Check.binary(labels, "labels")
    }
}
