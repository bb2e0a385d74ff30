import Foundation
import XCTest
import LoupeLang
import LoupeLibrary
import LoupeModels
import LoupeTensor

/// The `train` namespace through the language, on the tiny random llama of LoupeModelsTests' training fixture
/// (Tests/LoupeModelsTests/Fixtures/training_tiny_llama.gguf.json, read from the source tree). The numbers of
/// training itself (gradients, Adam against JAX) are TrainingTests' business; these tests are about the binding.
final class TrainingBuiltinsTests: XCTestCase {
    /// The tiny llama unwrapped into a temporary file once per process.
    static let modelPath: String = {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../LoupeModelsTests/Fixtures/training_tiny_llama.gguf.json").standardized
        let object = try! JSONSerialization.jsonObject(with: Data(contentsOf: fixtures)) as! [String: Any]
        let bytes = Data(base64Encoded: object["base64"] as! String)!
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-train-lang-\(getpid())")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("tiny_llama.gguf").path
        try! bytes.write(to: URL(fileURLWithPath: path))
        return path
    }()
    static var dir: String { (modelPath as NSString).deletingLastPathComponent }

    private func interpreter() throws -> Interpreter {
        let i = try Interpreter(registry: LoupeLibrary.makeRegistry())
        try i.run("""
            let m = model.load("\(Self.modelPath)")
            let ids = [5, 77, 200, 13, 99, 140, 31, 8, 250, 64, 3, 180]
            """, file: "<setup>")
        return i
    }

    private func eval(_ i: Interpreter, _ code: String) throws -> Value { try i.run(code, file: "<test>") }

    private func errorMessage(_ i: Interpreter, _ code: String) -> String {
        do {
            _ = try i.run(code, file: "<test>")
            return "no error"
        } catch let e as LoupeError {
            return e.message
        } catch {
            return "\(error)"
        }
    }

    private func double(_ v: Value) throws -> Double {
        if case let .float(d) = v { return d }
        XCTFail("expected a float, got \(v.repr)")
        return .nan
    }

    func testLoRAModelFieldsLossAndSteps() throws {
        let i = try interpreter()
        _ = try eval(i, "let t = train.model(m, lora: {rank: 2, alpha: 4, targets: [\"q\", \"v\"]})")
        // rank 2 on q [32, 16] and v [16, 16] in 2 layers: 2 * (2 * (16 + 32) + 2 * (16 + 16)).
        XCTAssertEqual(try eval(i, "t.parameters").repr, "320")
        XCTAssertEqual(try eval(i, "len(t.parameter_names)").repr, "8")
        XCTAssertEqual(try eval(i, "t.lora").repr, "{rank: 2, alpha: 4.0, targets: [\"q\", \"v\"], seed: 0}")
        XCTAssertEqual(try eval(i, "t.architecture").repr, "\"llama\"")
        XCTAssertTrue(try eval(i, "str(t)").repr.contains("LoRA rank 2 on q,v, 320 trainable parameters, 0 steps"))
        // Zero-initialized B: the logits are the loaded model's (float32 rounding of logits around 17).
        XCTAssertEqual(try eval(i, "max(abs(t.logits(ids) - m.logits(ids))) < 1e-4").repr, "true")
        XCTAssertEqual(try eval(i, "shape(t.logits(ids))").repr, "[12, 265]")
        // The loss is the Swift API's.
        let direct = try TrainableModel(path: Self.modelPath)
        let want = try Autograd.noGrad { try direct.loss([[5, 77, 200, 13, 99, 140, 31, 8, 250, 64, 3, 180]]).item() }
        XCTAssertEqual(try double(try eval(i, "t.loss(ids)")), Double(want), accuracy: 1e-6)
        // step returns the loss before the step; a few steps lower it.
        let first = try double(try eval(i, "t.step(ids, lr: 0.02)"))
        XCTAssertEqual(first, Double(want), accuracy: 1e-6)
        _ = try eval(i, "for k in range(4) { t.step(ids, lr: 0.02) }")
        XCTAssertLessThan(try double(try eval(i, "t.loss(ids)")), first - 0.05)
        XCTAssertEqual(try eval(i, "t.steps").repr, "5")
        // Gradients without a step: a record of tensors by parameter name.
        XCTAssertEqual(try eval(i, "keys(t.gradients(ids).grads) == t.parameter_names").repr, "true")
        XCTAssertEqual(try eval(i, "shape(t.parameter(\"blk.1.attn_v.lora_b\"))").repr, "[16, 2]")
    }

