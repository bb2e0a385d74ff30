import XCTest
import LoupeLang
import LoupeLibrary

/// The `metrics` and `ml` namespaces through the language: the values of specs/methods.md's hand vectors, records,
/// callbacks, and the argument errors users see. (The numbers themselves are checked against scikit-learn and
/// scipy in LoupeMethodsTests.)
final class MetricsBuiltinsTests: XCTestCase {
    static let interpreter: Interpreter = try! Interpreter(registry: LoupeLibrary.makeRegistry())

    func eval(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { return try MetricsBuiltinsTests.interpreter.run(source, file: "test.loupe").repr } catch {
            XCTFail("\(source): \(error)", file: file, line: line)
            return ""
        }
    }

    func check(_ source: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(eval(source, file: file, line: line), expected, source, file: file, line: line)
    }

    func checkError(_ source: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let v = try MetricsBuiltinsTests.interpreter.run(source, file: "test.loupe")
            XCTFail("expected an error, got \(v.repr)", file: file, line: line)
        } catch let e as LoupeError {
            XCTAssertEqual(e.message, message, source, file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testHandVectorsThroughTheLanguage() {
        check("let conf = [0.9, 0.8, 0.3, 0.6]; let ok = [1, 0, 0, 1]; round(metrics.ece(conf, ok, bins: 10), digits: 12)", "0.4")
        check("round(metrics.brier([0.9, 0.8, 0.3, 0.6], [1, 0, 0, 1]), digits: 12)", "0.225")
        check("metrics.auroc([0.9, 0.8, 0.3, 0.6], [1, 0, 0, 1])", "0.75")
        check("metrics.auroc(tensor([0.9, 0.8, 0.3, 0.6]), [true, false, false, true])", "0.75")
        check("round(metrics.pass_at_k(5, 2, 2), digits: 12)", "0.7")
        check("metrics.pass_at_k(5, [0, 5], 2)", "0.5")
        check("metrics.pass_at_k([5, 4], [0, 4], 2)", "0.5")
        check("round(metrics.jsd([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2]]), digits: 6)", "0.021901")
        check("round(metrics.kl([0.6, 0.2, 0.15, 0.05], [0.6, 0.2, 0.15, 0.05]), digits: 12)", "0.0")
        check("round(metrics.entropy([0.5, 0.5]) - log(2), digits: 12)", "0.0")
        check("round(metrics.perplexity([log(2), log(8)]), digits: 9)", "4.0")
        check("""
              let c = metrics.chair([["dog", "frisbee", "car"], ["cat"]], [["dog", "frisbee"], ["cat", "sofa"]])
              [c.chair_i, c.chair_s, c.recall, c.f1]
              """, "[0.25, 0.5, 0.75, 0.75]")
        check("let p = metrics.pope([\"y\", \"y\", \"n\", \"n\"], [\"y\", \"n\", \"y\", \"n\"]); [p.accuracy, p.precision, p.recall, p.f1, p.yes_ratio]",
              "[0.5, 0.5, 0.5, 0.5, 0.5]")
        check("metrics.pope([true, false], [\"Yes, there is.\", \"There is no dog.\"]).accuracy", "1.0")
    }

    func testClassificationAndRegression() {
        check("metrics.accuracy([\"a\", \"b\", \"a\"], [\"a\", \"a\", \"a\"])", "0.6666666666666666")
        check("metrics.precision([1, 1, 0, 0], [1, 0, 1, 0])", "0.5")
        check("metrics.f1([0, 1, 2, 2], [0, 2, 2, 2], average: \"macro\")", "0.6")
        check("metrics.confusion_matrix([0, 1, 1], [0, 0, 1])", "{labels: [0, 1], matrix: [[1, 0], [1, 1]]}")
        check("metrics.mse([[1, 2], [3, 4]], [[1, 2], [3, 6]])", "1.0")
        check("metrics.mae(tensor([1, 2]), tensor([2, 4]))", "1.5")
    }

    func testBootstrapCallsBack() {
        check("""
              let r = metrics.bootstrap_ci([1, 2, 3, 4, 5], fn(xs) { sum(xs) / len(xs) }, resamples: 200, seed: 3)
              [r.estimate, r.low <= r.estimate, r.estimate <= r.high, r.used]
              """, "[3.0, true, true, 200]")
        check("""
              let f = fn(xs) { sum(xs) / len(xs) }
              metrics.bootstrap_ci([1, 2, 3, 4, 5], f, seed: 9) == metrics.bootstrap_ci([1, 2, 3, 4, 5], f, seed: 9)
              """, "true")
    }

    func testML() {
        check("""
              let s = ml.standardize([[1, 10], [3, 10]])
              [s.x, s.mean, s.scale, s.transform([[5, 10]])]
              """, "[[[-1.0, 0.0], [1.0, 0.0]], [2.0, 10.0], [1.0, 1.0], [[3.0, 0.0]]]")
        check("""
              let m = ml.logreg([[-2], [-1], [1], [2]], [0, 0, 1, 1], C: 10)
              let p = m.predict_proba([[-3], [3]])
              [m.coef[0] > 0, abs(m.intercept) < 1e-9, p[0] < 0.5, p[1] > 0.5]
              """, "[true, true, true, true]")
        check("ml.stratified_kfold([0, 0, 1, 1], k: 2)", "[{train: [1, 3], test: [0, 2]}, {train: [0, 2], test: [1, 3]}]")
        check("""
              let x = [[0.1], [0.4], [0.35], [0.8], [0.2], [0.9], [0.7], [0.3]]
              let r = ml.cv_auroc(x, [0, 0, 1, 1, 0, 1, 1, 0], k: 2)
              [len(r.folds), len(r.oof), r.mean >= 0, r.pooled <= 1]
              """, "[2, 8, true, true]")
    }

    func testArgumentErrors() {
        checkError("metrics.ece([0.5], [1], bins: \"ten\")", "metrics.ece: argument 'bins' must be an int, got string")
        checkError("metrics.ece([0.5], [1], bins: 0)", "metrics.ece: argument 'bins' must be between 1 and 1000000, got 0")
        checkError("metrics.ece([1.5], [1])", "metrics.ece: argument 'conf' must hold numbers in [0, 1], found 1.5 (at index 0)")
        checkError("metrics.auroc([0.1, 0.2, 0.3], [0, 1])",
                   "metrics.auroc: argument 'labels' has 2 elements but 'scores' has 3; they must pair up")
        checkError("metrics.auroc([0.1, 0.2], [0, 2])", "metrics.auroc: argument 'labels' must hold only 0 and 1, found 2 at index 1")
        checkError("metrics.auroc([0.1, 0.2], [1, 1])",
                   "metrics.auroc: argument 'labels' must hold both classes (0 and 1) for an AUROC, found only 1")
        checkError("metrics.auroc([], [])", "metrics.auroc: argument 'scores' must not be empty")
        checkError("metrics.auroc(\"abc\", [1])", "metrics.auroc: argument 'scores' must be a list or a tensor, got string")
        checkError("metrics.auroc([0.1, \"x\"], [0, 1])", "metrics.auroc: argument 'scores' must hold only numbers, found string at index 1")
        checkError("metrics.pass_at_k(5, 2, 6)", "metrics.pass_at_k: argument 'k' must be between 1 and n = 5, got 6")
        checkError("metrics.entropy([0.2, 0.2])", "metrics.entropy: argument 'p' must be a probability distribution summing to 1, sums to 0.4")
        checkError("metrics.f1([0, 1], [0, 1], average: \"mean\")",
                   "metrics.f1: argument 'average' must be \"binary\", \"macro\", \"micro\" or \"weighted\", got \"mean\"")
        checkError("metrics.pope([\"maybe\"], [\"yes\"])",
                   "metrics.pope: argument 'gold' must hold yes/no answers (true/false, 1/0, \"yes\"/\"no\"), found \"maybe\" at index 0")
        checkError("metrics.bootstrap_ci([1, 2], fn(xs) { \"x\" }, seed: 1)",
                   "metrics.bootstrap_ci: argument 'statistic' must return a number, returned string")
        checkError("ml.logreg([[1], [2]], [1, 1])",
                   "ml.logreg: argument 'labels' must hold both classes (0 and 1) to fit a logistic regression, found only 1")
        checkError("ml.stratified_kfold([0, 1, 0, 1], k: 3)",
                   "ml.stratified_kfold: argument 'k' is 3, more than the members of every class (largest class: 2)")
        checkError("ml.standardize([[1, 2], [3]])",
                   "ml.standardize: argument 'x' must have rows of one length, found a row of 1 after rows of 2 (at index 1)")
    }
}
