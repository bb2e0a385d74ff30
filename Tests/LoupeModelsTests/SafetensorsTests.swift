import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// safetensors reader, sharded folders, config.json and writer, against PyPI safetensors + numpy
/// (Tests/Fixtures/make_safetensors_fixtures.py) and the real all-MiniLM-L6-v2 file from the model store.
final class SafetensorsTests: XCTestCase {
    func reference() throws -> [String: Any] { try FormatFixtures.json("safetensors_reference.json") }

    func testMiniLMMatchesSafetensorsPython() throws {
        let ref = try reference()["minilm"] as! [String: Any]
        let dir = try FormatFixtures.model("all-minilm-l6-v2", "model.safetensors")
        let f = try SafetensorsFile(path: dir)
        XCTAssertEqual(f.tensors.count, ref["tensor_count"] as? Int)
        XCTAssertEqual(f.metadata, ref["metadata"] as? [String: String])
        XCTAssertEqual(f.dataOffset, 8 + (ref["header_length"] as! Int))
        for t in ref["tensors"] as! [[String: Any]] {
            let name = t["name"] as! String
            let info = try XCTUnwrap(f.tensor(named: name), name)
            XCTAssertEqual(info.dtype.rawValue, t["dtype"] as? String, name)
            XCTAssertEqual(info.shape, t["shape"] as? [Int], name)
            XCTAssertEqual(info.offset - f.dataOffset, (t["data_offsets"] as! [Int])[0], name)
            guard let slice = t["slice"] as? String else {
                XCTAssertThrowsError(try f.tensorF32(named: name)) { e in
                    XCTAssertTrue("\(e)".contains("I64"), "\(e)")
                }
                continue
            }
            let x = try f.tensorF32(named: name)
            XCTAssertEqual(x.shape, info.shape)
            let sum = x.withUnsafeBufferPointer { b in
                var s = 0.0
                for v in b { s += Double(v) }
                return s
            }
            XCTAssertEqual(sum, t["sum"] as! Double, accuracy: 1e-9 * max(1, abs(t["sum"] as! Double)), name)
            let expected = FormatFixtures.floats(slice)
            let start = info.shape.count > 1 ? info.shape.last! : 0
            XCTAssertEqual(x.scalars[start ..< start + 16].map(\.bitPattern), expected.map(\.bitPattern), name)
        }
    }

    /// The folder form: model.safetensors + config.json through SafetensorsModel and the store's resolve.
    func testMiniLMFolderAndConfig() throws {
        let store = ModelStore.default
        let dir = try store.resolve("all-minilm-l6-v2")
        let m = try SafetensorsModel(directory: dir)
        XCTAssertEqual(m.tensorNames.count, (try reference()["minilm"] as! [String: Any])["tensor_count"] as? Int)
        XCTAssertEqual(m.files.count, 1)
        let cfg = try XCTUnwrap(m.config)
        let ref = try reference()["config"] as! [String: Any]
        XCTAssertEqual(cfg.modelType, ref["model_type"] as? String)
        XCTAssertEqual(cfg.architectures, ref["architectures"] as! [String])
        XCTAssertEqual(cfg.hiddenSize, ref["hidden_size"] as? Int)
        XCTAssertEqual(cfg.intermediateSize, ref["intermediate_size"] as? Int)
        XCTAssertEqual(cfg.numHiddenLayers, ref["num_hidden_layers"] as? Int)
        XCTAssertEqual(cfg.numAttentionHeads, ref["num_attention_heads"] as? Int)
        XCTAssertEqual(cfg.vocabSize, ref["vocab_size"] as? Int)
        XCTAssertEqual(cfg.layerNormEps, ref["layer_norm_eps"] as? Double)
        XCTAssertEqual(cfg.typeVocabSize, ref["type_vocab_size"] as? Int)
        XCTAssertEqual(cfg.maxPositionEmbeddings, ref["max_position_embeddings"] as? Int)
        XCTAssertEqual(cfg.hiddenAct, "gelu")
        XCTAssertEqual(cfg.padTokenId, 0)
        XCTAssertNil(cfg.numKeyValueHeads)
        let w = try m.tensorF32(named: "embeddings.word_embeddings.weight")
        XCTAssertEqual(w.shape, [30522, 384])
    }

