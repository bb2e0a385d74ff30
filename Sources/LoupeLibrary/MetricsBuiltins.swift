import Foundation
import LoupeLang
import LoupeMethods
import LoupeTensor

/// The `metrics` namespace: LoupeMethods' `Metrics` bound into the language.
///
/// Decisions:
/// - Inputs are lists (of numbers or bools) or 1-d tensors; list numbers are read as Doubles, exactly, and tensor
///   elements as their Float32 values. `mse`/`mae`/`rmse` also take nested lists or tensors of any rank and
///   compare them element by element ("over all horizons").
/// - Binary labels are 0/1 or false/true (1 = positive). Class labels (`accuracy`, `precision`, ...) are ints,
///   bools or strings; `confusion_matrix` orders them ints first, then strings.
/// - Problems with the data (wrong lengths, empty input, a label not in {0, 1}, one class only for an AUROC) are
///   errors naming the argument: "metrics.auroc: argument 'labels' must hold only 0 and 1, found 2 at index 3".
/// - Results are floats or records with the names of specs/methods.md (`chair_i`, `yes_ratio`, ...).
enum MetricsBuiltins {
    static func register(_ r: LibRegistrar) {
        r.registry.documentNamespace("metrics", """
            Evaluation metrics (specs/methods.md, "Metrics"): AUROC, average precision, ECE, Brier, pass@k, entropy,
            KL, JSD, CHAIR, POPE, classification and regression scores, bootstrap intervals. Double precision,
            checked against scikit-learn and scipy.
            """)
        registerRanking(r)
        registerCalibration(r)
        registerInformation(r)
        registerHallucination(r)
        registerClassification(r)
        registerRegression(r)
        registerBootstrap(r)
    }

    /// Registers `metrics.NAME`, turning a `MetricsError` into an error about the argument it names.
    static func add(_ r: LibRegistrar, _ name: String, _ parameters: [Parameter], doc: String,
                    _ body: @escaping (LibArgs) throws -> Value) {
        r.add("metrics", name, parameters, doc: doc) { a in try guarded(a) { try body(a) } }
    }

    static func guarded(_ a: LibArgs, _ body: () throws -> Value) throws -> Value {
        do { return try body() } catch let e as MetricsError { throw a.error(e.argument, e.problem) }
    }

    static let vector = ValueType.oneOf([.list, .tensor])

    // MARK: - Ranking

    static func registerRanking(_ r: LibRegistrar) {
        add(r, "auroc", [Parameter("scores", vector), Parameter("labels", vector)], doc: """
            Area under the ROC curve: P(score of a positive > score of a negative) + 0.5 P(tie), labels 1 = positive.
            metrics.auroc([0.9, 0.8, 0.3, 0.6], [1, 0, 0, 1]) is 0.75. Ties count half, exactly as
            sklearn.metrics.roc_auc_score. Labels all one class are an error (the AUROC is undefined).
            """) { a in
            .float(try Metrics.auroc(scores: try numbers(a, "scores"), labels: try numbers(a, "labels")))
        }
        add(r, "average_precision", [Parameter("scores", vector), Parameter("labels", vector)], doc: """
            Average precision: the step area under the precision-recall curve, sum (R_k - R_(k-1)) P_k over
            thresholds from the highest score down (sklearn.metrics.average_precision_score). Needs a positive.
            """) { a in
            .float(try Metrics.averagePrecision(scores: try numbers(a, "scores"), labels: try numbers(a, "labels")))
        }
    }

    // MARK: - Calibration

