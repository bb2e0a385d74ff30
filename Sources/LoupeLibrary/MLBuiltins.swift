import Foundation
import LoupeLang
import LoupeMethods
import LoupeTensor

/// The `ml` namespace: LoupeMethods' `ML` (standardisation, L2 logistic regression, stratified k-fold,
/// cross-validated AUROC) bound into the language, for the methods' probes.
///
/// Decisions:
/// - A feature matrix is a 2-d tensor or a list of rows (lists of numbers or 1-d tensors); a 1-d list or tensor
///   is one feature per sample (n x 1). Math is in Double; tensors are read at their Float32 values.
/// - Fitted models are records holding their parameters and functions bound to them
///   (`m.predict_proba(x)`), so they print, compare and travel through notebook cells like any record.
/// - Binary labels are 0/1 or false/true; fold indices are ints, each fold's lists in increasing order.
enum MLBuiltins {
    static func register(_ r: LibRegistrar) {
        r.registry.documentNamespace("ml", """
            Small machine learning for probes: ml.standardize, ml.logreg (L2 logistic regression), \
            ml.stratified_kfold, ml.cv_auroc. Double precision, matching scikit-learn.
            """)
        let session = LibRandomSession()

        add(r, "standardize", [Parameter("x")], doc: """
            Standardises each column to mean 0 and standard deviation 1, with the population std (divisor n) as
            sklearn's StandardScaler; constant columns get scale 1. A record {x, mean, scale, transform}: x the
            standardised matrix (a tensor if x was one, else lists), transform(x2) applies the same mean and scale.
            """) { a in
            let x = try matrix(a, "x")
            let scaler = try ML.StandardScaler(fitting: x)
            let asTensor: Bool
            if case .tensor = a["x"] { asTensor = true } else { asTensor = false }
            let transform = Builtin(name: "ml.standardize.transform", parameters: [Parameter("x")],
                                    doc: "Applies the fitted mean and scale to x (same number of columns).") { raw in
                let b = LibArgs(raw)
                return try guarded(b) {
                    let t = try scaler.transform(try matrix(b, "x"))
                    if case .tensor = b["x"] { return try tensor(t, b) }
                    return rowsValue(t)
                }
            }
            return .record(Record(["x": asTensor ? try tensor(try scaler.transform(x), a) : rowsValue(try scaler.transform(x)),
                                   "mean": floats(scaler.mean), "scale": floats(scaler.scale),
                                   "transform": .function(transform)]))
        }

        add(r, "logreg", [Parameter("x"), Parameter("labels", .oneOf([.list, .tensor])),
                          Parameter("C", .number, default: .float(1), keywordOnly: true)], doc: """
            Binary logistic regression with an L2 penalty, fitted by Newton's method: minimises
            C * sum log-loss + |w|^2 / 2 (intercept unpenalised), as sklearn's LogisticRegression(C=C). A record
            {coef, intercept, C, iterations, predict_proba, decision_function}: predict_proba(x) gives P(label 1)
            per row, decision_function(x) gives w . x + b.
            """) { a in
            let model = try ML.LogisticRegression(fitting: try matrix(a, "x"), labels: try MetricsBuiltins.numbers(a, "labels"),
                                                  c: try a.double("C"))
            func method(_ name: String, _ doc: String, _ f: @escaping ([[Double]]) throws -> [Double]) -> Value {
                .function(Builtin(name: "ml.logreg.\(name)", parameters: [Parameter("x")], doc: doc) { raw in
                    let b = LibArgs(raw)
                    return try guarded(b) { floats(try f(try matrix(b, "x"))) }
                })
            }
            return .record(Record([
                "coef": floats(model.coef), "intercept": .float(model.intercept), "C": .float(model.c),
                "iterations": .int(model.iterations),
                "predict_proba": method("predict_proba", "P(label 1 | x) for each row of x.", model.predictProba),
                "decision_function": method("decision_function", "w . x + b for each row of x.", model.decisionFunction),
            ]))
        }

        let shuffled = [Parameter("shuffle", .bool, default: .bool(false), keywordOnly: true),
                        Parameter("seed", .int, default: .nil, keywordOnly: true)]
        func withStream<T>(_ a: LibArgs, _ body: (inout RandomStream?) throws -> T) throws -> T {
            guard try a.bool("shuffle") else { var none: RandomStream? = nil; return try body(&none) }
            var stream: RandomStream? = a.isNil("seed") ? session.stream : RandomStream(seed: try a.seed("seed"))
            defer { if a.isNil("seed"), let s = stream { session.stream = s } }
            return try body(&stream)
        }

        add(r, "stratified_kfold", [Parameter("labels", .oneOf([.list, .tensor])),
                                    Parameter("k", .int, default: .int(5), keywordOnly: true)] + shuffled, doc: """
            Stratified k-fold splits: a list of k records {train, test} of sample indices. Unshuffled, the folds are
            exactly sklearn's StratifiedKFold(k): each class's samples, in order, are dealt to folds in contiguous
            blocks sized so that every fold gets its share. shuffle: true shuffles each class's fold pattern with
            seed (or the session's stream): reproducible, but not sklearn's shuffled folds.
            """) { a in
            let labels = try MetricsBuiltins.classLabels(a, "labels")
            let folds = try withStream(a) { try ML.stratifiedKFold(labels: labels, k: try a.int("k"), stream: &$0) }
            return .list(folds.map { f in
                .record(Record(["train": .list(f.train.map { .int($0) }), "test": .list(f.test.map { .int($0) })]))
            })
        }

        add(r, "cv_auroc", [Parameter("x"), Parameter("labels", .oneOf([.list, .tensor])),
                            Parameter("k", .int, default: .int(5), keywordOnly: true),
                            Parameter("C", .number, default: .float(1), keywordOnly: true),
                            Parameter("standardize", .bool, default: .bool(true), keywordOnly: true)] + shuffled, doc: """
            Cross-validated AUROC of a logistic-regression probe on stratified k folds (standardised on each training
            split unless standardize: false), as sklearn's cross_val_score(make_pipeline(StandardScaler(),
            LogisticRegression(C)), x, labels, cv=StratifiedKFold(k), scoring="roc_auc"). A record {mean, folds,
            pooled, oof}: per-fold AUROCs, their mean, the AUROC of the pooled out-of-fold probabilities, and those
            probabilities.
            """) { a in
            let x = try matrix(a, "x")
            let y = try MetricsBuiltins.numbers(a, "labels")
            let result = try withStream(a) {
                try ML.crossValidatedAUROC(x: x, labels: y, k: try a.int("k"), c: try a.double("C"),
                                           standardize: try a.bool("standardize"), stream: &$0)
            }
            return .record(Record(["mean": .float(result.mean), "folds": floats(result.folds),
                                   "pooled": .float(result.pooled), "oof": floats(result.outOfFold)]))
        }
    }

