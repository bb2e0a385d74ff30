import Foundation
import LoupeTensor

/// A decoder (llama, qwen2, qwen3, gemma3) whose weights are Float32 autograd tensors, for training and fine-tuning.
///
/// Built from a loaded `LanguageModel`: every weight is dequantized once into a Float32 tensor under its GGUF name
/// ("token_embd.weight", "blk.3.attn_q.weight", ...). The forward pass is the inference engine's (Forward.swift)
/// written with LoupeTensor operations, so `backward()` reaches every weight:
///
///     x = embed(ids) * embedding_scale
///     per block:  h = rms(x) ;  q, k, v = h Wq^T (+b), h Wk^T (+b), h Wv^T (+b)
///                 q, k = rope(qk_norm(q)), rope(qk_norm(k))       (qk_norm on qwen3 / gemma3)
///                 x = x + post_norm(attention(q, k, v) Wo^T)      (post_norm on gemma3)
///                 x = x + post_norm(Wdown (act(h2 Wgate^T) * h2 Wup^T)),  h2 = rms(x)
///     logits = softcap(rms(x) Wout^T)
///
/// Two ways to train: all weights (the default), or LoRA adapters with the base weights frozen (`LoRAConfig`).
/// `step` runs one Adam step on the next-token cross-entropy; `save(gguf:)` / `save(safetensors:)` write the
/// (merged) weights with the source model's metadata and tokenizer.
///
///     let t = try TrainableModel(model, lora: LoRAConfig(rank: 8, alpha: 16, targets: [.q, .v]))
///     for _ in 0..<10 { print(try t.step([ids], lr: 1e-3)) }
///     try t.save(gguf: "tuned.gguf")
public final class TrainableModel {
    public let config: ModelConfig
    /// The GGUF file the weights came from: its metadata and tokenizer go into saved files.
    public let source: GGUFFile
    /// The source model's tokenizer, when its file has one.
    public let tokenizer: Tokenizer?
    /// Weights by GGUF name, in the source file's tensor order.
    public private(set) var weightNames: [String]
    private var weights: [String: Tensor]
    /// Adapters by projection ("blk.0.attn_q"), when LoRA is on.
    private var adapters: [String: LoRAAdapter] = [:]
    /// The adapters' settings; nil without adapters (and after `merge`).
    public private(set) var lora: LoRAConfig?
    /// Whether the base weights train (true unless adapters were added).
    public private(set) var baseTrainable: Bool
    /// Adam's moments by parameter name and the optimizer's step count; dropped when the set of trainable
    /// parameters changes (adapters added or merged) or the weight decay changes.
    private var moments: [String: AdamMoments] = [:]
    private var adamSteps = 0
    /// Decoupled weight decay of the optimizer (0: plain Adam). Changing it starts a fresh optimizer.
    public var weightDecay: Float = 0 { didSet { if weightDecay != oldValue { resetOptimizer() } } }
    /// Optimizer steps taken.
    public private(set) var steps = 0

