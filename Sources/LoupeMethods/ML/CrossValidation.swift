import Foundation
import LoupeTensor

extension ML {
    /// One fold of a k-fold split: indices into the samples, each in increasing order.
    public struct Fold: Equatable {
        public let train: [Int]
        public let test: [Int]
    }

    /// Stratified k-fold splits: every fold's test set holds about the same share of each class.
    ///
    /// Fold assignment, exactly scikit-learn's `StratifiedKFold(n_splits=k, shuffle=False)`:
    /// classes are numbered in order of first appearance; the label codes, sorted, are dealt round-robin to the k
    /// folds, which fixes how many members of each class every fold gets (`allocation[f][class]`); then, class by
    /// class, the class's samples in their original order are given fold 0 for the first allocation[0][class],
    /// fold 1 for the next allocation[1][class], and so on (contiguous blocks). Fold f's test set is the samples
    /// given fold f; its training set is all the others.
    ///
    /// With `stream`, each class's block pattern of fold numbers is shuffled (Fisher-Yates with
    /// `RandomStream.shuffle`) before it is given out, so folds are random but stay stratified and reproducible from
    /// the stream; this is scikit-learn's `shuffle=True` algorithm but with Loupe's generator, so the folds
    /// differ from scikit-learn's for the same seed.
    ///
    /// - Throws: when k < 2, k exceeds the number of samples, or every class has fewer than k members (as
    ///   scikit-learn refuses). A class with fewer than k members is allowed (some folds then lack it).
    public static func stratifiedKFold<L: Hashable>(labels: [L], k: Int, stream: inout RandomStream?) throws -> [Fold] {
        try Check.nonEmpty(labels, "labels")
        guard k >= 2 else { throw MetricsError.invalidParameter(argument: "k", message: "must be at least 2, got \(k)") }
        guard k <= labels.count else {
            throw MetricsError.invalidParameter(argument: "k", message:
                "must not exceed the number of samples (\(labels.count)), got \(k)")
        }
        var code: [L: Int] = [:]
        var encoded: [Int] = []
        encoded.reserveCapacity(labels.count)
        for l in labels {
            if code[l] == nil { code[l] = code.count }
            encoded.append(code[l]!)
        }
        let nClasses = code.count
        var counts = [Int](repeating: 0, count: nClasses)
        for c in encoded { counts[c] += 1 }
        guard counts.contains(where: { $0 >= k }) else {
            throw MetricsError.invalidParameter(argument: "k", message:
                "is \(k), more than the members of every class (largest class: \(counts.max()!))")
        }
        // Round-robin over the sorted codes: fold f receives sorted[f], sorted[f + k], ...
        let sorted = encoded.sorted()
        var allocation = Array(repeating: [Int](repeating: 0, count: nClasses), count: k)
        for (i, c) in sorted.enumerated() { allocation[i % k][c] += 1 }
        var testFold = [Int](repeating: 0, count: labels.count)
        for c in 0..<nClasses {
            var folds: [Int] = []
            for f in 0..<k { folds += Array(repeating: f, count: allocation[f][c]) }
            if stream != nil { stream!.shuffle(&folds) }
            var next = 0
            for i in 0..<labels.count where encoded[i] == c { testFold[i] = folds[next]; next += 1 }
        }
        return (0..<k).map { f in
            Fold(train: (0..<labels.count).filter { testFold[$0] != f }, test: (0..<labels.count).filter { testFold[$0] == f })
        }
    }

    /// The result of a cross-validated AUROC.
    public struct CrossValidatedAUROC: Equatable {
        /// The AUROC on each fold's test set, in fold order.
        public let folds: [Double]
        /// Their mean (scikit-learn's `cross_val_score(..., scoring='roc_auc').mean()`).
        public let mean: Double
        /// Out-of-fold probabilities: each sample scored by the model that did not see it.
        public let outOfFold: [Double]
        /// The AUROC of the pooled out-of-fold probabilities.
        public let pooled: Double
    }

    /// Cross-validated AUROC of a logistic-regression probe: for each stratified fold, standardise on the training
    /// rows (if `standardize`), fit `LogisticRegression(C: c)` there, and score the test rows. The same as
    /// scikit-learn's `cross_val_score(make_pipeline(StandardScaler(), LogisticRegression(C=c)), x, y,
    /// cv=StratifiedKFold(k), scoring='roc_auc')`.
    ///
    /// - Throws: as `stratifiedKFold`, and when a fold's test set holds one class only (its AUROC is undefined).
    public static func crossValidatedAUROC(x: [[Double]], labels y: [Double], k: Int = 5, c: Double = 1,
                                           standardize: Bool = true, stream: inout RandomStream?) throws
        -> CrossValidatedAUROC {
        _ = try checkMatrix(x, "x")
        try Check.sameCount(x, "x", y, "labels")
        _ = try Check.binary(y, "labels")
        let folds = try stratifiedKFold(labels: y, k: k, stream: &stream)
        var scores: [Double] = []
        var outOfFold = [Double](repeating: .nan, count: x.count)
        for fold in folds {
            var train = fold.train.map { x[$0] }
            var test = fold.test.map { x[$0] }
            if standardize {
                let scaler = try StandardScaler(fitting: train)
                train = try scaler.transform(train)
                test = try scaler.transform(test)
            }
            let model = try LogisticRegression(fitting: train, labels: fold.train.map { y[$0] }, c: c)
            let p = try model.predictProba(test)
            for (i, pi) in zip(fold.test, p) { outOfFold[i] = pi }
            scores.append(try Metrics.auroc(scores: p, labels: fold.test.map { y[$0] }))
        }
        return CrossValidatedAUROC(folds: scores, mean: scores.reduce(0, +) / Double(scores.count),
                                   outOfFold: outOfFold, pooled: try Metrics.auroc(scores: outOfFold, labels: y))
    }
}
