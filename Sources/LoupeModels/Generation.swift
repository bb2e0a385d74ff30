import Foundation
import LoupeTensor

/// Settings of `LanguageModel.generate`.
public struct GenerationOptions {
    /// The most tokens to generate per sample.
    public var maxTokens: Int
    public var sampling: SamplingOptions
    /// Token ids that end a sample (not included in its tokens). Nil: the file's end-of-sequence and end-of-turn ids.
    public var stopTokens: Set<Int>?
    /// Texts that end a sample: the continuation's decoded text is cut before the first occurrence, and its tokens
    /// after the token that completed it are dropped. Needs a `decode` function.
    public var stopStrings: [String]
    /// Independent samples of the same prompt; they share one prefill of the prompt (each continues from its own
    /// copy of the KV cache) and draw from streams derived from the seed ("sample 0", "sample 1", ...).
    public var samples: Int

    public init(maxTokens: Int = 64, sampling: SamplingOptions = .greedy, stopTokens: Set<Int>? = nil,
                stopStrings: [String] = [], samples: Int = 1) {
        self.maxTokens = maxTokens; self.sampling = sampling; self.stopTokens = stopTokens
        self.stopStrings = stopStrings; self.samples = samples
    }
}

/// One generated continuation.
public struct Generation: Sendable, Equatable {
    public enum FinishReason: String, Sendable { case maxTokens = "max_tokens", stopToken = "stop_token", stopString = "stop_string", context }
    /// The generated token ids (the prompt excluded; a stop token excluded).
    public let tokens: [Int]
    /// The decoded continuation, when a decode function was given (cut before a stop string).
    public let text: String?
    public let finishReason: FinishReason
}

extension LanguageModel {
    /// End-of-sequence and end-of-turn ids from the file's tokenizer metadata.
    public var defaultStopTokens: Set<Int> {
        var s = Set<Int>()
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            if let id = file.int(key), id >= 0, id < config.vocab { s.insert(id) }
        }
        return s
    }

    /// Generates `options.samples` continuations of `prompt`.
    ///
    /// The prompt is prefilled once; with several samples each one forks the session (a copy of the prompt's KV
    /// cache) and draws from its own random stream, so the samples are reproducible one by one for a given seed
    /// whatever their number. `decode` turns token ids into text for stop strings and `Generation.text`.
    public func generate(prompt: [Int], options: GenerationOptions = GenerationOptions(),
                         decode: (([Int]) -> String)? = nil) throws -> [Generation] {
        try options.sampling.validate()
        guard !prompt.isEmpty else { throw ModelRunError.invalidArgument(function: "generate", message: "the prompt is empty") }
        guard options.maxTokens >= 0 else {
            throw ModelRunError.invalidArgument(function: "generate", message: "max_tokens must be >= 0, got \(options.maxTokens)")
        }
        guard options.samples >= 1 else {
            throw ModelRunError.invalidArgument(function: "generate", message: "samples must be >= 1, got \(options.samples)")
        }
        if !options.stopStrings.isEmpty && decode == nil {
            throw ModelRunError.invalidArgument(function: "generate", message: "stop strings need a decode function (a tokenizer)")
        }
        let base = makeSession()
        let first = Array(try base.prefillLogits(prompt))
        let stops = options.stopTokens ?? defaultStopTokens
        let root = RandomStream(seed: options.sampling.seed)
        var results: [Generation] = []
        for i in 0..<options.samples {
            // The last sample continues in the base session itself; the others branch from copies of its cache.
            let session = i == options.samples - 1 ? base : base.fork()
            var sampler = Sampler(options: options.sampling,
                                  stream: options.samples == 1 ? root : root.derive("sample \(i)"))
            results.append(try continueSample(session, firstLogits: first, sampler: &sampler, options: options,
                                              stops: stops, decode: decode))
        }
        return results
    }

    /// Generates continuations of `text`, encoded with the model's tokenizer (special tokens as the file says)
    /// and decoded with it for stop strings and `Generation.text`.
    public func generate(_ text: String, options: GenerationOptions = GenerationOptions()) throws -> [Generation] {
        guard let tokenizer else {
            throw ModelRunError.invalidArgument(function: "generate", message: "\(path) has no tokenizer; pass token ids")
        }
        return try generate(prompt: tokenizer.encode(text, addSpecial: true), options: options,
                            decode: { tokenizer.decode($0) })
    }

    private func continueSample(_ session: InferenceSession, firstLogits: [Float], sampler: inout Sampler,
                                options: GenerationOptions, stops: Set<Int>, decode: (([Int]) -> String)?) throws -> Generation {
        if options.maxTokens == 0 { return Generation(tokens: [], text: decode?([]), finishReason: .maxTokens) }
        var out: [Int] = []
        var history = session.tokens
        var next = firstLogits.withUnsafeBufferPointer { sampler.sample($0, history: history) }
        while true {
            if stops.contains(next) { return Generation(tokens: out, text: decode?(out), finishReason: .stopToken) }
            out.append(next)
            history.append(next)
            if !options.stopStrings.isEmpty, let decode {
                let text = decode(out)
                if let cut = options.stopStrings.compactMap({ text.range(of: $0)?.lowerBound }).min() {
                    return Generation(tokens: out, text: String(text[..<cut]), finishReason: .stopString)
                }
            }
            if out.count >= options.maxTokens { return Generation(tokens: out, text: decode?(out), finishReason: .maxTokens) }
            if session.position + 1 > config.context {
                return Generation(tokens: out, text: decode?(out), finishReason: .context)
            }
            let logits = try session.stepLogits(next)
            next = sampler.sample(logits, history: history)
        }
    }
}