    static func registerCalibration(_ r: LibRegistrar) {
        let params = [Parameter("conf", vector), Parameter("correct", vector), Parameter("bins", .int, default: .int(10))]
        add(r, "ece", params, doc: """
            Expected calibration error over `bins` equal-width bins ((m-1)/M, m/M] (confidence 0 in the first bin):
            sum over bins of |B|/n |accuracy(B) - mean confidence(B)|; empty bins add nothing.
            metrics.ece([0.9, 0.8, 0.3, 0.6], [1, 0, 0, 1], bins: 10) is 0.4. conf in [0, 1]; correct 0/1.
            """) { a in
            .float(try Metrics.ece(conf: try numbers(a, "conf"), correct: try numbers(a, "correct"), bins: try a.int("bins")))
        }
        add(r, "reliability", params, doc: """
            The reliability diagram behind the ECE: one record per bin, {lower, upper, count, conf, acc}
            (conf and acc are nan for an empty bin).
            """) { a in
            let bins = try Metrics.reliabilityBins(conf: try numbers(a, "conf"), correct: try numbers(a, "correct"),
                                                   bins: try a.int("bins"))
            return .list(bins.map { b in
                .record(Record(["lower": .float(b.lower), "upper": .float(b.upper), "count": .int(b.count),
                                "conf": .float(b.confidence), "acc": .float(b.accuracy)]))
            })
        }
        add(r, "brier", [Parameter("conf", vector), Parameter("correct", vector)], doc: """
            Brier score: mean (conf - correct)^2. metrics.brier([0.9, 0.8, 0.3, 0.6], [1, 0, 0, 1]) is 0.225.
            """) { a in
            .float(try Metrics.brier(conf: try numbers(a, "conf"), correct: try numbers(a, "correct")))
        }
    }

    // MARK: - Information and pass@k

    static func registerInformation(_ r: LibRegistrar) {
        add(r, "entropy", [Parameter("p", vector)], doc: """
            Shannon entropy -sum p log p of a distribution, in nats (0 log 0 = 0). p must sum to 1 (within 1e-3).
            """) { a in .float(try Metrics.entropy(try numbers(a, "p"))) }
        add(r, "kl", [Parameter("p", vector), Parameter("q", vector)], doc: """
            KL(p || q) = sum p log(p / q) in nats; inf where q is 0 and p is not.
            """) { a in .float(try Metrics.kl(try numbers(a, "p"), try numbers(a, "q"))) }
        add(r, "jsd", [Parameter("distributions", vector), Parameter("weights", .optional(vector), default: .nil)],
            doc: """
            Jensen-Shannon divergence of K distributions (a list of lists / 1-d tensors, or a 2-d tensor's rows):
            H(sum w_k q_k) - sum w_k H(q_k) in nats, weights uniform unless given. For two distributions it is the
            square of scipy's jensenshannon distance.
            """) { a in
            let weights = a.isNil("weights") ? nil : try numbers(a, "weights")
            return .float(try Metrics.jsd(try rows(a, "distributions"), weights: weights))
        }
        add(r, "perplexity", [Parameter("nll", vector)], doc: """
            Perplexity exp(mean nll) of per-token negative log-likelihoods in nats (e.g. -take_along_axis of
            log_softmax at the next tokens).
            """) { a in .float(try Metrics.perplexity(nll: try numbers(a, "nll"))) }
        add(r, "pass_at_k", [Parameter("n", .oneOf([.int, .list])), Parameter("c", .oneOf([.int, .list])),
                             Parameter("k", .int)], doc: """
            Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k) for n samples of which c are correct, in the
            stable product form. metrics.pass_at_k(5, 2, 2) is 0.7. With lists of n and c (or one n for all), the
            mean over problems.
            """) { a in
            let k = try a.int("k")
            if case let .int(n) = a["n"], case let .int(c) = a["c"] { return .float(try Metrics.passAtK(n: n, c: c, k: k)) }
            let cs = try intList(a, "c")
            let ns: [Int]
            if case let .int(n) = a["n"] { ns = Array(repeating: n, count: cs.count) } else { ns = try intList(a, "n") }
            return .float(try Metrics.passAtK(n: ns, c: cs, k: k))
        }
    }

    // MARK: - Hallucination

