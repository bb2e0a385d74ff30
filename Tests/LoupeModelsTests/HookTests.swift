import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// Hooks and interventions, checked against identities that must hold whatever the weights (random qwen2/qwen3
/// fixtures, small enough to run many passes), and once on SmolLM2.
final class HookTests: XCTestCase {
    let ids = [17, 4, 250, 99, 3, 61, 128, 7, 200]

    func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
    }

    /// resid_post of the last block -> final RMSNorm -> unembedding, computed here in double, gives the logits.
    func testLastResidThroughFinalNormAndUnembedReproducesLogits() throws {
        for m in [try TestModels.qwen2(), try TestModels.qwen3()] {
            let c = m.config
            let last = "blocks.\(c.layers - 1).hook_resid_post"
            let r = try m.forward(ids: ids, capture: [last, "ln_final.hook_normalized"])
            let resid = try XCTUnwrap(r.cache[last])
            XCTAssertEqual(resid.shape, [ids.count, c.dModel])
            let w = m.output.dequantized().scalars
            let norm = Array(UnsafeBufferPointer(start: m.outputNorm.pointer, count: c.dModel))
            let x = resid.scalars, logits = r.logits.scalars
            var worst = 0.0
            for t in 0..<ids.count {
                let row = x[(t * c.dModel)..<((t + 1) * c.dModel)].map(Double.init)
                let rstd = 1 / ((row.map { $0 * $0 }.reduce(0, +) / Double(c.dModel)) + Double(c.eps)).squareRoot()
                let h = (0..<c.dModel).map { row[$0] * rstd * Double(norm[$0]) }
                for v in 0..<c.vocab {
                    var z = 0.0
                    for i in 0..<c.dModel { z += h[i] * Double(w[v * c.dModel + i]) }
                    worst = max(worst, abs(z - Double(logits[t * c.vocab + v])))
                }
            }
            XCTAssertLessThan(worst, 1e-3, "\(c.architecture)")
            // And the logits of a hooked run equal the plain batched ones bit for bit.
            XCTAssertEqual(r.logits.scalars, try m.logits(ids).scalars)
        }
    }

    func testReplacingResidWithItselfChangesNothing() throws {
        let m = try TestModels.qwen2()
        let plain = try m.logits(ids)
        let r = try m.forward(ids: ids, interventions: ["blocks.*.hook_resid_pre": .apply { $0 },
                                                        "blocks.0.attn.hook_pattern": .apply { $0 },
                                                        "blocks.1.attn.hook_z": .scaleHeads([0: 1])])
        XCTAssertEqual(r.logits.scalars, plain.scalars)
        // The same with a replace by the captured value.
        let cap = try m.forward(ids: ids, capture: ["blocks.1.hook_resid_mid"])
        let again = try m.forward(ids: ids, interventions: ["blocks.1.hook_resid_mid": .replace(cap.cache["blocks.1.hook_resid_mid"]!)])
        XCTAssertEqual(again.logits.scalars, plain.scalars)
    }

    func testZeroingAllHeadsEqualsRemovingAttentionOutput() throws {
        for m in [try TestModels.qwen2(), try TestModels.qwen3()] {
            let heads = Array(0..<m.config.heads)
            let zeroed = try m.forward(ids: ids, interventions: ["blocks.0.attn.hook_z": .zeroHeads(heads)])
            let removed = try m.forward(ids: ids, interventions: [
                "blocks.0.hook_attn_out": .replace(try Tensor.zeros([ids.count, m.config.dModel]))])
            XCTAssertEqual(zeroed.logits.scalars, removed.logits.scalars)
            XCTAssertGreaterThan(maxAbsDiff(zeroed.logits, try m.logits(ids)), 1e-3, "the intervention must matter")
            // Zeroing a single head at hook_z equals zeroing its pattern rows.
            let a = try m.forward(ids: ids, interventions: ["blocks.1.attn.hook_z": .zeroHeads([1])])
            let b = try m.forward(ids: ids, interventions: ["blocks.1.attn.hook_pattern": .zeroHeads([1])])
            XCTAssertLessThan(maxAbsDiff(a.logits, b.logits), 1e-5)
        }
    }

    func testPatternRowsSumToOneAndAreCausal() throws {
        let m = try TestModels.qwen3()
        let r = try m.forward(ids: ids, capture: ["blocks.*.attn.hook_pattern", "blocks.0.attn.hook_attn_scores"])
        XCTAssertEqual(r.cache.count, m.config.layers + 1)
        let T = ids.count
        for l in 0..<m.config.layers {
            let p = try XCTUnwrap(r.cache["blocks.\(l).attn.hook_pattern"])
            XCTAssertEqual(p.shape, [m.config.heads, T, T])
            let v = p.scalars
            for h in 0..<m.config.heads {
                for q in 0..<T {
                    let row = v[((h * T + q) * T)..<((h * T + q + 1) * T)]
                    XCTAssertEqual(Double(row.reduce(0, +)), 1, accuracy: 1e-5)
                    for (k, x) in row.enumerated() where k > q { XCTAssertEqual(x, 0, "future key \(k) of query \(q)") }
                    XCTAssertTrue(row.allSatisfy { $0 >= 0 })
                }
            }
        }
        let s = try XCTUnwrap(r.cache["blocks.0.attn.hook_attn_scores"]).scalars
        XCTAssertEqual(s[1], -.infinity)  // head 0, query 0, key 1: masked
    }

    func testShapesOfEveryHook() throws {
        let m = try TestModels.qwen3()
        let c = m.config, T = ids.count
        let r = try m.forward(ids: ids, capture: ["*"])
        XCTAssertEqual(Set(r.cache.keys), Set(m.hookNames))
        XCTAssertEqual(r.cache["hook_embed"]?.shape, [T, c.dModel])
        XCTAssertEqual(r.cache["blocks.0.attn.hook_q"]?.shape, [T, c.heads, c.headDim])
        XCTAssertEqual(r.cache["blocks.0.attn.hook_k"]?.shape, [T, c.kvHeads, c.headDim])
        XCTAssertEqual(r.cache["blocks.0.attn.hook_z"]?.shape, [T, c.heads, c.headDim])
        XCTAssertEqual(r.cache["blocks.1.mlp.hook_post"]?.shape, [T, c.dFF])
        XCTAssertEqual(r.cache["unembed.hook_out"]?.shape, [T, c.vocab])
        XCTAssertEqual(r.cache["unembed.hook_out"]?.scalars, r.logits.scalars)
        // resid_post of block 0 is resid_pre of block 1; resid_mid = resid_pre + attn_out.
        XCTAssertEqual(r.cache["blocks.0.hook_resid_post"]?.scalars, r.cache["blocks.1.hook_resid_pre"]?.scalars)
        let mid = try r.cache["blocks.1.hook_resid_pre"]! + r.cache["blocks.1.hook_attn_out"]!
        XCTAssertLessThan(maxAbsDiff(mid, r.cache["blocks.1.hook_resid_mid"]!), 1e-6)
    }

    func testUnknownHookNamesListTheValidOnes() throws {
        let m = try TestModels.qwen2()
        XCTAssertThrowsError(try m.forward(ids: ids, capture: ["blocks.0.attn.hook_patern"])) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("blocks.0.attn.hook_patern"), text)
            XCTAssertTrue(text.contains("blocks.{0..1}.attn.hook_pattern"), text)
            XCTAssertTrue(text.contains("unembed.hook_out"), text)
        }
        XCTAssertThrowsError(try m.forward(ids: ids, interventions: ["blocks.7.hook_resid_post": .apply { $0 }]))
        XCTAssertThrowsError(try m.forward(ids: ids, interventions: ["blocks.0.hook_resid_post": .zeroHeads([0])])) { e in
            XCTAssertTrue("\(e)".contains("no head axis"), "\(e)")
        }
        XCTAssertThrowsError(try m.forward(ids: ids, interventions: [
            "blocks.0.hook_resid_post": .replace(try Tensor.zeros([2, 2]))])) { e in
            XCTAssertTrue("\(e)".contains("[9, 64]"), "\(e)")
        }
    }

    func testAddEqualsApplyOfTheSum() throws {
        let m = try TestModels.qwen2()
        let v = try Tensor.randn([m.config.dModel], seed: 5)
        let a = try m.forward(ids: ids, interventions: ["blocks.1.hook_resid_pre": .add(v)])
        let b = try m.forward(ids: ids, interventions: ["blocks.1.hook_resid_pre": .apply { try $0 + v }])
        XCTAssertEqual(a.logits.scalars, b.logits.scalars)
        XCTAssertGreaterThan(maxAbsDiff(a.logits, try m.logits(ids)), 1e-3)
    }

    func testAttentionMaskHidesAKeyPosition() throws {
        let m = try TestModels.qwen2()
        var mask = [Float](repeating: 0, count: ids.count)
        mask[1] = -.infinity
        let r = try m.forward(ids: ids, capture: ["blocks.*.attn.hook_pattern"],
                              options: ForwardOptions(attentionMask: try Tensor(shape: [ids.count], data: mask)))
        let T = ids.count
        for l in 0..<m.config.layers {
            let p = r.cache["blocks.\(l).attn.hook_pattern"]!.scalars
            for h in 0..<m.config.heads {
                for q in 0..<T {
                    XCTAssertEqual(p[(h * T + q) * T + 1], 0)
                    XCTAssertEqual(Double(p[((h * T + q) * T)..<((h * T + q + 1) * T)].reduce(0, +)), 1, accuracy: 1e-5)
                }
            }
        }
        XCTAssertThrowsError(try m.forward(ids: ids, options: ForwardOptions(attentionMask: try Tensor.zeros([3]))))
    }

    func testInjectedEmbeddingsActLikeTheTokenTheyCopy() throws {
        for m in [try TestModels.qwen2(), try TestModels.qwen3()] {
            let prompt = [10, 20, 30, 40, 50]
            var other = prompt
            other[2] = 77
            let table = m.embeddingTable
            let row = try Tensor(shape: [m.config.dModel],
                                 data: Array(table.scalars[(77 * m.config.dModel)..<(78 * m.config.dModel)]))
            let injected = try m.forward(ids: prompt, options: ForwardOptions(injectedEmbeddings: [2: row]))
            XCTAssertEqual(injected.logits.scalars, try m.logits(other).scalars)
        }
    }

    func testAttentionCallbackSeesQKVAndCanReplaceHeads() throws {
        let m = try TestModels.qwen3()
        let c = m.config
        let tags = ids.indices.map { $0 < 3 ? "image" : "text" }
        var seen = 0
        // Recompute each head's output from the Q, K, V the callback receives: the result must not change.
        let same = try m.forward(ids: ids, options: ForwardOptions(attentionCallback: { ctx in
            seen += 1
            XCTAssertEqual(ctx.modalityTags, tags)
            XCTAssertEqual(ctx.q.shape, [self.ids.count, c.headDim])
            XCTAssertEqual(ctx.k.shape, [self.ids.count, c.headDim])
            let scores = try (ctx.q.matmul(try ctx.k.permute([1, 0])) * c.attentionScale)
            let p = try (scores + causalMask(self.ids.count)).softmax(axis: -1)
            XCTAssertLessThan(self.maxAbsDiff(try ctx.scores.softmax(axis: -1), p), 1e-5)
            return try p.matmul(ctx.v)
        }, modalityTags: tags))
        XCTAssertEqual(seen, c.layers * c.heads)
        XCTAssertLessThan(maxAbsDiff(same.logits, try m.logits(ids)), 1e-4)
        // Returning zeros for every head of layer 0 equals zeroing the heads.
        let zero = try m.forward(ids: ids, options: ForwardOptions(
            attentionCallback: { _ in try Tensor.zeros([self.ids.count, c.headDim]) }, attentionCallbackLayers: [0]))
        let zeroed = try m.forward(ids: ids, interventions: ["blocks.0.attn.hook_z": .zeroHeads(Array(0..<c.heads))])
        XCTAssertEqual(zero.logits.scalars, zeroed.logits.scalars)
    }

    /// A run with hooks that touch nothing costs about what a plain run costs (hook checks are nil tests).
    func testEmptyHookRunCostsAboutTheSame() throws {
        let m = try TestModels.qwen2()
        func time(_ f: () throws -> Void) rethrows -> Double {
            var best = Double.infinity
            for _ in 0..<3 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                for _ in 0..<5 { try f() }
                best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0))
            }
            return best
        }
        let plain = try time { _ = try m.logits(ids) }
        let hooked = try time { _ = try m.forward(ids: ids) }
        XCTAssertLessThan(hooked, plain * 1.5 + 2e6, "forward without hooks: \(hooked / 5e3) us vs logits \(plain / 5e3) us")
    }
}

/// [T, T] with -inf above the diagonal.
func causalMask(_ t: Int) throws -> Tensor {
    var m = [Float](repeating: 0, count: t * t)
    for i in 0..<t { for j in (i + 1)..<max(t, i + 1) where j < t { m[i * t + j] = -.infinity } }
    return try Tensor(shape: [t, t], data: m)
}
