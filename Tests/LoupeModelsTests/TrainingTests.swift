import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// Training on autograd tensors (Sources/LoupeModels/Training):
/// - the autograd forward against the inference engine's logits (random qwen2/qwen3 fixtures, SmolLM2);
/// - logits, masked loss, every weight's gradient and three Adam steps of tiny llama/qwen2/qwen3/gemma3 models against
///   JAX in float64 (Tests/Fixtures/make_training_fixture.py, fixture training_tiny.json);
/// - LoRA (zero-init identity, frozen base, merge), saving (GGUF reload through LanguageModel, safetensors layout).
final class TrainingTests: XCTestCase {
    struct Fixture: Decodable {
        let reference: String
        let models: [Model]
    }
    struct Model: Decodable {
        let arch: String
        let file: String
        let ids: [Int]
        let mask: [Bool]
        let logits: [Double]
        let loss: Double
        let grads: [String: [Double]]
        let adam_losses: [Double]
    }

    static let fixture: Fixture = {
        let url = Bundle.module.url(forResource: "training_tiny", withExtension: "json", subdirectory: "Fixtures")!
        return try! JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }()

    func tiny(_ arch: String) throws -> (Model, LanguageModel) {
        let m = try XCTUnwrap(Self.fixture.models.first { $0.arch == arch }, "no \(arch) model in training_tiny.json")
        return (m, try TestModels.model(try TestModels.fixture(m.file)))
    }

    /// max |a - b| / max |b|.
    func relativeError(_ a: [Float], _ b: [Double]) -> Double {
        precondition(a.count == b.count)
        var worst = 0.0, scale = 1e-12
        for (x, y) in zip(a, b) { worst = max(worst, abs(Double(x) - y)); scale = max(scale, abs(y)) }
        return worst / scale
    }
    func relativeError(_ a: Tensor, _ b: Tensor) -> Double { relativeError(a.scalars, b.scalars.map(Double.init)) }

    func noGradLogits(_ t: TrainableModel, _ ids: [Int]) throws -> Tensor { try Autograd.noGrad { try t.logits(ids) } }

    // MARK: Autograd forward == inference engine

    @discardableResult
    func checkAgainstInference(_ model: LanguageModel, ids: [Int], tolerance: Double = 1e-4) throws -> Double {
        let t = try TrainableModel(model)
        let ours = try noGradLogits(t, ids)
        let engine = try model.logits(ids)
        XCTAssertEqual(ours.shape, engine.shape)
        let err = relativeError(ours, engine)
        XCTAssertLessThan(err, tolerance, "\(model.config.architecture): autograd logits vs inference engine")
        print("\(model.config.architecture) autograd forward vs inference: max |Δ logit| / max |logit| = \(err)")
        return err
    }

    func testForwardMatchesInferenceOnRandomQwen2AndQwen3() throws {
        let ids = [5, 77, 200, 13, 99, 140, 31, 8, 250, 64, 3, 180, 42]
        try checkAgainstInference(try TestModels.qwen2(), ids: ids)
        try checkAgainstInference(try TestModels.qwen3(), ids: ids)
    }

    func testForwardMatchesInferenceOnTinyModels() throws {
        for arch in ["llama", "qwen2", "qwen3", "gemma3"] {
            let (fx, model) = try tiny(arch)
            try checkAgainstInference(model, ids: fx.ids)
        }
    }

    func testForwardMatchesInferenceOnSmolLM2() throws {
        let model = try TestModels.smollm()
        let ids = try XCTUnwrap(model.tokenizer).encode("The capital of France is Paris, and")
        try checkAgainstInference(model, ids: ids)
    }

    // MARK: Against JAX

