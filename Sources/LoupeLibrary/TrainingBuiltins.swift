import Foundation
import LoupeLang
import LoupeModels
import LoupeTensor

// The `train` namespace: fine-tuning a loaded decoder on autograd tensors (LoupeModels/Training).
//
//     let m = model.load("smollm2-135m-instruct")
//     let t = train.model(m, lora: {rank: 8, alpha: 16, targets: ["q", "v"]})
//     let ids = m.encode("The capital of France is Paris.")
//     for i in range(20) { print(t.step(ids, lr: 1e-3)) }      # Adam; each call returns the loss before the step
//     t.loss(ids)                                            # mean next-token cross-entropy, nats per token
//     t.save("tuned.gguf")                                   # adapters merged into the weights on the way
//     let tuned = model.load("tuned.gguf")                   # hooks, generation, ... as for any model

enum TrainingBuiltins {
    static func register(_ r: LibRegistrar) {
        r.registry.documentNamespace("train", "Training and fine-tuning decoders (llama, qwen2, qwen3, gemma3) on Float32 weights, full or with LoRA adapters.")
        r.add("train", "model", [Parameter("model"), Parameter("lora", default: .nil, keywordOnly: true),
                                 Parameter("weight_decay", .number, default: .float(0), keywordOnly: true)], doc: """
            A trainable copy of a decoder model: every weight dequantized to Float32. `model` is a model object or
            anything model.load accepts. Without `lora` every weight trains; with `lora: {rank: 8, alpha: 16,
            targets: ["q", "v"], seed: 0}` (each field optional; targets from q k v o gate up down, or attn, mlp,
            all) only the adapters train and the base weights stay frozen. weight_decay > 0 makes the optimizer AdamW.
            """) { a in
            let lm = try languageModel(a)
            let lora = try loraConfig(a)
            let wd = try a.double("weight_decay")
            guard wd >= 0, wd.isFinite else { throw a.error("weight_decay", "must be >= 0, got \(wd)") }
            let t = try guarded(a) { try TrainableModel(lm, lora: lora) }
            t.weightDecay = Float(wd)
            return .object(TrainableObject(t, name: describe(a["model"])))
        }
    }

    static func describe(_ v: Value) -> String {
        if case let .string(s) = v { return s }
        if case let .object(o) = v, let m = o as? ModelObject { return m.name }
        return "model"
    }

    /// The LanguageModel of a model object, or of a name or path loaded through model.load.
    static func languageModel(_ a: LibArgs) throws -> LanguageModel {
        var v = a["model"]
        if case let .string(name) = v { v = try ModelBuiltins.load(name, a) }
        guard case let .object(o) = v, let m = o as? ModelObject else {
            throw a.typeError("model", "a decoder model (from model.load) or its name or path", a["model"])
        }
        return m.model
    }

    /// `lora:` as a record with optional fields rank, alpha, targets, seed; `true` for the defaults.
    static func loraConfig(_ a: LibArgs) throws -> LoRAConfig? {
        switch a["lora"] {
        case .nil, .bool(false): return nil
        case .bool(true): return LoRAConfig()
        case let .record(r):
            var c = LoRAConfig()
            let known: Set<String> = ["rank", "alpha", "targets", "seed"]
            if let bad = r.keys.first(where: { !known.contains($0) }) {
                throw a.error("lora", "has unknown field '\(bad)' (fields: rank, alpha, targets, seed)")
            }
            if let v = r["rank"] {
                guard case let .int(n) = v, n > 0 else { throw a.error("lora", "field rank must be a positive int") }
                c.rank = n
            }
            if let v = r["alpha"] {
                switch v {
                case let .int(n): c.alpha = Float(n)
                case let .float(x) where x.isFinite: c.alpha = Float(x)
                default: throw a.error("lora", "field alpha must be a number")
                }
            }
            if let v = r["targets"] {
                let names: [String]
                switch v {
                case let .string(s): names = [s]
                case let .list(xs):
                    names = try xs.map { x -> String in
                        guard case let .string(s) = x else { throw a.error("lora", "field targets must be a list of strings") }
                        return s
                    }
                default: throw a.error("lora", "field targets must be a list of strings")
                }
                c.targets = try guarded(a) { try LoRAConfig.targets(parsing: names) }
            }
            if let v = r["seed"] {
                guard case let .int(n) = v, n >= 0 else { throw a.error("lora", "field seed must be a non-negative int") }
                c.seed = UInt64(n)
            }
            return c
        default:
            throw a.typeError("lora", "a record {rank, alpha, targets, seed}, true or nil", a["lora"])
        }
    }

