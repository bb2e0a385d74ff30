import Foundation
import XCTest
@testable import LoupeTensor

// SGD and AdamW against PyTorch's update rules (transcribed into numpy by Tests/Fixtures/make_optimizer_fixtures.py
// and evaluated in float64), gradient clipping, learning-rate schedules, and an end-to-end fit.
//
// Tolerance for the fixture comparisons: |swift - ref| <= 1e-6 + 1e-5 |ref|. The Swift optimizers compute in
// Float32; after 5 steps the accumulated rounding is a few ulps of values ~1 (~1e-7), so 1e-5 is loose for
// rounding yet far below any real difference (a missing bias correction or a wrong decay changes the first step
// by > 1e-3 relative).

final class OptimizerTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            let name: String
            let optimizer: String
            let lr: [Float]
            let momentum: Float?
            let weight_decay: Float
            let nesterov: Bool?
            let beta1: Float?
            let beta2: Float?
            let eps: Float?
            let expected: [[[Double]]]  // step -> param -> values
        }
        struct Clip: Decodable {
            let max_norm: Float
            let grads: [[Float]]
            let norm: Double
            let clipped: [[Double]]
        }
        struct Schedule: Decodable {
            let kind: String
            let base: Float
            let warmup: Int
            let total: Int
            let min_lr: Float
            let steps: [Int]
            let values: [Double]
        }
        let steps: Int
        let shapes: [[Int]]
        let params: [[Float]]
        let grads: [[[Float]]]
        let cases: [Case]
        let clip: [Clip]
        let schedules: [Schedule]
    }

    static let fixture: Fixture? = {
        guard let url = Bundle.module.url(forResource: "optimizers", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(Fixture.self, from: data)
    }()

    func loadFixture() throws -> Fixture {
        try XCTUnwrap(Self.fixture, "Fixtures/optimizers.json is missing or malformed")
    }

    func assertClose(_ got: [Float], _ want: [Double], rtol: Double = 1e-5, atol: Double = 1e-6, _ what: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.count, want.count, "\(what): count", file: file, line: line)
        var bad = 0
        for (i, (g, w)) in zip(got, want).enumerated() where !(Swift.abs(Double(g) - w) <= atol + rtol * Swift.abs(w)) {
            bad += 1
            if bad <= 3 { XCTFail("\(what)[\(i)]: got \(g), want \(w)", file: file, line: line) }
        }
    }

    // MARK: - Fixture comparisons

    func testOptimizersMatchPyTorchReference() throws {
        let fx = try loadFixture()
        XCTAssertEqual(fx.cases.count, 9)
        for c in fx.cases {
            let opt: Optimizer
            switch c.optimizer {
            case "sgd":
                opt = SGD(lr: c.lr[0], momentum: c.momentum ?? 0, weightDecay: c.weight_decay, nesterov: c.nesterov ?? false)
            case "adamw":
                opt = AdamW(lr: c.lr[0], beta1: c.beta1!, beta2: c.beta2!, eps: c.eps!, weightDecay: c.weight_decay)
            default:
                return XCTFail("unknown optimizer \(c.optimizer)")
            }
            var params = try zip(fx.shapes, fx.params).map { try Tensor(shape: $0, data: $1).requiringGrad() }
            for t in 0..<fx.steps {
                opt.lr = c.lr[t]
                let grads = try zip(fx.shapes, fx.grads[t]).map { try Tensor(shape: $0, data: $1) }
                params = try opt.step(params, grads)
                for (i, p) in params.enumerated() {
                    XCTAssertEqual(p.shape, fx.shapes[i])
                    assertClose(p.scalars, c.expected[t][i], "\(c.name) step \(t + 1) param \(i)")
                }
            }
        }
    }

    func testStepUsesAccumulatedGradients() throws {
        // step(params) reads each parameter's .grad, as filled by backward(); same result as passing grads.
        let fx = try loadFixture()
        let c = try XCTUnwrap(fx.cases.first { $0.name == "adamw_defaults" })
        let opt = AdamW(lr: c.lr[0], beta1: c.beta1!, beta2: c.beta2!, eps: c.eps!, weightDecay: c.weight_decay)
        var params = try zip(fx.shapes, fx.params).map { try Tensor(shape: $0, data: $1).requiringGrad() }
        for t in 0..<fx.steps {
            // loss = sum_i sum(p_i * g_i)  =>  dloss/dp_i = g_i
            var loss = Tensor(scalar: 0)
            for (i, p) in params.enumerated() {
                loss = try loss + (p * Tensor(shape: fx.shapes[i], data: fx.grads[t][i])).sum()
            }
            try loss.backward()
            params = try opt.step(params)
            for (i, p) in params.enumerated() {
                assertClose(p.scalars, c.expected[t][i], "step(params) step \(t + 1) param \(i)")
                XCTAssertTrue(p.requiresGrad, "updated parameters are leaves that require grad")
                XCTAssertNil(p.node)
                XCTAssertNil(p.grad, "updated parameters start with no gradient")
            }
        }
        XCTAssertEqual(opt.stepCount, fx.steps)
    }

    func testClipByGlobalNorm() throws {
        let fx = try loadFixture()
        for c in fx.clip {
            let grads = try zip(fx.shapes, c.grads).map { try Tensor(shape: $0, data: $1) }
            let (clipped, norm) = try GradClip.byGlobalNorm(grads, maxNorm: c.max_norm)
            XCTAssertEqual(Double(norm), c.norm, accuracy: 1e-5 * c.norm, "norm (max_norm \(c.max_norm))")
            for (i, g) in clipped.enumerated() {
                XCTAssertEqual(g.shape, fx.shapes[i])
                assertClose(g.scalars, c.clipped[i], "clipped (max_norm \(c.max_norm)) grad \(i)")
            }
        }
        // Hand-checked: norm of [3, 4] and [12] is 13; clipping to 6.5 halves everything.
        let (g, n) = try GradClip.byGlobalNorm([Tensor([3, 4]), Tensor([12])], maxNorm: 6.5)
        XCTAssertEqual(n, 13, accuracy: 1e-5)
        XCTAssertEqual(g[0].scalars[0], 1.5, accuracy: 1e-5)
        XCTAssertEqual(g[0].scalars[1], 2, accuracy: 1e-5)
        XCTAssertEqual(g[1].scalars[0], 6, accuracy: 1e-5)
        XCTAssertThrowsError(try GradClip.byGlobalNorm([Tensor([1])], maxNorm: 0))
        // By value.
        let v = try GradClip.byValue([Tensor([-3, 0.5, 2])], limit: 1)
        XCTAssertEqual(v[0].scalars, [-1, 0.5, 1])
    }

    func testSchedules() throws {
        let fx = try loadFixture()
        XCTAssertEqual(fx.schedules.count, 6)
        for s in fx.schedules {
            let sched = s.kind == "cosine"
                ? LRSchedule.warmupCosine(base: s.base, warmup: s.warmup, total: s.total, minLR: s.min_lr)
                : LRSchedule.warmupLinear(base: s.base, warmup: s.warmup, total: s.total, minLR: s.min_lr)
            for (step, want) in zip(s.steps, s.values) {
                XCTAssertEqual(Double(sched(step)), want, accuracy: 1e-6 * Swift.max(Double(s.base), 1e-30) + 1e-12,
                               "\(s.kind) base \(s.base) warmup \(s.warmup) total \(s.total) step \(step)")
            }
        }
        // Hand-checked landmarks: warm-up reaches base on its last step, cosine is halfway at the midpoint,
        // both end at minLR and stay there.
        let cos = LRSchedule.warmupCosine(base: 1, warmup: 4, total: 14, minLR: 0.1)
        XCTAssertEqual(cos(0), 0.25, accuracy: 1e-6)
        XCTAssertEqual(cos(3), 1, accuracy: 1e-6)
        XCTAssertEqual(cos(9), 0.55, accuracy: 1e-6)
        XCTAssertEqual(cos(14), 0.1, accuracy: 1e-6)
        XCTAssertEqual(cos(1000), 0.1, accuracy: 1e-6)
        let lin = LRSchedule.warmupLinear(base: 2, warmup: 2, total: 12, minLR: 0)
        XCTAssertEqual(lin(0), 1, accuracy: 1e-6)
        XCTAssertEqual(lin(1), 2, accuracy: 1e-6)
        XCTAssertEqual(lin(7), 1, accuracy: 1e-6)
        XCTAssertEqual(lin(12), 0, accuracy: 1e-6)
        XCTAssertEqual(lin(50), 0, accuracy: 1e-6)
        XCTAssertEqual(LRSchedule.constant(0.3)(17), 0.3)
    }

    // MARK: - Hand-checked single steps and validation

    func testSingleStepsByHand() throws {
        let p = try Tensor(shape: [2], data: [1, -2]).requiringGrad()
        let g = Tensor([0.5, 1])
        // SGD: p - lr g
        XCTAssertEqual(try SGD(lr: 0.1).step([p], [g])[0].scalars, [0.95, -2.1])
        // AdamW first step: m/c1 = g, v/c2 = g^2 -> update lr * sign(g) (eps aside), after decay by (1 - lr wd).
        let a = try AdamW(lr: 0.1, weightDecay: 0.5).step([p], [g])[0].scalars
        XCTAssertEqual(a[0], 1 * (1 - 0.05) - 0.1, accuracy: 1e-6)
        XCTAssertEqual(a[1], -2 * (1 - 0.05) - 0.1, accuracy: 1e-6)
        // SGD momentum: two steps with the same gradient: b1 = g, b2 = 1.9 g.
        let sgd = SGD(lr: 1, momentum: 0.9)
        let p1 = try sgd.step([p], [g])
        let p2 = try sgd.step(p1, [g])
        XCTAssertEqual(p2[0].scalars[0], 1 - 0.5 - 0.95, accuracy: 1e-6)
        XCTAssertEqual(p2[0].scalars[1], -2 - 1 - 1.9, accuracy: 1e-6)
    }

    func testValidation() throws {
        let p = Tensor([1, 2]).requiringGrad()
        XCTAssertThrowsError(try SGD(lr: 0.1).step([p], [Tensor([1, 2, 3])]))
        XCTAssertThrowsError(try AdamW().step([p], []))
        XCTAssertThrowsError(try AdamW().step([p]))  // no gradient yet
        let opt = AdamW()
        _ = try opt.step([p], [Tensor([1, 1])])
        XCTAssertThrowsError(try opt.step([p, p], [Tensor([1, 1]), Tensor([1, 1])]))  // different parameter list
        XCTAssertThrowsError(try opt.step([Tensor([1, 2, 3])], [Tensor([1, 1, 1])]))  // different shape
        let sgd = SGD(lr: 0.1, momentum: 0.9)
        _ = try sgd.step([p], [Tensor([1, 1])])
        XCTAssertThrowsError(try sgd.step([Tensor([1])], [Tensor([1])]))
    }

    // MARK: - End to end

    /// Two-class spiral-ish data (not linearly separable): an MLP must bend the boundary to fit it.
    func makeClassification(_ n: Int) throws -> (Tensor, IndexTensor) {
        var rng = GradCheck.RNG(99)
        var xs: [Float] = [], ys: [Int] = []
        for i in 0..<n {
            let cls = i % 2
            let r = rng.uniform(0.2, 1.0)
            let angle = r * 3.5 + Double(cls) * Double.pi + rng.uniform(-0.15, 0.15)
            xs += [Float(r * Foundation.cos(angle)), Float(r * Foundation.sin(angle))]
            ys.append(cls)
        }
        return (try Tensor(shape: [n, 2], data: xs), IndexTensor(ys))
    }

    func testAdamWFitsClassificationMLP() throws {
        let (x, y) = try makeClassification(96)
        var rng = GradCheck.RNG(7)
        func initW(_ shape: [Int], _ scale: Double) -> Tensor { GradCheck.rand(shape, &rng, -scale, scale) }
        // Small enough to train in a debug build in about a second (tanh/gelu are slow unoptimised).
        var params = [initW([2, 24], 1.5), try Tensor.zeros([24]), initW([24, 24], 0.4), try Tensor.zeros([24]),
                      initW([24, 2], 0.4), try Tensor.zeros([2])].map { $0.requiringGrad() }
        func loss(_ p: [Tensor]) throws -> Tensor {
            let h1 = try (x.matmul(p[0]) + p[1]).tanh()
            let h2 = try (h1.matmul(p[2]) + p[3]).relu()
            return try (h2.matmul(p[4]) + p[5]).crossEntropy(y)
        }
        let initial = try Autograd.noGrad { try loss(params).item() }
        let opt = AdamW(lr: 0, weightDecay: 1e-4)
        let sched = LRSchedule.warmupCosine(base: 3e-2, warmup: 10, total: 250, minLR: 1e-3)
        for step in 0..<250 {
            let l = try loss(params)
            try l.backward()
            let (clipped, _) = try GradClip.byGlobalNorm(params.map { $0.grad! }, maxNorm: 5)
            opt.lr = sched(step)
            params = try opt.step(params, clipped)
        }
        let final = try Autograd.noGrad { try loss(params).item() }
        XCTAssertGreaterThan(initial, 0.4, "an untrained network does not fit the spiral")
        XCTAssertLessThan(final, 0.05, "AdamW should fit the 96 training points (loss \(initial) -> \(final))")
        // Accuracy from the logits.
        let logits = try Autograd.noGrad {
            try ((x.matmul(params[0]) + params[1]).tanh().matmul(params[2]) + params[3]).relu().matmul(params[4]) + params[5]
        }
        let pred = try logits.argmax(axis: -1).data
        let acc = Double(zip(pred, y.data).filter { $0 == $1 }.count) / Double(y.count)
        XCTAssertGreaterThan(acc, 0.97)
    }

    func testAdamWAndSGDFitLinearRegression() throws {
        // y = X w* + b* + small noise; both optimizers must recover w* and reach the noise floor.
        var rng = GradCheck.RNG(3)
        let n = 64, d = 5
        let x = GradCheck.rand([n, d], &rng, -1, 1)
        let wTrue = try Tensor(shape: [d, 1], data: [1.5, -2, 0.5, 3, -1])
        let noise = GradCheck.rand([n, 1], &rng, -0.01, 0.01)
        let y = try x.matmul(wTrue) + 0.7 + noise
        for name in ["adamw", "sgd-nesterov"] {
            var params = [try Tensor.zeros([d, 1]).requiringGrad(), try Tensor.zeros([1]).requiringGrad()]
            let opt: Optimizer = name == "adamw" ? AdamW(lr: 0.05, weightDecay: 0) : SGD(lr: 0.1, momentum: 0.9, nesterov: true)
            var last: Float = .infinity
            for _ in 0..<300 {
                let r = try x.matmul(params[0]) + params[1] - y
                let l = try (r * r).mean()
                last = try l.item()
                try l.backward()
                params = try opt.step(params)
            }
            XCTAssertLessThan(last, 1e-3, "\(name): mse")
            for (got, want) in zip(params[0].scalars, wTrue.scalars) { XCTAssertEqual(got, want, accuracy: 0.02, name) }
            XCTAssertEqual(params[1].scalars[0], 0.7, accuracy: 0.02, name)
        }
    }
}