    func testLogitsLossAndGradientsMatchJAX() throws {
        for arch in ["llama", "qwen2", "qwen3", "gemma3"] {
            let (fx, model) = try tiny(arch)
            let t = try TrainableModel(model)
            let logitsErr = relativeError(try noGradLogits(t, fx.ids).scalars, fx.logits)
            XCTAssertLessThan(logitsErr, 1e-5, "\(arch) logits vs JAX")
            let (loss, grads) = try t.gradients([fx.ids], masks: [fx.mask])
            XCTAssertEqual(Double(loss), fx.loss, accuracy: 1e-5 * abs(fx.loss), "\(arch) loss vs JAX")
            XCTAssertEqual(Set(grads.keys), Set(fx.grads.keys), "\(arch): the trainable weights are the model's tensors")
            var worst = 0.0, worstName = ""
            for (name, ref) in fx.grads {
                let g = try XCTUnwrap(grads[name])
                let e = relativeError(g.scalars, ref)
                if e > worst { worst = e; worstName = name }
                XCTAssertLessThan(e, 1e-4, "\(arch) gradient of \(name) vs JAX")
            }
            print("\(arch) vs \(Self.fixture.reference): logits rel err \(logitsErr), loss \(loss) vs \(fx.loss), "
                  + "worst gradient rel err \(worst) (\(worstName))")
        }
    }

    func testAdamStepsMatchJAXAndLowerTheLoss() throws {
        for arch in ["llama", "qwen2", "qwen3", "gemma3"] {
            let (fx, model) = try tiny(arch)
            let t = try TrainableModel(model)
            var losses: [Float] = []
            for _ in 0..<3 { losses.append(try t.step([fx.ids], masks: [fx.mask], lr: 1e-2)) }
            losses.append(try Autograd.noGrad { try t.loss([fx.ids], masks: [fx.mask]).item() })
            for (i, (ours, ref)) in zip(losses, fx.adam_losses).enumerated() {
                XCTAssertEqual(Double(ours), ref, accuracy: 2e-4 * abs(ref), "\(arch) loss before Adam step \(i)")
            }
            XCTAssertLessThan(losses[3], losses[0] * 0.8, "\(arch): three Adam steps lower the loss")
            XCTAssertEqual(t.steps, 3)
        }
    }

    // MARK: Loss details

    func testMaskAndBatchWeighting() throws {
        let (fx, model) = try tiny("qwen3")
        let t = try TrainableModel(model)
        let ids = fx.ids
        // The mean over a batch weighs tokens, not sequences: [a, b] == the token-weighted mean of a and b.
        let a = Array(ids[0..<5]), b = Array(ids[3...])
        let la = try t.loss([a]).item(), lb = try t.loss([b]).item(), lab = try t.loss([a, b]).item()
        XCTAssertEqual(lab, (la * 4 + lb * Float(b.count - 1)) / Float(4 + b.count - 1), accuracy: 1e-5)
        // gradients() runs the sequences one at a time (accumulating); the result is the batch loss's gradient.
        let (accLoss, acc) = try t.gradients([a, b])
        XCTAssertEqual(accLoss, lab, accuracy: 1e-5)
        let whole = try t.loss([a, b])
        try whole.backward()
        for name in ["token_embd.weight", "blk.1.attn_k.weight", "blk.0.attn_q_norm.weight"] {
            let p = try XCTUnwrap(t.parameter(name))
            XCTAssertLessThan(relativeError(try XCTUnwrap(acc[name]), try XCTUnwrap(p.grad)), 1e-5, name)
            p.zeroGrad()
        }
        // A mask keeping only token 1 is the NLL of token 1 after token 0.
        var mask = [Bool](repeating: false, count: ids.count); mask[1] = true
        let l1 = try t.loss([ids], masks: [mask]).item()
        let z = try noGradLogits(t, [ids[0]]).logSoftmax(axis: -1)
        XCTAssertEqual(l1, -(try z.value(at: [0, ids[1]])), accuracy: 1e-5)
        XCTAssertThrowsError(try t.loss([[ids[0]]])) { XCTAssertTrue("\($0)".contains("no target tokens"), "\($0)") }
        XCTAssertThrowsError(try t.loss([ids], masks: [[true]])) { XCTAssertTrue("\($0)".contains("mask 0 has 1 flags"), "\($0)") }
        XCTAssertThrowsError(try t.loss([[1, 100_000]])) {
            XCTAssertEqual($0 as? ModelRunError, .tokenOutOfRange(id: 100_000, position: 1, vocab: model.config.vocab))
        }
        XCTAssertThrowsError(try t.step([ids], lr: 0))
    }

    // MARK: LoRA

