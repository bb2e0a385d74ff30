import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

final class GenerationTests: XCTestCase {
    let prompt = [12, 200, 7, 99, 31]

    /// Greedy generation through the KV cache equals the argmax of a full `logits` pass over the growing sequence.
    func testGreedyEqualsArgmaxOfLogitsStepByStep() throws {
        for m in [try TestModels.qwen2(), try TestModels.qwen3()] {
            let g = try m.generate(prompt: prompt, options: GenerationOptions(maxTokens: 8, stopTokens: []))
            XCTAssertEqual(g.count, 1)
            XCTAssertEqual(g[0].tokens.count, 8)
            XCTAssertEqual(g[0].finishReason, .maxTokens)
            var seq = prompt
            for tok in g[0].tokens {
                let l = try m.logits(seq)
                let v = m.config.vocab
                let best = l.withUnsafeBufferPointer { Sampler.argmax(UnsafeBufferPointer(rebasing: $0[((seq.count - 1) * v)...])) }
                XCTAssertEqual(tok, best)
                seq.append(tok)
            }
        }
    }

    func testSeededSamplingIsReproducible() throws {
        let m = try TestModels.qwen3()
        let opts = SamplingOptions(temperature: 1.0, topK: 40, topP: 0.95, seed: 7)
        let a = try m.generate(prompt: prompt, options: GenerationOptions(maxTokens: 12, sampling: opts, stopTokens: []))
        let b = try m.generate(prompt: prompt, options: GenerationOptions(maxTokens: 12, sampling: opts, stopTokens: []))
        XCTAssertEqual(a, b)
        var other = opts
        other.seed = 8
        let c = try m.generate(prompt: prompt, options: GenerationOptions(maxTokens: 12, sampling: other, stopTokens: []))
        XCTAssertNotEqual(a[0].tokens, c[0].tokens)
    }

    /// N samples prefill the prompt once and branch; each sample depends only on the seed and its index.
    func testSamplesSharePrefill() throws {
        let m = try TestModels.qwen2()
        let opts = SamplingOptions(temperature: 1.2, seed: 3)
        let p0 = m.prefillCount, s0 = m.stepCount
        let four = try m.generate(prompt: prompt, options: GenerationOptions(maxTokens: 6, sampling: opts, stopTokens: [], samples: 4))
        XCTAssertEqual(m.prefillCount - p0, 1, "the prompt is prefilled once for all samples")
        XCTAssertEqual(m.stepCount - s0, 4 * 5, "each sample steps once per token after the first")
        XCTAssertEqual(four.count, 4)
        XCTAssertGreaterThan(Set(four.map(\.tokens)).count, 1, "samples differ")
        let two = try m.generate(prompt: prompt, options: GenerationOptions(maxTokens: 6, sampling: opts, stopTokens: [], samples: 2))
        XCTAssertEqual(Array(four[..<2]), two)
    }

    func testStopTokensAndStopStrings() throws {
        let m = try TestModels.qwen2()
        let greedy = try m.generate(prompt: prompt, options: GenerationOptions(maxTokens: 10, stopTokens: []))[0].tokens
        let third = greedy[2]
        let cut = greedy.firstIndex(of: third)!
        let stopped = try m.generate(prompt: prompt, options: GenerationOptions(maxTokens: 10, stopTokens: [third]))[0]
        XCTAssertEqual(stopped.tokens, Array(greedy[..<cut]))
        XCTAssertEqual(stopped.finishReason, .stopToken)
        // A decode function that spells ids; stop at the text of the fourth token.
        let decode: ([Int]) -> String = { $0.map { "<\($0)>" }.joined() }
        let s = try m.generate(prompt: prompt, options: GenerationOptions(maxTokens: 10, stopTokens: [], stopStrings: ["<\(greedy[3])>"]),
                               decode: decode)[0]
        let firstHit = greedy.firstIndex(of: greedy[3])!
        XCTAssertEqual(s.finishReason, .stopString)
        XCTAssertEqual(s.tokens, Array(greedy[...firstHit]))
        XCTAssertEqual(s.text, decode(Array(greedy[..<firstHit])))
        XCTAssertThrowsError(try m.generate(prompt: prompt, options: GenerationOptions(stopStrings: ["x"])))
        XCTAssertEqual(try m.generate(prompt: prompt, options: GenerationOptions(maxTokens: 0))[0].tokens, [])
    }