    /// Dequantizes every weight of `model` into a Float32 tensor. With `lora`, adds adapters and freezes the base.
    public init(_ model: LanguageModel, lora: LoRAConfig? = nil) throws {
        if model.config.ropeMagnitude != 1 && model.config.ropeDims != model.config.headDim {
            throw TrainingError.invalidArgument(
                function: "train.model", message: "YaRN RoPE over part of each head (\(model.config.ropeDims) of "
                    + "\(model.config.headDim) dimensions) is not supported in training")
        }
        config = model.config
        source = model.file
        tokenizer = model.tokenizer
        func vector(_ v: FloatVector) -> Tensor { Tensor(Array(UnsafeBufferPointer(start: v.pointer, count: v.count))) }
        var w: [String: Tensor] = [:]
        w["token_embd.weight"] = model.embedding.dequantized()
        if !config.tiedEmbeddings { w["output.weight"] = model.output.dequantized() }
        w["output_norm.weight"] = vector(model.outputNorm)
        for (l, b) in model.blocks.enumerated() {
            let p = "blk.\(l)."
            w[p + "attn_norm.weight"] = vector(b.attnNorm)
            w[p + "attn_q.weight"] = b.wq.dequantized()
            w[p + "attn_k.weight"] = b.wk.dequantized()
            w[p + "attn_v.weight"] = b.wv.dequantized()
            w[p + "attn_output.weight"] = b.wo.dequantized()
            if let v = b.bq { w[p + "attn_q.bias"] = vector(v) }
            if let v = b.bk { w[p + "attn_k.bias"] = vector(v) }
            if let v = b.bv { w[p + "attn_v.bias"] = vector(v) }
            if let v = b.qNorm { w[p + "attn_q_norm.weight"] = vector(v) }
            if let v = b.kNorm { w[p + "attn_k_norm.weight"] = vector(v) }
            if let v = b.postAttnNorm { w[p + "post_attention_norm.weight"] = vector(v) }
            w[p + "ffn_norm.weight"] = vector(b.ffnNorm)
            w[p + "ffn_gate.weight"] = b.gate.dequantized()
            w[p + "ffn_up.weight"] = b.up.dequantized()
            w[p + "ffn_down.weight"] = b.down.dequantized()
            if let v = b.postFfnNorm { w[p + "post_ffw_norm.weight"] = vector(v) }
        }
        // The file's order, so that a saved file lists its tensors as the source did.
        weightNames = model.file.tensors.map(\.name).filter { w[$0] != nil }
        weights = w
        baseTrainable = true
        for name in weightNames { weights[name] = weights[name]!.requiringGrad() }
        if let lora { try addLoRA(lora) }
    }

    /// Loads a GGUF file and makes it trainable.
    public convenience init(path: String, lora: LoRAConfig? = nil) throws {
        try self.init(try LanguageModel.load(path: path), lora: lora)
    }

    // MARK: Parameters

    /// The names of the parameters that train, in a fixed order: every weight, or with LoRA every adapter
    /// ("blk.0.attn_q.lora_a", "blk.0.attn_q.lora_b", ...).
    public var trainableNames: [String] {
        if !adapters.isEmpty {
            return adapterKeys.flatMap { [$0 + ".lora_a", $0 + ".lora_b"] }
        }
        return baseTrainable ? weightNames : []
    }

    /// Adapter projections in block order, then the order of `LoRAConfig.Target.allCases`.
    private var adapterKeys: [String] {
        (0..<config.layers).flatMap { l in LoRAConfig.Target.allCases.map { $0.tensorName(layer: l) } }
            .filter { adapters[$0] != nil }
    }

    /// A weight or adapter tensor by name (the current values; the optimizer replaces them each step).
    public func parameter(_ name: String) -> Tensor? {
        if let w = weights[name] { return w }
        if name.hasSuffix(".lora_a") { return adapters[String(name.dropLast(7))]?.a }
        if name.hasSuffix(".lora_b") { return adapters[String(name.dropLast(7))]?.b }
        return nil
    }

    /// Number of trainable scalars.
    public var trainableParameterCount: Int { trainableNames.reduce(0) { $0 + (parameter($1)?.count ?? 0) } }
    /// Number of scalars in the base weights (the embedding table counted once when tied).
    public var baseParameterCount: Int { weightNames.reduce(0) { $0 + weights[$1]!.count } }

    private func setParameter(_ name: String, _ t: Tensor) {
        if weights[name] != nil { weights[name] = t; return }
        let key = String(name.dropLast(7))
        if name.hasSuffix(".lora_a") { adapters[key]!.a = t } else { adapters[key]!.b = t }
    }

    // MARK: LoRA

    /// Adds adapters on `config.targets` of every block and freezes the base weights. Fails when adapters exist.
    public func addLoRA(_ config: LoRAConfig) throws {
        try config.validate()
        guard adapters.isEmpty else {
            throw TrainingError.invalidArgument(function: "lora", message: "the model already has adapters; merge() them first")
        }
        var stream = RandomStream(seed: config.seed)
        var added: [String: LoRAAdapter] = [:]
        for l in 0..<self.config.layers {
            for target in config.targets {
                let key = target.tensorName(layer: l)
                let w = weights[key + ".weight"]!
                let (out, inF) = (w.shape[0], w.shape[1])
                let bound = 1 / Float(inF).squareRoot()
                let a = try Tensor.uniform([config.rank, inF], -bound, bound, stream: &stream)
                added[key] = LoRAAdapter(a: a.requiringGrad(), b: try Tensor.zeros([out, config.rank]).requiringGrad())
            }
        }
        try installAdapters(added, config: config)
    }

