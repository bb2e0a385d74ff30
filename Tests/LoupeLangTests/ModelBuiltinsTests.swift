import XCTest
import LoupeLang
import LoupeLibrary
import LoupeModels
import LoupeTensor

/// The `model` namespace through the language, on the real shipped models (scripts/test.sh fetches them).
///
/// Token ids are llama.cpp's (llama-cpp-python 0.3.36, `Llama(path, vocab_only=True).tokenize(text, add_bos=False,
/// special=True)` on the same file); logits are checked against the Swift API the binding wraps (whose own
/// agreement with llama.cpp is LoupeModelsTests' business), so these tests are about the binding itself.
final class ModelBuiltinsTests: XCTestCase {
    static let smol = "smollm2-135m-instruct"

    private func interpreter() throws -> Interpreter {
        for name in [Self.smol, "all-minilm-l6-v2"] {
            guard (try? ModelStore.default.resolve(name)) != nil else {
                XCTFail("model \(name) is missing: run ./loupe models fetch \(name)")
                throw XCTSkip("missing model")
            }
        }
        let i = try Interpreter(registry: LoupeLibrary.makeRegistry())
        try i.run("let m = model.load(\"\(Self.smol)\")", file: "<setup>")
        return i
    }

    private func eval(_ i: Interpreter, _ code: String) throws -> Value {
        try i.run(code, file: "<test>")
    }

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

    func testEncodeMatchesLlamaCppAndDecodeRoundTrips() throws {
        let i = try interpreter()
        XCTAssertEqual(try eval(i, "m.encode(\"The capital of France is\")").repr, "[504, 3575, 282, 4649, 314]")
        XCTAssertEqual(try eval(i, "m.encode(\"<|im_start|>user\\nHi<|im_end|>\")").repr, "[1, 4093, 198, 26843, 2]")
        XCTAssertEqual(try eval(i, "m.decode(m.encode(\"Ünïcode → fine, 42!\"))").repr, "\"Ünïcode → fine, 42!\"")
        // SmolLM2 has BOS id 1 (add_bos_token is false in the file, so encode adds it only when asked).
        XCTAssertEqual(try eval(i, "m.encode(\"Hi\", bos: true)[0]").repr, "1")
        XCTAssertEqual(try eval(i, "m.piece(504)").repr, "\"The\"")
    }

    func testLogitsEqualTheSwiftAPI() throws {
        let i = try interpreter()
        guard case let .tensor(t) = try eval(i, "m.logits([504, 3575, 282, 4649, 314])") else { return XCTFail("not a tensor") }
        XCTAssertEqual(t.shape, [5, 49152])
        let direct = try LanguageModel.load(path: try ModelStore.default.resolve(Self.smol).path).logits([504, 3575, 282, 4649, 314])
        XCTAssertEqual(t.scalars, direct.scalars)
        // " Paris" is the model's top next token after "The capital of France is".
        XCTAssertEqual(try eval(i, "m.decode([argmax(m.logits(m.encode(\"The capital of France is\"))[-1])])").repr, "\" Paris\"")
    }

    func testForwardCapturesAndIntervenes() throws {
        let i = try interpreter()
        _ = try eval(i, "let ids = m.encode(\"The capital of France is\")")
        let keys = try eval(i, "keys(m.forward(ids, capture: [\"blocks.2.attn.hook_pattern\", \"blocks.*.hook_resid_post\"]).cache)")
        guard case let .list(names) = keys else { return XCTFail("keys not a list") }
        XCTAssertEqual(names.count, 31)
        XCTAssertEqual(names.first?.repr, "\"blocks.0.hook_resid_post\"")
        XCTAssertEqual(try eval(i, "shape(m.forward(ids, capture: [\"blocks.2.attn.hook_pattern\"]).cache[\"blocks.2.attn.hook_pattern\"])").repr,
                       "[9, 5, 5]")
        // An identity function at a hook changes nothing; halving the residual changes the logits.
        XCTAssertEqual(try eval(i, """
            let clean = m.forward(ids).logits
            let same = m.forward(ids, intervene: {"blocks.5.hook_resid_post": fn(h) { h }}).logits
            max(abs(clean - same))
            """).repr, "0.0")
        guard case let .float(moved) = try eval(i, """
            max(abs(clean - m.forward(ids, intervene: {"blocks.5.hook_resid_post": fn(h) { h * 0.5 }}).logits))
            """) else { return XCTFail("not a float") }
        XCTAssertGreaterThan(moved, 0.1)
        // Zeroing every head of a layer's z through a record.
        guard case let .float(ablated) = try eval(i, """
            max(abs(clean - m.forward(ids, intervene: {"blocks.3.attn.hook_z": {zero_heads: [0, 1, 2, 3, 4, 5, 6, 7, 8]}}).logits))
            """) else { return XCTFail("not a float") }
        XCTAssertGreaterThan(ablated, 0.01)
    }

