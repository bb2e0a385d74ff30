import Foundation
import XCTest
@testable import LoupeModels

/// Chat templates rendered by `ChatTemplate` against jinja2 (Tests/Fixtures/make_tokenizer_fixtures.py renders
/// every template x conversation x add_generation_prompt with transformers' settings). Templates: SmolLM2's (from its
/// GGUF), Phi-3, Qwen2, Command-R and Gemma 4 (from llama.cpp's vocab files), the built-in Gemma template,
/// LLaMA-3, Qwen2.5 (tool-less paths and tool messages), and a feature template that exercises the rest.
final class ChatTemplateTests: XCTestCase {
    func testRendersLikeJinja2() throws {
        let fx = try TokenizerFixtures.json("chat_templates.json")
        let templates = fx["templates"] as! [String: [String: String]]
        let conversations = fx["conversations"] as! [[[String: String]]]
        var compiled: [String: ChatTemplate] = [:]
        var counts: [String: (Int, Int)] = [:]
        for c in fx["cases"] as! [[String: Any]] {
            let name = c["template"] as! String
            let t = templates[name]!
            if compiled[name] == nil {
                do { compiled[name] = try ChatTemplate(source: t["source"]!) } catch {
                    XCTFail("\(name): \(error)")
                    continue
                }
            }
            let messages = conversations[c["conversation"] as! Int]
            let gen = c["add_generation_prompt"] as! Bool
            var (pass, total) = counts[name] ?? (0, 0)
            total += 1
            do {
                let out = try compiled[name]!.render(messages: messages, addGenerationPrompt: gen,
                                                     bosToken: t["bos_token"]!, eosToken: t["eos_token"]!)
                if let expected = c["rendered"] as? String {
                    if out == expected { pass += 1 } else {
                        XCTFail("\(name) conversation \(c["conversation"]!) gen=\(gen):\n--- expected\n\(expected)\n--- got\n\(out)")
                    }
                } else {
                    XCTFail("\(name): jinja2 raised \(c["error"]!) but ChatTemplate rendered \(out.debugDescription)")
                }
            } catch let e as ChatTemplateError {
                if let msg = c["error"] as? String, e.message.contains(msg) { pass += 1 } else {
                    XCTFail("\(name) conversation \(c["conversation"]!): \(e)")
                }
            }
            counts[name] = (pass, total)
        }
        print("chat templates vs jinja2: " + counts.keys.sorted().map { "\($0) \(counts[$0]!.0)/\(counts[$0]!.1)" }
            .joined(separator: ", "))
    }

    func testBuiltinGemmaIsTheFixtureSource() throws {
        let fx = try TokenizerFixtures.json("chat_templates.json")
        let templates = fx["templates"] as! [String: [String: String]]
        XCTAssertEqual(ChatTemplate.gemma.source, templates["gemma-builtin"]!["source"]!)
        XCTAssertNotNil(ChatTemplate.builtin(named: "gemma"))
        XCTAssertNotNil(ChatTemplate.builtin(named: "chatml"))
        XCTAssertNil(ChatTemplate.builtin(named: "nope"))
        let out = try ChatTemplate.chatML.render(messages: [["role": "user", "content": "hi"]], addGenerationPrompt: true)
        XCTAssertEqual(out, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    }

    func testErrorsNamePosition() {
        XCTAssertThrowsError(try ChatTemplate(source: "line one\n{% if x %}never closed")) { e in
            let err = e as! ChatTemplateError
            XCTAssertTrue(err.message.contains("endif"), err.description)
        }
        XCTAssertThrowsError(try ChatTemplate(source: "ok\n  {{ a + }}")) { e in
            let err = e as! ChatTemplateError
            XCTAssertEqual(err.line, 2)
            XCTAssertEqual(err.column, 10, err.description)   // the "}}" where an operand was due
        }
        XCTAssertThrowsError(try ChatTemplate(source: "{% frobnicate %}")) { e in
            XCTAssertTrue("\(e)".contains("1:1"), "\(e)")
        }
        XCTAssertThrowsError(try ChatTemplate(source: "{{ x | nosuchfilter }}").render(messages: [], addGenerationPrompt: false)) { e in
            XCTAssertTrue("\(e)".contains("nosuchfilter"), "\(e)")
        }
        XCTAssertThrowsError(try ChatTemplate(source: "\n\n{{ raise_exception('bad roles') }}").render(messages: [], addGenerationPrompt: false)) { e in
            let err = e as! ChatTemplateError
            XCTAssertEqual(err.line, 3)
            XCTAssertTrue(err.message.contains("bad roles"))
        }
    }
}