    /// Makes `added` the model's adapters (they must not exist yet) and freezes the base weights.
    func installAdapters(_ added: [String: LoRAAdapter], config: LoRAConfig) throws {
        guard adapters.isEmpty else {
            throw TrainingError.invalidArgument(function: "lora", message: "the model already has adapters; merge() them first")
        }
        adapters = added
        lora = config
        baseTrainable = false
        for name in weightNames { weights[name] = weights[name]!.detached() }
        resetOptimizer()
    }

    /// The weight `name` with its adapter folded in: W + (alpha / rank) B A (W itself without an adapter).
    public func mergedWeight(_ name: String) throws -> Tensor {
        guard let w = weights[name] else {
            throw TrainingError.invalidArgument(function: "merged_weight", message: "no weight named '\(name)'")
        }
        guard name.hasSuffix(".weight"), let lora, let ad = adapters[String(name.dropLast(7))] else { return w.detached() }
        return try Autograd.noGrad { try w + ad.b.matmul(ad.a) * lora.scale }.detached()
    }

    /// Folds every adapter into its weight and removes the adapters. The model then computes the same function
    /// with plain weights; its base weights stay frozen (add new adapters with `addLoRA` to train again).
    public func merge() throws {
        guard lora != nil else { return }
        for key in adapterKeys { weights[key + ".weight"] = try mergedWeight(key + ".weight") }
        adapters = [:]
        lora = nil
        resetOptimizer()
    }

    // MARK: Forward

    /// y = x W^T (+ b) for the projection `key` ("blk.0.attn_q"), plus its adapter's low-rank update.
    private func project(_ x: Tensor, _ key: String) throws -> Tensor {
        var y = try x.linear(weights[key + ".weight"]!, bias: weights[key + ".bias"])
        if let ad = adapters[key], let lora {
            y = try y + x.linear(ad.a).linear(ad.b) * lora.scale
        }
        return y
    }

    private func weight(_ name: String) -> Tensor { weights[name]! }

