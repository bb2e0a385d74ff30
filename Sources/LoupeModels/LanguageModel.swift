import Foundation
import LoupeTensor
import Synchronization

/// Errors of running a model (as opposed to reading its file, `ModelFileError`).
public enum ModelRunError: Error, CustomStringConvertible, Equatable {
    /// A capture or intervention names no hook point; `valid` lists the names this model has.
    case unknownHook(name: String, valid: String)
    /// An intervention does not fit the activation at its hook.
    case badIntervention(hook: String, message: String)
    /// A sequence would grow past the model's context length.
    case contextOverflow(needed: Int, context: Int)
    /// A token id outside the vocabulary.
    case tokenOutOfRange(id: Int, position: Int, vocab: Int)
    /// An argument of a call that does not fit (empty prompt, mask shape, sampler setting, ...).
    case invalidArgument(function: String, message: String)

    public var description: String {
        switch self {
        case let .unknownHook(name, valid):
            return "unknown hook '\(name)'; valid hook names: \(valid)"
        case let .badIntervention(hook, message):
            return "intervention at '\(hook)': \(message)"
        case let .contextOverflow(needed, context):
            return "sequence of \(needed) tokens exceeds the model's context length \(context)"
        case let .tokenOutOfRange(id, position, vocab):
            return "token id \(id) at position \(position) is outside the vocabulary (0..<\(vocab))"
        case let .invalidArgument(function, message):
            return "\(function): \(message)"
        }
    }
}

extension ModelRunError: LocalizedError {
    public var errorDescription: String? { description }
}

/// A fixed vector of floats owned by the model (norm weights, biases).
final class FloatVector {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }
    deinit { pointer.deallocate() }
}

/// The weights of one transformer block.
final class BlockWeights {
    let attnNorm: FloatVector
    let wq, wk, wv, wo: WeightMatrix
    let bq, bk, bv: FloatVector?
    let qNorm, kNorm: FloatVector?
    let postAttnNorm: FloatVector?
    let ffnNorm: FloatVector
    let gate, up, down: WeightMatrix
    let postFfnNorm: FloatVector?

    init(attnNorm: FloatVector, wq: WeightMatrix, wk: WeightMatrix, wv: WeightMatrix, wo: WeightMatrix,
         bq: FloatVector?, bk: FloatVector?, bv: FloatVector?, qNorm: FloatVector?, kNorm: FloatVector?,
         postAttnNorm: FloatVector?, ffnNorm: FloatVector, gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix,
         postFfnNorm: FloatVector?) {
        (self.attnNorm, self.wq, self.wk, self.wv, self.wo) = (attnNorm, wq, wk, wv, wo)
        (self.bq, self.bk, self.bv, self.qNorm, self.kNorm) = (bq, bk, bv, qNorm, kNorm)
        (self.postAttnNorm, self.ffnNorm, self.gate, self.up, self.down) = (postAttnNorm, ffnNorm, gate, up, down)
        self.postFfnNorm = postFfnNorm
    }
}

/// A decoder-only language model (llama, qwen2, qwen3, gemma3) loaded from a GGUF file.
///
/// Weights stay in the file's memory mapping, in their stored (possibly quantized) format; the kernels of
/// `WeightMatrix` dequantize blocks as they multiply them with float32 activations. Activations are never quantized.
///
///     let m = try LanguageModel.load(path: "SmolLM2-135M-Instruct.Q4_1.gguf")
///     let logits = try m.logits([1, 2, 3])              // [3, vocab]
///     let s = m.makeSession()
///     var next = try s.prefill([1, 2, 3])               // [vocab], last position
///     next = try s.step(42)                             // one more token through the KV cache
///     let r = try m.forward(ids: [1, 2, 3], capture: ["blocks.*.attn.hook_pattern"])
public final class LanguageModel: @unchecked Sendable {
    /// The file the model came from.
    public let path: String
    public let file: GGUFFile
    public let config: ModelConfig
    /// The tokenizer the file describes (`tokenizer.ggml.*`); nil for a file without one.
    public let tokenizer: Tokenizer?
    let embedding: WeightMatrix
    let output: WeightMatrix
    let outputNorm: FloatVector
    let blocks: [BlockWeights]
    /// Every hook name, in forward order, and the same as a set.
    public let hookNames: [String]
    let hookNameSet: Set<String>
    private let tableLock = NSLock()
    private var cachedTable: Tensor?
    private let prefills = Atomic<Int>(0)
    private let steps = Atomic<Int>(0)

