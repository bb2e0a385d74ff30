import Foundation

/// Evaluation metrics of specs/methods.md ("Metrics") and the plain metrics the ten methods use, in Double
/// precision. Each area has its own file: classification, ranking, calibration, regression, information,
/// pass@k, hallucination (CHAIR / POPE) and the bootstrap. They match scikit-learn and scipy to 1e-9 on the
/// randomized fixtures of Tests/Fixtures/make_metrics_fixtures.py.
///
/// Conventions: inputs that pair up must have the same length and must not be empty; binary labels are exactly 0
/// or 1 (1 = positive); problems are `MetricsError`s naming the argument.
public enum Metrics {}

// MARK: - Classification

extension Metrics {
    /// How precision, recall and F1 combine over classes (scikit-learn's `average=`).
    public enum Average<Label: Hashable & Comparable> {
        /// The scores of one class (scikit-learn's `average='binary', pos_label=...`).
        case binary(positive: Label)
        /// The unweighted mean of the per-class scores over every label in `truth` or `predicted`.
        case macro
        /// Scores of the pooled counts (true positives, predictions and true members summed over classes).
        case micro
        /// The mean of the per-class scores weighted by each class's number of true members (its support).
        case weighted
    }

    /// Precision, recall, F1 and support of one class.
    public struct ClassScores<Label: Hashable & Comparable> {
        public let label: Label
        public let precision: Double
        public let recall: Double
        public let f1: Double
        /// How many items truly belong to the class.
        public let support: Int
    }

    /// The fraction of items whose prediction equals the truth (scikit-learn's `accuracy_score`).
    public static func accuracy<L: Equatable>(truth: [L], predicted: [L]) throws -> Double {
        try Check.nonEmpty(truth, "truth")
        try Check.sameCount(truth, "truth", predicted, "predicted")
        var hits = 0
        for (t, p) in zip(truth, predicted) where t == p { hits += 1 }
        return Double(hits) / Double(truth.count)
    }

    /// The confusion matrix: `matrix[i][j]` counts items of true class `labels[i]` predicted as `labels[j]`;
    /// `labels` is the sorted union of the labels in `truth` and `predicted` (scikit-learn's `confusion_matrix`).
    public static func confusionMatrix<L: Hashable & Comparable>(truth: [L], predicted: [L]) throws
        -> (labels: [L], matrix: [[Int]]) {
        try Check.nonEmpty(truth, "truth")
        try Check.sameCount(truth, "truth", predicted, "predicted")
        let labels = Array(Set(truth).union(predicted)).sorted()
        var index: [L: Int] = [:]
        for (i, l) in labels.enumerated() { index[l] = i }
        var m = Array(repeating: Array(repeating: 0, count: labels.count), count: labels.count)
        for (t, p) in zip(truth, predicted) { m[index[t]!][index[p]!] += 1 }
        return (labels, m)
    }

    /// Precision, recall, F1 and support of every label in the sorted union of `truth` and `predicted`
    /// (scikit-learn's `precision_recall_fscore_support(average=None)`). A ratio whose denominator is 0 (a class
    /// never predicted has no precision) is 0, as scikit-learn's default `zero_division` gives (with a warning).
    public static func perClass<L: Hashable & Comparable>(truth: [L], predicted: [L]) throws -> [ClassScores<L>] {
        let (labels, m) = try confusionMatrix(truth: truth, predicted: predicted)
        return labels.indices.map { i in
            let tp = m[i][i]
            let support = m[i].reduce(0, +)
            let predictedCount = m.reduce(0) { $0 + $1[i] }
            return scores(labels[i], tp: tp, predicted: predictedCount, support: support)
        }
    }

    /// Scores from counts: F1 = 2 tp / (2 tp + fp + fn), which is the harmonic mean of precision and recall and
    /// is defined (0) when both are 0.
    static func scores<L>(_ label: L, tp: Int, predicted: Int, support: Int) -> ClassScores<L> {
        func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? 0 : Double(a) / Double(b) }
        return ClassScores(label: label, precision: ratio(tp, predicted), recall: ratio(tp, support),
                           f1: ratio(2 * tp, predicted + support), support: support)
    }

    /// Precision, recall and F1 combined as `average` says.
    public static func precisionRecallF1<L: Hashable & Comparable>(truth: [L], predicted: [L], average: Average<L>)
        throws -> (precision: Double, recall: Double, f1: Double) {
        let classes = try perClass(truth: truth, predicted: predicted)
        switch average {
        case let .binary(positive):
            // scikit-learn scores a positive label that never occurs as 0 (its counts are all zero).
            guard let c = classes.first(where: { $0.label == positive }) else { return (0, 0, 0) }
            return (c.precision, c.recall, c.f1)
        case .macro:
            let n = Double(classes.count)
            return (classes.reduce(0) { $0 + $1.precision } / n, classes.reduce(0) { $0 + $1.recall } / n,
                    classes.reduce(0) { $0 + $1.f1 } / n)
        case .micro:
            // Pooled over classes: every item is one prediction and one true member, so the pooled precision and
            // recall both equal the accuracy when all labels count; computed from the counts all the same.
            let (labels, m) = try confusionMatrix(truth: truth, predicted: predicted)
            var tp = 0, predictedCount = 0, support = 0
            for i in labels.indices {
                tp += m[i][i]
                support += m[i].reduce(0, +)
                predictedCount += m.reduce(0) { $0 + $1[i] }
            }
            let s = scores(labels[0], tp: tp, predicted: predictedCount, support: support)
            return (s.precision, s.recall, s.f1)
        case .weighted:
            let total = Double(classes.reduce(0) { $0 + $1.support })
            func mean(_ f: (ClassScores<L>) -> Double) -> Double {
                classes.reduce(0) { $0 + f($1) * Double($1.support) } / total
            }
            return (mean(\.precision), mean(\.recall), mean(\.f1))
        }
    }

    /// Balanced accuracy: the mean recall over the classes present in `truth` (scikit-learn's
    /// `balanced_accuracy_score`; labels that are only predicted do not count as classes).
    public static func balancedAccuracy<L: Hashable & Comparable>(truth: [L], predicted: [L]) throws -> Double {
        let present = try perClass(truth: truth, predicted: predicted).filter { $0.support > 0 }
        return present.reduce(0) { $0 + $1.recall } / Double(present.count)
    }
}
