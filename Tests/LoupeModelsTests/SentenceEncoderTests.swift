import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// The reference of Tests/Fixtures/make_minilm_fixtures.py: transformers' FlaxBertModel in float64 on the same
/// model.safetensors, mean pooling and L2 normalisation as sentence-transformers, tokens from PyPI `tokenizers`.
struct MiniLMReference: Decodable {
    let reference: String
    let max_seq_length: Int
    let texts: [String]
    let token_ids: [[Int]]
    let embeddings: [[Float]]
    let hidden_text: String
    let hidden_token_ids: [Int]
    let hidden: [[Float]]

    nonisolated(unsafe) static var cached: MiniLMReference?
    static func load() throws -> MiniLMReference {
        TestModels.lock.lock(); defer { TestModels.lock.unlock() }
        if let r = cached { return r }
        let data = try Data(contentsOf: URL(fileURLWithPath: try TestModels.fixture("minilm_embeddings.json")))
        let r = try JSONDecoder().decode(MiniLMReference.self, from: data)
        cached = r
        return r
    }
}

/// all-MiniLM-L6-v2 from the model store, loaded once per test process (scripts/test.sh fetches it first).
enum MiniLM {
    static let name = "all-minilm-l6-v2"
    nonisolated(unsafe) static var cached: SentenceEncoder?

    static func directory() throws -> URL {
        URL(fileURLWithPath: try TestModels.stored(name, "model.safetensors")).deletingLastPathComponent()
    }

    static func encoder() throws -> SentenceEncoder {
        TestModels.lock.lock(); defer { TestModels.lock.unlock() }
        if let e = cached { return e }
        let e = try SentenceEncoder.load(path: try directory().path)
        cached = e
        return e
    }

    /// Rows of an [N, d] tensor.
    static func rows(_ t: Tensor) -> [[Float]] {
        let d = t.shape[1], s = t.scalars
        return (0..<t.shape[0]).map { Array(s[$0 * d ..< ($0 + 1) * d]) }
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var ab = 0.0, aa = 0.0, bb = 0.0
        for (x, y) in zip(a, b) { ab += Double(x * y); aa += Double(x * x); bb += Double(y * y) }
        return ab / (aa.squareRoot() * bb.squareRoot())
    }

    static func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }
}

final class SentenceEncoderTests: XCTestCase {
    func testEmbeddingsMatchFlaxReference() throws {
        let ref = try MiniLMReference.load()
        let enc = try MiniLM.encoder()
        XCTAssertEqual(enc.pooling, .mean)
        XCTAssertTrue(enc.normalize)
        XCTAssertEqual(enc.maxSequenceLength, ref.max_seq_length)
        // The token ids first: a tokenizer or truncation difference would otherwise show up as a vague mismatch.
        for (text, ids) in zip(ref.texts, ref.token_ids) {
            XCTAssertEqual(enc.tokenIds(text), ids, "tokens of \"\(text.prefix(40))\"")
        }
        // The texts in one call: one padded batch, the shortest (3 tokens) padded to the longest (53). The text
        // truncated to 256 tokens goes alone: padding eleven others to 256 would cost a debug build minutes.
        let long = try XCTUnwrap(ref.token_ids.firstIndex { $0.count == ref.max_seq_length })
        let batch = ref.texts.indices.filter { $0 != long }
        let e = try enc.embed(batch.map { ref.texts[$0] })
        XCTAssertEqual(e.shape, [batch.count, 384])
        let rows = Dictionary(uniqueKeysWithValues: zip(batch, MiniLM.rows(e)))
            .merging([long: MiniLM.rows(try enc.embed([ref.texts[long]]))[0]]) { a, _ in a }
        var worst: Float = 0
        for (i, want) in ref.embeddings.enumerated() {
            let got = try XCTUnwrap(rows[i])
            let cos = MiniLM.cosine(got, want), diff = MiniLM.maxAbsDiff(got, want)
            worst = max(worst, diff)
            XCTAssertGreaterThanOrEqual(cos, 0.999, "text \(i) \"\(ref.texts[i].prefix(40))\": max abs diff \(diff)")
            // Float32 against a float64 reference: far tighter than the cosine bound.
            XCTAssertLessThan(diff, 2e-5, "text \(i)")
            let norm = got.reduce(0) { $0 + Double($1 * $1) }.squareRoot()
            XCTAssertEqual(norm, 1, accuracy: 1e-5, "text \(i) is not unit length")
        }
        print("all-MiniLM-L6-v2 vs \(ref.reference): max abs diff \(worst) over \(ref.texts.count) embeddings")
    }

    func testPaddingInvariance() throws {
        let ref = try MiniLMReference.load()
        let enc = try MiniLM.encoder()
        // Short texts alone (no padding) and together with a long one (padded by up to 45 positions).
        let short = [3, 0, 4, 8]
        let batch = try MiniLM.rows(enc.embed(short.map { ref.texts[$0] } + [ref.texts[9]]))
        for (k, i) in short.enumerated() {
            let alone = try MiniLM.rows(enc.embed([ref.texts[i]]))[0]
            XCTAssertLessThan(MiniLM.maxAbsDiff(alone, batch[k]), 1e-5, "text \(i) alone vs in a padded batch")
        }
        // Batch order and batch size do not matter either.
        let reversed = try MiniLM.rows(enc.embed(short.reversed().map { ref.texts[$0] }))
        for (k, i) in short.reversed().enumerated() {
            XCTAssertLessThan(MiniLM.maxAbsDiff(reversed[k], batch[short.firstIndex(of: i)!]), 1e-5)
        }
    }

