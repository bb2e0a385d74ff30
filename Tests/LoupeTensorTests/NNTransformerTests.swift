import XCTest
@testable import LoupeTensor

/// The fused ops of NNTransformer.swift: `linear` against the composite x @ W^T + b (matmul, transpose and add,
/// whose gradients GradientTests checks), `rope` against its definition and central finite differences. The
/// end-to-end check of both, inside whole decoders against JAX, is LoupeModelsTests/TrainingTests.
final class NNTransformerTests: XCTestCase {
    func maxDiff(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func testLinearMatchesTheCompositeWithGradients() throws {
        let x = try Tensor.randn([2, 3, 5], seed: 1).requiringGrad()
        let w = try Tensor.randn([4, 5], seed: 2).requiringGrad()
        let b = try Tensor.randn([4], seed: 3).requiringGrad()
        let r = try Tensor.randn([2, 3, 4], seed: 4)
        let y = try x.linear(w, bias: b)
        try (y * r).sum().backward()
        let (gx, gw, gb) = (x.grad!, w.grad!, b.grad!)
        for t in [x, w, b] { t.zeroGrad() }
        let ref = try x.matmul(w.transpose()) + b
        try (ref * r).sum().backward()
        XCTAssertEqual(y.shape, [2, 3, 4])
        XCTAssertLessThan(maxDiff(y, ref), 1e-5)
        XCTAssertLessThan(maxDiff(gx, x.grad!), 1e-5)
        XCTAssertLessThan(maxDiff(gw, w.grad!), 1e-5)
        XCTAssertLessThan(maxDiff(gb, b.grad!), 1e-5)
    }

    func testLinearComputesOnlyTheWantedGradients() throws {
        // A frozen weight (LoRA's base) gets no gradient; the input still does.
        let x = try Tensor.randn([3, 5], seed: 5).requiringGrad()
        let w = try Tensor.randn([4, 5], seed: 6)
        try x.linear(w).sum().backward()
        XCTAssertNil(w.grad)
        XCTAssertEqual(try x.grad!.scalars, try w.sum(axis: 0).reshape([1, 5]).expand([3, 5]).scalars)
        XCTAssertThrowsError(try x.linear(try Tensor.zeros([4, 6])))
        XCTAssertThrowsError(try x.linear(w, bias: try Tensor.zeros([5])))
    }

    func testRopeMatchesItsDefinition() throws {
        // One head of 4 dimensions at positions 0..<3, base 100: pair i turns by p * 100^(-2i/4).
        let x = try Tensor.randn([3, 1, 4], seed: 7)
        for layout in [RoPELayout.adjacentPairs, .halves] {
            let y = try x.rope(base: 100, layout: layout)
            let pairs = layout == .adjacentPairs ? [(0, 1), (2, 3)] : [(0, 2), (1, 3)]
            for p in 0..<3 {
                for (i, (a, b)) in pairs.enumerated() {
                    let angle = Double(p) * pow(100, -2 * Double(i) / 4)
                    let (xa, xb) = (Double(try x.value(at: [p, 0, a])), Double(try x.value(at: [p, 0, b])))
                    XCTAssertEqual(Double(try y.value(at: [p, 0, a])), xa * cos(angle) - xb * sin(angle), accuracy: 1e-5)
                    XCTAssertEqual(Double(try y.value(at: [p, 0, b])), xa * sin(angle) + xb * cos(angle), accuracy: 1e-5)
                }
            }
        }
        // Partial rotation: dimensions past `dims` pass through; `start` shifts the positions.
        let z = try Tensor.randn([2, 2, 6], seed: 8)
        let partial = try z.rope(base: 10_000, dims: 4, layout: .halves)
        for p in 0..<2 { for h in 0..<2 { for d in 4..<6 {
            XCTAssertEqual(try partial.value(at: [p, h, d]), try z.value(at: [p, h, d]))
        } } }
        let shifted = try z.rope(base: 10_000, layout: .halves, start: 5)
        let full = try Tensor.concat([try Tensor.zeros([5, 2, 6]), z], axis: 0).rope(base: 10_000, layout: .halves)
        XCTAssertLessThan(maxDiff(shifted, try full.slice([.range(5, nil, 1)])), 1e-5)
        XCTAssertThrowsError(try z.rope(base: 10_000, dims: 5, layout: .halves))
        XCTAssertThrowsError(try z.reshape([12]).rope(base: 10_000, layout: .halves))
    }

    func testRopeGradientMatchesFiniteDifferences() throws {
        for layout in [RoPELayout.adjacentPairs, .halves] {
            let x = try Tensor.randn([5, 2, 8], seed: 9).requiringGrad()
            let r = try Tensor.randn([5, 2, 8], seed: 10)
            let f = { (t: Tensor) throws -> Double in Double(try (t.rope(base: 50, scale: 2, layout: layout) * r).sum().item()) }
            try (x.rope(base: 50, scale: 2, layout: layout) * r).sum().backward()
            let g = x.grad!.scalars
            // rope is linear in x, so central differences are exact up to rounding.
            var data = x.scalars
            let h: Float = 0.01
            for i in stride(from: 0, to: data.count, by: 7) {
                let v = data[i]
                data[i] = v + h; let fp = try f(try Tensor(shape: x.shape, data: data))
                data[i] = v - h; let fm = try f(try Tensor(shape: x.shape, data: data))
                data[i] = v
                XCTAssertEqual(Double(g[i]), (fp - fm) / Double(2 * h), accuracy: 2e-3, "\(layout) element \(i)")
            }
        }
    }

    func testCausalAttentionMatchesTheGeneralAttention() throws {
        // 6 query heads over 2 kv heads, T 7, d 4; with and without a window of 3. Reference: Tensor.attention with
        // broadcasting ([kv, group, T, d] against [kv, 1, T, d]), causal, plus an additive -inf window mask.
        let (t, heads, kv, d) = (7, 6, 2, 4)
        for window in [nil, 3] as [Int?] {
            let q = try Tensor.randn([t, heads, d], seed: 11).requiringGrad()
            let k = try Tensor.randn([t, kv, d], seed: 12).requiringGrad()
            let v = try Tensor.randn([t, kv, d], seed: 13).requiringGrad()
            let r = try Tensor.randn([t, heads, d], seed: 14)
            let y = try Tensor.causalAttention(q: q, k: k, v: v, scale: 0.7, window: window)
            try (y * r).sum().backward()
            let ours = [y, q.grad!, k.grad!, v.grad!]
            for x in [q, k, v] { x.zeroGrad() }
            var mask: Tensor? = nil
            if let window {
                var m = [Float](repeating: 0, count: t * t)
                for i in 0..<t { for j in 0..<t where i - j >= window { m[i * t + j] = -.infinity } }
                mask = try Tensor(shape: [t, t], data: m)
            }
            let z = try Tensor.attention(q: q.permute([1, 0, 2]).reshape([kv, heads / kv, t, d]),
                                         k: k.permute([1, 0, 2]).reshape([kv, 1, t, d]),
                                         v: v.permute([1, 0, 2]).reshape([kv, 1, t, d]), causal: true, mask: mask, scale: 0.7)
            let ref = try z.reshape([heads, t, d]).permute([1, 0, 2])
            try (ref * r).sum().backward()
            for (name, (a, b)) in zip(["output", "dq", "dk", "dv"], zip(ours, [ref, q.grad!, k.grad!, v.grad!])) {
                XCTAssertEqual(a.shape, b.shape, name)
                XCTAssertLessThan(maxDiff(a, b), 1e-5, "\(name), window \(String(describing: window))")
            }
        }
        let q = try Tensor.zeros([3, 4, 2])
        XCTAssertThrowsError(try Tensor.causalAttention(q: q, k: try Tensor.zeros([3, 3, 2]), v: try Tensor.zeros([3, 3, 2]), scale: 1))
        XCTAssertThrowsError(try Tensor.causalAttention(q: q, k: try Tensor.zeros([3, 2, 2]), v: try Tensor.zeros([3, 2, 2]), scale: 1, window: 0))
    }

    func testAdamUpdateMatchesAdamW() throws {
        // Three steps with changing gradients, weight decay and learning rate: the same numbers as AdamW's.
        let shapes = [[3, 5], [7], [4, 9]]  // tails shorter than eight lanes, and whole lanes
        var ours = try shapes.enumerated().map { try Tensor.randn($1, seed: UInt64(20 + $0)).requiringGrad() }
        var ref = ours
        let moments = try shapes.map { try AdamMoments(shape: $0) }
        let adamw = AdamW(lr: 0.01, weightDecay: 0.1)
        for step in 1...3 {
            let grads = try shapes.enumerated().map { try Tensor.randn($1, seed: UInt64(100 * step + $0)) }
            let lr: Float = 0.01 * Float(step)
            adamw.lr = lr
            ref = try adamw.step(ref, grads)
            ours = try zip(ours, zip(grads, moments)).map { p, gm in
                try p.adamUpdated(grad: gm.0, moments: gm.1, step: step, lr: lr, weightDecay: 0.1)
            }
        }
        for (a, b) in zip(ours, ref) {
            XCTAssertTrue(a.requiresGrad)
            XCTAssertLessThan(maxDiff(a, b), 1e-6)
        }
        XCTAssertThrowsError(try ours[0].adamUpdated(grad: try Tensor.zeros([7]), moments: moments[0], step: 4, lr: 0.01))
        XCTAssertThrowsError(try ours[0].adamUpdated(grad: try Tensor.zeros([3, 5]), moments: moments[0], step: 0, lr: 0.01))
    }
}