    /// Runs a LoupeModels call, turning its errors into LoupeErrors that name the built-in.
    static func guarded<T>(_ a: LibArgs, _ body: () throws -> T) throws -> T {
        try ModelBuiltins.guarded(a, body)
    }
}

/// A trainable model as the language sees it.
final class TrainableObject: HostObject {
    let model: TrainableModel
    let name: String

    init(_ model: TrainableModel, name: String) {
        self.model = model
        self.name = name
    }

    var typeName: String { "trainable_model" }
    var summary: String {
        let c = model.config
        let how = model.lora.map { "LoRA rank \($0.rank) on \($0.targets.map(\.rawValue).joined(separator: ","))" } ?? (model.trainableNames.isEmpty ? "frozen" : "all weights")
        return "<trainable_model \(name): \(c.architecture.rawValue), \(c.layers) layers, \(how), \(model.trainableParameterCount) trainable parameters, \(model.steps) steps>"
    }
    var memberNames: [String] {
        ["architecture", "gradients", "load_adapters", "logits", "lora", "loss", "merge", "name", "parameter",
         "parameter_names", "parameters", "save", "step", "steps", "total_parameters"]
    }

    private func method(_ name: String, _ parameters: [Parameter], _ doc: String,
                        _ body: @escaping (LibArgs) throws -> Value) -> Value {
        ModelBuiltins.method(name, parameters, doc, type: "trainable_model", body)
    }

    /// One sequence (a list of ids or a 1-d tensor) or a batch (a list of such sequences).
    private func batch(_ a: LibArgs) throws -> [[Int]] {
        let vocab = model.config.vocab
        if case let .list(xs) = a["ids"], let first = xs.first {
            switch first {
            case .list, .tensor:
                return try xs.map { try ModelBuiltins.ids($0, a, "ids", vocab: vocab) }
            default: break
            }
        }
        return [try ModelBuiltins.ids(a["ids"], a, "ids", vocab: vocab)]
    }

    /// `mask:` for a batch: nil, one list of flags (a single sequence), or one list (or nil) per sequence.
    private func masks(_ a: LibArgs, count: Int) throws -> [[Bool]?]? {
        func flags(_ v: Value) throws -> [Bool]? {
            switch v {
            case .nil: return nil
            case let .list(xs):
                return try xs.map { x in
                    switch x {
                    case let .bool(b): return b
                    case let .int(i) where i == 0 || i == 1: return i == 1
                    default: throw a.error("mask", "must hold true/false (or 1/0) per token, got \(x.typeName)")
                    }
                }
            case let .tensor(t): return t.scalars.map { $0 != 0 }
            default: throw a.typeError("mask", "a list of booleans per token", v)
            }
        }
        let v = a["mask"]
        if case .nil = v { return nil }
        if count == 1 {
            if case let .list(xs) = v, let f = xs.first, case .list = f { return try xs.map(flags) }
            return [try flags(v)]
        }
        guard case let .list(xs) = v else { throw a.typeError("mask", "one list of flags per sequence", v) }
        return try xs.map(flags)
    }

