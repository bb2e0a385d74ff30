import XCTest
import LoupeTensor
@testable import LoupeMethods

/// `ML` against scikit-learn (Fixtures/ml.json, made by Tests/Fixtures/make_metrics_fixtures.py).
final class MLTests: XCTestCase {
    static let fixture = LoadedFixture("ml")
    func section(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> [Case] {
        MLTests.fixture.section(name, file: file, line: line)
    }

    func testStandardScalerAgainstSklearn() throws {
        for c in section("scaler") {
            let x = c.matrix("x")
            let s = try ML.StandardScaler(fitting: x)
            assertClose(s.mean, c.doubles("mean"), 1e-12)
            assertClose(s.scale, c.doubles("scale"), 1e-12)
            let t = try s.transform(x)
            for (row, ref) in zip(t, c.matrix("transformed")) { assertClose(row, ref, 1e-9) }
        }
    }

    /// Population (ddof 0) standard deviation, and scale 1 for a constant column.
    func testStandardScalerConventions() throws {
        let s = try ML.StandardScaler(fitting: [[1, 5], [3, 5]])
        XCTAssertEqual(s.mean, [2, 5])
        XCTAssertEqual(s.scale, [1, 1])
        XCTAssertEqual(try s.transform([[3, 5]]), [[1, 0]])
        XCTAssertThrowsError(try s.transform([[1]]))
        XCTAssertThrowsError(try ML.StandardScaler(fitting: [[1, 2], [3]]))
    }

    func testLogisticRegressionAgainstSklearn() throws {
        for c in section("logreg") {
            let m = try ML.LogisticRegression(fitting: c.matrix("x"), labels: c.doubles("y"), c: c.double("C"))
            assertClose(m.coef, c.doubles("coef"), 1e-6, "coef, C = \(c.double("C"))")
            assertClose(m.intercept, c.double("intercept"), 1e-6, "intercept")
            assertClose(try m.predictProba(c.matrix("x_test")), c.doubles("proba"), 1e-7, "predict_proba")
            XCTAssertLessThan(m.iterations, 30)
        }
    }

    /// Separable data stays finite (the L2 term bounds the weights) and ranks the classes perfectly.
    func testLogisticRegressionOnSeparableData() throws {
        let x: [[Double]] = [[-2], [-1], [1], [2]]
        let m = try ML.LogisticRegression(fitting: x, labels: [0, 0, 1, 1], c: 100)
        XCTAssertTrue(m.coef[0].isFinite && m.coef[0] > 0)
        XCTAssertEqual(m.intercept, 0, accuracy: 1e-9)
        let p = try m.predictProba(x)
        XCTAssertEqual(try Metrics.auroc(scores: p, labels: [0, 0, 1, 1]), 1)
        XCTAssertThrowsError(try ML.LogisticRegression(fitting: x, labels: [1, 1, 1, 1]))
        XCTAssertThrowsError(try ML.LogisticRegression(fitting: x, labels: [0, 0, 1, 1], c: 0))
    }

    func testStratifiedKFoldMatchesSklearn() throws {
        for c in section("stratified_kfold") {
            var none: RandomStream? = nil
            let folds = try ML.stratifiedKFold(labels: c.ints("labels"), k: c.int("k"), stream: &none)
            let ref = c.raw["test"] as? [[NSNumber]] ?? []
            XCTAssertEqual(folds.map(\.test), ref.map { $0.map(\.intValue) }, "labels \(c.ints("labels"))")
            let n = c.ints("labels").count
            for f in folds { XCTAssertEqual((f.train + f.test).sorted(), Array(0..<n)) }
        }
    }

    func testShuffledFoldsAreSeededAndStratified() throws {
        let labels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]
        var a: RandomStream? = RandomStream(seed: 5), b: RandomStream? = RandomStream(seed: 5)
        let x = try ML.stratifiedKFold(labels: labels, k: 3, stream: &a)
        XCTAssertEqual(x, try ML.stratifiedKFold(labels: labels, k: 3, stream: &b))
        var none: RandomStream? = nil
        XCTAssertNotEqual(x, try ML.stratifiedKFold(labels: labels, k: 3, stream: &none))
        for f in x {
            XCTAssertEqual(f.test.filter { labels[$0] == 0 }.count, 2)
            XCTAssertEqual(f.test.filter { labels[$0] == 1 }.count, 2)
        }
    }

    func testStratifiedKFoldErrors() {
        var none: RandomStream? = nil
        XCTAssertThrowsError(try ML.stratifiedKFold(labels: [0, 1, 0, 1], k: 1, stream: &none))
        XCTAssertThrowsError(try ML.stratifiedKFold(labels: [0, 1, 0, 1], k: 5, stream: &none))
        XCTAssertThrowsError(try ML.stratifiedKFold(labels: [0, 1, 0, 1, 2, 3], k: 3, stream: &none)) { e in
            XCTAssertEqual((e as? MetricsError)?.argument, "k")
        }
    }

    func testCrossValidatedAUROCAgainstSklearn() throws {
        for c in section("cv_auroc") {
            var none: RandomStream? = nil
            let r = try ML.crossValidatedAUROC(x: c.matrix("x"), labels: c.doubles("y"), k: c.int("k"),
                                               c: c.double("C"), stream: &none)
            assertClose(r.folds, c.doubles("folds"), 1e-9, "fold AUROCs")
            assertClose(r.mean, c.double("mean"), 1e-9)
            assertClose(r.outOfFold, c.doubles("oof"), 1e-7, "out-of-fold probabilities")
            assertClose(r.pooled, c.double("pooled"), 1e-9)
        }
    }
}