    func testSimilaritySanity() throws {
        let enc = try MiniLM.encoder()
        let e = try MiniLM.rows(enc.embed([
            "A man is eating food.", "A man is eating a piece of bread.",
            "The stock market fell sharply on Tuesday.", "A cat sits on the mat.", "There is a cat on the rug."]))
        let paraphrase = MiniLM.cosine(e[0], e[1]), unrelated = MiniLM.cosine(e[0], e[2])
        let cats = MiniLM.cosine(e[3], e[4]), catVsStocks = MiniLM.cosine(e[3], e[2])
        XCTAssertGreaterThan(paraphrase, unrelated + 0.4, "paraphrase \(paraphrase), unrelated \(unrelated)")
        XCTAssertGreaterThan(cats, catVsStocks + 0.3, "cats \(cats), cat vs stocks \(catVsStocks)")
        XCTAssertEqual(MiniLM.cosine(e[0], e[0]), 1, accuracy: 1e-6)
    }

    func testEmptyInputIsAnError() throws {
        let enc = try MiniLM.encoder()
        XCTAssertThrowsError(try enc.embed([])) { XCTAssertEqual($0 as? SentenceEncoderError, .noTexts) }
        // An empty string is still [CLS] [SEP]: a valid, unit-length embedding.
        let e = try enc.embed([""])
        XCTAssertEqual(enc.tokenIds(""), [101, 102])
        XCTAssertEqual(e.scalars.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
    }

    // MARK: - Load errors

    /// A copy of the model folder in a temporary directory: the big files linked, `edit` changes the rest.
    func scratchModel(_ edit: (URL) throws -> Void) throws -> URL {
        let src = try MiniLM.directory()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-minilm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("1_Pooling"),
                                                withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for f in ["model.safetensors", "tokenizer.json", "config.json", "modules.json", "sentence_bert_config.json",
                  "1_Pooling/config.json"] {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(f),
                                                       withDestinationURL: src.appendingPathComponent(f))
        }
        try edit(dir)
        return dir
    }

    func replace(_ dir: URL, _ file: String, _ text: String) throws {
        let u = dir.appendingPathComponent(file)
        try? FileManager.default.removeItem(at: u)
        try text.write(to: u, atomically: true, encoding: .utf8)
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch { return "\(error)" }
    }

    func testMissingFilesAreNamed() throws {
        for file in ["tokenizer.json", "config.json", "model.safetensors", "1_Pooling/config.json"] {
            let dir = try scratchModel { try FileManager.default.removeItem(at: $0.appendingPathComponent(file)) }
            let m = message { _ = try SentenceEncoder.load(path: dir.path) }
            XCTAssertTrue(m.contains("no file '\(file)'"), m)
        }
        let m = message { _ = try SentenceEncoder.load(path: "/nonexistent/minilm") }
        XCTAssertTrue(m.contains("/nonexistent/minilm") && m.contains("not a folder"), m)
    }

    func testConfigThatDisagreesWithTensorsNamesFileAndTensor() throws {
        let config = try String(contentsOf: try MiniLM.directory().appendingPathComponent("config.json"), encoding: .utf8)
        // intermediate_size 1024 instead of 1536: the first tensor that disagrees is layer 0's intermediate.dense.
        let dir = try scratchModel {
            try replace($0, "config.json", config.replacingOccurrences(of: "\"intermediate_size\": 1536",
                                                                        with: "\"intermediate_size\": 1024"))
        }
        XCTAssertThrowsError(try SentenceEncoder.load(path: dir.path)) { error in
            guard case let .badTensorShape(path, tensor, message)? = error as? ModelFileError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(path.hasSuffix("model.safetensors"), path)
            XCTAssertEqual(tensor, "encoder.layer.0.intermediate.dense.weight")
            XCTAssertTrue(message.contains("[1536, 384]") && message.contains("[1024, 384]")
                          && message.contains("intermediate_size 1024"), message)
        }
        // Fewer layers than the file holds load (the extra tensors are unused); more name the first missing one.
        let deeper = try scratchModel {
            try replace($0, "config.json", config.replacingOccurrences(of: "\"num_hidden_layers\": 6",
                                                                        with: "\"num_hidden_layers\": 7"))
        }
        let m = message { _ = try SentenceEncoder.load(path: deeper.path) }
        XCTAssertTrue(m.contains("model.safetensors: no tensor 'encoder.layer.6.attention.self.query.weight'"), m)
    }

    func testUnsupportedModulesAndPooling() throws {
        let cls = try scratchModel {
            try replace($0, "1_Pooling/config.json", """
                {"word_embedding_dimension": 384, "pooling_mode_cls_token": true, "pooling_mode_mean_tokens": false}
                """)
            try replace($0, "modules.json", """
                [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
                """)
        }
        let enc = try SentenceEncoder.load(path: cls.path)
        XCTAssertEqual(enc.pooling, .cls)
        XCTAssertFalse(enc.normalize)
        // CLS pooling without normalisation is the first row of the last hidden state.
        let text = "A cat sits on the mat."
        XCTAssertEqual(try enc.embed([text]).scalars, Array(try enc.hiddenStates(text).scalars.prefix(384)))

        let two = try scratchModel {
            try replace($0, "1_Pooling/config.json", """
                {"pooling_mode_cls_token": true, "pooling_mode_mean_tokens": true}
                """)
        }
        let m1 = message { _ = try SentenceEncoder.load(path: two.path) }
        XCTAssertTrue(m1.contains("1_Pooling/config.json: pooling_mode_*") && m1.contains("only one"), m1)

        let dense = try scratchModel {
            try replace($0, "modules.json", """
                [{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]
                """)
        }
        let m2 = message { _ = try SentenceEncoder.load(path: dense.path) }
        XCTAssertTrue(m2.contains("modules.json: [1].type") && m2.contains("Dense"), m2)
    }
}