    func member(_ name: String) -> Value? {
        let t = model
        let idsDoc = "ids: a list of token ids (or 1-d tensor), or a list of such sequences (a batch)"
        let maskDoc = "mask: optional true/false per token (per sequence for a batch); only true tokens count as targets"
        switch name {
        case "name": return .string(self.name)
        case "architecture": return .string(t.config.architecture.rawValue)
        case "parameters": return .int(t.trainableParameterCount)
        case "total_parameters": return .int(t.baseParameterCount)
        case "steps": return .int(t.steps)
        case "parameter_names": return .list(t.trainableNames.map { .string($0) })
        case "lora":
            guard let l = t.lora else { return .nil }
            return .record(Record(["rank": .int(l.rank), "alpha": .float(Value.shortestDouble(l.alpha)),
                                   "targets": .list(l.targets.map { .string($0.rawValue) }), "seed": .int(Int(l.seed))]))
        case "logits":
            return method("logits", [Parameter("ids")], "Logits of every position of one sequence: a tensor [T, vocab].") { a in
                let b = try self.batch(a)
                guard b.count == 1 else { throw a.error("ids", "must be one sequence") }
                return .tensor(try Autograd.noGrad { try t.logits(b[0]) })
            }
        case "loss":
            return method("loss", [Parameter("ids"), Parameter("mask", default: .nil, keywordOnly: true)],
                          "Mean next-token cross-entropy in nats per target token. \(idsDoc); \(maskDoc).") { a in
                let b = try self.batch(a)
                let l = try Autograd.noGrad { try t.loss(b, masks: try self.masks(a, count: b.count)).item() }
                return .float(Value.shortestDouble(l))
            }
        case "step":
            return method("step", [Parameter("ids"), Parameter("lr", .number, default: .float(1e-4), keywordOnly: true),
                                   Parameter("mask", default: .nil, keywordOnly: true),
                                   Parameter("clip", .optional(.number), default: .nil, keywordOnly: true)],
                          "One Adam step on the loss of ids; returns the loss before the step. \(idsDoc); \(maskDoc); clip: max global gradient norm.") { a in
                let b = try self.batch(a)
                let lr = try a.double("lr")
                let clip = try a.optDouble("clip")
                if let clip, !(clip > 0) { throw a.error("clip", "must be positive, got \(clip)") }
                let l = try t.step(b, masks: try self.masks(a, count: b.count), lr: Float(lr), maxGradNorm: clip.map(Float.init))
                return .float(Value.shortestDouble(l))
            }
        case "gradients":
            return method("gradients", [Parameter("ids"), Parameter("mask", default: .nil, keywordOnly: true)],
                          "The loss and the gradient of every trainable parameter, without a step: {loss, grads: {name: tensor}}.") { a in
                let b = try self.batch(a)
                let (l, g) = try t.gradients(b, masks: try self.masks(a, count: b.count))
                let names = t.trainableNames
                return .record(Record(["loss": .float(Value.shortestDouble(l)),
                                       "grads": .record(Record(keys: names, values: names.map { .tensor(g[$0]!) }))]))
            }
        case "parameter":
            return method("parameter", [Parameter("name", .string)],
                          "The current value of a weight (GGUF name, e.g. \"blk.0.attn_q.weight\") or adapter (\"blk.0.attn_q.lora_a\").") { a in
                let n = try a.string("name")
                guard let p = t.parameter(n) else { throw a.error("name", "names no weight or adapter of this model", kind: .name) }
                return .tensor(p.detached())
            }
        case "load_adapters":
            return method("load_adapters", [Parameter("path", .string)], """
                Adds the LoRA adapters of a PEFT folder (adapter_model.safetensors + adapter_config.json, as t.save(path,
                format: "peft") or Hugging Face's peft writes them) and freezes the base weights.
                """) { a in
                try t.loadLoRA(peft: (try a.string("path") as NSString).expandingTildeInPath)
                return .nil
            }
        case "merge":
            return method("merge", [], "Folds the LoRA adapters into the weights (W + alpha/rank B A) and removes them.") { _ in
                try t.merge()
                return .nil
            }
        case "save":
            return method("save", [Parameter("path", .string), Parameter("format", .optional(.string), default: .nil, keywordOnly: true),
                                   Parameter("dtype", .string, default: .string("f32"), keywordOnly: true)], """
                Saves the model with adapters merged in; returns the path. format "gguf" (the default for a path ending
                in .gguf: one file with the source's metadata and tokenizer, loadable by model.load and llama.cpp) or
                "safetensors" (a folder with model.safetensors and config.json, Hugging Face names), or "peft" (the
                LoRA adapters alone: adapter_model.safetensors and adapter_config.json). dtype: f32 or f16 (gguf),
                f32, f16 or bf16 (safetensors, peft).
                """) { a in
                let path = (try a.string("path") as NSString).expandingTildeInPath
                let format = try a.optString("format") ?? (path.hasSuffix(".gguf") ? "gguf" : "safetensors")
                let dtype = try a.string("dtype").lowercased()
                switch format {
                case "gguf":
                    let type: GGMLType
                    switch dtype {
                    case "f32": type = .f32
                    case "f16": type = .f16
                    default: throw a.error("dtype", "must be f32 or f16 for gguf, got '\(dtype)'")
                    }
                    try t.save(gguf: path, type: type)
                case "safetensors", "peft":
                    guard let d = SafetensorsDType(rawValue: dtype.uppercased()), [.f32, .f16, .bf16].contains(d) else {
                        throw a.error("dtype", "must be f32, f16 or bf16 for \(format), got '\(dtype)'")
                    }
                    if format == "peft" { try t.save(peft: path, dtype: d) } else { try t.save(safetensors: path, dtype: d) }
                default:
                    throw a.error("format", "must be \"gguf\", \"safetensors\" or \"peft\", got '\(format)'")
                }
                return .string(path)
            }
        default: return nil
        }
    }
}
