import Foundation
import LoupeTensor

// Saving a trained model: a GGUF file that Loupe and llama.cpp load like the source model, or a Hugging Face folder
// (model.safetensors + config.json). Adapters are folded into the weights on the way (the model itself is not
// changed), so both formats hold a plain model of the source architecture. PEFT adapter folders: PEFTAdapters.swift.

extension TrainableModel {
    /// Writes a GGUF file: the source file's metadata (architecture, hyper-parameters, tokenizer, chat template) in
    /// its order, `general.file_type` set to the weights' type, and the trained weights under llama.cpp's names.
    ///
    /// `type` is `.f32` or `.f16` for the matrices; vectors (norms, biases) are always F32, as llama.cpp's converter
    /// stores them. Tensors of the source file that the model does not train (none in the supported architectures'
    /// files, but a converter may add some) are copied unchanged.
    public func save(gguf path: String, type: GGMLType = .f32) throws {
        guard type == .f32 || type == .f16 else {
            throw TrainingError.save(path: path, message: "weights are written as F32 or F16, not \(type.name)")
        }
        let w = GGUFWriter()
        for k in source.metadataKeys { w.set(k, source.metadata[k]!, elementType: source.arrayElementTypes[k]) }
        // llama.cpp's LLAMA_FTYPE: 0 = all F32, 1 = mostly F16.
        w.set("general.file_type", .uint32(type == .f32 ? 0 : 1))
        let trained = Set(weightNames)
        for info in source.tensors {
            if trained.contains(info.name) {
                let t = try mergedWeight(info.name)
                try w.addTensor(info.name, tensor: t, as: t.rank == 1 ? .f32 : type)
            } else {
                try w.addTensor(info.name, shape: info.shape, type: info.type, bytes: Array(source.bytes(of: info)))
            }
        }
        do { try w.write(to: path) } catch { throw TrainingError.save(path: path, message: "\(error)") }
    }

    /// Writes a Hugging Face model folder: `model.safetensors` (Hugging Face tensor names, `dtype` F32, F16 or BF16)
    /// and `config.json` (the transformers configuration of the architecture). The folder is created if needed.
    ///
    /// Two layout differences from GGUF are undone: llama's q/k rows, which llama.cpp's converter permuted from
    /// rotate-half into adjacent pairs, are permuted back; Gemma's norm weights, to which the converter added 1,
    /// get the 1 taken away (transformers' Gemma RMSNorm multiplies by 1 + w). No tokenizer files are written:
    /// the GGUF file carries the tokenizer. Llama 3 RoPE scaling is written as config.json's four `rope_scaling`
    /// parameters, which a model read from a Hugging Face folder keeps; a GGUF file stores only the per-pair factors,
    /// so a model read from one refuses (save it as GGUF).
    public func save(safetensors directory: String, dtype: SafetensorsDType = .f32) throws {
        // config.json states llama3 scaling only through its four parameters: a model read from a Hugging Face
        // folder keeps them; one read from GGUF (rope_freqs.weight) does not, and the save refuses rather than write
        // a config that would load with other frequencies.
        if let factors = config.ropeFreqFactors {
            guard let p = config.llama3RoPEScaling, p.factors(base: config.ropeBase, dims: config.ropeDims) == factors else {
                throw TrainingError.save(path: directory, message: "this model scales RoPE per frequency (llama3 "
                    + "rope_freqs), which config.json cannot state from the factors alone; save it as GGUF, which keeps them")
            }
        }
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw TrainingError.save(path: directory, message: "cannot create the folder: \(error.localizedDescription)")
        }
        let st = SafetensorsWriter(metadata: ["format": "pt"])
        for name in weightNames {
            guard let hf = Self.huggingFaceName(name, architecture: config.architecture) else {
                throw TrainingError.save(path: directory, message: "no Hugging Face name for tensor '\(name)'")
            }
            var t = try mergedWeight(name)
            if config.architecture == .llama, name.hasSuffix("attn_q.weight") || name.hasSuffix("attn_k.weight") {
                t = try Self.unpermuteRotaryRows(t, heads: name.hasSuffix("attn_q.weight") ? config.heads : config.kvHeads)
            }
            if config.architecture == .gemma3, name.hasSuffix("norm.weight") { t = try t - 1 }
            try st.add(hf, tensor: t, as: dtype)
        }
        let modelPath = (directory as NSString).appendingPathComponent("model.safetensors")
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        do {
            try st.write(to: modelPath)
            let json = try JSONSerialization.data(withJSONObject: huggingFaceConfig(dtype: dtype),
                                                  options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(to: configPath) { try $0.write(Array(json) + [10]) }
        } catch let e as TrainingError { throw e } catch {
            throw TrainingError.save(path: directory, message: "\(error)")
        }
    }