    func testMasksAndBatches() throws {
        let i = try interpreter()
        _ = try eval(i, "let t = train.model(m)")
        XCTAssertEqual(try eval(i, "t.parameters == t.total_parameters").repr, "true")
        // Only token 1 counted: the NLL of ids[1] after ids[0].
        _ = try eval(i, "let mask = [false, true] + [false] * 10")
        let one = try double(try eval(i, "t.loss(ids, mask: mask)"))
        let nll = try double(try eval(i, "-log_softmax(t.logits(ids[0:1]))[0][ids[1]]"))
        XCTAssertEqual(one, nll, accuracy: 1e-5)
        // A batch weighs tokens: [a, b] with a mask only on a equals a alone with the same mask.
        let batch = try double(try eval(i, "t.loss([ids, ids[0:5]], mask: [mask, [false] * 5])"))
        XCTAssertEqual(batch, one, accuracy: 1e-6)
        XCTAssertTrue(errorMessage(i, "t.loss(ids, mask: [true])").contains("mask 0 has 1 flags for 12 tokens"))
        XCTAssertTrue(errorMessage(i, "t.loss([1])").contains("no target tokens"))
        XCTAssertTrue(errorMessage(i, "t.loss([1, 9999])").contains("outside the vocabulary"))
    }

    func testSaveReloadAndMerge() throws {
        let i = try interpreter()
        _ = try eval(i, "let t = train.model(m, lora: {rank: 2, targets: [\"all\"], seed: 3})")
        _ = try eval(i, "for k in range(3) { t.step(ids, lr: 0.02) }")
        let gguf = Self.dir + "/tuned.gguf", hf = Self.dir + "/tuned-hf"
        XCTAssertEqual(try eval(i, "t.save(\"\(gguf)\")").repr, "\"\(gguf)\"")
        XCTAssertEqual(try eval(i, "max(abs(model.load(\"\(gguf)\").logits(ids) - t.logits(ids))) < 1e-4").repr, "true")
        _ = try eval(i, "t.save(\"\(hf)\", dtype: \"bf16\")")
        XCTAssertNotNil(try SafetensorsFile(path: hf + "/model.safetensors").tensor(named: "model.layers.0.mlp.up_proj.weight"))
        XCTAssertEqual(try HFConfig(path: hf + "/config.json").modelType, "llama")
        _ = try eval(i, "t.save(\"\(Self.dir)/peft\", format: \"peft\")")
        XCTAssertNotNil(try SafetensorsFile(path: Self.dir + "/peft/adapter_model.safetensors")
            .tensor(named: "base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"))
        _ = try eval(i, "let u = train.model(m)")
        XCTAssertEqual(try eval(i, "u.load_adapters(\"\(Self.dir)/peft\")").repr, "nil")
        XCTAssertEqual(try eval(i, "[u.lora.rank, u.parameters == t.parameters, max(abs(u.logits(ids) - t.logits(ids))) < 1e-4]").repr,
                       "[2, true, true]")
        // Merging keeps the function and leaves nothing to train.
        _ = try eval(i, "let before = t.logits(ids)")
        XCTAssertEqual(try eval(i, "t.merge()").repr, "nil")
        XCTAssertEqual(try eval(i, "[t.lora, t.parameters]").repr, "[nil, 0]")
        XCTAssertEqual(try eval(i, "max(abs(t.logits(ids) - before)) < 1e-4").repr, "true")
        XCTAssertTrue(errorMessage(i, "t.step(ids)").contains("nothing to train"))
        XCTAssertTrue(errorMessage(i, "t.save(\"\(Self.dir)/none\", format: \"peft\")").contains("no LoRA adapters to save"))
    }

    func testArgumentErrors() throws {
        let i = try interpreter()
        XCTAssertTrue(errorMessage(i, "train.model(m, lora: {rank: 0})").contains("field rank must be a positive int"))
        XCTAssertTrue(errorMessage(i, "train.model(m, lora: {targets: [\"query\"]})").contains("unknown LoRA target 'query'"))
        XCTAssertTrue(errorMessage(i, "train.model(m, lora: {ranks: 4})").contains("unknown field 'ranks'"))
        XCTAssertTrue(errorMessage(i, "train.model(42)").contains("must be a decoder model"))
        XCTAssertTrue(errorMessage(i, "train.model(m, weight_decay: -1)").contains("must be >= 0"))
        _ = try eval(i, "let t = train.model(m, lora: true)")
        XCTAssertTrue(errorMessage(i, "t.save(\"x.onnx\", format: \"onnx\")").contains("must be \"gguf\", \"safetensors\" or \"peft\""))
        XCTAssertTrue(errorMessage(i, "t.save(\"x.gguf\", dtype: \"q4_0\")").contains("must be f32 or f16 for gguf"))
        XCTAssertTrue(errorMessage(i, "t.step(ids, lr: -1)").contains("learning rate must be positive"))
        XCTAssertTrue(errorMessage(i, "t.step(ids, clip: 0)").contains("must be positive"))
        XCTAssertTrue(errorMessage(i, "t.parameter(\"nope\")").contains("names no weight or adapter"))
    }
}
