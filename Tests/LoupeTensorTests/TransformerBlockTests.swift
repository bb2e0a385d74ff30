import Foundation
import XCTest
@testable import LoupeTensor

// The transformer block (forward, loss and the 13 gradients) against JAX: Tests/Fixtures/make_block_fixture.py
// writes the same block in jax.numpy, with jax.grad for the gradients, and stores float64 reference values computed
// from the float32 inputs that this test loads.
//
// Tolerances. Loupe computes in float32, so its error against a float64 reference is float32 rounding through
// ~20 ops: JAX's own float32 run differs from the float64 reference by at most 4e-7 of each tensor's largest value
// (recorded in the fixture as float32_jax_error). Each tensor must satisfy, elementwise,
//     |loupe - ref| <= 1e-4 * |ref| + 1e-5 * max|ref|
// i.e. 1e-4 relative, with an absolute floor of 1e-5 scaled to the tensor (gradients here are ~1e-3..1e-2 because
// the loss is a mean over 512 outputs, so an unscaled 1e-5 would be loose for them), and normwise
// max|loupe - ref| / max|ref| <= 1e-5. That leaves ~25x headroom over float32 rounding while any real mistake
// (a missing term, a wrong scale, a transposed weight) shows up at 1e-2 or more.

final class TransformerBlockTests: XCTestCase {
    struct Fixture: Decodable {
        struct Named: Decodable {
            let name: String?
            let shape: [Int]
            let data: [Double]
            func tensor() throws -> Tensor { try Tensor(shape: shape, data: data.map { Float($0) }) }
        }
        struct Config: Decodable { let batch: Int, seq: Int, d: Int, heads: Int, hidden: Int }
        let config: Config
        let x: Named
        let R: Named
        let params: [Named]
        let y: Named
        let loss: Double
        let grads: [Named]
        let float32_jax_error: [String: Double]
    }

    static let fixture: Fixture? = {
        guard let url = Bundle.module.url(forResource: "block", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url) else { return nil }
        return try? JSONDecoder().decode(Fixture.self, from: data)
    }()

    /// Normwise and elementwise comparison against a float64 reference; returns the normwise error.
    @discardableResult
    func assertMatches(_ got: Tensor, _ want: Fixture.Named, _ what: String,
                       rtol: Double = 1e-4, atolScale: Double = 1e-5, normwise: Double = 1e-5,
                       file: StaticString = #filePath, line: UInt = #line) -> Double {
        XCTAssertEqual(got.shape, want.shape, "\(what): shape", file: file, line: line)
        let g = got.scalars
        guard g.count == want.data.count else { return .infinity }
        let scale = want.data.map { Swift.abs($0) }.max() ?? 0
        XCTAssertGreaterThan(scale, 0, "\(what): reference is all zero", file: file, line: line)
        var worst = 0.0, bad = 0
        for (i, (a, r)) in zip(g, want.data).enumerated() {
            let err = Swift.abs(Double(a) - r)
            worst = Swift.max(worst, err)
            if !(err <= rtol * Swift.abs(r) + atolScale * scale) {
                bad += 1
                if bad <= 3 { XCTFail("\(what)[\(i)]: loupe \(a), jax \(r)", file: file, line: line) }
            }
        }
        if bad > 3 { XCTFail("\(what): \(bad) of \(g.count) elements out of tolerance", file: file, line: line) }
        let rel = worst / scale
        XCTAssertLessThanOrEqual(rel, normwise, "\(what): normwise error", file: file, line: line)
        return rel
    }

    func testForwardLossAndGradientsMatchJAX() throws {
        let fx = try XCTUnwrap(Self.fixture, "Fixtures/block.json is missing or malformed")
        let c = fx.config
        XCTAssertEqual(fx.params.map { $0.name! }, TransformerBlock.parameterNames)
        let block = try TransformerBlock(d: c.d, heads: c.heads, parameters: fx.params.map { try $0.tensor() })
        XCTAssertEqual(block.hidden, c.hidden)
        let x = try fx.x.tensor().requiringGrad()
        let r = try fx.R.tensor()

        let y = try block.forward(x)
        var errors: [String: Double] = [:]
        errors["y"] = assertMatches(y, fx.y, "y")
        let loss = try (y * r).mean()
        let l = try loss.item()
        XCTAssertEqual(Double(l), fx.loss, accuracy: 1e-4 * Swift.abs(fx.loss) + 1e-7, "loss")
        errors["loss"] = Swift.abs(Double(l) - fx.loss) / Swift.abs(fx.loss)

        try loss.backward()
        XCTAssertEqual(fx.grads.count, 13)
        let leaves = [x] + block.parameters
        for (leaf, ref) in zip(leaves, fx.grads) {
            let name = ref.name!
            let grad = try XCTUnwrap(leaf.grad, "no gradient for \(name)")
            errors["grad_\(name)"] = assertMatches(grad, ref, "grad \(name)")
        }
        // Report Loupe's errors next to JAX's own float32 errors (visible in the test log).
        for k in errors.keys.sorted() {
            print(String(format: "block %-11@ loupe %.2e   jax float32 %.2e", k, errors[k]!, fx.float32_jax_error[k] ?? .nan))
        }
    }

    func testNoGradForwardMatchesAndRecordsNothing() throws {
        let fx = try XCTUnwrap(Self.fixture, "Fixtures/block.json is missing or malformed")
        let params = try fx.params.map { try $0.tensor() }
        let block = try TransformerBlock(d: fx.config.d, heads: fx.config.heads, parameters: params)
        let y = try Autograd.noGrad { try block.forward(fx.x.tensor()) }
        XCTAssertFalse(y.requiresGrad)
        assertMatches(y, fx.y, "y (noGrad)")
    }

    func testTwoBackwardPassesAccumulate() throws {
        // Gradients of the same loss twice are exactly twice the gradients (the graph is reusable).
        let fx = try XCTUnwrap(Self.fixture, "Fixtures/block.json is missing or malformed")
        let block = try TransformerBlock(d: fx.config.d, heads: fx.config.heads, parameters: fx.params.map { try $0.tensor() })
        let x = try fx.x.tensor().requiringGrad()
        let loss = try (block.forward(x) * fx.R.tensor()).mean()
        try loss.backward()
        let once = block.parameters.map { $0.grad!.scalars }
        try loss.backward()
        for (p, g1) in zip(block.parameters, once) {
            for (a, b) in zip(p.grad!.scalars, g1) { XCTAssertEqual(a, 2 * b, accuracy: 1e-6 * Swift.max(1, Swift.abs(2 * b))) }
        }
    }

    func testRejectsBadShapes() throws {
        let fx = try XCTUnwrap(Self.fixture, "Fixtures/block.json is missing or malformed")
        let params = try fx.params.map { try $0.tensor() }
        XCTAssertThrowsError(try TransformerBlock(d: 32, heads: 5, parameters: params))
        XCTAssertThrowsError(try TransformerBlock(d: 32, heads: 4, parameters: Array(params.dropLast())))
        var swapped = params
        swapped.swapAt(2, 4)
        XCTAssertThrowsError(try TransformerBlock(d: 32, heads: 4, parameters: swapped))
        let block = try TransformerBlock(d: 32, heads: 4, parameters: params)
        XCTAssertThrowsError(try block.forward(Tensor.zeros([2, 8, 16])))
        XCTAssertThrowsError(try block.forward(Tensor.zeros([8, 32])))
    }
}
