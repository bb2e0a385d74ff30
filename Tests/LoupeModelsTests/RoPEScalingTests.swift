import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// Llama 3.1 / 3.2 "llama3" RoPE scaling against Tests/Fixtures/make_rope_llama3.py: the per-pair frequencies of
/// transformers' `_compute_llama3_parameters` (config.json path), and llama.cpp's logits on a tiny random llama GGUF
/// carrying `rope_freqs.weight` (GGUF path), also loaded as the same weights in a Hugging Face folder.
final class RoPEScalingTests: XCTestCase {
    struct Frequencies: Decodable {
        struct Config: Decodable {
            let name: String
            let rope_theta: Double
            let head_dim: Int
            let inv_freq: [Double]
            let default_inv_freq: [Double]
        }
        let reference: String
        let configs: [Config]
    }

    func json<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
                                "fixture \(name).json is missing")
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    /// rope_llama3.json's configs as raw JSON, for their rope_scaling dictionaries (numbers and strings mixed).
    func rawConfigs() throws -> [[String: Any]] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "rope_llama3", withExtension: "json", subdirectory: "Fixtures"))
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        return try XCTUnwrap(obj["configs"] as? [[String: Any]])
    }

    /// A fresh folder holding config.json with `fields`; returns config.json's path.
    func configFile(_ fields: [String: Any]) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-rope-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("config.json").path
        try JSONSerialization.data(withJSONObject: fields).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A llama config.json for a rope configuration of the fixture (sizes only matter through head_dim).
    func llamaConfig(theta: Double, headDim: Int, scaling: [String: Any]?) -> [String: Any] {
        var c: [String: Any] = [
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": headDim * 4,
            "num_attention_heads": 4, "num_key_value_heads": 4, "head_dim": headDim, "intermediate_size": 8,
            "num_hidden_layers": 1, "vocab_size": 8, "max_position_embeddings": 131_072, "rope_theta": theta,
        ]
        if let scaling { c["rope_scaling"] = scaling }
        return c
    }

    /// A fixture's Hugging Face folder (base64 files in a JSON) unpacked into a temporary folder.
    func hfFolder(_ fixture: String) throws -> URL {
        let url = try XCTUnwrap(Bundle.module.url(forResource: fixture, withExtension: "json", subdirectory: "Fixtures"))
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let files = try XCTUnwrap(obj["files"] as? [String: String])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-\(fixture)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for (name, b64) in files { try XCTUnwrap(Data(base64Encoded: b64)).write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    /// `m` against llama.cpp's numbers, and `plain` (the same weights without the scaling) far from them: the
    /// prompts reach positions where the scaling matters, so the test sees it.
    func checkScaling(_ m: LanguageModel, plain: LanguageModel, _ fx: LogitsTests.Fixture, _ what: String) throws {
        let worst = try check(m, fx)
        let without = try check(plain, fx, assert: false)
        print("\(what): max |Δ log-softmax| over the top-50 = \(String(format: "%.5f", worst)) (\(fx.reference)); "
              + "without the scaling \(String(format: "%.3f", without))")
        XCTAssertGreaterThan(without, 20 * LogitsTests.tolerance, "\(what): the prompts do not show the scaling")
    }

    /// `m` with its configuration edited: the same weights and tokenizer.
    func edited(_ m: LanguageModel, _ edit: (inout ModelConfig) -> Void) -> LanguageModel {
        var c = m.config
        edit(&c)
        return LanguageModel(path: m.path, file: m.file, config: c, tokenizer: m.tokenizer, embedding: m.embedding,
                             output: m.output, outputNorm: m.outputNorm, blocks: m.blocks)
    }

    func maxRelative(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) / abs($1) }.max() ?? .infinity
    }

    /// The frequencies of a configuration's global RoPE table, as the forward pass builds it.
    func frequencies(_ c: ModelConfig) -> [Double] {
        RoPETable.frequencies(base: c.ropeBase, scale: c.ropeScale, dims: c.ropeDims, factors: c.ropeFreqFactors)
    }

    func testLlama3FrequenciesMatchTransformers() throws {
        let fx = try json("rope_llama3", as: Frequencies.self)
        let raw = try rawConfigs()
        XCTAssertEqual(fx.configs.count, 3)
        for (ref, obj) in zip(fx.configs, raw) {
            let scaling = try XCTUnwrap(obj["rope_scaling"] as? [String: Any])
            let path = try configFile(llamaConfig(theta: ref.rope_theta, headDim: ref.head_dim, scaling: scaling))
            let c = try HFCheckpoint.modelConfig(try HFConfig(path: path))
            let factors = try XCTUnwrap(c.ropeFreqFactors, ref.name)
            XCTAssertEqual(factors.count, ref.head_dim / 2)
            let err = maxRelative(frequencies(c), ref.inv_freq)
            print("\(ref.name): max relative |Loupe inv_freq - transformers| = \(err) (\(fx.reference))")
            XCTAssertLessThan(err, 1e-6, ref.name)
            // The scaling is not a no-op on these configs: the slowest pair is divided by the whole factor.
            XCTAssertEqual(factors.last!, scaling["factor"] as! Double, ref.name)
            // The same config without rope_scaling gives transformers' plain frequencies and no factors.
            let plainPath = try configFile(llamaConfig(theta: ref.rope_theta, headDim: ref.head_dim, scaling: nil))
            let plain = try HFCheckpoint.modelConfig(try HFConfig(path: plainPath))
            XCTAssertNil(plain.ropeFreqFactors)
            XCTAssertLessThan(maxRelative(frequencies(plain), ref.default_inv_freq), 1e-6, ref.name)
        }
    }

    func testLlama3ScalingErrorsNameTheField() throws {
        let good: [String: Any] = ["rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                   "original_max_position_embeddings": 8192]
        let cases: [(String, [String: Any])] = [
            ("rope_scaling.low_freq_factor", good.filter { $0.key != "low_freq_factor" }),
            ("rope_scaling.original_max_position_embeddings", good.filter { $0.key != "original_max_position_embeddings" }),
            ("rope_scaling.factor", good.merging(["factor": "eight"]) { $1 }),
            ("rope_scaling.factor", good.merging(["factor": -2.0]) { $1 }),
            ("rope_scaling.high_freq_factor", good.merging(["high_freq_factor": 1.0]) { $1 }),
            ("rope_scaling.rope_type", good.merging(["rope_type": "longrope"]) { $1 }),
        ]
        for (field, scaling) in cases {
            let path = try configFile(llamaConfig(theta: 500_000, headDim: 64, scaling: scaling))
            XCTAssertThrowsError(try HFCheckpoint.modelConfig(try HFConfig(path: path))) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains(field) && text.contains(path), "expected \(field) in: \(text)")
            }
        }
    }

    // MARK: - Logits: GGUF with rope_freqs.weight, and the same weights as a Hugging Face folder

    static func llama3GGUF() throws -> LanguageModel { try TestModels.model(try TestModels.fixture("random_llama3.gguf")) }

    /// Max |Δ log-softmax| over the reference's top 50 at every position (failing above LogitsTests' tolerance), and
    /// the greedy continuations through the KV cache up to the first near-tie.
    @discardableResult
    func check(_ model: LanguageModel, _ fx: LogitsTests.Fixture, assert: Bool = true) throws -> Double {
        var worst = 0.0
        var greedyCompared = 0
        for (pi, p) in fx.prompts.enumerated() {
            let logits = try model.logits(p.ids)
            let v = model.config.vocab
            logits.withUnsafeBufferPointer { all in
                for t in 0..<p.ids.count {
                    let lp = logSoftmax(UnsafeBufferPointer(rebasing: all[(t * v)..<((t + 1) * v)]))
                    for (id, ref) in zip(p.top_ids[t], p.top_logprobs[t]) { worst = max(worst, abs(lp[id] - ref)) }
                }
            }
            guard assert else { continue }
            XCTAssertLessThan(worst, LogitsTests.tolerance, "prompt \(pi) (\(p.ids.count) tokens)")
            let s = model.makeSession()
            var next = try s.prefill(p.ids)
            for (i, expected) in p.greedy.enumerated() {
                if p.greedy_gaps[i] < LogitsTests.nearTie { break }  // a near-tie: either choice is right, stop here
                let got = next.withUnsafeBufferPointer { Sampler.argmax($0) }
                XCTAssertEqual(got, expected, "prompt \(pi) greedy step \(i)")
                if got != expected { break }
                greedyCompared += 1
                next = try s.step(got)
            }
        }
        if assert { XCTAssertGreaterThan(greedyCompared, fx.prompts.count, "too few greedy steps compared") }
        return worst
    }

    func logitsFixture() throws -> LogitsTests.Fixture { try json("logits_llama3", as: LogitsTests.Fixture.self) }

    func testGGUFReadsRopeFreqs() throws {
        let c = try Self.llama3GGUF().config
        let fx = try json("rope_llama3", as: Frequencies.self)
        let tiny = try XCTUnwrap(fx.configs.first { $0.name == "tiny" })
        XCTAssertEqual(c.architecture, .llama)
        XCTAssertEqual(c.ropeBase, tiny.rope_theta)
        let factors = try XCTUnwrap(c.ropeFreqFactors, "rope_freqs.weight was not read")
        XCTAssertEqual(factors.count, 8)
        XCTAssertLessThan(maxRelative(frequencies(c), tiny.inv_freq), 1e-6)
    }

    func testRandomLlama3GGUFMatchesLlamaCpp() throws {
        let m = try Self.llama3GGUF()
        try checkScaling(m, plain: edited(m) { $0.ropeFreqFactors = nil }, try logitsFixture(), "random-llama3 GGUF")
    }

    func testHFFolderLlama3MatchesLlamaCpp() throws {
        let dir = try hfFolder("hf_checkpoint_llama3")

        let m = try LanguageModel.load(huggingFace: dir.path)
        let hfFactors = try XCTUnwrap(m.config.ropeFreqFactors)
        let ggufFactors = try XCTUnwrap(try Self.llama3GGUF().config.ropeFreqFactors)
        XCTAssertLessThan(maxRelative(hfFactors, ggufFactors), 1e-6, "config.json factors vs the GGUF's rope_freqs.weight")
        // The converter's tensor travels in the checkpoint's GGUF metadata (for a `train` export).
        XCTAssertNotNil(m.file.tensor(named: "rope_freqs.weight"))
        let worst = try check(m, try logitsFixture())
        print("random-llama3 HF folder: max |Δ log-softmax| over the top-50 = \(String(format: "%.5f", worst))")

        // Kept from config.json, the four parameters go back into the config.json of a safetensors export, and the
        // exported folder loads to the same model.
        XCTAssertEqual(m.config.llama3RoPEScaling?.originalContext,
                       ((try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json")))
                         as? [String: Any])["rope_scaling"] as? [String: Any])?["original_max_position_embeddings"] as? Int))
        let out = dir.appendingPathComponent("exported")
        try TrainableModel(m).save(safetensors: out.path)
        let written = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json")))
                                    as? [String: Any])
        let rs = try XCTUnwrap(written["rope_scaling"] as? [String: Any])
        XCTAssertEqual(rs["rope_type"] as? String, "llama3")
        let back = try LanguageModel.load(huggingFace: out.path)
        XCTAssertEqual(back.config.llama3RoPEScaling, m.config.llama3RoPEScaling)
        XCTAssertEqual(back.config.ropeFreqFactors, m.config.ropeFreqFactors)
        let ids = (0..<96).map { ($0 * 37 + 11) % 200 + 5 }
        let a = try m.logits(ids).scalars, b = try back.logits(ids).scalars
        XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max()!, 1e-4 * (a.map(abs).max()! + 1), "exported logits")
    }

    func testRopeFreqsOfWrongLengthNamesTheTensor() throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: try TestModels.fixture("random_llama3.gguf")))
        // Tensor info: name, n_dims (u32 = 1), ne[0] (u64 = 8), type, offset. Claim 6 factors instead of 8.
        let name = try XCTUnwrap(data.range(of: Data("rope_freqs.weight".utf8)))
        let ne0 = name.upperBound + 4
        XCTAssertEqual(data[ne0], 8)
        data[ne0] = 6
        let path = NSTemporaryDirectory() + "loupe-rope-\(UUID().uuidString).gguf"
        try data.write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try LanguageModel.load(path: path)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("rope_freqs.weight") && text.contains("[8]") && text.contains(path), text)
        }
    }
}