    /// The final-normed residual stream [T, d_model] of a sequence (before the unembedding).
    func finalHidden(_ ids: [Int], function: String) throws -> Tensor {
        let c = config
        guard !ids.isEmpty else { throw TrainingError.invalidArgument(function: function, message: "no token ids") }
        guard ids.count <= c.context else { throw ModelRunError.contextOverflow(needed: ids.count, context: c.context) }
        for (i, id) in ids.enumerated() where id < 0 || id >= c.vocab {
            throw ModelRunError.tokenOutOfRange(id: id, position: i, vocab: c.vocab)
        }
        let T = ids.count, hd = c.headDim
        var x = try weight("token_embd.weight").embedding(IndexTensor(ids))
        if c.embeddingScale != 1 { x = try x * c.embeddingScale }
        let layout: RoPELayout = c.ropeStyle == .adjacentPairs ? .adjacentPairs : .halves
        for l in 0..<c.layers {
            let p = "blk.\(l)."
            let h = try x.rmsNorm(weight: weight(p + "attn_norm.weight"), eps: c.eps)
            var q = try project(h, p + "attn_q").reshape([T, c.heads, hd])
            var k = try project(h, p + "attn_k").reshape([T, c.kvHeads, hd])
            let v = try project(h, p + "attn_v").reshape([T, c.kvHeads, c.valueDim])
            if c.qkNorm {
                q = try q.rmsNorm(weight: weight(p + "attn_q_norm.weight"), eps: c.eps)
                k = try k.rmsNorm(weight: weight(p + "attn_k_norm.weight"), eps: c.eps)
            }
            let local = c.slidingLayers[l]
            let base = local ? (c.ropeBaseLocal ?? c.ropeBase) : c.ropeBase
            let scale = local ? 1 : c.ropeScale
            let factors = local ? nil : c.ropePairDivisors  // llama3 or YaRN scaling, as inference applies it
            q = try q.rope(base: base, scale: scale, dims: c.ropeDims, layout: layout, factors: factors)
            k = try k.rope(base: base, scale: scale, dims: c.ropeDims, layout: layout, factors: factors)
            if !local && c.ropeMagnitude != 1 {
                // YaRN's factor on cos and sin; RoPE is linear, so it can scale the rotated vectors instead (the
                // initializer refuses partial rotary dims, where only the rotated part would be scaled).
                let m = Float(c.ropeMagnitude)
                q = try q * m
                k = try k * m
            }
            // Sliding-window layers hide keys at distance >= window (llama.cpp's rule).
            let z = try Tensor.causalAttention(q: q, k: k, v: v, scale: c.attentionScale,
                                               window: local ? c.slidingWindow : nil)
            let merged = try z.reshape([T, c.heads * c.valueDim])
            var o = try project(merged, p + "attn_output")
            if c.sandwichNorms { o = try o.rmsNorm(weight: weight(p + "post_attention_norm.weight"), eps: c.eps) }
            x = try x + o

            let h2 = try x.rmsNorm(weight: weight(p + "ffn_norm.weight"), eps: c.eps)
            let gate = try project(h2, p + "ffn_gate"), up = try project(h2, p + "ffn_up")
            let act: Tensor
            switch c.activation {
            case .silu: act = gate.silu()
            case .geluTanh: act = gate.gelu(approximate: true)
            }
            var m = try project(act * up, p + "ffn_down")
            if c.sandwichNorms { m = try m.rmsNorm(weight: weight(p + "post_ffw_norm.weight"), eps: c.eps) }
            x = try x + m
        }
        return try x.rmsNorm(weight: weight("output_norm.weight"), eps: c.eps)
    }

    /// Logits of hidden rows [n, d_model] -> [n, vocab], with the final soft-cap when the model has one.
    private func unembed(_ h: Tensor) throws -> Tensor {
        let out = config.tiedEmbeddings ? weight("token_embd.weight") : weight("output.weight")
        var z = try h.linear(out)
        if let cap = config.finalLogitSoftcap { z = try (z / cap).tanh() * cap }
        return z
    }

    /// Logits of every position, [T, vocab]. Differentiable (under `Autograd.noGrad` it records nothing).
    public func logits(_ ids: [Int]) throws -> Tensor {
        try unembed(finalHidden(ids, function: "logits"))
    }

    /// Mean next-token cross-entropy (nats per predicted token) over a batch of sequences, as a differentiable scalar.
    ///
    /// Token t of a sequence (t >= 1) is predicted from tokens 0..<t. `masks`, when given, holds one entry per
    /// sequence (nil: every token), each with one flag per token: only tokens whose flag is true count as targets
    /// (the flag of token 0 is ignored: nothing predicts it). Every counted token weighs the same, whatever its
    /// sequence's length.
    public func loss(_ batch: [[Int]], masks: [[Bool]?]? = nil) throws -> Tensor {
        let (terms, total) = try targets(batch, masks: masks, function: "loss")
        var sum: Tensor? = nil
        for (ids, rows) in terms {
            let l = try sequenceLoss(ids, rows: rows) * (Float(rows.count) / Float(total))
            sum = try sum.map { try $0 + l } ?? l
        }
        return sum!
    }

