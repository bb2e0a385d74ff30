import Foundation
import XCTest
@testable import LoupeModels

/// llama.cpp's tokenizer test vectors (models/ggml-vocab-*.gguf + .inp/.out, from the llama-cpp-python 0.3.36
/// sdist; the expected ids were produced by each model's Hugging Face tokenizer). Every case of every family must
/// match. The files live in the shared data folder next to the repository (`../shared/data/llama-vocab`) or under
/// `$LOUPE_SHARED_DATA/llama-vocab`; they are vocabulary-only GGUF files, so this also checks that a file without
/// tensors loads and tokenizes.
final class TokenizerVocabTests: XCTestCase {
    static let families = ["gpt-2", "llama-bpe", "llama-spm", "qwen2", "qwen35", "phi-3", "falcon", "starcoder",
                           "refact", "mpt", "deepseek-llm", "deepseek-coder", "command-r", "gemma-4", "bert-bge"]

    /// Where the vectors are: `$LOUPE_SHARED_DATA/llama-vocab`, else the shared folder beside the repository
    /// (`../shared/data`), else the workplace's shared folder (`/work/shared/data`, where a clone elsewhere finds it).
    static var vocabDirectory: URL {
        if let env = ProcessInfo.processInfo.environment["LOUPE_SHARED_DATA"], !env.isEmpty {
            return URL(fileURLWithPath: env).appendingPathComponent("llama-vocab")
        }
        // Tests/LoupeModelsTests/<this file> -> repository root -> ../shared/data
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidates = [root.deletingLastPathComponent().appendingPathComponent("shared/data/llama-vocab"),
                          URL(fileURLWithPath: "/work/shared/data/llama-vocab")]
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) } ?? candidates[0]
    }

    /// The shared data is not the project's to fetch: without it these tests are skipped, saying where they looked.
    static func requireVectors() throws -> URL {
        let dir = vocabDirectory
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("ggml-vocab-llama-spm.gguf").path) else {
            throw XCTSkip("llama.cpp vocab vectors not found at \(dir.path); set LOUPE_SHARED_DATA to the shared data folder")
        }
        return dir
    }

    /// The texts and expected ids of one family.
    static func cases(_ family: String) throws -> [(text: String, ids: [Int])] {
        let base = vocabDirectory.appendingPathComponent("ggml-vocab-\(family).gguf")
        let inp = try String(contentsOf: base.appendingPathExtension("inp"), encoding: .utf8)
        var texts = inp.components(separatedBy: "\n__ggml_vocab_test__\n")
        if texts.last == "" { texts.removeLast() }
        let out = try String(contentsOf: base.appendingPathExtension("out"), encoding: .utf8)
            .components(separatedBy: "\n")
        XCTAssertGreaterThanOrEqual(out.count, texts.count, "\(family): fewer expected lines than texts")
        return texts.enumerated().map { i, t in (t, out[i].split(separator: " ").map { Int($0)! }) }
    }

    func testEveryFamilyMatchesLlamaCppVectors() throws {
        let dir = try TokenizerVocabTests.requireVectors()
        var report: [String] = []
        var failures = 0
        for family in TokenizerVocabTests.families {
            let gguf = try GGUFFile(path: dir.appendingPathComponent("ggml-vocab-\(family).gguf").path)
            XCTAssertTrue(gguf.tensors.isEmpty, "\(family): expected a vocabulary-only file")
            let tok = try Tokenizer(gguf: gguf)
            let cases = try TokenizerVocabTests.cases(family)
            var pass = 0
            var lossless = 0
            for (i, c) in cases.enumerated() {
                // llama.cpp's test-tokenizer-0: no BOS, special tokens not parsed.
                let got = tok.encode(c.text, parseSpecial: false)
                if got == c.ids {
                    pass += 1
                } else {
                    failures += 1
                    XCTFail("\(family) case \(i) \(c.text.debugDescription): expected \(c.ids), got \(got)")
                }
                // Round trip for the lossless tokenizers (byte-level BPE keeps every byte; SentencePiece keeps
                // everything but drops nothing with byte fallback; WordPiece lowercases, so it is excluded).
                if tok.algorithm != .wordPiece {
                    let back = tok.decode(got)
                    if back == c.text { lossless += 1 } else {
                        XCTFail("\(family) case \(i): decode(encode(x)) = \(back.debugDescription), x = \(c.text.debugDescription)")
                    }
                }
            }
            report.append("\(family) \(pass)/\(cases.count)" + (tok.algorithm != .wordPiece ? " (round trip \(lossless))" : ""))
        }
        print("llama.cpp vocab vectors: " + report.joined(separator: ", "))
        XCTAssertEqual(failures, 0)
    }

    func testLoadsMetadata() throws {
        let dir = try TokenizerVocabTests.requireVectors()
        let spm = try Tokenizer(gguf: try GGUFFile(path: dir.appendingPathComponent("ggml-vocab-llama-spm.gguf").path))
        XCTAssertEqual(spm.algorithm, .sentencePiece)
        XCTAssertEqual(spm.vocabSize, 32000)
        XCTAssertEqual(spm.bos, 1)
        XCTAssertEqual(spm.eos, 2)
        XCTAssertTrue(spm.addsBOS)
        XCTAssertTrue(spm.addSpacePrefix)
        XCTAssertEqual(spm.token(13), "<0x0A>")
        XCTAssertEqual(spm.piece(13), "\n")
        XCTAssertEqual(spm.encode("Hello", addBOS: true).first, 1)
        XCTAssertEqual(spm.id(of: "▁Hello"), spm.encode("Hello").first)

        let bert = try Tokenizer(gguf: try GGUFFile(path: dir.appendingPathComponent("ggml-vocab-bert-bge.gguf").path))
        XCTAssertEqual(bert.algorithm, .wordPiece)
        let ids = bert.encode("Hello world", addSpecial: true)
        XCTAssertEqual(ids.first, 101)
        XCTAssertEqual(ids.last, 102)

        let gpt2 = try Tokenizer(gguf: try GGUFFile(path: dir.appendingPathComponent("ggml-vocab-gpt-2.gguf").path))
        XCTAssertEqual(gpt2.algorithm, .byteLevelBPE)
        XCTAssertEqual(gpt2.token(gpt2.encode(" world")[0]), "Ġworld")
        XCTAssertEqual(gpt2.piece(gpt2.encode(" world")[0]), " world")
        // parseSpecial: the control token is one id, or plain text.
        XCTAssertEqual(gpt2.encode("<|endoftext|>"), [50256])
        XCTAssertGreaterThan(gpt2.encode("<|endoftext|>", parseSpecial: false).count, 1)
        XCTAssertEqual(gpt2.decode([50256, 15496], skipSpecial: true), "Hello")

        let phi3 = try Tokenizer(gguf: try GGUFFile(path: dir.appendingPathComponent("ggml-vocab-phi-3.gguf").path))
        XCTAssertNotNil(phi3.chatTemplate, "phi-3's chat template should parse")
    }

    func testUnknownModelAndPreTokenizerAreErrors() throws {
        func file(_ model: String, pre: String?) throws -> GGUFFile {
            let w = GGUFWriter()
            w.set("tokenizer.ggml.model", .string(model))
            if let pre = pre { w.set("tokenizer.ggml.pre", .string(pre)) }
            w.set("tokenizer.ggml.tokens", .array([.string("a"), .string("b"), .string("ab")]), elementType: .string)
            w.set("tokenizer.ggml.merges", .array([.string("a b")]), elementType: .string)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString).gguf").path
            try w.write(to: path)
            defer { try? FileManager.default.removeItem(atPath: path) }
            return try GGUFFile(data: Data(contentsOf: URL(fileURLWithPath: path)), path: "synthetic.gguf")
        }
        XCTAssertThrowsError(try Tokenizer(gguf: file("t5x", pre: nil))) { e in
            XCTAssertEqual(e as? TokenizerError, .unsupportedModel(path: "synthetic.gguf", model: "t5x"))
        }
        XCTAssertThrowsError(try Tokenizer(gguf: file("gpt2", pre: "no-such-pre"))) { e in
            XCTAssertTrue("\(e)".contains("no-such-pre"), "\(e)")
        }
        // A three-token byte-level vocabulary with one merge: "ab" merges, "ba" does not.
        let tiny = try Tokenizer(gguf: file("gpt2", pre: "gpt-2"))
        XCTAssertEqual(tiny.encode("ab"), [2])
        XCTAssertEqual(tiny.encode("ba"), [1, 0])
        XCTAssertEqual(tiny.decode([2, 1]), "abb")
        XCTAssertThrowsError(try PreTokenizer.makeStage("(unclosed")) { e in
            XCTAssertTrue("\(e)".contains("(unclosed"), "\(e)")
        }
    }
}