    /// The transformers name of a GGUF tensor name (the inverse of llama.cpp's tensor map for these architectures).
    public static func huggingFaceName(_ gguf: String, architecture: ModelConfig.Architecture) -> String? {
        switch gguf {
        case "token_embd.weight": return "model.embed_tokens.weight"
        case "output_norm.weight": return "model.norm.weight"
        case "output.weight": return "lm_head.weight"
        default: break
        }
        let parts = gguf.split(separator: ".", maxSplits: 2)
        guard parts.count == 3, parts[0] == "blk", let layer = Int(parts[1]) else { return nil }
        let rest = String(parts[2])
        let gemma = architecture == .gemma3
        let table: [String: String] = [
            "attn_norm.weight": "input_layernorm.weight",
            "attn_q.weight": "self_attn.q_proj.weight", "attn_k.weight": "self_attn.k_proj.weight",
            "attn_v.weight": "self_attn.v_proj.weight", "attn_output.weight": "self_attn.o_proj.weight",
            "attn_q.bias": "self_attn.q_proj.bias", "attn_k.bias": "self_attn.k_proj.bias",
            "attn_v.bias": "self_attn.v_proj.bias",
            "attn_q_norm.weight": "self_attn.q_norm.weight", "attn_k_norm.weight": "self_attn.k_norm.weight",
            // Gemma has four norms per block; llama's "post_attention_layernorm" is the pre-MLP norm.
            "post_attention_norm.weight": "post_attention_layernorm.weight",
            "ffn_norm.weight": gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight",
            "post_ffw_norm.weight": "post_feedforward_layernorm.weight",
            "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
            "ffn_down.weight": "mlp.down_proj.weight",
        ]
        return table[rest].map { "model.layers.\(layer).\($0)" }
    }

    /// Undoes llama.cpp's `permute` of llama q/k rows: within each head, GGUF row 2i + s is Hugging Face row
    /// s * head_dim/2 + i (s = 0, 1), i.e. reshape(heads, head_dim/2, 2, in).swapaxes(1, 2).
    static func unpermuteRotaryRows(_ w: Tensor, heads: Int) throws -> Tensor {
        let rows = w.shape[0]
        let hd = rows / heads, half = hd / 2
        var order = [Int](repeating: 0, count: rows)
        for h in 0..<heads {
            for s in 0..<2 { for i in 0..<half { order[h * hd + s * half + i] = h * hd + 2 * i + s } }
        }
        return try w.indexSelect(axis: 0, indices: order)
    }

    /// llama.cpp's `permute` of llama q/k rows (transformers -> GGUF): HF row s * head_dim/2 + i of each head goes
    /// to GGUF row 2i + s, i.e. reshape(heads, 2, head_dim/2, in).swapaxes(1, 2).
    static func permuteRotaryRows(_ w: Tensor, heads: Int) throws -> Tensor {
        let rows = w.shape[0]
        let hd = rows / heads, half = hd / 2
        var order = [Int](repeating: 0, count: rows)
        for h in 0..<heads {
            for s in 0..<2 { for i in 0..<half { order[h * hd + 2 * i + s] = h * hd + s * half + i } }
        }
        return try w.indexSelect(axis: 0, indices: order)
    }

    /// config.json for transformers' `*ForCausalLM` of this architecture.
    func huggingFaceConfig(dtype: SafetensorsDType) -> [String: Any] {
        let c = config
        var j: [String: Any] = [
            "hidden_size": c.dModel, "intermediate_size": c.dFF, "num_hidden_layers": c.layers,
            "num_attention_heads": c.heads, "num_key_value_heads": c.kvHeads, "head_dim": c.headDim,
            "max_position_embeddings": c.context, "rms_norm_eps": Double(c.eps), "rope_theta": c.ropeBase,
            "vocab_size": c.vocab, "tie_word_embeddings": c.tiedEmbeddings,
            "torch_dtype": ["F32": "float32", "F16": "float16", "BF16": "bfloat16"][dtype.rawValue] ?? "float32",
        ]
        if let b = tokenizer?.bos { j["bos_token_id"] = b }
        if let e = tokenizer?.eos { j["eos_token_id"] = e }
        if c.ropeScale != 1 { j["rope_scaling"] = ["rope_type": "linear", "factor": c.ropeScale] }
        if c.ropeFreqFactors != nil, let p = c.llama3RoPEScaling { j["rope_scaling"] = p.configJSON }
        if let y = c.yarnRoPE { j["rope_scaling"] = y.configJSON }
        switch c.architecture {
        case .llama:
            j["architectures"] = ["LlamaForCausalLM"]; j["model_type"] = "llama"
            j["hidden_act"] = "silu"; j["attention_bias"] = false; j["mlp_bias"] = false
        case .qwen2:
            j["architectures"] = ["Qwen2ForCausalLM"]; j["model_type"] = "qwen2"; j["hidden_act"] = "silu"
        case .qwen3:
            j["architectures"] = ["Qwen3ForCausalLM"]; j["model_type"] = "qwen3"; j["hidden_act"] = "silu"
            j["attention_bias"] = false
        case .gemma3:
            j["architectures"] = ["Gemma3ForCausalLM"]; j["model_type"] = "gemma3_text"
            j["hidden_activation"] = "gelu_pytorch_tanh"
            j["query_pre_attn_scalar"] = Double(1 / (c.attentionScale * c.attentionScale)).rounded()
            if let w = c.slidingWindow { j["sliding_window"] = w }
            if let b = c.ropeBaseLocal { j["rope_local_base_freq"] = b }
            j["layer_types"] = c.slidingLayers.map { $0 ? "sliding_attention" : "full_attention" }
            if let cap = c.finalLogitSoftcap { j["final_logit_softcapping"] = Double(cap) }
        }
        return j
    }
}