    /// Per sequence, the rows of the hidden states that predict a counted token (row t - 1 predicts token t), and
    /// the number of counted tokens in the batch. Checks every id and mask first, so that nothing runs on a bad batch.
    private func targets(_ batch: [[Int]], masks: [[Bool]?]?, function: String) throws -> (terms: [([Int], [Int])], total: Int) {
        guard !batch.isEmpty else { throw TrainingError.invalidArgument(function: function, message: "no sequences") }
        if let masks, masks.count != batch.count {
            throw TrainingError.invalidArgument(function: function, message: "\(masks.count) masks for \(batch.count) sequences")
        }
        var terms: [([Int], [Int])] = [], total = 0
        for (s, ids) in batch.enumerated() {
            for (i, id) in ids.enumerated() where id < 0 || id >= config.vocab {
                throw ModelRunError.tokenOutOfRange(id: id, position: i, vocab: config.vocab)
            }
            let mask = masks?[s] ?? nil
            if let mask, mask.count != ids.count {
                throw TrainingError.invalidArgument(function: function, message: "mask \(s) has \(mask.count) flags for \(ids.count) tokens")
            }
            let rows = (1..<max(ids.count, 1)).filter { mask?[$0] ?? true }.map { $0 - 1 }
            guard !rows.isEmpty else { continue }
            terms.append((ids, rows))
            total += rows.count
        }
        guard total > 0 else {
            throw TrainingError.invalidArgument(function: function, message: "no target tokens: each sequence needs 2 tokens or more, and a mask with a true flag after the first")
        }
        return (terms, total)
    }

    /// Mean cross-entropy of one sequence's counted tokens. Only the rows that predict them go through the
    /// (vocabulary-wide) unembedding.
    private func sequenceLoss(_ ids: [Int], rows: [Int]) throws -> Tensor {
        let h = try finalHidden(ids, function: "loss")
        let z = try unembed(h.indexSelect(axis: 0, indices: rows))
        return try z.crossEntropy(IndexTensor(rows.map { ids[$0 + 1] }))
    }

    /// Gradients of `loss(batch, masks:)` for every trainable parameter, by name (leaves the weights unchanged).
    ///
    /// Sequences go forward and backward one at a time, their gradients accumulating in the parameters: memory
    /// holds one sequence's graph, whatever the batch size (gradient accumulation).
    public func gradients(_ batch: [[Int]], masks: [[Bool]?]? = nil) throws -> (loss: Float, grads: [String: Tensor]) {
        let names = trainableNames
        guard !names.isEmpty else { throw TrainingError.nothingToTrain("the model has no trainable parameters (merged adapters are frozen; add new ones with addLoRA)") }
        let (terms, total) = try targets(batch, masks: masks, function: "gradients")
        let params = names.map { parameter($0)! }
        for p in params { p.zeroGrad() }
        defer { for p in params { p.zeroGrad() } }  // the gradients are returned, not left on the parameters
        var loss: Double = 0
        for (ids, rows) in terms {
            let l = try sequenceLoss(ids, rows: rows) * (Float(rows.count) / Float(total))
            try l.backward()
            loss += Double(try l.item())
        }
        var grads: [String: Tensor] = [:]
        for (n, p) in zip(names, params) {
            // A parameter the loss never reached (no token of the batch used it) has gradient zero.
            grads[n] = try p.grad ?? Tensor.zeros(p.shape)
        }
        return (Float(loss), grads)
    }

    /// One Adam step (AdamW when `weightDecay` > 0; PyTorch's update rule) on the batch's loss; returns the loss
    /// before the step.
    /// `maxGradNorm` clips the global gradient norm first.
    @discardableResult
    public func step(_ batch: [[Int]], masks: [[Bool]?]? = nil, lr: Float, maxGradNorm: Float? = nil) throws -> Float {
        guard lr > 0, lr.isFinite else { throw TrainingError.invalidArgument(function: "step", message: "learning rate must be positive, got \(lr)") }
        let names = trainableNames
        let (loss, byName) = try gradients(batch, masks: masks)
        var grads = names.map { byName[$0]! }
        if let maxGradNorm { grads = try GradClip.byGlobalNorm(grads, maxNorm: maxGradNorm).grads }
        // Adam with PyTorch's AdamW rule (LoupeTensor's `adamUpdated`: moments updated in place, one pass).
        adamSteps += 1
        for (n, g) in zip(names, grads) {
            let p = parameter(n)!
            let m = try moments[n] ?? AdamMoments(shape: p.shape)
            moments[n] = m
            setParameter(n, try p.adamUpdated(grad: g, moments: m, step: adamSteps, lr: lr, weightDecay: weightDecay))
        }
        steps += 1
        return loss
    }

    private func resetOptimizer() {
        moments = [:]
        adamSteps = 0
    }
}