    static func registerHallucination(_ r: LibRegistrar) {
        add(r, "chair", [Parameter("mentions", .list), Parameter("truths", .list)], doc: """
            CHAIR over captions: mentions[i] are the objects caption i mentions, truths[i] those in its image (lists
            of strings; each caption's mentions count once each). A record {chair_i, chair_s, recall, precision, f1,
            mentions, hallucinated, truths, captions}: CHAIR_i = hallucinated / mentioned objects, CHAIR_s =
            captions with a hallucination / captions, recall = correct / true objects, precision = 1 - CHAIR_i.
            """) { a in
            let s = try Metrics.chair(mentions: try stringLists(a, "mentions"), truths: try stringLists(a, "truths"))
            return .record(Record(["chair_i": .float(s.chairI), "chair_s": .float(s.chairS), "recall": .float(s.recall),
                                   "precision": .float(s.precision), "f1": .float(s.f1), "mentions": .int(s.mentions),
                                   "hallucinated": .int(s.hallucinated), "truths": .int(s.truths),
                                   "captions": .int(s.captions)]))
        }
        add(r, "pope", [Parameter("gold", vector), Parameter("pred", vector)], doc: """
            POPE scores, yes = positive: a record {accuracy, precision, recall, f1, yes_ratio}. gold holds true/false,
            1/0 or "yes"/"no" ("y"/"n"); pred the same, or the model's free-text answers, read as no when the first
            sentence contains the word "no" or "not" (metrics.pope_answer).
            """) { a in
            let s = try Metrics.pope(gold: try yesNo(a, "gold", freeText: false), predicted: try yesNo(a, "pred", freeText: true))
            return .record(Record(["accuracy": .float(s.accuracy), "precision": .float(s.precision),
                                   "recall": .float(s.recall), "f1": .float(s.f1), "yes_ratio": .float(s.yesRatio)]))
        }
        add(r, "pope_answer", [Parameter("text", .string)], doc: """
            A free-text answer to "Is there a X in the image?" as true (yes) or false (no): no when its first
            sentence contains the word "no" or "not" (case-insensitive), as the POPE evaluation reads answers.
            """) { a in .bool(Metrics.popeAnswer(try a.string("text"))) }
    }

    // MARK: - Classification

    static func registerClassification(_ r: LibRegistrar) {
        let pair = [Parameter("truth", vector), Parameter("pred", vector)]
        add(r, "accuracy", pair, doc: "The fraction of predictions equal to the truth (labels: ints, bools or strings).") { a in
            .float(try Metrics.accuracy(truth: try classLabels(a, "truth"), predicted: try classLabels(a, "pred")))
        }
        add(r, "balanced_accuracy", pair, doc: """
            Mean recall over the classes present in truth (sklearn.metrics.balanced_accuracy_score).
            """) { a in
            .float(try Metrics.balancedAccuracy(truth: try classLabels(a, "truth"), predicted: try classLabels(a, "pred")))
        }
        let averaged = pair + [Parameter("average", .string, default: .string("binary")),
                               Parameter("pos_label", .oneOf([.int, .bool, .string]), default: .int(1))]
        for (name, pick) in [("precision", 0), ("recall", 1), ("f1", 2)] {
            add(r, name, averaged, doc: """
                \(name == "f1" ? "F1, the harmonic mean of precision and recall" : name.capitalized) of predictions \
                (sklearn.metrics.\(name == "f1" ? "f1" : name)_score): average: "binary" (the class pos_label, \
                default 1), "macro" (mean over classes), "micro" (pooled counts) or "weighted" (by support). A ratio \
                with nothing to divide by is 0, as scikit-learn's default gives.
                """) { a in
                let t = try classLabels(a, "truth"), p = try classLabels(a, "pred")
                let s = try Metrics.precisionRecallF1(truth: t, predicted: p, average: try average(a))
                return .float([s.precision, s.recall, s.f1][pick])
            }
        }
        add(r, "classification_report", pair, doc: """
            Per class, in label order: a list of records {label, precision, recall, f1, support}.
            """) { a in
            let scores = try Metrics.perClass(truth: try classLabels(a, "truth"), predicted: try classLabels(a, "pred"))
            return .list(scores.map { s in
                .record(Record(["label": s.label.value, "precision": .float(s.precision), "recall": .float(s.recall),
                                "f1": .float(s.f1), "support": .int(s.support)]))
            })
        }
        add(r, "confusion_matrix", pair, doc: """
            {labels, matrix}: matrix[i][j] counts items of true class labels[i] predicted as labels[j]; labels are
            the sorted union of truth and pred (sklearn.metrics.confusion_matrix).
            """) { a in
            let cm = try Metrics.confusionMatrix(truth: try classLabels(a, "truth"), predicted: try classLabels(a, "pred"))
            return .record(Record(["labels": .list(cm.labels.map(\.value)),
                                   "matrix": .list(cm.matrix.map { .list($0.map { .int($0) }) })]))
        }
    }

