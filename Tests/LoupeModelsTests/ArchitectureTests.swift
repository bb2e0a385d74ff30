import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// Configurations read from the shipped files, and the errors for files that do not fit.
final class ArchitectureTests: XCTestCase {
    func testSmolLM2Config() throws {
        let c = try TestModels.smollm().config
        XCTAssertEqual(c.architecture, .llama)
        XCTAssertEqual([c.layers, c.dModel, c.heads, c.kvHeads, c.headDim, c.dFF, c.vocab], [30, 576, 9, 3, 64, 1536, 49152])
        XCTAssertEqual(c.ropeStyle, .adjacentPairs)
        XCTAssertEqual(c.ropeBase, 100_000)
        XCTAssertTrue(c.tiedEmbeddings)
        XCTAssertEqual(c.eps, 1e-5, accuracy: 1e-9)
        XCTAssertFalse(c.qkNorm || c.qkvBias || c.sandwichNorms)
    }

    func testGemma3Config() throws {
        let c = try TestModels.gemma().config
        XCTAssertEqual(c.architecture, .gemma3)
        XCTAssertEqual([c.layers, c.dModel, c.heads, c.kvHeads, c.headDim, c.dFF, c.vocab], [18, 640, 4, 1, 256, 2048, 262144])
        XCTAssertEqual(c.slidingWindow, 512)
        XCTAssertEqual(c.slidingLayers.enumerated().filter { !$0.element }.map(\.offset), [5, 11, 17])
        XCTAssertEqual(c.ropeBase, 1_000_000)
        XCTAssertEqual(c.ropeBaseLocal, 10_000)
        XCTAssertEqual(c.attentionScale, 1 / 16)
        XCTAssertEqual(c.embeddingScale, Float(640).squareRoot())
        XCTAssertEqual(c.activation, .geluTanh)
        XCTAssertEqual(c.ropeStyle, .halves)
        XCTAssertTrue(c.qkNorm && c.sandwichNorms && c.tiedEmbeddings)
    }

    func testRandomQwenConfigs() throws {
        let q2 = try TestModels.qwen2().config, q3 = try TestModels.qwen3().config
        XCTAssertTrue(q2.qkvBias)
        XCTAssertFalse(q2.qkNorm)
        XCTAssertEqual(q2.headDim, 16)
        XCTAssertTrue(q3.qkNorm)
        XCTAssertEqual(q3.headDim, 32)  // its own key_length, not d_model / heads
        XCTAssertEqual(q3.qDim, 128)
    }

    /// The qwen2 fixture with some bytes changed, written to a temporary file.
    func patched(_ edit: (inout Data) throws -> Void) throws -> String {
        var data = try Data(contentsOf: URL(fileURLWithPath: try TestModels.fixture("random_qwen2.gguf")))
        try edit(&data)
        let path = NSTemporaryDirectory() + "loupe-arch-\(UUID().uuidString).gguf"
        try data.write(to: URL(fileURLWithPath: path))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testUnsupportedArchitectureNamesTheFile() throws {
        let path = try patched { d in
            // general.architecture's value is the first "qwen2" stored as a string value: rename every occurrence.
            let from = Data("qwen2".utf8), to = Data("mamba".utf8)
            while let r = d.range(of: from) { d.replaceSubrange(r, with: to) }
        }
        XCTAssertThrowsError(try LanguageModel.load(path: path)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains(path) && text.contains("unsupported architecture 'mamba'"), text)
            XCTAssertTrue(text.contains("llama, qwen2, qwen3, gemma3"), text)
        }
    }

    func testShapeDisagreeingWithConfigNamesTheTensor() throws {
        let path = try patched { d in
            // qwen2.feed_forward_length: u32 type tag, then the value 128; make it 96.
            let key = try XCTUnwrap(d.range(of: Data("qwen2.feed_forward_length".utf8)))
            let value = key.upperBound + 4
            XCTAssertEqual(d[value], 128)
            d[value] = 96
        }
        XCTAssertThrowsError(try LanguageModel.load(path: path)) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains(path) && text.contains("blk.0.ffn_gate.weight") && text.contains("[96, 64]"), text)
        }
    }

    func testMissingTensorNamesIt() throws {
        let path = try patched { d in
            let r = try XCTUnwrap(d.range(of: Data("blk.1.ffn_up.weight".utf8)))
            d.replaceSubrange(r, with: Data("blk.1.ffn_UP.weight".utf8))
        }
        XCTAssertThrowsError(try LanguageModel.load(path: path)) { e in
            XCTAssertTrue("\(e)".contains("blk.1.ffn_up.weight"), "\(e)")
        }
    }
}