    func testGenerateGreedyFollowsArgmaxAndSamplesAreSeeded() throws {
        let i = try interpreter()
        _ = try eval(i, "let g = m.generate(\"The capital of France is\", max_tokens: 3)")
        XCTAssertEqual(try eval(i, "g.ids[0]").repr, try eval(i, "int(argmax(m.logits(m.encode(\"The capital of France is\"))[-1]))").repr)
        XCTAssertEqual(try eval(i, "len(g.ids)").repr, "3")
        XCTAssertEqual(try eval(i, "g.text == m.decode(g.ids)").repr, "true")
        XCTAssertEqual(try eval(i, """
            let a = m.generate([504, 3575], max_tokens: 4, temperature: 0.9, seed: 3, n: 2)
            let b = m.generate([504, 3575], max_tokens: 4, temperature: 0.9, seed: 3, n: 2)
            [len(a), a == b]
            """).repr, "[2, true]")
    }

    func testChatPromptUsesTheFilesTemplate() throws {
        let i = try interpreter()
        let prompt = try eval(i, "m.chat_prompt(\"Hi\")")
        guard case let .string(text) = prompt else { return XCTFail("not a string") }
        XCTAssertTrue(text.contains("<|im_start|>user\nHi<|im_end|>"), text)
        XCTAssertTrue(text.hasSuffix("<|im_start|>assistant\n"), text)
    }

    func testBadArgumentsNameTheArgument() throws {
        let i = try interpreter()
        XCTAssertEqual(errorMessage(i, "m.logits([1, 99999999])"),
                       "model.logits: argument 'ids' holds token id 99999999, outside the vocabulary (0..<49152)")
        XCTAssertEqual(errorMessage(i, "m.logits([])"), "model.logits: argument 'ids' is empty")
        XCTAssertEqual(errorMessage(i, "m.decode(999999)"),
                       "model.decode: argument 'ids' holds token id 999999, outside the vocabulary (0..<49152)")
        XCTAssertEqual(try eval(i, "m.decode(504)").repr, "\"The\"")
        XCTAssertTrue(errorMessage(i, "m.forward([1, 2], capture: [\"blocks.99.hook_resid_post\"])").contains("blocks.99.hook_resid_post"))
        XCTAssertTrue(errorMessage(i, "m.forward([1, 2], intervene: {\"blocks.1.hook_resid_post\": 3})").hasPrefix("model.forward: argument 'intervene'"))
        XCTAssertTrue(errorMessage(i, "model.load(\"no-such-model\")").contains("unknown model 'no-such-model'"))
        XCTAssertEqual(errorMessage(i, "m.generate(\"x\", max_tokens: -1)"), "model.generate: argument 'max_tokens' must be >= 0, got -1")
    }

    func testSentenceEncoderThroughTheLanguage() throws {
        let i = try interpreter()
        _ = try eval(i, "let e = model.load(\"all-minilm-l6-v2\")")
        XCTAssertEqual(try eval(i, "shape(e.embed([\"a\", \"b c\"]))").repr, "[2, 384]")
        XCTAssertEqual(try eval(i, "shape(e.embed(\"one text\"))").repr, "[384]")
        guard case let .float(close) = try eval(i, "e.similarity(\"A man is eating food.\", \"A man is eating a piece of bread.\")"),
              case let .float(far) = try eval(i, "e.similarity(\"A man is eating food.\", \"The stock market fell today.\")") else {
            return XCTFail("not floats")
        }
        XCTAssertGreaterThan(close, far + 0.4)
    }
}