    static func average(_ a: LibArgs) throws -> Metrics.Average<ClassLabel> {
        switch try a.string("average") {
        case "binary": return .binary(positive: try ClassLabel(a["pos_label"]) ?? .int(1))
        case "macro": return .macro
        case "micro": return .micro
        case "weighted": return .weighted
        case let other:
            throw a.error("average", "must be \"binary\", \"macro\", \"micro\" or \"weighted\", got \"\(other)\"")
        }
    }

    // MARK: - Regression

    static func registerRegression(_ r: LibRegistrar) {
        let pair = [Parameter("truth", .tensorLike), Parameter("pred", .tensorLike)]
        let ops: [(String, String, ([Double], [Double]) throws -> Double)] = [
            ("mse", "Mean squared error over all elements (every horizon of a forecast).", { try Metrics.mse(truth: $0, predicted: $1) }),
            ("mae", "Mean absolute error over all elements.", { try Metrics.mae(truth: $0, predicted: $1) }),
            ("rmse", "Root mean squared error: sqrt(mse).", { try Metrics.rmse(truth: $0, predicted: $1) }),
        ]
        for (name, doc, op) in ops {
            add(r, name, pair, doc: doc + " Lists (nested to any depth) or tensors of the same shape.") { a in
                let t = try flat(a, "truth"), p = try flat(a, "pred")
                if t.shape != p.shape {
                    throw a.error("pred", "has shape \(LibConvert.showShape(p.shape)) but 'truth' has \(LibConvert.showShape(t.shape))")
                }
                return .float(try op(t.values, p.values))
            }
        }
    }

    // MARK: - Bootstrap

    static func registerBootstrap(_ r: LibRegistrar) {
        let session = LibRandomSession()
        add(r, "bootstrap_ci", [Parameter("data"), Parameter("statistic", .function),
                                Parameter("resamples", .int, default: .int(1000), keywordOnly: true),
                                Parameter("confidence", .number, default: .float(0.95), keywordOnly: true),
                                Parameter("seed", .int, default: .nil, keywordOnly: true)], doc: """
            Percentile bootstrap confidence interval: `resamples` times, draw len(data) items of data with replacement
            and call statistic(resampled list); the interval is the (1 - confidence)/2 and (1 + confidence)/2
            quantiles of those values (numpy's linear percentile). A record {estimate (statistic of data), low, high,
            confidence, resamples, used}; resamples where the statistic is nan are left out (used counts the rest).
            seed: the same seed gives the same interval (numpy's Philox draws); without it, the session's stream.
            For paired data, zip it: metrics.bootstrap_ci(zip(scores, labels), fn(xs) { ... }, seed: 1).
            """) { a in
            let data = try a.items("data")
            let statistic = try a.function("statistic")
            let resamples = try a.int("resamples")
            let confidence = try a.double("confidence")
            func run(_ stream: inout RandomStream) throws -> Metrics.BootstrapInterval {
                try Metrics.bootstrapCI(count: data.count, resamples: resamples, confidence: confidence, stream: &stream) { idx in
                    let value = try a.call(statistic, [.list(idx.map { data[$0] })])
                    switch value {
                    case let .int(i): return Double(i)
                    case let .float(d): return d
                    case let .tensor(t) where t.count == 1: return Double(t.scalars[0])
                    default: throw a.error("statistic", "must return a number, returned \(value.typeName)", kind: .type)
                    }
                }
            }
            let ci: Metrics.BootstrapInterval
            if a.isNil("seed") { ci = try run(&session.stream) } else {
                var stream = RandomStream(seed: try a.seed("seed"))
                ci = try run(&stream)
            }
            return .record(Record(["estimate": .float(ci.estimate), "low": .float(ci.low), "high": .float(ci.high),
                                   "confidence": .float(ci.confidence), "resamples": .int(ci.resamples),
                                   "used": .int(ci.used)]))
        }
    }

