import Foundation
import LoupeTensor

/// How the next token is chosen from the logits.
///
/// The pipeline, in llama.cpp's order: repetition penalty -> (greedy when `temperature == 0`) -> top-k ->
/// temperature -> softmax -> top-p -> min-p -> draw. Every stage is off at its neutral value.
public struct SamplingOptions: Sendable, Equatable {
    /// 0 picks the argmax (greedy); otherwise logits are divided by it before the softmax.
    public var temperature: Float
    /// Keep only the k most likely tokens (0: all).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: all).
    public var topP: Float
    /// Drop tokens whose probability is below minP times the most likely one's (0: none).
    public var minP: Float
    /// CTRL-style penalty on tokens seen in the last `repetitionWindow` tokens (prompt included): a positive logit
    /// is divided by it, a negative one multiplied (1: off).
    public var repetitionPenalty: Float
    /// How many recent tokens the penalty looks at (0: all of them).
    public var repetitionWindow: Int
    /// Seed of the random stream draws come from.
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0, repetitionPenalty: Float = 1,
                repetitionWindow: Int = 64, seed: UInt64 = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.minP = minP
        self.repetitionPenalty = repetitionPenalty; self.repetitionWindow = repetitionWindow; self.seed = seed
    }

    public static let greedy = SamplingOptions()

    func validate() throws {
        func bad(_ m: String) -> ModelRunError { .invalidArgument(function: "generate", message: m) }
        guard temperature >= 0, temperature.isFinite else { throw bad("temperature must be >= 0, got \(temperature)") }
        guard topK >= 0 else { throw bad("top_k must be >= 0, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw bad("top_p must be in (0, 1], got \(topP)") }
        guard minP >= 0, minP <= 1 else { throw bad("min_p must be in [0, 1], got \(minP)") }
        guard repetitionPenalty > 0, repetitionPenalty.isFinite else {
            throw bad("repetition_penalty must be positive, got \(repetitionPenalty)")
        }
        guard repetitionWindow >= 0 else { throw bad("repetition window must be >= 0, got \(repetitionWindow)") }
    }
}

/// Draws tokens from logits. Holds its random stream and reusable buffers (no allocation per token once warm).
public struct Sampler {
    public let options: SamplingOptions
    public private(set) var stream: RandomStream
    private var work: [Float] = []
    private var candidates: [Int32] = []
    private var probs: [Double] = []

    /// Tokens whose scaled logit is more than this far below the best are left out before sorting: their
    /// probability is below e^-40 (4e-18) times the best one's, so even 262k of them weigh less than 1e-12.
    static let cutoff: Float = 40

    public init(options: SamplingOptions, stream: RandomStream? = nil) {
        self.options = options
        self.stream = stream ?? RandomStream(seed: options.seed)
    }

    /// The next token given the logits and the tokens so far (for the repetition penalty).
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>, history: [Int]) -> Int {
        let n = logits.count
        // Moved out of self while in use (no copy: the array stays uniquely referenced), so `draw` may mutate self.
        var buffer = work
        work = []
        defer { work = buffer }
        if buffer.count != n { buffer = [Float](repeating: 0, count: n) }
        return buffer.withUnsafeMutableBufferPointer { w -> Int in
            w.baseAddress!.update(from: logits.baseAddress!, count: n)
            applyPenalty(w, history: history)
            if options.temperature == 0 { return argmax(UnsafeBufferPointer(w)) }
            return draw(w)
        }
    }

    /// Convenience over a tensor of logits [vocab].
    public mutating func sample(_ logits: Tensor, history: [Int]) -> Int {
        logits.withUnsafeBufferPointer { sample($0, history: history) }
    }

    private func applyPenalty(_ w: UnsafeMutableBufferPointer<Float>, history: [Int]) {
        let p = options.repetitionPenalty
        guard p != 1, !history.isEmpty else { return }
        let recent = options.repetitionWindow == 0 ? history[...] : history.suffix(options.repetitionWindow)
        // Each distinct token once, as llama.cpp does.
        for t in Set(recent) where t >= 0 && t < w.count {
            w[t] = w[t] > 0 ? w[t] / p : w[t] * p
        }
    }

    /// Index of the largest value (the first one on ties).
    public static func argmax(_ x: UnsafeBufferPointer<Float>) -> Int {
        var best = 0, m = -Float.infinity
        for i in 0..<x.count where x[i] > m { m = x[i]; best = i }
        return best
    }

    func argmax(_ x: UnsafeBufferPointer<Float>) -> Int { Sampler.argmax(x) }

    private mutating func draw(_ w: UnsafeMutableBufferPointer<Float>) -> Int {
        let invT = 1 / options.temperature
        let m = w.max() ?? 0
        // Candidates within the cutoff, most likely first.
        candidates.removeAll(keepingCapacity: true)
        let floor = m - Sampler.cutoff * options.temperature
        for i in 0..<w.count where w[i] >= floor { candidates.append(Int32(i)) }
        candidates.sort { w[Int($0)] > w[Int($1)] || (w[Int($0)] == w[Int($1)] && $0 < $1) }
        if options.topK > 0, candidates.count > options.topK { candidates.removeLast(candidates.count - options.topK) }
        probs.removeAll(keepingCapacity: true)
        var total = 0.0
        for c in candidates {
            let e = exp(Double((w[Int(c)] - m) * invT))
            probs.append(e); total += e
        }
        var keep = candidates.count
        if options.topP < 1 {
            var acc = 0.0
            for (i, p) in probs.enumerated() {
                acc += p / total
                if acc >= Double(options.topP) { keep = i + 1; break }
            }
        }
        if options.minP > 0 {
            let threshold = Double(options.minP) * probs[0]
            var k = 1
            while k < keep, probs[k] >= threshold { k += 1 }
            keep = k
        }
        var mass = 0.0
        for i in 0..<keep { mass += probs[i] }
        let u = stream.nextDouble() * mass
        var acc = 0.0
        for i in 0..<keep {
            acc += probs[i]
            if u < acc { return Int(candidates[i]) }
        }
        return Int(candidates[keep - 1])
    }
}
