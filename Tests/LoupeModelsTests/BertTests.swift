import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// The BERT encoder itself: config.json checks, and the last hidden state token by token against transformers'
/// FlaxBertModel (float64) from Tests/Fixtures/make_minilm_fixtures.py.
final class BertTests: XCTestCase {
    func testHiddenStatesMatchFlaxReference() throws {
        let ref = try MiniLMReference.load()
        let enc = try MiniLM.encoder()
        XCTAssertEqual(enc.tokenIds(ref.hidden_text), ref.hidden_token_ids)
        let h = try enc.hiddenStates(ref.hidden_text)
        XCTAssertEqual(h.shape, [ref.hidden.count, 384])
        var worst: Float = 0
        for (t, (got, want)) in zip(MiniLM.rows(h), ref.hidden).enumerated() {
            let diff = MiniLM.maxAbsDiff(got, want)
            worst = max(worst, diff)
            // Hidden values reach ~10 in magnitude after the final LayerNorm; float32 through 6 layers stays near 1e-5.
            XCTAssertLessThan(diff, 2e-4, "token \(t) (\(enc.tokenizer.token(ref.hidden_token_ids[t])))")
            XCTAssertGreaterThan(MiniLM.cosine(got, want), 0.99999, "token \(t)")
        }
        print("all-MiniLM-L6-v2 last hidden state vs FlaxBertModel: max abs diff \(worst) over \(ref.hidden.count) tokens")
    }

    func testConfigFieldsAndDefaults() throws {
        let minimal = #"{"model_type": "bert", "vocab_size": 100, "hidden_size": 8, "num_hidden_layers": 2,"#
            + #" "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 32}"#
        let c = try BertConfig(try HFConfig(data: Data(minimal.utf8)))
        XCTAssertEqual(c.headDim, 4)
        XCTAssertEqual(c.typeVocabSize, 2)          // transformers' BertConfig defaults
        XCTAssertEqual(c.layerNormEps, 1e-12)
        XCTAssertEqual(c.padTokenId, 0)

        func error(_ json: String) -> String {
            do { _ = try BertConfig(try HFConfig(data: Data(json.utf8), path: "m/config.json")); return "no error" }
            catch { return "\(error)" }
        }
        let noHeads = minimal.replacingOccurrences(of: #" "num_attention_heads": 2,"#, with: "")
        XCTAssertEqual(error(noHeads), "m/config.json: no key 'num_attention_heads'")
        let threeHeads = minimal.replacingOccurrences(of: #""num_attention_heads": 2"#, with: #""num_attention_heads": 3"#)
        XCTAssertEqual(error(threeHeads), "m/config.json: num_attention_heads: 3 heads do not divide hidden_size 8")
        let tanh = minimal.replacingOccurrences(of: "}", with: #", "hidden_act": "gelu_new"}"#)
        XCTAssertTrue(error(tanh).hasPrefix("m/config.json: hidden_act: 'gelu_new' is not supported"), error(tanh))
        let relative = minimal.replacingOccurrences(of: "}", with: #", "position_embedding_type": "relative_key"}"#)
        XCTAssertTrue(error(relative).contains("position_embedding_type: 'relative_key' is not supported"))
        let llama = minimal.replacingOccurrences(of: #""bert""#, with: #""llama""#)
        XCTAssertTrue(error(llama).contains("model_type: 'llama' is not a BERT encoder"), error(llama))
        let zero = minimal.replacingOccurrences(of: #""hidden_size": 8"#, with: #""hidden_size": 0"#)
        XCTAssertEqual(error(zero), "m/config.json: hidden_size: must be positive, got 0")
    }

    /// A tiny BERT written with SafetensorsWriter whose weights make the forward pass checkable by hand: with all
    /// linear weights and biases zero, every layer is LN(x + 0) then LN(x + 0), so the output is the embedding
    /// LayerNorm applied (three times) to word + position + type rows; attention and padding cannot change it.
    func testZeroWeightEncoderIsLayerNormOfEmbeddings() throws {
        let (v, d, inter, pos) = (6, 4, 8, 5)
        let w = SafetensorsWriter()
        func add(_ name: String, _ shape: [Int], _ f: (Int) -> Float) throws {
            let n = shape.reduce(1, *)
            try w.add(name, tensor: try Tensor(shape: shape, data: (0..<n).map(f)))
        }
        try add("embeddings.word_embeddings.weight", [v, d]) { Float($0 % 7) * 0.5 - 1 }
        try add("embeddings.position_embeddings.weight", [pos, d]) { Float(($0 * 3) % 5) * 0.25 }
        try add("embeddings.token_type_embeddings.weight", [2, d]) { $0 < d ? Float($0) * 0.1 : 9 }
        try add("embeddings.LayerNorm.weight", [d]) { _ in 1 }
        try add("embeddings.LayerNorm.bias", [d]) { _ in 0 }
        let p = "encoder.layer.0."
        for name in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"] {
            try add(p + name + ".weight", [d, d]) { _ in 0 }
            try add(p + name + ".bias", [d]) { _ in 0 }
        }
        try add(p + "intermediate.dense.weight", [inter, d]) { _ in 0 }
        try add(p + "intermediate.dense.bias", [inter]) { _ in 0 }
        try add(p + "output.dense.weight", [d, inter]) { _ in 0 }
        try add(p + "output.dense.bias", [d]) { _ in 0 }
        for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
            try add(p + ln + ".weight", [d]) { _ in 1 }
            try add(p + ln + ".bias", [d]) { _ in 0 }
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-tinybert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try w.data().write(to: dir.appendingPathComponent("model.safetensors"))
        let config = #"{"model_type": "bert", "vocab_size": 6, "hidden_size": 4, "num_hidden_layers": 1,"#
            + #" "num_attention_heads": 2, "intermediate_size": 8, "max_position_embeddings": 5, "layer_norm_eps": 1e-6}"#
        let bert = try BertEncoder(model: try SafetensorsModel(directory: dir),
                                   config: try BertConfig(try HFConfig(data: Data(config.utf8))))
        let ids = [[1, 5, 2], [3]]
        let out = try bert.forward(ids)
        XCTAssertEqual(out.shape, [2, 3, d])
        let s = out.scalars
        for (b, seq) in ids.enumerated() {
            for (t, id) in seq.enumerated() {
                // word row id, position row t, token type row 0 (the 9s of row 1 must not appear).
                var x = [Double](repeating: 0, count: d)
                for i in 0..<d {
                    let word: Double = Double((id * d + i) % 7) * 0.5 - 1
                    let position: Double = Double((t * d + i) * 3 % 5) * 0.25
                    x[i] = word + position + Double(i) * 0.1
                }
                for _ in 0..<3 {
                    let mean: Double = x.reduce(0, +) / Double(d)
                    var variance: Double = 0
                    for v in x { variance += (v - mean) * (v - mean) }
                    variance /= Double(d)
                    let rstd: Double = 1 / (variance + 1e-6).squareRoot()
                    x = x.map { ($0 - mean) * rstd }
                }
                for i in 0..<d {
                    XCTAssertEqual(Double(s[(b * 3 + t) * d + i]), x[i], accuracy: 1e-4, "sequence \(b) token \(t)")
                }
            }
        }
    }
}