    // MARK: - Converting arguments

    /// A list of numbers or bools, a range, or a 1-d tensor, as Doubles.
    static func numbers(_ a: LibArgs, _ name: String) throws -> [Double] {
        let v = a[name]
        switch v {
        case let .tensor(t):
            guard t.rank == 1 else { throw a.error(name, "must be a 1-d tensor, got shape \(LibConvert.showShape(t.shape))", kind: .shape) }
            return t.scalars.map(Double.init)
        case let .list(xs):
            return try xs.enumerated().map { i, x in
                guard let d = number(x) else {
                    throw a.error(name, "must hold only numbers, found \(x.typeName) at index \(i)", kind: .type)
                }
                return d
            }
        case let .range(r): return (0..<r.count).map { Double(r[$0]) }
        default: throw a.typeError(name, "a list of numbers or a 1-d tensor", v)
        }
    }

    static func number(_ v: Value) -> Double? {
        switch v {
        case let .int(i): return Double(i)
        case let .float(d): return d
        case let .bool(b): return b ? 1 : 0
        case let .tensor(t) where t.count == 1 && t.rank <= 1: return Double(t.scalars[0])
        default: return nil
        }
    }

    static func intList(_ a: LibArgs, _ name: String) throws -> [Int] {
        try a.list(name).enumerated().map { i, x in
            guard case let .int(n) = x else { throw a.error(name, "must hold only ints, found \(x.typeName) at index \(i)", kind: .type) }
            return n
        }
    }

    /// Distributions: a 2-d tensor (rows) or a list of lists / 1-d tensors of numbers.
    static func rows(_ a: LibArgs, _ name: String) throws -> [[Double]] {
        let v = a[name]
        if case let .tensor(t) = v {
            guard t.rank == 2 else { throw a.error(name, "must be a 2-d tensor (one row per item), got shape \(LibConvert.showShape(t.shape))", kind: .shape) }
            let xs = t.scalars, d = t.shape[1]
            return (0..<t.shape[0]).map { i in (0..<d).map { Double(xs[i * d + $0]) } }
        }
        guard case let .list(items) = v else { throw a.typeError(name, "a list of lists of numbers or a 2-d tensor", v) }
        return try items.enumerated().map { i, item in
            switch item {
            case let .tensor(t) where t.rank == 1: return t.scalars.map(Double.init)
            case let .list(xs):
                return try xs.enumerated().map { j, x in
                    guard let d = number(x) else { throw a.error(name, "must hold only numbers, found \(x.typeName) at [\(i)][\(j)]", kind: .type) }
                    return d
                }
            default:
                throw a.error(name, "must hold lists of numbers or 1-d tensors, found \(item.typeName) at index \(i)", kind: .type)
            }
        }
    }

    /// Any nesting of lists of numbers, or a tensor, flattened with its shape (for element-wise comparison).
    static func flat(_ a: LibArgs, _ name: String) throws -> (values: [Double], shape: [Int]) {
        let v = a[name]
        if case let .tensor(t) = v { return (t.scalars.map(Double.init), t.shape) }
        var values: [Double] = []
        var shape: [Int]? = nil
        func walk(_ x: Value, _ dims: [Int], _ path: String) throws {
            if let d = number(x) {
                if let s = shape, s != dims { throw a.error(name, "is ragged at \(path.isEmpty ? "the top level" : path)", kind: .shape) }
                shape = dims
                values.append(d)
                return
            }
            switch x {
            case let .list(xs):
                if xs.isEmpty, shape == nil { shape = dims + [0] }
                for (i, y) in xs.enumerated() { try walk(y, dims + [xs.count], path + "[\(i)]") }
            case let .tensor(t):
                let s = dims + t.shape
                if let old = shape, old != s { throw a.error(name, "is ragged at \(path)", kind: .shape) }
                shape = s
                values += t.scalars.map(Double.init)
            default: throw a.error(name, "must hold only numbers, found \(x.typeName)\(path.isEmpty ? "" : " at " + path)", kind: .type)
            }
        }
        try walk(v, [], "")
        return (values, shape ?? [])
    }