    static func add(_ r: LibRegistrar, _ name: String, _ parameters: [Parameter], doc: String,
                    _ body: @escaping (LibArgs) throws -> Value) {
        r.add("ml", name, parameters, doc: doc) { a in try guarded(a) { try body(a) } }
    }

    static func guarded(_ a: LibArgs, _ body: () throws -> Value) throws -> Value {
        try MetricsBuiltins.guarded(a, body)
    }

    static func floats(_ xs: [Double]) -> Value { .list(xs.map { .float($0) }) }
    static func rowsValue(_ x: [[Double]]) -> Value { .list(x.map(floats)) }

    static func tensor(_ x: [[Double]], _ a: LibArgs) throws -> Value {
        .tensor(try Tensor(shape: [x.count, x.first?.count ?? 0], data: x.flatMap { $0.map(Float.init) }))
    }

    /// A feature matrix: a 2-d tensor, a list of rows, or a 1-d list / tensor (one feature per sample).
    static func matrix(_ a: LibArgs, _ name: String) throws -> [[Double]] {
        let v = a[name]
        switch v {
        case let .tensor(t):
            if t.rank == 1 { return t.scalars.map { [Double($0)] } }
            guard t.rank == 2 else {
                throw a.error(name, "must be a 2-d tensor (samples x features), got shape \(LibConvert.showShape(t.shape))", kind: .shape)
            }
            let xs = t.scalars, d = t.shape[1]
            return (0..<t.shape[0]).map { i in (0..<d).map { Double(xs[i * d + $0]) } }
        case let .list(items):
            if items.allSatisfy({ MetricsBuiltins.number($0) != nil && !isVector($0) }) {
                return items.map { [MetricsBuiltins.number($0)!] }
            }
            return try MetricsBuiltins.rows(a, name)
        default:
            throw a.typeError(name, "a 2-d tensor or a list of rows", v)
        }
    }

    static func isVector(_ v: Value) -> Bool { if case let .tensor(t) = v { return t.rank == 1 }; return false }
}
