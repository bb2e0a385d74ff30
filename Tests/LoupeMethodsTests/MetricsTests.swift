import XCTest
import LoupeTensor
@testable import LoupeMethods

/// `Metrics` against scikit-learn / scipy / numpy (Fixtures/metrics.json, made by
/// Tests/Fixtures/make_metrics_fixtures.py) to 1e-9, and against the hand-checked vectors of specs/methods.md.
final class MetricsTests: XCTestCase {
    static let fixture = LoadedFixture("metrics")
    func section(_ name: String, file: StaticString = #filePath, line: UInt = #line) -> [Case] {
        MetricsTests.fixture.section(name, file: file, line: line)
    }

    // MARK: - Hand vectors (specs/methods.md, "Metrics", and section 4)

    let conf = [0.9, 0.8, 0.3, 0.6], correct = [1.0, 0, 0, 1]

    func testHandVectors() throws {
        XCTAssertEqual(try Metrics.ece(conf: conf, correct: correct, bins: 10), 0.40, accuracy: 1e-12)
        XCTAssertEqual(try Metrics.brier(conf: conf, correct: correct), 0.225, accuracy: 1e-12)
        XCTAssertEqual(try Metrics.auroc(scores: conf, labels: correct), 0.75, accuracy: 1e-12)
        XCTAssertEqual(try Metrics.passAtK(n: 5, c: 2, k: 2), 0.7, accuracy: 1e-12)

        let chair = try Metrics.chair(mentions: [["dog", "frisbee", "car"], ["cat"]],
                                      truths: [["dog", "frisbee"], ["cat", "sofa"]])
        XCTAssertEqual(chair.chairI, 0.25, accuracy: 1e-12)
        XCTAssertEqual(chair.chairS, 0.5, accuracy: 1e-12)
        XCTAssertEqual(chair.recall, 0.75, accuracy: 1e-12)
        XCTAssertEqual(chair.f1, 0.75, accuracy: 1e-12)

        let pope = try Metrics.pope(gold: [true, true, false, false], predicted: [true, false, true, false])
        for v in [pope.accuracy, pope.precision, pope.recall, pope.f1, pope.yesRatio] { XCTAssertEqual(v, 0.5, accuracy: 1e-12) }
    }

    /// Section 4's identity: mean_k KL(q_k || p_T) = JSD(q_1..q_K) + KL(qbar || p_T).
    func testDraftIdentityVector() throws {
        let q1 = [0.7, 0.2, 0.1], q2 = [0.5, 0.3, 0.2], pT = [0.6, 0.3, 0.1]
        let qbar = zip(q1, q2).map { ($0 + $1) / 2 }
        let jsd = try Metrics.jsd([q1, q2])
        let bias = try Metrics.kl(qbar, pT)
        let meanKL = (try Metrics.kl(q1, pT) + Metrics.kl(q2, pT)) / 2
        XCTAssertEqual(jsd, 0.021901, accuracy: 1e-6)
        XCTAssertEqual(bias, 0.015239, accuracy: 1e-6)
        XCTAssertEqual(jsd + bias, 0.037141, accuracy: 1e-6)
        XCTAssertEqual(meanKL, jsd + bias, accuracy: 1e-12)
        // JSD = H(qbar) - mean H(q_k), the definition the KL form computes.
        let h = try Metrics.entropy(qbar) - (Metrics.entropy(q1) + Metrics.entropy(q2)) / 2
        XCTAssertEqual(jsd, h, accuracy: 1e-12)
    }

    // MARK: - Against the fixtures

    func testRankingAgainstSklearn() throws {
        for c in section("ranking") {
            let scores = c.doubles("scores"), labels = c.doubles("labels")
            if c.isNull("auroc") {
                XCTAssertThrowsError(try Metrics.auroc(scores: scores, labels: labels))
            } else {
                assertClose(try Metrics.auroc(scores: scores, labels: labels), c.double("auroc"), 1e-9, "auroc n=\(scores.count)")
            }
            assertClose(try Metrics.averagePrecision(scores: scores, labels: labels), c.double("ap"), 1e-9, "ap n=\(scores.count)")
        }
    }

