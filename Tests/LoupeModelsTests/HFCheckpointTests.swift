import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// Hugging Face decoder checkpoints (HFCheckpoint.swift) against the float64 reference of
/// Tests/Fixtures/make_hf_checkpoint_fixture.py (transformers' modeling code in numpy; its llama forward agrees
/// with transformers' FlaxLlamaForCausalLM to 1e-5), and a real model exported by `train` and loaded back.
final class HFCheckpointTests: XCTestCase {
    struct Fixture: Decodable {
        let files: [String: String]
        let architecture: String
        let dtype: String
        let ids: [Int]
        let logits: [[Double]]
        let tokenizer_text: String?
        let tokenizer_ids: [Int]?
    }

    static let lock = NSLock()

    /// Unwraps fixture `name` (hf_checkpoint_NAME.json) into a fresh folder; returns the folder and the numbers.
    func checkpoint(_ name: String) throws -> (dir: URL, fixture: Fixture) {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "hf_checkpoint_\(name)", withExtension: "json",
                                                  subdirectory: "Fixtures"), "fixture hf_checkpoint_\(name).json is missing")
        let f = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("loupe-hf-\(getpid())-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (file, b64) in f.files {
            try XCTUnwrap(Data(base64Encoded: b64)).write(to: dir.appendingPathComponent(file))
        }
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return (dir, f)
    }

    func maxAbsDiff(_ t: Tensor, _ ref: [[Double]]) throws -> Double {
        XCTAssertEqual(t.shape, [ref.count, ref[0].count])
        let a = t.scalars
        var worst = 0.0
        for (i, row) in ref.enumerated() { for (j, r) in row.enumerated() { worst = max(worst, abs(Double(a[i * row.count + j]) - r)) } }
        return worst
    }

    func checkLogits(_ name: String, weightType: GGMLType) throws -> LanguageModel {
        let (dir, f) = try checkpoint(name)
        let m = try LanguageModel.load(path: dir.path)
        XCTAssertEqual(m.config.architecture.rawValue, f.architecture)
        XCTAssertEqual(m.blocks[0].wq.type, weightType, "\(name): matrices keep the checkpoint's \(f.dtype)")
        let err = try maxAbsDiff(try m.logits(f.ids), f.logits)
        print("hf_checkpoint_\(name) (\(f.dtype)): max |logit - reference| = \(err)")
        XCTAssertLessThan(err, 1e-4, name)
        // The cached decode path (prefill, then single steps) gives the same last-position logits.
        let s = m.makeSession()
        _ = try s.prefill(Array(f.ids.prefix(4)))
        var last = Tensor([Float]())
        for id in f.ids.dropFirst(4) { last = try s.step(id) }
        let stepErr = try maxAbsDiff(try last.reshape([1, m.config.vocab]), [f.logits.last!])
        XCTAssertLessThan(stepErr, 1e-4, "\(name): decode steps")
        return m
    }

    func testLlamaF32MatchesReference() throws {
        let m = try checkLogits("llama", weightType: .f32)
        XCTAssertFalse(m.config.tiedEmbeddings)
        XCTAssertEqual(m.config.ropeStyle, .adjacentPairs, "q/k rows are permuted into GGUF's layout")
    }

    func testQwen2F16TiedLinearRopeScalingMatchesReference() throws {
        let m = try checkLogits("qwen2", weightType: .f16)
        XCTAssertTrue(m.config.tiedEmbeddings)
        XCTAssertEqual(m.config.ropeScale, 2)
        XCTAssertNotNil(m.blocks[0].bq)
    }

    func testQwen3BF16ShardedMatchesReference() throws {
        let m = try checkLogits("qwen3", weightType: .bf16)
        XCTAssertEqual(m.config.headDim, 12)
    }

    func testGemma3MatchesReference() throws {
        let m = try checkLogits("gemma3", weightType: .f32)
        XCTAssertEqual(m.config.slidingLayers, [true, false])
        XCTAssertEqual(m.config.slidingWindow, 3)
        XCTAssertEqual(m.config.ropeBaseLocal, 10_000)
    }

    /// With a sliding window of 3, the plain attention path and the hooked path (full score rows) give the same
    /// bits, from one tile of the batched path to several with a partial last one.
    func testGemma3SlidingWindowPlainAndHookedPathsAgree() throws {
        let (dir, f) = try checkpoint("gemma3")
        let m = try LanguageModel.load(path: dir.path)
        XCTAssertEqual(m.config.slidingWindow, 3)
        // Up to 64 tokens (the context): two tiles of the batched path, and a partial second one.
        let long = (0..<64).map { f.ids[$0 % f.ids.count] }
        for n in [4, 7, f.ids.count, 33, 50, 64] {
            let ids = Array(long.prefix(n))
            let plain = try m.logits(ids)
            let hooked = try m.forward(ids: ids, interventions: ["blocks.*.attn.hook_pattern": .apply { $0 }])
            XCTAssertEqual(hooked.logits.scalars.map(\.bitPattern), plain.scalars.map(\.bitPattern), "\(n) tokens")
        }
    }

    func testGemma3ConditionalGenerationTextPartMatchesReference() throws {
        _ = try checkLogits("gemma3_mm", weightType: .f32)
    }

    /// tokenizer.json ids agree with PyPI tokenizers; tokenizer_config.json's BOS, EOS, add_bos_token and chat
    /// template reach the tokenizer and the model's metadata (what `generate` reads).
    func testTokenizerAndChatTemplate() throws {
        let (dir, f) = try checkpoint("llama")
        let m = try LanguageModel.load(huggingFace: dir.path)
        let t = try XCTUnwrap(m.tokenizer)
        XCTAssertEqual(t.encode(try XCTUnwrap(f.tokenizer_text)), f.tokenizer_ids)
        XCTAssertEqual(t.bos, 1)
        XCTAssertEqual(t.eos, 4)
        XCTAssertTrue(t.addsBOS)
        XCTAssertEqual(m.file.bool("tokenizer.ggml.add_bos_token"), true)
        let chat = try XCTUnwrap(t.chatTemplate).render(messages: [["role": "user", "content": "hi"]],
                                                         addGenerationPrompt: true)
        XCTAssertEqual(chat, "<|im_start|>user hi<|im_end|><|im_start|>assistant ")
        XCTAssertEqual(m.file.string("tokenizer.chat_template"), t.chatTemplateSource)
        XCTAssertEqual(m.file.architecture, "llama")
    }

    /// `train.model` works on a checkpoint: the trainable copy computes the same logits, and its GGUF export (a
    /// Hugging Face -> GGUF conversion) reloads with them.
    func testTrainingAndGGUFExportOfACheckpoint() throws {
        let (dir, f) = try checkpoint("qwen2")
        let m = try LanguageModel.load(huggingFace: dir.path)
        let t = try TrainableModel(m)
        XCTAssertEqual(t.weightNames.count, 1 + 2 * 12 + 1)
        let ref = try m.logits(f.ids)
        XCTAssertLessThan(try maxAbsDiff(try t.logits(f.ids), (0..<ref.shape[0]).map { i in
            (0..<ref.shape[1]).map { Double(ref.scalars[i * ref.shape[1] + $0]) } }), 1e-4)
        let gguf = dir.appendingPathComponent("converted.gguf").path
        try t.save(gguf: gguf)
        let back = try LanguageModel.load(path: gguf)
        XCTAssertEqual(back.config, m.config)
        XCTAssertLessThan(try maxAbsDiff(try back.logits(f.ids), f.logits), 1e-4)
    }

    // MARK: Errors

    func rewriteConfig(_ dir: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = dir.appendingPathComponent("config.json")
        var c = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        edit(&c)
        try JSONSerialization.data(withJSONObject: c).write(to: url)
    }

    func loadError(_ dir: URL) -> ModelFileError? {
        do { _ = try LanguageModel.load(huggingFace: dir.path); return nil } catch { return error as? ModelFileError }
    }

    func testConfigErrors() throws {
        let (dir, _) = try checkpoint("llama")
        let config = dir.appendingPathComponent("config.json").path
        try rewriteConfig(dir) { $0["architectures"] = ["MambaForCausalLM"] }
        guard case let .invalidField(path, field, message)? = loadError(dir) else { return XCTFail("no error") }
        XCTAssertEqual(path, config); XCTAssertEqual(field, "architectures")
        XCTAssertTrue(message.contains("MambaForCausalLM"), message)

        try rewriteConfig(dir) { $0["architectures"] = ["LlamaForCausalLM"]; $0["num_hidden_layers"] = nil }
        XCTAssertEqual(loadError(dir), .missing(path: config, what: "field", name: "num_hidden_layers"))

        try rewriteConfig(dir) { $0["num_hidden_layers"] = 2; $0["num_key_value_heads"] = 3 }
        guard case .invalidField(_, "num_key_value_heads", _)? = loadError(dir) else { return XCTFail("kv heads") }

        try rewriteConfig(dir) { $0["num_key_value_heads"] = 2; $0["rope_scaling"] = ["rope_type": "longrope", "factor": 8] }
        guard case .invalidField(_, "rope_scaling.rope_type", _)? = loadError(dir) else { return XCTFail("rope") }
        // llama3 scaling is supported (RoPEScalingTests); an incomplete one names the missing parameter.
        try rewriteConfig(dir) { $0["rope_scaling"] = ["rope_type": "llama3", "factor": 8] }
        XCTAssertEqual(loadError(dir), .missing(path: config, what: "field", name: "rope_scaling.low_freq_factor"))

        // Shapes that disagree with the config: the error names the shard and the tensor.
        try rewriteConfig(dir) { $0["rope_scaling"] = NSNull(); $0["intermediate_size"] = 44 }
        guard case let .badTensorShape(p, tensor, msg)? = loadError(dir) else { return XCTFail("shape") }
        XCTAssertEqual(p, dir.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(tensor, "model.layers.0.mlp.gate_proj.weight")
        XCTAssertTrue(msg.contains("[40, 32]") && msg.contains("[44, 32]"), msg)
    }

    func testTensorErrors() throws {
        let (dir, _) = try checkpoint("llama")
        let path = dir.appendingPathComponent("model.safetensors").path
        let original = try SafetensorsFile(path: path)
        func rewrite(skip: String? = nil, asF64: String? = nil) throws {
            let w = SafetensorsWriter()
            for t in original.tensors where t.name != skip {
                if t.name == asF64 {
                    let v = try original.floats(of: t).flatMap { x in withUnsafeBytes(of: Double(x)) { Array($0) } }
                    try w.add(t.name, shape: t.shape, dtype: .f64, bytes: v)
                } else {
                    try w.add(t.name, tensor: try original.tensorF32(named: t.name))
                }
            }
            try w.write(to: path + ".new")
        }
        try rewrite(skip: "model.layers.1.mlp.up_proj.weight")
        let moved = dir.appendingPathComponent("orig.bin").path
        try FileManager.default.moveItem(atPath: path, toPath: moved)
        try FileManager.default.moveItem(atPath: path + ".new", toPath: path)
        XCTAssertEqual(loadError(dir), .missing(path: path, what: "tensor", name: "model.layers.1.mlp.up_proj.weight"))

        try FileManager.default.removeItem(atPath: path)
        try rewrite(asF64: "model.layers.0.self_attn.o_proj.weight")
        try FileManager.default.moveItem(atPath: path + ".new", toPath: path)
        guard case let .unknownTensorType(p, tensor, type)? = loadError(dir) else { return XCTFail("dtype") }
        XCTAssertEqual(p, path); XCTAssertEqual(tensor, "model.layers.0.self_attn.o_proj.weight")
        XCTAssertTrue(type.hasPrefix("F64"), type)

        // No config.json: the folder is not a checkpoint.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("config.json"))
        XCTAssertEqual(loadError(dir), .missing(path: dir.path, what: "file", name: "config.json"))
        XCTAssertFalse(HFCheckpoint.isDecoder(directory: dir.path))
    }

    func testEncoderFolderIsNotADecoder() throws {
        let (dir, _) = try checkpoint("qwen3")
        XCTAssertTrue(HFCheckpoint.isDecoder(directory: dir.path))
        try rewriteConfig(dir) { $0["architectures"] = ["BertModel"]; $0["model_type"] = "bert" }
        XCTAssertFalse(HFCheckpoint.isDecoder(directory: dir.path))
    }

    // MARK: A real model

    /// SmolLM2-135M-Instruct: the GGUF model's weights exported as a Hugging Face folder by `train` (F32, q/k rows
    /// un-permuted, HF names), loaded back through this loader; logits agree with the GGUF model's.
    func testSmolLM2ExportRoundTrip() throws {
        let gguf = try TestModels.smollm()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-hf-smollm-\(getpid())")
        defer { try? FileManager.default.removeItem(at: dir) }
        try TrainableModel(gguf).save(safetensors: dir.path)
        let hf = try LanguageModel.load(huggingFace: dir.path)
        XCTAssertEqual(hf.config, gguf.config)
        let ids = [1, 504, 3458, 282, 4649, 314, 253, 1345]
        let a = try gguf.logits(ids).scalars, b = try hf.logits(ids).scalars
        var worst: Float = 0
        for i in a.indices { worst = max(worst, abs(a[i] - b[i])) }
        print("SmolLM2 GGUF vs exported safetensors: max |logit diff| = \(worst)")
        XCTAssertLessThan(worst, 2e-4)
    }
}