    func testConfigFamiliesAndErrors() throws {
        // A Gemma-3 multimodal-style config: text_config merged over the top; eos as a list.
        let gemma = """
            {"model_type": "gemma3", "eos_token_id": [1, 106], "text_config": {"model_type": "gemma3_text",
             "hidden_size": 640, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "sliding_window": 512,
             "sliding_window_pattern": 6, "query_pre_attn_scalar": 256, "hidden_activation": "gelu_pytorch_tanh",
             "layer_types": ["sliding_attention", "full_attention"], "rope_scaling": null}}
            """
        let g = try HFConfig(data: Data(gemma.utf8))
        XCTAssertEqual(g.modelType, "gemma3_text")
        XCTAssertEqual(g.hiddenSize, 640)
        XCTAssertEqual(g.ropeTheta, 1_000_000)
        XCTAssertEqual(g.ropeLocalBaseFreq, 10_000)
        XCTAssertEqual(g.slidingWindowPattern, 6)
        XCTAssertEqual(g.queryPreAttnScalar, 256)
        XCTAssertEqual(g.hiddenAct, "gelu_pytorch_tanh")
        XCTAssertEqual(g.layerTypes, ["sliding_attention", "full_attention"])
        XCTAssertEqual(g.eosTokenIds, [1, 106])
        XCTAssertNil(g.ropeScaling)
        let q = try HFConfig(data: Data(#"{"model_type":"qwen2","eos_token_id":151643,"tie_word_embeddings":true,"num_key_value_heads":2,"rms_norm_eps":1e-6}"#.utf8))
        XCTAssertEqual(q.eosTokenIds, [151_643])
        XCTAssertEqual(q.tieWordEmbeddings, true)
        XCTAssertEqual(q.numKeyValueHeads, 2)
        XCTAssertEqual(q.rmsNormEps, 1e-6)
        XCTAssertThrowsError(try HFConfig(data: Data(#"{"hidden_size": "big"}"#.utf8), path: "c.json")) { e in
            XCTAssertEqual("\(e)", "c.json: metadata 'hidden_size' is big, expected integer")
        }
        XCTAssertThrowsError(try HFConfig(data: Data(#"{"tie_word_embeddings": 1}"#.utf8)))
        XCTAssertThrowsError(try HFConfig(data: Data("[1]".utf8), path: "c.json")) { e in
            XCTAssertEqual("\(e)", "c.json: config: not a JSON object")
        }
    }

    /// safetensors-python's own file reads back with its values, and Loupe's writer reproduces it byte for byte.
    func testWriterReproducesSafetensorsPythonFile() throws {
        let ref = try reference()["written"] as! [String: Any]
        let expected = Data(FormatFixtures.hex(ref["hex"] as! String))
        let f = try SafetensorsFile(data: expected, path: "small.safetensors")
        XCTAssertEqual(f.metadata, ref["metadata"] as? [String: String])
        let tensors = ref["tensors"] as! [[String: Any]]
        for t in tensors {
            let name = t["name"] as! String
            let info = try XCTUnwrap(f.tensor(named: name))
            XCTAssertEqual(info.dtype.rawValue, t["dtype"] as? String)
            XCTAssertEqual(info.shape, t["shape"] as? [Int])
            XCTAssertEqual(Array(f.bytes(of: info)), FormatFixtures.hex(t["raw"] as! String))
            if let v = t["values"] as? String {
                XCTAssertEqual(try f.tensorF32(named: name).scalars.map(\.bitPattern),
                               FormatFixtures.floats(v).map(\.bitPattern), name)
            }
        }
        // safetensors orders tensors by dtype size (largest first), then name.
        let w = SafetensorsWriter(metadata: ref["metadata"] as! [String: String])
        let ordered = tensors.sorted {
            let a = SafetensorsDType(rawValue: $0["dtype"] as! String)!.size
            let b = SafetensorsDType(rawValue: $1["dtype"] as! String)!.size
            return a != b ? a > b : ($0["name"] as! String) < ($1["name"] as! String)
        }
        for t in ordered {
            let name = t["name"] as! String
            let shape = t["shape"] as! [Int]
            if t["dtype"] as! String == "F32" {
                try w.add(name, tensor: Tensor(shape: shape, data: FormatFixtures.floats(t["values"] as! String)))
            } else if t["dtype"] as! String == "F16" {
                try w.add(name, tensor: Tensor(shape: shape, data: FormatFixtures.floats(t["values"] as! String)),
                          as: .f16)
            } else {
                try w.add(name, shape: shape, dtype: .i64, bytes: FormatFixtures.hex(t["raw"] as! String))
            }
        }
        let data = try w.data()
        XCTAssertEqual(String(decoding: data, as: UTF8.self), String(decoding: expected, as: UTF8.self))
        XCTAssertEqual(data, expected)
    }

    func testBF16AndShardedRoundTrip() throws {
        let bf = try reference()["bf16"] as! [String: Any]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }

        // Two shards and an index, as transformers writes them.
        let a = SafetensorsWriter()
        try a.add("bf", shape: bf["shape"] as! [Int], dtype: .bf16, bytes: FormatFixtures.hex(bf["bytes"] as! String))
        try a.write(to: dir.appendingPathComponent("model-00001-of-00002.safetensors").path)
        let b = SafetensorsWriter()
        let x = try Tensor(shape: [2, 3], data: [1, -2, 3.5, 0, 1e-3, 65504])
        try b.add("x.f16", tensor: x, as: .f16)
        try b.add("x.bf16", tensor: x, as: .bf16)
        try b.add("x.f32", tensor: x)
        try b.write(to: dir.appendingPathComponent("model-00002-of-00002.safetensors").path)
        let index = #"{"metadata": {"total_size": 0}, "weight_map": {"bf": "model-00001-of-00002.safetensors", "x.f16": "model-00002-of-00002.safetensors", "x.bf16": "model-00002-of-00002.safetensors", "x.f32": "model-00002-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))

        let m = try SafetensorsModel(directory: dir)
        XCTAssertEqual(m.files.count, 2)
        XCTAssertEqual(m.tensorNames, ["bf", "x.bf16", "x.f16", "x.f32"])
        XCTAssertNil(m.config)
        XCTAssertEqual(try m.tensorF32(named: "bf").scalars.map(\.bitPattern),
                       FormatFixtures.floats(bf["values"] as! String).map(\.bitPattern))
        XCTAssertEqual(try m.tensorF32(named: "x.f32").scalars, x.scalars)
        XCTAssertEqual(try m.tensorF32(named: "x.f16").scalars, [1, -2, 3.5, 0, Half.toFloat(Half.fromFloat(1e-3)), 65504])
        XCTAssertEqual(try m.tensorF32(named: "x.bf16").scalars[0 ..< 4], [1, -2, 3.5, 0])
        XCTAssertEqual(try ModelStore.default.resolve(dir.path).standardizedFileURL.path, dir.standardizedFileURL.path)
        XCTAssertThrowsError(try m.tensorF32(named: "nope"))

        // A tensor at an odd byte offset (after three I8 bytes) reads through unaligned loads.
        let u = SafetensorsWriter()
        try u.add("odd", shape: [3], dtype: .i8, bytes: [1, 2, 3])
        try u.add("h", tensor: Tensor(shape: [2], data: [1.5, -2]), as: .f16)
        let uf = try SafetensorsFile(data: try u.data())
        XCTAssertEqual(try XCTUnwrap(uf.tensor(named: "h")).offset - uf.dataOffset, 3)
        XCTAssertEqual(try uf.tensorF32(named: "h").scalars, [1.5, -2])

        // An index naming a tensor its shard lacks.
        let bad = #"{"weight_map": {"ghost": "model-00002-of-00002.safetensors"}}"#
        try Data(bad.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        XCTAssertThrowsError(try SafetensorsModel(directory: dir)) { e in
            XCTAssertTrue("\(e)".hasSuffix("no tensor (listed in the index) 'ghost'"), "\(e)")
        }
        let escape = #"{"weight_map": {"x": "../secret.safetensors"}}"#
        try Data(escape.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        XCTAssertThrowsError(try SafetensorsModel(directory: dir)) { e in
            XCTAssertTrue("\(e)".contains("must name a file in the same folder"), "\(e)")
        }
    }

    /// Header validation: each bad header gives one error naming the file and the field.
    func testBadHeaders() throws {
        func header(_ json: String, data: Int = 0) -> Data {
            var d = Data()
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { d.append(contentsOf: $0) }
            d.append(contentsOf: Array(json.utf8))
            d.append(contentsOf: [UInt8](repeating: 0, count: data))
            return d
        }
        let cases: [(Data, String)] = [
            (Data([1, 2, 3]), "x.st: header length: file is truncated (needs 8 bytes at offset 0, file size 3)"),
            (header("{}").prefix(9), "x.st: header: file is truncated (needs 2 bytes at offset 8, file size 9)"),
            (header("[1]"), "x.st: not a safetensors file (first bytes header that does not start with '{')"),
            (header("{\"a\":"), "x.st: header: not valid JSON"),
            (header(#"{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}}"#, data: 4),
             "x.st: tensor 'a': unsupported type Q9"),
            (header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: 4),
             "x.st: tensor 'a': shape [2] of F32 needs 8 bytes, data_offsets [0, 4] hold 4"),
            (header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 2),
             "x.st: tensor 'a': data [8+0..." ),
            (header(#"{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, data: 4),
             "x.st: tensor 'a' shape: entries must be non-negative integers, got 1.5"),
            (header(#"{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}"#, data: 4),
             "x.st: tensor 'a' shape: entries must be non-negative integers, got 1"),
            (header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, data: 8),
             "x.st: tensor 'a' data_offsets: [4, 8) leaves a gap after offset 0"),
            (header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 8),
             "x.st: data: tensors cover 4 bytes but the data section has 8"),
            (header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: 4),
             "x.st: tensor 'b' data_offsets: [0, 4) overlaps the previous tensor"),
            (header(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#, data: 4),
             "x.st: tensor 'a': shape [4294967296, 4294967296, 4294967296] overflows the element count"),
            (header(#"{"__metadata__":{"k":1}}"#), "x.st: __metadata__.k: must be a string"),
        ]
        for (data, message) in cases {
            XCTAssertThrowsError(try SafetensorsFile(data: data, path: "x.st"), message) { e in
                XCTAssertTrue(e is ModelFileError)
                if message.hasSuffix("...") {
                    XCTAssertTrue("\(e)".contains("lies outside the file"), "\(e)")
                } else {
                    XCTAssertEqual("\(e)", message)
                }
            }
        }
        var huge = Data()
        withUnsafeBytes(of: UInt64(1) << 60) { huge.append(contentsOf: $0) }
        XCTAssertThrowsError(try SafetensorsFile(data: huge, path: "x.st")) { e in
            XCTAssertEqual("\(e)", "x.st: header length: 1152921504606846976 exceeds the 100 MB limit of the format")
        }
    }
}