    func testClassificationAgainstSklearn() throws {
        for c in section("classification") {
            let t = c.ints("truth"), p = c.ints("pred")
            assertClose(try Metrics.accuracy(truth: t, predicted: p), c.double("accuracy"))
            assertClose(try Metrics.balancedAccuracy(truth: t, predicted: p), c.double("balanced_accuracy"))
            let cm = try Metrics.confusionMatrix(truth: t, predicted: p)
            XCTAssertEqual(cm.labels, c.ints("labels"))
            XCTAssertEqual(cm.matrix, c.intMatrix("confusion"))
            let per = try Metrics.perClass(truth: t, predicted: p)
            let ref = c.sub("per_class")
            assertClose(per.map(\.precision), ref.doubles("precision"))
            assertClose(per.map(\.recall), ref.doubles("recall"))
            assertClose(per.map(\.f1), ref.doubles("f1"))
            XCTAssertEqual(per.map(\.support), ref.ints("support"))
            for (name, average) in [("macro", Metrics.Average<Int>.macro), ("micro", .micro), ("weighted", .weighted),
                                    ("binary", .binary(positive: 1))] {
                let s = try Metrics.precisionRecallF1(truth: t, predicted: p, average: average)
                assertClose([s.precision, s.recall, s.f1], c.doubles(name), 1e-9, name)
            }
        }
    }

    func testCalibrationAgainstReference() throws {
        for c in section("calibration") {
            let conf = c.doubles("conf"), correct = c.doubles("correct"), bins = c.int("bins")
            assertClose(try Metrics.ece(conf: conf, correct: correct, bins: bins), c.double("ece"), 1e-9, "ece bins=\(bins)")
            XCTAssertEqual(try Metrics.reliabilityBins(conf: conf, correct: correct, bins: bins).map(\.count), c.ints("counts"))
            assertClose(try Metrics.brier(conf: conf, correct: correct), c.double("brier"))
        }
    }

    /// Edges: a confidence equal to m/M is in bin m (its upper edge), 0 in the first bin, 1 in the last.
    func testCalibrationBinEdges() {
        XCTAssertEqual(Metrics.calibrationBin(0, bins: 10), 0)
        XCTAssertEqual(Metrics.calibrationBin(0.1, bins: 10), 0)
        XCTAssertEqual(Metrics.calibrationBin(0.3, bins: 10), 2)  // ceil(0.3 * 10) would say 3
        XCTAssertEqual(Metrics.calibrationBin(0.30000000000000004, bins: 10), 3)
        XCTAssertEqual(Metrics.calibrationBin(0.7, bins: 10), 6)
        XCTAssertEqual(Metrics.calibrationBin(1, bins: 10), 9)
        XCTAssertEqual(Metrics.calibrationBin(1, bins: 1), 0)
        XCTAssertEqual(Metrics.calibrationBin(1.0 / 3, bins: 3), 0)
        XCTAssertEqual(Metrics.calibrationBin(0.5, bins: 3), 1)
    }

    func testRegressionAgainstSklearn() throws {
        for c in section("regression") {
            let t = c.doubles("truth"), p = c.doubles("pred")
            assertClose(try Metrics.mse(truth: t, predicted: p), c.double("mse"))
            assertClose(try Metrics.mae(truth: t, predicted: p), c.double("mae"))
            assertClose(try Metrics.rmse(truth: t, predicted: p), c.double("mse").squareRoot())
        }
    }

    func testInformationAgainstScipy() throws {
        for c in section("information") {
            let qs = c.matrix("distributions")
            assertClose(try qs.map { try Metrics.entropy($0) }, c.doubles("entropy"))
            assertClose(try Metrics.kl(qs[0], qs[1]), c.double("kl01"), 1e-9, "kl01")
            assertClose(try Metrics.kl(qs[1], qs[0]), c.double("kl10"), 1e-9, "kl10")
            assertClose(try Metrics.jsd(qs), c.double("jsd_uniform"), 1e-9, "jsd uniform, K=\(qs.count)")
            assertClose(try Metrics.jsd(qs, weights: c.doubles("weights")), c.double("jsd_weighted"), 1e-9, "jsd weighted")
            if qs.count == 2 { assertClose(try Metrics.jsd(qs), c.double("jsd_scipy_squared"), 1e-9, "jensenshannon^2") }
        }
    }

    func testPassAtKAgainstExactRationals() throws {
        let p = MetricsTests.fixture.root.sub("pass_at_k")
        for c in p.cases("single").nonEmpty("pass_at_k.single") {
            assertClose(try Metrics.passAtK(n: c.int("n"), c: c.int("c"), k: c.int("k")), c.double("value"), 1e-12,
                        "n=\(c.int("n")) c=\(c.int("c")) k=\(c.int("k"))")
        }
        for c in p.cases("lists").nonEmpty("pass_at_k.lists") {
            assertClose(try Metrics.passAtK(n: c.ints("n"), c: c.ints("c"), k: c.int("k")), c.double("value"), 1e-12)
        }
    }