    func testLoRAZeroInitFrozenBaseAndMerge() throws {
        let (fx, model) = try tiny("qwen3")
        let base = try TrainableModel(model)
        let t = try TrainableModel(model, lora: LoRAConfig(rank: 4, alpha: 8, targets: try LoRAConfig.targets(parsing: ["q_proj", "v", "mlp"])))
        let c = model.config
        // B = 0: the adapted model computes exactly the base model.
        let before = try noGradLogits(t, fx.ids)
        XCTAssertEqual(before.scalars, try noGradLogits(base, fx.ids).scalars)
        // Only adapters train: 2 layers x 5 projections x (A, B).
        XCTAssertEqual(t.trainableNames.count, c.layers * 5 * 2)
        XCTAssertTrue(t.trainableNames.allSatisfy { $0.hasSuffix(".lora_a") || $0.hasSuffix(".lora_b") })
        let perLayer = 4 * (c.dModel + c.qDim) + 4 * (c.dModel + c.kvDim) + 3 * 4 * (c.dModel + c.dFF)
        XCTAssertEqual(t.trainableParameterCount, c.layers * perLayer)
        let (_, grads) = try t.gradients([fx.ids], masks: [fx.mask])
        XCTAssertEqual(Set(grads.keys), Set(t.trainableNames))
        // With B = 0 the gradient reaches B only (dL/dA = scale * B^T ... = 0).
        XCTAssertGreaterThan(try grads["blk.0.attn_q.lora_b"]!.abs().max().item(), 0)
        XCTAssertEqual(try grads["blk.0.attn_q.lora_a"]!.abs().max().item(), 0)
        for name in t.weightNames {
            let w = try XCTUnwrap(t.parameter(name))
            XCTAssertFalse(w.requiresGrad, "base weight \(name) is frozen")
            XCTAssertNil(w.grad, "base weight \(name) got a gradient")
        }
        // Training moves the adapters and lowers the loss.
        var losses: [Float] = []
        for _ in 0..<4 { losses.append(try t.step([fx.ids], masks: [fx.mask], lr: 2e-2)) }
        XCTAssertLessThan(losses[3], losses[0])
        let adapted = try noGradLogits(t, fx.ids)
        XCTAssertGreaterThan(relativeError(adapted, before), 1e-3, "the adapters changed the model")
        // Merging folds W + alpha/r B A into the weights: same function, no adapters left, nothing to train.
        try t.merge()
        XCTAssertNil(t.lora)
        XCTAssertTrue(t.trainableNames.isEmpty)
        XCTAssertLessThan(relativeError(try noGradLogits(t, fx.ids), adapted), 1e-5)
        XCTAssertThrowsError(try t.step([fx.ids], lr: 1e-3)) {
            guard case .nothingToTrain = $0 as? TrainingError else { return XCTFail("\($0)") }
        }
        // New adapters can be added to the merged model.
        try t.addLoRA(LoRAConfig(rank: 2, targets: [.o]))
        XCTAssertEqual(t.trainableNames.count, c.layers * 2)
    }

    func testLoRAArgumentErrors() throws {
        XCTAssertThrowsError(try LoRAConfig.targets(parsing: ["q", "query"])) {
            XCTAssertEqual($0 as? TrainingError, .unknownTarget(name: "query", valid: ["q", "k", "v", "o", "gate", "up", "down", "attn", "mlp", "all"]))
        }
        XCTAssertEqual(try LoRAConfig.targets(parsing: ["all"]), LoRAConfig.Target.allCases)
        let (_, model) = try tiny("llama")
        XCTAssertThrowsError(try TrainableModel(model, lora: LoRAConfig(rank: 0)))
        let t = try TrainableModel(model, lora: LoRAConfig())
        XCTAssertThrowsError(try t.addLoRA(LoRAConfig())) { XCTAssertTrue("\($0)".contains("already has adapters")) }
    }

    // MARK: Saving