extension RoPEScalingTests {
    /// Training runs the same llama3-scaled RoPE as inference: the autograd forward of the random llama3 GGUF gives
    /// the engine's logits over a prompt long enough for the scaling to matter, and without the factors it would not.
    func testTrainableModelAppliesLlama3Factors() throws {
        let m = try Self.llama3GGUF()
        let ids = (0..<96).map { ($0 * 37 + 11) % 200 + 5 }
        let engine = try m.logits(ids)
        let trained = try Autograd.noGrad { try TrainableModel(m).logits(ids) }
        XCTAssertEqual(trained.shape, engine.shape)
        func relative(_ a: Tensor, _ b: Tensor) -> Double {
            let x = a.scalars, y = b.scalars
            let scale = Double(y.map { abs($0) }.max() ?? 1)
            return zip(x, y).map { Double(abs($0 - $1)) }.max()! / scale
        }
        XCTAssertLessThan(relative(trained, engine), 1e-4, "autograd logits vs inference engine (llama3 RoPE)")
        let plain = edited(m) { $0.ropeFreqFactors = nil }
        let unscaled = try Autograd.noGrad { try TrainableModel(plain).logits(ids) }
        XCTAssertGreaterThan(relative(unscaled, engine), 1e-2, "the prompt does not reach positions where scaling matters")

        // Saved as GGUF the factors survive; config.json cannot state them, so that save refuses clearly.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-llama3-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let t = try TrainableModel(m)
        try t.save(gguf: dir.appendingPathComponent("m.gguf").path)
        let back = try LanguageModel.load(path: dir.appendingPathComponent("m.gguf").path)
        XCTAssertEqual(back.config.ropeFreqFactors?.count, m.config.ropeFreqFactors?.count)
        XCTAssertEqual(try back.logits(ids).scalars, engine.scalars)
        XCTAssertThrowsError(try t.save(safetensors: dir.appendingPathComponent("hf").path)) { e in
            XCTAssertTrue("\(e)".contains("save it as GGUF"), "\(e)")
        }
    }