    func testHallucinationAgainstReference() throws {
        for c in section("chair") {
            let s = try Metrics.chair(mentions: c.strings2("mentions"), truths: c.strings2("truths"))
            assertClose([s.chairI, s.chairS, s.recall, s.precision, s.f1],
                        ["chair_i", "chair_s", "recall", "precision", "f1"].map(c.double))
        }
        for c in section("pope") {
            let s = try Metrics.pope(gold: c.ints("gold").map { $0 == 1 }, predicted: c.ints("pred").map { $0 == 1 })
            assertClose([s.accuracy, s.precision, s.recall, s.f1, s.yesRatio],
                        ["accuracy", "precision", "recall", "f1", "yes_ratio"].map(c.double))
        }
    }

    func testBootstrapAgainstNumpy() throws {
        for c in section("bootstrap") {
            let data = c.doubles("data")
            var stream = RandomStream(seed: UInt64(c.int("seed")))
            // The first resample's indices are numpy's integers(0, n, size=n) on the same Philox key.
            var probe = stream
            XCTAssertEqual(try (0..<data.count).map { _ in try probe.nextInt(0, data.count) }, c.ints("first_indices"))
            let ci = try Metrics.bootstrapCI(count: data.count, resamples: c.int("resamples"),
                                             confidence: c.double("confidence"), stream: &stream) { idx in
                idx.reduce(0) { $0 + data[$1] } / Double(idx.count)
            }
            assertClose(ci.estimate, c.double("estimate"))
            assertClose(ci.low, c.double("low"), 1e-9, "low, seed \(c.int("seed"))")
            assertClose(ci.high, c.double("high"), 1e-9, "high, seed \(c.int("seed"))")
            XCTAssertEqual(ci.used, c.int("resamples"))
        }
    }

    // MARK: - Behaviour and errors

    func testBootstrapLeavesOutNaNAndIsSeeded() throws {
        var a = RandomStream(seed: 3), b = RandomStream(seed: 3)
        let data = [1.0, 2, 3, 4, 5, 6]
        let statistic: ([Int]) -> Double = { idx in idx.contains(0) ? .nan : idx.reduce(0) { $0 + data[$1] } }
        let x = try Metrics.bootstrapCI(count: 6, resamples: 300, stream: &a, statistic: statistic)
        let y = try Metrics.bootstrapCI(count: 6, resamples: 300, stream: &b, statistic: statistic)
        XCTAssertEqual([x.low, x.high, Double(x.used)], [y.low, y.high, Double(y.used)])
        XCTAssertTrue(x.estimate.isNaN)
        // P(index 0 absent from 6 draws) = (5/6)^6 = 0.33: about 100 of 300 resamples remain.
        XCTAssertGreaterThan(x.used, 60)
        XCTAssertLessThan(x.used, 150)
        XCTAssertLessThanOrEqual(x.low, x.high)
        XCTAssertThrowsError(try Metrics.bootstrapCI(count: 3, stream: &a) { _ in .nan })
        XCTAssertThrowsError(try Metrics.bootstrapCI(count: 3, confidence: 1, stream: &a) { _ in 0 })
    }