    /// Class labels: ints, bools (as 0/1), whole-number floats, strings; or a 1-d tensor of whole numbers.
    static func classLabels(_ a: LibArgs, _ name: String) throws -> [ClassLabel] {
        let v = a[name]
        if case .tensor = v { return try numbers(a, name).enumerated().map { i, d in try wholeLabel(a, name, d, i) } }
        guard case let .list(xs) = v else { throw a.typeError(name, "a list of labels or a 1-d tensor", v) }
        return try xs.enumerated().map { i, x in
            if case let .float(d) = x { return try wholeLabel(a, name, d, i) }
            guard let l = try ClassLabel(x) else {
                throw a.error(name, "must hold labels (ints, bools or strings), found \(x.typeName) at index \(i)", kind: .type)
            }
            return l
        }
    }

    static func wholeLabel(_ a: LibArgs, _ name: String, _ d: Double, _ i: Int) throws -> ClassLabel {
        guard d.isFinite, d == d.rounded(), Swift.abs(d) < 9e15 else {
            throw a.error(name, "must hold whole-number labels, found \(d) at index \(i)")
        }
        return .int(Int(d))
    }

    /// POPE answers as Bools (yes = true).
    static func yesNo(_ a: LibArgs, _ name: String, freeText: Bool) throws -> [Bool] {
        let v = a[name]
        if case .tensor = v {
            return try numbers(a, name).enumerated().map { i, d in
                guard d == 0 || d == 1 else { throw MetricsError.notBinary(argument: name, index: i, value: d) }
                return d == 1
            }
        }
        guard case let .list(xs) = v else { throw a.typeError(name, "a list of answers", v) }
        return try xs.enumerated().map { i, x in
            switch x {
            case let .bool(b): return b
            case let .int(n) where n == 0 || n == 1: return n == 1
            case let .string(s):
                switch s.lowercased().trimmingCharacters(in: .whitespacesAndNewlines) {
                case "yes", "y": return true
                case "no", "n": return false
                default:
                    if freeText { return Metrics.popeAnswer(s) }
                    throw a.error(name, "must hold yes/no answers (true/false, 1/0, \"yes\"/\"no\"), found \"\(s)\" at index \(i)")
                }
            default:
                throw a.error(name, "must hold yes/no answers (true/false, 1/0, \"yes\"/\"no\"), found \(x.repr) at index \(i)")
            }
        }
    }

    /// A list of lists of strings (CHAIR's objects per caption).
    static func stringLists(_ a: LibArgs, _ name: String) throws -> [[String]] {
        try a.list(name).enumerated().map { i, item in
            guard case let .list(xs) = item else {
                throw a.error(name, "must hold one list of object names per caption, found \(item.typeName) at index \(i)", kind: .type)
            }
            return try xs.enumerated().map { j, x in
                guard case let .string(s) = x else {
                    throw a.error(name, "must hold strings (object names), found \(x.typeName) at [\(i)][\(j)]", kind: .type)
                }
                return s
            }
        }
    }
}

/// A class label from the language: an int (bools count as 0 / 1) or a string; ints order before strings.
enum ClassLabel: Hashable, Comparable {
    case int(Int)
    case string(String)

    init?(_ v: Value) throws {
        switch v {
        case let .int(i): self = .int(i)
        case let .bool(b): self = .int(b ? 1 : 0)
        case let .string(s): self = .string(s)
        default: return nil
        }
    }

    var value: Value {
        switch self {
        case let .int(i): return .int(i)
        case let .string(s): return .string(s)
        }
    }

    static func < (l: ClassLabel, r: ClassLabel) -> Bool {
        switch (l, r) {
        case let (.int(a), .int(b)): return a < b
        case let (.string(a), .string(b)): return Array(a.unicodeScalars.map(\.value)).lexicographicallyPrecedes(b.unicodeScalars.map(\.value))
        case (.int, .string): return true
        case (.string, .int): return false
        }
    }
}