    // MARK: - Sampler on fixed logits

    func draws(_ logits: [Float], _ opts: SamplingOptions, n: Int = 4000, history: [Int] = []) -> [Int] {
        var s = Sampler(options: opts)
        var counts = [Int](repeating: 0, count: logits.count)
        logits.withUnsafeBufferPointer { l in for _ in 0..<n { counts[s.sample(l, history: history)] += 1 } }
        return counts
    }

    func testTemperatureSamplingFollowsSoftmax() {
        let logits: [Float] = [2, 1, 0, -1, 0.5]
        let t: Float = 1.5
        let e = logits.map { exp(Double($0 / t)) }
        let z = e.reduce(0, +)
        let n = 20000
        let counts = draws(logits, SamplingOptions(temperature: t, seed: 1), n: n)
        for i in logits.indices {
            let p = e[i] / z
            let sd = (p * (1 - p) / Double(n)).squareRoot()
            XCTAssertEqual(Double(counts[i]) / Double(n), p, accuracy: 4 * sd, "token \(i)")
        }
    }

    func testTopKTopPMinPAndPenalty() {
        let logits: [Float] = [3, 2.9, 1, 0, -2, 2.95]
        // top-k 2: only tokens 0 and 5.
        var c = draws(logits, SamplingOptions(temperature: 1, topK: 2, seed: 2))
        XCTAssertEqual(c[1] + c[2] + c[3] + c[4], 0)
        // top-p 0.5: the sorted probabilities are .34 (0), .33 (5), .31 (1), ...: keeps 0 and 5.
        c = draws(logits, SamplingOptions(temperature: 1, topP: 0.5, seed: 2))
        XCTAssertEqual(c[1] + c[2] + c[3] + c[4], 0)
        XCTAssertGreaterThan(c[0], 0); XCTAssertGreaterThan(c[5], 0)
        // min-p 0.5: keeps tokens within a factor 2 of the best: 0, 5, 1.
        c = draws(logits, SamplingOptions(temperature: 1, minP: 0.5, seed: 2))
        XCTAssertEqual(c[2] + c[3] + c[4], 0)
        XCTAssertGreaterThan(c[1], 0)
        // A penalty of 2 on token 0 (logit 3 -> 1.5) makes 5 the greedy choice; negative logits get more negative.
        var s = Sampler(options: SamplingOptions(repetitionPenalty: 2))
        XCTAssertEqual(logits.withUnsafeBufferPointer { s.sample($0, history: [0]) }, 5)
        let negative: [Float] = [-1, -0.6, -3]
        XCTAssertEqual(negative.withUnsafeBufferPointer { s.sample($0, history: []) }, 1)
        XCTAssertEqual(negative.withUnsafeBufferPointer { s.sample($0, history: [1]) }, 0)  // -0.6 -> -1.2
        // top-k 1 at any temperature is greedy.
        c = draws(logits, SamplingOptions(temperature: 5, topK: 1, seed: 2), n: 200)
        XCTAssertEqual(c[0], 200)
    }

    func testBadSamplingOptionsAreRefused() throws {
        let m = try TestModels.qwen2()
        for bad in [SamplingOptions(temperature: -1), SamplingOptions(topP: 0), SamplingOptions(minP: 2),
                    SamplingOptions(repetitionPenalty: 0), SamplingOptions(topK: -3)] {
            XCTAssertThrowsError(try m.generate(prompt: prompt, options: GenerationOptions(sampling: bad)))
        }
    }
}
