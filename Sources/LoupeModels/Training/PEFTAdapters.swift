import Foundation
import LoupeTensor

// LoRA adapters as PEFT folders (adapter_model.safetensors + adapter_config.json), the format of Hugging Face's
// `peft` library: Loupe's adapters can be saved for transformers, and adapters trained elsewhere on a model of a
// supported architecture can be loaded onto its GGUF file (then trained further, merged or saved).
//
// PEFT's adapters act on transformers' weights. Two layout differences from GGUF matter: llama's q/k rows are
// permuted in GGUF (rotate-half -> adjacent pairs), so the rows of B are permuted the same way on the way in and
// back on the way out; A acts on the input side, which no converter touches.

extension TrainableModel {
    /// Writes the LoRA adapters alone as a PEFT folder: `adapter_model.safetensors` (PEFT's names,
    /// `base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight` [rank, in] and `lora_B` [out, rank]) and
    /// `adapter_config.json`, for the base model in transformers' layout (llama's q/k rows of B un-permuted like
    /// the weights of `save(safetensors:)`). Fails when the model has no adapters.
    public func save(peft directory: String, dtype: SafetensorsDType = .f32) throws {
        guard let lora else { throw TrainingError.save(path: directory, message: "the model has no LoRA adapters to save") }
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw TrainingError.save(path: directory, message: "cannot create the folder: \(error.localizedDescription)")
        }
        let st = SafetensorsWriter(metadata: ["format": "pt"])
        for l in 0..<config.layers {
            for target in lora.targets {
                let key = target.tensorName(layer: l)
                guard var b = parameter(key + ".lora_b"), let a = parameter(key + ".lora_a"),
                      let hf = Self.huggingFaceName(key + ".weight", architecture: config.architecture) else { continue }
                if config.architecture == .llama, target == .q || target == .k {
                    b = try Self.unpermuteRotaryRows(b, heads: target == .q ? config.heads : config.kvHeads)
                }
                let module = "base_model.model." + hf.dropLast(".weight".count)
                try st.add(module + ".lora_A.weight", tensor: a.detached(), as: dtype)
                try st.add(module + ".lora_B.weight", tensor: b.detached(), as: dtype)
            }
        }
        let peftConfig: [String: Any] = [
            "peft_type": "LORA", "task_type": "CAUSAL_LM", "r": lora.rank, "lora_alpha": Double(lora.alpha),
            "target_modules": lora.targets.map { $0.rawValue + "_proj" }, "lora_dropout": 0.0, "bias": "none",
            "fan_in_fan_out": false, "inference_mode": true, "use_rslora": false,
            "base_model_name_or_path": source.string("general.name") ?? source.path,
        ]
        do {
            try st.write(to: (directory as NSString).appendingPathComponent("adapter_model.safetensors"))
            let json = try JSONSerialization.data(withJSONObject: peftConfig, options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(to: (directory as NSString).appendingPathComponent("adapter_config.json")) {
                try $0.write(Array(json) + [10])
            }
        } catch let e as TrainingError { throw e } catch {
            throw TrainingError.save(path: directory, message: "\(error)")
        }
    }

    /// Adds the adapters of a PEFT folder and freezes the base weights, as `addLoRA` does with fresh ones.
    ///
    /// Reads `r`, `lora_alpha` and `target_modules` from adapter_config.json (names such as "q_proj", or the
    /// groups Loupe knows) and `base_model.model.model.layers.N.<module>.lora_A.weight` / `lora_B.weight` from
    /// adapter_model.safetensors. Refuses what Loupe does not compute: rsLoRA or DoRA, fan-in-fan-out layouts,
    /// and a missing or wrongly shaped tensor (named in the error).
    public func loadLoRA(peft directory: String) throws {
        let configPath = (directory as NSString).appendingPathComponent("adapter_config.json")
        func bad(_ message: String) -> TrainingError { .invalidArgument(function: "load_lora", message: "\(configPath): \(message)") }
        let raw: Any
        do { raw = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) } catch {
            throw bad("cannot read it: \(error.localizedDescription)")
        }
        guard let json = raw as? [String: Any] else { throw bad("is not a JSON object") }
        if let t = json["peft_type"] as? String, t != "LORA" { throw bad("peft_type is \(t), not LORA") }
        for flag in ["use_rslora", "use_dora", "fan_in_fan_out"] where (json[flag] as? Bool) == true {
            throw bad("\(flag) is set; Loupe's adapters compute W + alpha/r B A only")
        }
        guard let rank = json["r"] as? Int, rank > 0 else { throw bad("field r must be a positive integer") }
        guard let alpha = (json["lora_alpha"] as? NSNumber)?.floatValue else { throw bad("field lora_alpha must be a number") }
        guard let modules = json["target_modules"] as? [String] else {
            throw bad("field target_modules must be a list of module names (a regular expression is not supported)")
        }
        let targets = try LoRAConfig.targets(parsing: modules)
        let weightsPath = (directory as NSString).appendingPathComponent("adapter_model.safetensors")
        let st = try SafetensorsFile(path: weightsPath)
        // PEFT writes "...q_proj.lora_A.weight"; some versions keep the adapter name ("lora_A.default.weight").
        func tensor(_ name: String) throws -> Tensor {
            if st.tensor(named: name) != nil { return try st.tensorF32(named: name) }
            let alt = name.replacingOccurrences(of: ".weight", with: ".default.weight")
            guard st.tensor(named: alt) != nil else {
                throw TrainingError.invalidArgument(function: "load_lora", message: "\(weightsPath) has no tensor '\(name)'")
            }
            return try st.tensorF32(named: alt)
        }
        var loaded: [String: LoRAAdapter] = [:]
        for l in 0..<config.layers {
            for target in targets {
                let key = target.tensorName(layer: l)
                guard let w = parameter(key + ".weight"),
                      let hf = Self.huggingFaceName(key + ".weight", architecture: config.architecture) else { continue }
                let module = "base_model.model." + hf.dropLast(".weight".count)
                let a = try tensor(module + ".lora_A.weight")
                var b = try tensor(module + ".lora_B.weight")
                guard a.shape == [rank, w.shape[1]], b.shape == [w.shape[0], rank] else {
                    throw TrainingError.invalidArgument(function: "load_lora", message:
                        "\(weightsPath): \(module) has A \(a.shape) and B \(b.shape); the model needs [\(rank), \(w.shape[1])] and [\(w.shape[0]), \(rank)]")
                }
                if config.architecture == .llama, target == .q || target == .k {
                    b = try Self.permuteRotaryRows(b, heads: target == .q ? config.heads : config.kvHeads)
                }
                loaded[key] = LoRAAdapter(a: a.requiringGrad(), b: b.requiringGrad())
            }
        }
        try installAdapters(loaded, config: LoRAConfig(rank: rank, alpha: alpha, targets: targets))
    }
}