    // MARK: - YaRN (Tests/Fixtures/make_rope_yarn.py)

    struct YaRNFrequencies: Decodable {
        struct Config: Decodable {
            let name: String
            let rope_theta: Double
            let head_dim: Int
            let max_position_embeddings: Int
            let inv_freq: [Double]
            let attention_factor: Double
        }
        let reference: String
        let configs: [Config]
    }

    /// The same YaRN parameters; the cos/sin factor to float rounding (GGUF stores its part of it as float32).
    func sameYaRN(_ a: YaRNRoPEScaling?, _ b: YaRNRoPEScaling?, _ what: String) throws {
        let a = try XCTUnwrap(a, what), b = try XCTUnwrap(b, what)
        XCTAssertEqual(a.factor, b.factor, what)
        XCTAssertEqual(a.originalContext, b.originalContext, what)
        XCTAssertEqual(a.betaFast, b.betaFast, what)
        XCTAssertEqual(a.betaSlow, b.betaSlow, what)
        XCTAssertEqual(a.magnitude, b.magnitude, accuracy: 1e-7 * b.magnitude, what)
    }

    static func yarnGGUF() throws -> LanguageModel { try TestModels.model(try TestModels.fixture("random_yarn.gguf")) }

    /// config.json's "yarn" rope_scaling gives transformers' frequencies and cos/sin factor for four configurations
    /// (Qwen2.5-7B-Instruct-1M's, Qwen3's 131k one, one with explicit betas and attention factor, the tiny model's).
    func testYaRNFrequenciesMatchTransformers() throws {
        let fx = try json("rope_yarn", as: YaRNFrequencies.self)
        let url = try XCTUnwrap(Bundle.module.url(forResource: "rope_yarn", withExtension: "json", subdirectory: "Fixtures"))
        let raw = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])?["configs"]
                                as? [[String: Any]])
        XCTAssertEqual(fx.configs.count, 4)
        for (ref, obj) in zip(fx.configs, raw) {
            let scaling = try XCTUnwrap(obj["rope_scaling"] as? [String: Any])
            var fields = llamaConfig(theta: ref.rope_theta, headDim: ref.head_dim, scaling: scaling)
            fields["max_position_embeddings"] = ref.max_position_embeddings
            let c = try HFCheckpoint.modelConfig(try HFConfig(path: try configFile(fields)))
            let y = try XCTUnwrap(c.yarnRoPE, ref.name)
            XCTAssertNil(c.ropeFreqFactors, "YaRN is not stored as llama3 factors")
            let freqs = RoPETable.frequencies(base: c.ropeBase, scale: c.ropeScale, dims: c.ropeDims,
                                              factors: c.ropePairDivisors)
            let err = maxRelative(freqs, ref.inv_freq)
            print("\(ref.name): max relative |Loupe inv_freq - transformers| = \(err), cos/sin factor \(y.magnitude) (\(fx.reference))")
            XCTAssertLessThan(err, 1e-6, ref.name)
            XCTAssertEqual(c.ropeMagnitude, ref.attention_factor, accuracy: 1e-9, ref.name)
            // Not a no-op: the slowest pair is divided by the whole factor, the fastest keeps its frequency.
            let divisors = try XCTUnwrap(c.ropePairDivisors)
            XCTAssertEqual(divisors.last!, scaling["factor"] as! Double, accuracy: 1e-12, ref.name)
            XCTAssertEqual(divisors.first!, 1, ref.name)
        }
    }

    /// A GGUF file with `rope.scaling.type = yarn` (as the converter writes it) against llama.cpp on the same file.
    func testRandomYaRNGGUFMatchesLlamaCpp() throws {
        let m = try Self.yarnGGUF()
        let y = try XCTUnwrap(m.config.yarnRoPE)
        XCTAssertEqual(y, YaRNRoPEScaling(factor: 8, originalContext: 64))
        try checkScaling(m, plain: edited(m) { $0.yarnRoPE = nil }, try json("logits_yarn", as: LogitsTests.Fixture.self),
                         "random-yarn GGUF")
    }

    /// The same weights as a Hugging Face folder with the "yarn" rope_scaling: the same scaling as the GGUF file,
    /// the same llama.cpp numbers; the autograd forward applies it too; exports (safetensors and GGUF) keep it.
    func testHFFolderYaRNMatchesLlamaCppAndExports() throws {
        let dir = try hfFolder("hf_checkpoint_yarn")

        let m = try LanguageModel.load(huggingFace: dir.path)
        try sameYaRN(m.config.yarnRoPE, try Self.yarnGGUF().config.yarnRoPE, "HF folder vs GGUF file")
        let fx = try json("logits_yarn", as: LogitsTests.Fixture.self)
        let worst = try check(m, fx)
        print("random-yarn HF folder: max |Δ log-softmax| over the top-50 = \(String(format: "%.5f", worst))")

        let ids = (0..<96).map { ($0 * 37 + 11) % 200 + 5 }
        let engine = try m.logits(ids).scalars
        func close(_ a: [Float], _ what: String) {
            let scale = engine.map(abs).max()! + 1
            XCTAssertLessThan(zip(a, engine).map { abs($0 - $1) }.max()!, 1e-4 * scale, what)
        }
        let t = try TrainableModel(m)
        close(try Autograd.noGrad { try t.logits(ids) }.scalars, "autograd logits vs inference engine (YaRN)")

        let hf = dir.appendingPathComponent("exported-hf"), gguf = dir.appendingPathComponent("exported.gguf")
        try t.save(safetensors: hf.path)
        let rs = try XCTUnwrap((JSONSerialization.jsonObject(with: Data(contentsOf: hf.appendingPathComponent("config.json")))
                                as? [String: Any])?["rope_scaling"] as? [String: Any])
        XCTAssertEqual(rs["rope_type"] as? String, "yarn")
        let backHF = try LanguageModel.load(huggingFace: hf.path)
        try sameYaRN(backHF.config.yarnRoPE, m.config.yarnRoPE, "safetensors export")
        close(try backHF.logits(ids).scalars, "safetensors export")
        try t.save(gguf: gguf.path)
        let backGGUF = try LanguageModel.load(path: gguf.path)
        try sameYaRN(backGGUF.config.yarnRoPE, m.config.yarnRoPE, "GGUF export")
        close(try backGGUF.logits(ids).scalars, "GGUF export")
    }

    /// Scaling Loupe does not run is refused by name, never ignored: other GGUF scaling types, DeepSeek's YaRN log
    /// multiplier, a YaRN without its factor; config.json's truncate: false and a YaRN without a factor.
    func testUnsupportedScalingIsRefusedByName() throws {
        let source = try GGUFFile(path: try TestModels.fixture("random_yarn.gguf"))
        let cases: [(String, (GGUFWriter) -> Void)] = [
            ("llama.rope.scaling.type", { $0.set("llama.rope.scaling.type", .string("longrope")) }),
            ("llama.rope.scaling.yarn_log_multiplier", { $0.set("llama.rope.scaling.yarn_log_multiplier", .float32(0.1)) }),
            ("llama.rope.scaling.yarn_ext_factor", { $0.set("llama.rope.scaling.yarn_ext_factor", .float32(0.5)) }),
        ]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-yarn-bad-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for (i, (field, edit)) in cases.enumerated() {
            let w = try GGUFWriter(copying: source)
            edit(w)
            let path = dir.appendingPathComponent("bad\(i).gguf").path
            try w.write(to: path)
            XCTAssertThrowsError(try LanguageModel.load(path: path)) { e in
                XCTAssertTrue("\(e)".contains(field) && "\(e)".contains(path), "expected \(field) in: \(e)")
            }
        }
        let yarn: [String: Any] = ["rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 4096]
        for (field, scaling) in [("rope_scaling.truncate", yarn.merging(["truncate": false]) { $1 }),
                                 ("rope_scaling.factor", yarn.filter { $0.key != "factor" }),
                                 ("rope_scaling.factor", yarn.merging(["factor": 0.5]) { $1 })] {
            let path = try configFile(llamaConfig(theta: 1e6, headDim: 64, scaling: scaling))
            XCTAssertThrowsError(try HFCheckpoint.modelConfig(try HFConfig(path: path))) { e in
                XCTAssertTrue("\(e)".contains(field) && "\(e)".contains(path), "expected \(field) in: \(e)")
            }
        }
    }
}