    func temporary(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-training-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    func testSavedGGUFReloadsWithTheSameLogits() throws {
        for arch in ["llama", "qwen2", "gemma3"] {
            let (fx, model) = try tiny(arch)
            let t = try TrainableModel(model, lora: LoRAConfig(rank: 2, targets: [.q, .v, .down]))
            for _ in 0..<2 { try t.step([fx.ids], lr: 2e-2) }
            let expected = try noGradLogits(t, fx.ids)
            let path = temporary("\(arch).gguf")
            try t.save(gguf: path)
            let back = try LanguageModel.load(path: path)
            XCTAssertEqual(back.config, model.config)
            XCTAssertEqual(back.file.stringArray("tokenizer.ggml.tokens"), model.file.stringArray("tokenizer.ggml.tokens"))
            XCTAssertEqual(back.file.int("general.file_type"), 0)
            XCTAssertEqual(back.file.tensors.map(\.name), model.file.tensors.map(\.name))
            let err = relativeError(try back.logits(fx.ids), expected)
            XCTAssertLessThan(err, 1e-5, "\(arch): reloaded GGUF vs trained model")
            // F16 matrices (vectors stay F32): the same model to F16 rounding.
            let half = temporary("\(arch)-f16.gguf")
            try t.save(gguf: half, type: .f16)
            let h = try LanguageModel.load(path: half)
            XCTAssertEqual(h.file.tensor(named: "blk.0.attn_q.weight")?.type, .f16)
            XCTAssertEqual(h.file.tensor(named: "blk.0.attn_norm.weight")?.type, .f32)
            XCTAssertLessThan(relativeError(try h.logits(fx.ids), expected), 1e-2)
            // A reloaded file trains on: its autograd forward equals the trained model's.
            XCTAssertLessThan(relativeError(try noGradLogits(try TrainableModel(back), fx.ids), expected), 1e-5)
        }
        XCTAssertThrowsError(try TrainableModel(try tiny("llama").1).save(gguf: temporary("x.gguf"), type: .q8_0))
    }

    func testPEFTAdaptersRebuildTheMergedWeightsAndLoadBack() throws {
        // Saved adapters, applied to the base in transformers' layout (W + alpha/r B A), give the merged weights
        // that save(safetensors:) writes; llama's q rows are the permuted case.
        let (fx, model) = try tiny("llama")
        let t = try TrainableModel(model, lora: LoRAConfig(rank: 2, alpha: 6, targets: [.q, .down]))
        for _ in 0..<2 { try t.step([fx.ids], lr: 2e-2) }
        let (peft, merged, base) = (temporary("peft"), temporary("peft-merged"), temporary("peft-base"))
        try t.save(peft: peft)
        try t.save(safetensors: merged)
        try TrainableModel(model).save(safetensors: base)
        let adapters = try SafetensorsFile(path: peft + "/adapter_model.safetensors")
        XCTAssertEqual(adapters.tensors.count, model.config.layers * 2 * 2)
        let m = try SafetensorsFile(path: merged + "/model.safetensors"), b = try SafetensorsFile(path: base + "/model.safetensors")
        for module in ["model.layers.0.self_attn.q_proj", "model.layers.1.mlp.down_proj"] {
            let a = try adapters.tensorF32(named: "base_model.model.\(module).lora_A.weight")
            let bb = try adapters.tensorF32(named: "base_model.model.\(module).lora_B.weight")
            let rebuilt = try b.tensorF32(named: module + ".weight") + bb.matmul(a) * 3
            XCTAssertLessThan(relativeError(rebuilt, try m.tensorF32(named: module + ".weight")), 1e-6, module)
        }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: peft + "/adapter_config.json"))) as? [String: Any]
        XCTAssertEqual(config?["r"] as? Int, 2)
        XCTAssertEqual(config?["lora_alpha"] as? Double, 6)
        XCTAssertEqual(config?["target_modules"] as? [String], ["q_proj", "down_proj"])
        XCTAssertThrowsError(try TrainableModel(model).save(peft: temporary("no-adapters")))

        // Loading the folder onto a fresh copy of the base gives the same model (llama's q rows permuted back).
        let loaded = try TrainableModel(model)
        try loaded.loadLoRA(peft: peft)
        XCTAssertEqual(loaded.lora?.rank, 2)
        XCTAssertEqual(loaded.lora?.alpha, 6)
        XCTAssertEqual(loaded.lora?.targets, [.q, .down])
        XCTAssertLessThan(relativeError(try noGradLogits(loaded, fx.ids), try noGradLogits(t, fx.ids)), 1e-6)
        XCTAssertEqual(loaded.trainableNames, t.trainableNames)
        // What Loupe does not compute is refused, with the file named.
        var json = config!
        json["use_rslora"] = true
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: peft + "/adapter_config.json"))
        XCTAssertThrowsError(try TrainableModel(model).loadLoRA(peft: peft)) {
            XCTAssertTrue("\($0)".contains("use_rslora is set"), "\($0)")
            XCTAssertTrue("\($0)".contains("adapter_config.json"), "\($0)")
        }
        json["use_rslora"] = false
        json["r"] = 3
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: peft + "/adapter_config.json"))
        XCTAssertThrowsError(try TrainableModel(model).loadLoRA(peft: peft)) {
            XCTAssertTrue("\($0)".contains("the model needs [3, 16]"), "\($0)")
        }
    }

    func testSafetensorsUseHuggingFaceNamesAndLayout() throws {
        for arch in ["llama", "qwen2", "qwen3", "gemma3"] {
            let (_, model) = try tiny(arch)
            let t = try TrainableModel(model)
            let dir = temporary("hf-\(arch)")
            try t.save(safetensors: dir)
            let st = try SafetensorsFile(path: dir + "/model.safetensors")
            let c = model.config
            XCTAssertEqual(st.tensors.count, t.weightNames.count)
            let q = try st.tensorF32(named: "model.layers.1.self_attn.q_proj.weight")
            let k = try st.tensorF32(named: "model.layers.1.self_attn.k_proj.weight")
            let gq = try XCTUnwrap(t.parameter("blk.1.attn_q.weight")), gk = try XCTUnwrap(t.parameter("blk.1.attn_k.weight"))
            if arch == "llama" {
                // llama.cpp's converter: permute(w) = w.reshape(heads, 2, hd/2, in).swapaxes(1, 2).reshape(w.shape).
                func permute(_ w: Tensor, _ heads: Int) throws -> Tensor {
                    try w.reshape([heads, 2, c.headDim / 2, c.dModel]).permute([0, 2, 1, 3]).reshape(w.shape)
                }
                XCTAssertEqual(try permute(q, c.heads).scalars, gq.scalars)
                XCTAssertEqual(try permute(k, c.kvHeads).scalars, gk.scalars)
                XCTAssertNotEqual(q.scalars, gq.scalars)
            } else {
                XCTAssertEqual(q.scalars, gq.scalars)
                XCTAssertEqual(k.scalars, gk.scalars)
            }
            // Norms: transformers' Gemma multiplies by 1 + w, GGUF stores the sum.
            let shift: Float = arch == "gemma3" ? 1 : 0
            let ffnNorm = arch == "gemma3" ? "pre_feedforward_layernorm" : "post_attention_layernorm"
            XCTAssertEqual(try (st.tensorF32(named: "model.layers.0.\(ffnNorm).weight") + shift).scalars,
                           t.parameter("blk.0.ffn_norm.weight")!.scalars)
            XCTAssertEqual(try st.tensorF32(named: "model.embed_tokens.weight").scalars, t.parameter("token_embd.weight")!.scalars)
            XCTAssertEqual(st.tensor(named: "lm_head.weight") != nil, !c.tiedEmbeddings)
            let hf = try HFConfig(path: dir + "/config.json")
            XCTAssertEqual(hf.modelType, ["llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "gemma3": "gemma3_text"][arch])
            if arch == "qwen2" {
                XCTAssertEqual(try st.tensorF32(named: "model.layers.1.self_attn.k_proj.bias").scalars, t.parameter("blk.1.attn_k.bias")!.scalars)
            }
            XCTAssertEqual(hf.numHiddenLayers, c.layers)
            XCTAssertEqual(hf.numKeyValueHeads, c.kvHeads)
            XCTAssertEqual(hf.headDim, c.headDim)
            XCTAssertEqual(hf.ropeTheta, c.ropeBase)
            XCTAssertEqual(hf.tieWordEmbeddings, c.tiedEmbeddings)
            if arch == "gemma3" {
                XCTAssertEqual(hf.slidingWindow, 4)
                XCTAssertEqual(hf.layerTypes ?? [], ["sliding_attention", "full_attention"])
            }
        }
    }
}