    func testErrorsNameTheArgument() {
        func check(_ expected: String, _ body: () throws -> Any) {
            XCTAssertThrowsError(try body()) { e in
                XCTAssertEqual((e as? MetricsError)?.description, expected)
            }
        }
        check("argument 'labels' must hold both classes (0 and 1) for an AUROC, found only 1") {
            try Metrics.auroc(scores: [0.1, 0.2], labels: [1, 1])
        }
        check("argument 'labels' must hold only 0 and 1, found 2 at index 1") {
            try Metrics.auroc(scores: [0.1, 0.2], labels: [1, 2])
        }
        check("argument 'labels' has 1 elements but 'scores' has 2; they must pair up") {
            try Metrics.auroc(scores: [0.1, 0.2], labels: [1])
        }
        check("argument 'scores' must not be empty") { try Metrics.auroc(scores: [], labels: []) }
        check("argument 'scores' must hold finite numbers, found nan (at index 0)") {
            try Metrics.auroc(scores: [.nan, 1], labels: [0, 1])
        }
        check("argument 'conf' must hold numbers in [0, 1], found 1.5 (at index 0)") {
            try Metrics.ece(conf: [1.5], correct: [1])
        }
        check("argument 'bins' must be between 1 and 1000000, got 0") { try Metrics.ece(conf: [0.5], correct: [1], bins: 0) }
        check("argument 'bins' must be between 1 and 1000000, got \(Int.max)") {
            try Metrics.ece(conf: [0.5], correct: [1], bins: .max)
        }
        check("argument 'n' must be between 1 and 100000000, got \(Int.max)") { try Metrics.passAtK(n: .max, c: 1, k: 1) }
        var stream = RandomStream(seed: 1)
        check("argument 'resamples' must be between 1 and 10000000, got \(Int.max)") {
            try Metrics.bootstrapCI(count: 2, resamples: .max, stream: &stream) { _ in 0 }
        }
        check("argument 'k' must be between 1 and n = 5, got 6") { try Metrics.passAtK(n: 5, c: 2, k: 6) }
        check("argument 'c' must be between 0 and n = 5, got 7 (problem 1)") {
            try Metrics.passAtK(n: [5, 5], c: [1, 7], k: 2)
        }
        check("argument 'p' must be a probability distribution summing to 1, sums to 0.5") { try Metrics.entropy([0.25, 0.25]) }
        check("argument 'q' must hold probabilities (finite, >= 0), has -0.5 (at index 1)") {
            try Metrics.kl([0.5, 0.5], [1.5, -0.5])
        }
        check("argument 'distributions' must hold distributions of one length, found 3 after 2 (at index 1)") {
            try Metrics.jsd([[0.5, 0.5], [0.2, 0.3, 0.5]])
        }
        check("argument 'labels' must hold at least one positive (1) for an average precision, found none") {
            try Metrics.averagePrecision(scores: [0.1, 0.2], labels: [0, 0])
        }
    }

    func testEdgeValues() throws {
        XCTAssertEqual(try Metrics.kl([0.5, 0.5], [1, 0]), .infinity)
        XCTAssertEqual(try Metrics.kl([1, 0], [0.5, 0.5]), Foundation.log(2), accuracy: 1e-15)
        XCTAssertEqual(try Metrics.entropy([1, 0, 0]), 0)
        XCTAssertEqual(try Metrics.jsd([[1, 0], [0, 1]]), Foundation.log(2), accuracy: 1e-15)
        XCTAssertEqual(try Metrics.jsd([[0.3, 0.7]]), 0)
        XCTAssertEqual(try Metrics.passAtK(n: 10, c: 0, k: 3), 0)
        XCTAssertEqual(try Metrics.passAtK(n: 10, c: 8, k: 3), 1)
        XCTAssertEqual(try Metrics.ece(conf: [1, 1, 0], correct: [1, 1, 0]), 0)
        XCTAssertEqual(try Metrics.auroc(scores: [1, 1, 1, 1], labels: [0, 1, 0, 1]), 0.5)
        XCTAssertEqual(Metrics.averageRanks([3, 1, 3, 2]), [3.5, 1, 3.5, 2])
        let chair = try Metrics.chair(mentions: [[]], truths: [["cat"]])
        XCTAssertTrue(chair.chairI.isNaN)
        XCTAssertEqual(chair.recall, 0)
    }

    func testPerplexity() throws {
        // exp(mean(ln 2, ln 8)) = exp(ln 4) = 4.
        XCTAssertEqual(try Metrics.perplexity(nll: [Foundation.log(2), Foundation.log(8)]), 4, accuracy: 1e-12)
        XCTAssertEqual(try Metrics.perplexity(nll: [0, 0]), 1)
        XCTAssertThrowsError(try Metrics.perplexity(nll: [1, -0.5]))
        XCTAssertThrowsError(try Metrics.perplexity(nll: []))
    }

    func testPopeAnswerReading() {
        XCTAssertTrue(Metrics.popeAnswer("Yes, there is a dog in the image."))
        XCTAssertFalse(Metrics.popeAnswer("No, there is no dog."))
        XCTAssertFalse(Metrics.popeAnswer("There is not a dog in the image"))
        XCTAssertFalse(Metrics.popeAnswer("NO."))
        // Only the first sentence counts, and words are whole words.
        XCTAssertTrue(Metrics.popeAnswer("Yes. There is no cat, though."))
        XCTAssertTrue(Metrics.popeAnswer("There is a notebook and a nose."))
    }
}