    /// Batched passes (prefills and `forward` calls) run on this model so far, by any session.
    public var prefillCount: Int { prefills.load(ordering: .relaxed) }
    /// Single-token decode steps run on this model so far, by any session.
    public var stepCount: Int { steps.load(ordering: .relaxed) }

    func countPrefill() { prefills.add(1, ordering: .relaxed) }
    func countStep() { steps.add(1, ordering: .relaxed) }

    init(path: String, file: GGUFFile, config: ModelConfig, tokenizer: Tokenizer?, embedding: WeightMatrix,
         output: WeightMatrix, outputNorm: FloatVector, blocks: [BlockWeights]) {
        self.path = path; self.file = file; self.config = config; self.tokenizer = tokenizer
        self.embedding = embedding; self.output = output; self.outputNorm = outputNorm; self.blocks = blocks
        hookNames = HookNames.all(layers: config.layers)
        hookNameSet = Set(hookNames)
    }

    /// The embedding table as float32, [vocab, d_model] (dequantized on first use, then kept).
    public var embeddingTable: Tensor {
        tableLock.lock(); defer { tableLock.unlock() }
        if let t = cachedTable { return t }
        let t = embedding.dequantized()
        cachedTable = t
        return t
    }

    /// Loads a GGUF file of a supported architecture. Errors name the file and the key or tensor at fault: an
    /// unsupported architecture, a missing tensor, or a tensor whose shape disagrees with the configuration.
    /// A folder is read as a Hugging Face checkpoint (`load(huggingFace:)`, HFCheckpoint.swift).
    public static func load(path: String) throws -> LanguageModel {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            return try load(huggingFace: path)
        }
        let file = try GGUFFile(path: path)
        return try load(file: file)
    }

    /// Builds a model over an opened GGUF file.
    public static func load(file: GGUFFile) throws -> LanguageModel {
        let c = try ModelConfig.read(from: file)
        let path = file.path

        func matrix(_ name: String, rows: Int, cols: Int, what: String) throws -> WeightMatrix {
            let info = try file.requireTensor(name)
            guard info.dims.count == 2, info.shape == [rows, cols] else {
                throw ModelFileError.badTensorShape(
                    path: path, tensor: name,
                    message: "has shape \(info.shape), the configuration needs [\(rows), \(cols)] (\(what))")
            }
            // Q5_0 becomes Q8_0 with the same values: its decode kernel is twice as fast (Kernels/Repack.swift).
            return try WeightMatrix(gguf: file, name: name).repackedForDecode()
        }
        func vector(_ name: String, count: Int, what: String) throws -> FloatVector {
            let info = try file.requireTensor(name)
            guard info.elementCount == count, info.dims.count == 1 || info.shape.filter({ $0 != 1 }).count <= 1 else {
                throw ModelFileError.badTensorShape(
                    path: path, tensor: name, message: "has shape \(info.shape), the configuration needs [\(count)] (\(what))")
            }
            let m = try WeightMatrix(gguf: file, name: name)
            let v = FloatVector(count: count)
            if m.rows == 1 { m.row(0, into: v.pointer) } else { for r in 0..<m.rows { m.row(r, into: v.pointer + r * m.cols) } }
            return v
        }
        func optionalVector(_ name: String, count: Int, what: String, required: Bool) throws -> FloatVector? {
            if !required && file.tensor(named: name) == nil { return nil }
            return try vector(name, count: count, what: what)
        }

        let d = c.dModel
        let embedding = try matrix("token_embd.weight", rows: c.vocab, cols: d, what: "vocab x d_model")
        let output = c.tiedEmbeddings ? embedding : try matrix("output.weight", rows: c.vocab, cols: d, what: "vocab x d_model")
        let outputNorm = try vector("output_norm.weight", count: d, what: "d_model")
        var blocks: [BlockWeights] = []
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            let b = BlockWeights(
                attnNorm: try vector(p + "attn_norm.weight", count: d, what: "d_model"),
                wq: try matrix(p + "attn_q.weight", rows: c.qDim, cols: d, what: "heads * head_dim x d_model"),
                wk: try matrix(p + "attn_k.weight", rows: c.kvDim, cols: d, what: "kv_heads * head_dim x d_model"),
                wv: try matrix(p + "attn_v.weight", rows: c.kvHeads * c.valueDim, cols: d, what: "kv_heads * value_dim x d_model"),
                wo: try matrix(p + "attn_output.weight", rows: d, cols: c.heads * c.valueDim, what: "d_model x heads * value_dim"),
                bq: try optionalVector(p + "attn_q.bias", count: c.qDim, what: "q bias", required: c.qkvBias),
                bk: try optionalVector(p + "attn_k.bias", count: c.kvDim, what: "k bias", required: c.qkvBias),
                bv: try optionalVector(p + "attn_v.bias", count: c.kvHeads * c.valueDim, what: "v bias", required: c.qkvBias),
                qNorm: c.qkNorm ? try vector(p + "attn_q_norm.weight", count: c.headDim, what: "head_dim") : nil,
                kNorm: c.qkNorm ? try vector(p + "attn_k_norm.weight", count: c.headDim, what: "head_dim") : nil,
                postAttnNorm: c.sandwichNorms ? try vector(p + "post_attention_norm.weight", count: d, what: "d_model") : nil,
                ffnNorm: try vector(p + "ffn_norm.weight", count: d, what: "d_model"),
                gate: try matrix(p + "ffn_gate.weight", rows: c.dFF, cols: d, what: "d_ff x d_model"),
                up: try matrix(p + "ffn_up.weight", rows: c.dFF, cols: d, what: "d_ff x d_model"),
                down: try matrix(p + "ffn_down.weight", rows: d, cols: c.dFF, what: "d_model x d_ff"),
                postFfnNorm: c.sandwichNorms ? try vector(p + "post_ffw_norm.weight", count: d, what: "d_model") : nil)
            blocks.append(b)
        }
        let tokenizer = file.string("tokenizer.ggml.model") == nil ? nil : try Tokenizer(gguf: file)
        // The tokenizer's tables and the configuration are built; the header's pages (the vocabulary as stored)
        // need not stay resident.
        file.releaseHeaderPages()
        return LanguageModel(path: path, file: file, config: c, tokenizer: tokenizer, embedding: embedding,
                             output: output, outputNorm: outputNorm, blocks: blocks)
    }

    /// A fresh inference session (an empty KV cache and its own scratch buffers).
    public func makeSession() -> InferenceSession { InferenceSession(model: self) }

    /// Logits of every position, [T, vocab], in one batched pass.
    public func logits(_ ids: [Int]) throws -> Tensor {
        try makeSession().prefill(ids, allLogits: true)
    }

    /// One forward pass with hooks: captures the activations named by `capture` (glob patterns, `*` matches any
    /// text) and applies `interventions` (keys are names or patterns) on the way.
    ///
    /// Unknown names throw `ModelRunError.unknownHook` listing the valid ones. See `HookNames` for every name and
    /// its shape, and `ForwardOptions` for masks, soft prompts, the attention callback and modality tags.
    public func forward(ids: [Int], capture: [String] = [], interventions: [String: Intervention] = [:],
                        options: ForwardOptions = ForwardOptions()) throws -> ForwardResult {
        let session = makeSession()
        let hooks = try HookRun(model: self, capture: capture, interventions: interventions, options: options)
        let logits = try session.run(ids, allLogits: options.allLogits, hooks: hooks)
        return ForwardResult(logits: logits, cache: hooks.captured)
    }
}
