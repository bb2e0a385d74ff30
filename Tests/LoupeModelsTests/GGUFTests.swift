import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// Fixture access shared by the format tests (files made by Tests/Fixtures/make_gguf_fixtures.py and
/// make_safetensors_fixtures.py).
enum FormatFixtures {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)!
    }

    /// The small GGUF file gguf-python wrote (stored as hex in its JSON, since *.gguf is git-ignored).
    static func pythonWrittenGGUF() throws -> Data {
        Data(hex(try json("gguf_python_written.json")["file_hex"] as! String))
    }

    static func pythonWrittenFile() throws -> GGUFFile {
        try GGUFFile(data: pythonWrittenGGUF(), path: "gguf_python_written.gguf")
    }

    static func json(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url(name))) as! [String: Any]
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count / 2)
        var hi: UInt8 = 0
        for (i, c) in s.utf8.enumerated() {
            let v: UInt8 = c <= 57 ? c - 48 : c - 87
            if i % 2 == 0 { hi = v } else { out.append(hi << 4 | v) }
        }
        return out
    }

    /// Float32 values from the hex of their little-endian bytes.
    static func floats(_ s: String) -> [Float] {
        let b = hex(s)
        return (0 ..< b.count / 4).map { i in
            Float(bitPattern: UInt32(b[4 * i]) | UInt32(b[4 * i + 1]) << 8 | UInt32(b[4 * i + 2]) << 16
                | UInt32(b[4 * i + 3]) << 24)
        }
    }

    /// A shipped model's file in the store ($LOUPE_HOME/models, default ~/.loupe/models); scripts/test.sh fetches
    /// the three models first, so absence is a failure with the command that fixes it, never a skip.
    static func model(_ name: String, _ file: String) throws -> String {
        let path = ModelStore.default.directory(for: name).appendingPathComponent(file).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelFileError.modelNotFetched(name: name, path: path)
        }
        return path
    }
}

final class GGUFTests: XCTestCase {
    // MARK: Reader against gguf-python

    /// Every metadata value type, nested arrays, a custom alignment and six tensors, as gguf-python wrote and read
    /// them.
    func testReaderMatchesGGUFPythonOnEveryValueType() throws {
        let ref = try FormatFixtures.json("gguf_python_written.json")
        let f = try FormatFixtures.pythonWrittenFile()
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(f.fileSize, ref["file_size"] as? Int)
        XCTAssertEqual(f.architecture, "loupetest")
        let meta = ref["metadata"] as! [[String: Any]]
        XCTAssertEqual(f.metadataKeys, meta.map { $0["key"] as! String })
        for m in meta {
            let key = m["key"] as! String
            let v = try XCTUnwrap(f.metadata[key], key)
            XCTAssertEqual("\(v.type)".uppercased(), (m["type"] as! String).replacingOccurrences(of: "_", with: ""),
                           key)
            assertEqual(v, m["value"]!, key)
            if let et = m["element_type"] as? String {
                XCTAssertEqual(f.arrayElementTypes[key].map { "\($0)".uppercased() }, et.replacingOccurrences(
                    of: "_", with: ""), key)
            }
        }
        XCTAssertEqual(f.stringArray("t.arr.str"), ["a", "", "ü", "<0x0A>"])
        XCTAssertEqual(f.stringArrayBytes("t.arr.str"), [[97], [], [0xC3, 0xBC], Array("<0x0A>".utf8)])
        XCTAssertEqual(f.floatArray("t.arr.f32"), [1.5, -2, 3.25])
        XCTAssertEqual(f.intArray("t.arr.i32"), [1, -2, 3])
        XCTAssertEqual(f.metadata["t.arr.nested"], .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])]))
        XCTAssertNil(f.intArray("t.arr.str"))
        XCTAssertNil(f.string("t.u8"))
        XCTAssertEqual(f.int("t.u64"), nil, "a u64 beyond Int.max has no Int value")
        XCTAssertThrowsError(try f.requireString("t.u8")) { e in
            XCTAssertEqual("\(e)", "\(f.path): metadata 't.u8' is uint8, expected string")
        }

        let tensors = ref["tensors"] as! [[String: Any]]
        XCTAssertEqual(f.tensors.map(\.name), tensors.map { $0["name"] as! String })
        for t in tensors {
            let name = t["name"] as! String
            let info = try XCTUnwrap(f.tensor(named: name))
            XCTAssertEqual(info.type.name, t["type"] as? String, name)
            XCTAssertEqual(info.dims, t["dims"] as? [Int], name)
            XCTAssertEqual(info.offset, t["offset"] as? Int, name)
            XCTAssertEqual(info.byteCount, t["n_bytes"] as? Int, name)
            let expected = FormatFixtures.floats(t["values"] as! String)
            let got = try f.tensorF32(named: name)
            XCTAssertEqual(got.shape, info.dims.reversed(), name)
            XCTAssertEqual(got.scalars.map(\.bitPattern), expected.map(\.bitPattern), name)
        }
    }

    /// Compares a parsed value with the JSON gguf-python's reader produced.
    private func assertEqual(_ v: GGUFValue, _ json: Any, _ key: String, file: StaticString = #filePath,
                             line: UInt = #line) {
        switch v {
        case let .array(a):
            let j = json as! [Any]
            XCTAssertEqual(a.count, j.count, key, file: file, line: line)
            for (x, y) in zip(a, j) { assertEqual(x, y, key, file: file, line: line) }
        case let .string(s): XCTAssertEqual(s, json as? String, key, file: file, line: line)
        case let .bool(b): XCTAssertEqual(b, json as? Bool, key, file: file, line: line)
        case let .float32(x): XCTAssertEqual(x, Float((json as! NSNumber).doubleValue), key, file: file, line: line)
        case let .float64(x): XCTAssertEqual(x, (json as! NSNumber).doubleValue, key, file: file, line: line)
        case let .uint64(x): XCTAssertEqual("\(x)", "\(json)", key, file: file, line: line)
        default: XCTAssertEqual(v.int, (json as! NSNumber).intValue, key, file: file, line: line)
        }
    }

    // MARK: Writer

    /// The same content written by Loupe's writer is byte-identical to gguf-python's file.
    func testWriterReproducesGGUFPythonFileByteForByte() throws {
        let expected = try FormatFixtures.pythonWrittenGGUF()
        let w = GGUFWriter(architecture: "loupetest")
        try w.setAlignment(64)
        w.set("t.u8", .uint8(200))
        w.set("t.i8", .int8(-100))
        w.set("t.u16", .uint16(60000))
        w.set("t.i16", .int16(-30000))
        w.set("t.u32", .uint32(4_000_000_000))
        w.set("t.i32", .int32(-2_000_000_000))
        w.set("t.u64", .uint64(18_000_000_000_000_000_000))
        w.set("t.i64", .int64(-9_000_000_000_000_000_000))
        w.set("t.f32", .float32(0.1))
        w.set("t.f64", .float64(-1e300))
        w.set("t.bool", .bool(true))
        w.set("t.false", .bool(false))
        w.set("t.str", .string("héllo ✓ 世界"))
        // (the fixture script's add_string("t.empty", "") wrote nothing: gguf-python skips empty strings)
        w.set("t.arr.str", .array(["a", "", "ü", "<0x0A>"].map { .string($0) }))
        w.set("t.arr.f32", .array([1.5, -2, 3.25].map { .float32($0) }))
        w.set("t.arr.i32", .array([1, -2, 3].map { .int32($0) }))
        w.set("t.arr.u8", .array([.uint8(0), .uint8(255)]))
        w.set("t.arr.bool", .array([.bool(true), .bool(false)]))
        w.set("t.arr.f64", .array([.float64(0.5)]))
        w.set("t.arr.i64", .array([.int64(-(1 << 40))]))
        w.set("t.arr.nested", .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])]))
        // x = (arange(128) - 60) / 7 as float32, shape [2, 64]
        let x = (0 ..< 128).map { (Float($0) - 60) / 7 }
        let xt = try Tensor(shape: [2, 64], data: x)
        try w.addTensor("w.f32", tensor: xt)
        try w.addTensor("w.f16", tensor: Tensor(shape: [1, 48], data: Array(x[0 ..< 48])), as: .f16)
        try w.addTensor("w.q8_0", tensor: xt, as: .q8_0)
        try w.addTensor("w.q4_0", tensor: xt, as: .q4_0)
        try w.addTensor("w.bf16", tensor: Tensor(shape: [64], data: Array(x[64...])), as: .bf16)
        try w.addTensor("w.scalar", shape: [1], type: .f32, bytes: Quantize.bytes(.f32, [3]))
        let data = try w.data()
        XCTAssertEqual(data.count, expected.count)
        XCTAssertEqual(data, expected, "first difference at byte \(Array(zip(data, expected)).firstIndex { $0 != $1 } ?? -1)")

        // write(to:) streams the same bytes to disk through a temporary file.
        let dir = try tempDirectory()
        let out = dir.appendingPathComponent("out.gguf").path
        try w.write(to: out)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), expected)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.gguf"],
                       "no temporary file left behind")
        // For make_gguf_fixtures.py --check: leave a Loupe-written copy where asked.
        if let keep = ProcessInfo.processInfo.environment["LOUPE_WRITE_GGUF_TO"] { try w.write(to: keep) }
    }

    /// A file copied through the writer reads back identical (metadata, types, tensor bytes), and the bytes equal.
    func testCopyRoundTrip() throws {
        let f = try FormatFixtures.pythonWrittenFile()
        let copy = try GGUFWriter(copying: f).data()
        XCTAssertEqual(copy, try FormatFixtures.pythonWrittenGGUF())
        let g = try GGUFFile(data: copy, path: "copy.gguf")
        XCTAssertEqual(g.metadataKeys, f.metadataKeys)
        for k in f.metadataKeys { XCTAssertEqual(g.metadata[k], f.metadata[k], k) }
        XCTAssertEqual(g.tensors.map(\.dims), f.tensors.map(\.dims))
        for (a, b) in zip(f.tensors, g.tensors) { XCTAssertEqual(Array(f.bytes(of: a)), Array(g.bytes(of: b))) }
    }

    /// Empty arrays keep their element type; the writer refuses bad input with named errors.
    func testWriterEdgeCasesAndErrors() throws {
        let w = GGUFWriter(architecture: "x")
        w.set("empty.strings", .array([]), elementType: .string)
        w.set("n", .uint32(1))
        w.set("n", .uint32(2))  // replaces in place
        let g = try GGUFFile(data: try w.data())
        XCTAssertEqual(g.metadataKeys, ["general.architecture", "empty.strings", "n"])
        XCTAssertEqual(g.arrayElementTypes["empty.strings"], .string)
        XCTAssertEqual(g.stringArray("empty.strings"), [])
        XCTAssertEqual(g.int("n"), 2)

        XCTAssertThrowsError(try w.addTensor("q", tensor: Tensor.zeros([3, 30]), as: .q8_0)) { e in
            XCTAssertEqual("\(e)", "<writer>: tensor 'q': row length 30 is not a multiple of Q8_0's block size 32")
        }
        XCTAssertThrowsError(try w.addTensor("k", tensor: Tensor.zeros([32]), as: .q4_K)) { e in
            XCTAssertTrue("\(e)".contains("no quantizer"), "\(e)")
        }
        try w.addTensor("a", tensor: Tensor.zeros([4]))
        XCTAssertThrowsError(try w.addTensor("a", tensor: Tensor.zeros([4]))) { e in
            XCTAssertEqual("\(e)", "<writer>: duplicate tensor 'a'")
        }
        XCTAssertThrowsError(try w.addTensor("b", shape: [2, 32], type: .q8_0, bytes: [1, 2, 3]))
        w.set("mixed", .array([.uint8(1), .string("x")]))
        XCTAssertThrowsError(try w.data()) { e in XCTAssertTrue("\(e)".contains("'mixed'"), "\(e)") }
        XCTAssertThrowsError(try w.setAlignment(48))

        // A failed write leaves an existing file untouched.
        let dir = try tempDirectory()
        let path = dir.appendingPathComponent("m.gguf").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try w.write(to: path))
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["m.gguf"])
    }

    /// Arrays longer than `GGUFFile.deferredArrayMinimum` stay in the file and are decoded when read: every read
    /// path (subscript, iteration, typed helpers, raw bytes, the writer's copy) gives what was written, and a damaged
    /// big array is still an error when the file is opened, with the element it broke at.
    func testBigArraysAreReadFromTheFileExactly() throws {
        let n = GGUFFile.deferredArrayMinimum * 3 + 7
        let strings: [GGUFValue] = (0 ..< n).map { .string($0 % 17 == 0 ? "" : "tok\($0) ü\u{2581}") }
        let int32s: [GGUFValue] = (0 ..< n).map { .int32(Int32($0 * 7919 % 20011) - 10_000) }
        let floats: [GGUFValue] = (0 ..< n).map { .float32(Float($0) * -0.37) }
        let doubles: [GGUFValue] = (0 ..< n).map { .float64(Double($0) / 3) }
        let bools: [GGUFValue] = (0 ..< n).map { .bool($0 % 3 == 0) }
        let hugeU64: [GGUFValue] = (0 ..< n).map { .uint64($0 == n - 1 ? UInt64.max : UInt64($0)) }
        let w = GGUFWriter(architecture: "x")
        let arrays: [(String, [GGUFValue])] = [("big.strings", strings), ("big.i32", int32s), ("big.f32", floats),
                                               ("big.f64", doubles), ("big.bool", bools), ("big.u64", hugeU64)]
        for (k, v) in arrays { w.set(k, .array(v)) }
        w.set("small", .array([.uint8(1), .uint8(2)]))
        let data = try w.data()
        let g = try GGUFFile(data: data)
        for (k, v) in arrays {
            XCTAssertNotNil(g.metadata.deferredCount(k), k)
            XCTAssertEqual(g.metadata[k], .array(v), k)
        }
        XCTAssertNil(g.metadata.deferredCount("small"))
        XCTAssertEqual(g.metadata.keys, ["general.architecture"] + arrays.map { $0.0 } + ["small"])
        XCTAssertEqual(g.metadata.map { $0.key }, g.metadataKeys)
        XCTAssertEqual(g.metadata.dictionary["big.i32"], .array(int32s))
        // Typed helpers agree with converting the decoded values one by one.
        XCTAssertEqual(g.stringArray("big.strings"), strings.map { $0.string! })
        XCTAssertEqual(g.stringArrayBytes("big.strings"), strings.map { Array($0.string!.utf8) })
        XCTAssertEqual(g.intArray("big.i32"), int32s.map { $0.int! })
        XCTAssertEqual(g.floatArray("big.i32"), int32s.map { Float($0.double!) })
        XCTAssertEqual(g.floatArray("big.f32"), floats.map { Float($0.double!) })
        XCTAssertEqual(g.floatArray("big.f64"), doubles.map { Float($0.double!) })
        XCTAssertNil(g.intArray("big.f32"))
        XCTAssertNil(g.intArray("big.bool"))
        XCTAssertNil(g.floatArray("big.bool"))
        XCTAssertNil(g.intArray("big.u64"), "a uint64 above Int.max is not an Int")
        XCTAssertNil(g.stringArray("big.i32"))
        // The writer's copy (what training export does) reproduces the file.
        XCTAssertEqual(try GGUFWriter(copying: g).data(), data)

        // A string length that runs past the end, inside the big array, fails at open.
        var broken = data
        let needle = Data("tok\(n - 1) ".utf8)
        let at = try XCTUnwrap(broken.range(of: needle)).lowerBound - 8
        broken.replaceSubrange(at ..< at + 8, with: [UInt8](repeating: 0x7F, count: 8))
        XCTAssertThrowsError(try GGUFFile(data: broken)) { e in
            XCTAssertTrue("\(e)".contains("metadata 'big.strings' element \(n - 1)"), "\(e)")
        }
        XCTAssertThrowsError(try GGUFFile(data: data.prefix(at + 4))) { e in
            XCTAssertTrue("\(e)".contains("metadata 'big.strings' element \(n - 1)"), "\(e)")
        }
    }

    /// Quantized tensors written from floats read back as gguf's dequantize of gguf's quantize (fixture values).
    func testWrittenQuantizedTensorsDequantizeLikeGGUF() throws {
        let ref = try FormatFixtures.json("gguf_python_written.json")
        let f = try FormatFixtures.pythonWrittenFile()
        for t in ref["tensors"] as! [[String: Any]] where t["input"] is String {
            let name = t["name"] as! String
            let input = FormatFixtures.floats(t["input"] as! String)
            let info = try XCTUnwrap(f.tensor(named: name))
            let w = GGUFWriter()
            try w.addTensor(name, tensor: Tensor(shape: info.shape, data: input), as: info.type)
            let g = try GGUFFile(data: try w.data())
            XCTAssertEqual(try g.tensorF32(named: name).scalars.map(\.bitPattern),
                           FormatFixtures.floats(t["values"] as! String).map(\.bitPattern), name)
        }
    }

    // MARK: Real files

    /// SmolLM2's file: header facts checked against gguf-python (GGUFReader) by hand once, and data offsets that
    /// hold the fixture's real blocks.
    func testSmolLM2Header() throws {
        let f = try GGUFFile(path: FormatFixtures.model("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf"))
        XCTAssertEqual(f.architecture, "llama")
        XCTAssertEqual(f.tensors.count, 272)
        XCTAssertEqual(f.metadataKeys.count, 33)
        XCTAssertEqual(f.int("llama.embedding_length"), 576)
        XCTAssertEqual(f.stringArray("tokenizer.ggml.tokens")?.count, 49152)
        let emb = try XCTUnwrap(f.tensor(named: "token_embd.weight"))
        XCTAssertEqual(emb.type, .q8_0)
        XCTAssertEqual(emb.dims, [576, 49152])
        XCTAssertEqual(emb.shape, [49152, 576])
        XCTAssertEqual(emb.offset, 1_785_664)
        XCTAssertEqual(emb.byteCount, 30_081_024)
        try checkRealBlocks(f, file: "SmolLM2-135M-Instruct.Q4_1.gguf")

        // After the header's pages go back to the kernel (as LanguageModel.load does), reads fault them back in.
        let tokens = f.stringArray("tokenizer.ggml.tokens")
        let merges = f.metadata["tokenizer.ggml.merges"]
        f.releaseHeaderPages()
        XCTAssertEqual(f.stringArray("tokenizer.ggml.tokens"), tokens)
        XCTAssertEqual(f.metadata["tokenizer.ggml.merges"], merges)
        XCTAssertEqual(f.int("llama.embedding_length"), 576)
    }

    /// Gemma's file has 262k tokens: the string array must load fast straight from the mapping.
    func testGemmaHeaderAndVocabularySpeed() throws {
        let path = try FormatFixtures.model("gemma-3-270m", "gemma-3-270m-q4_k_m.gguf")
        let t0 = Date()
        let f = try GGUFFile(path: path)
        let dt = Date().timeIntervalSince(t0)
        XCTAssertEqual(f.architecture, "gemma3")
        XCTAssertEqual(f.tensors.count, 236)
        XCTAssertEqual(f.stringArray("tokenizer.ggml.tokens")?.count, 262_144)
        XCTAssertEqual(f.floatArray("tokenizer.ggml.scores")?.count, 262_144)
        // Release builds parse it in ~0.1 s and debug builds (the tests) in ~0.3 s on an idle machine; the bound
        // leaves room for a loaded one and still catches a per-string slow path (that took 20 s).
        XCTAssertLessThan(dt, 5, "parsing gemma's header took \(dt) s")
        print("gemma header parsed in \(dt) s")
        try checkRealBlocks(f, file: "gemma-3-270m-q4_k_m.gguf")
    }

    /// The fixture's real blocks (read by gguf-python at its data offsets) are the bytes at our offsets, and our
    /// dequantization of the whole tensor agrees on them.
    private func checkRealBlocks(_ f: GGUFFile, file: String) throws {
        let ref = try FormatFixtures.json("dequant_blocks.json")
        var checked = 0
        for c in ref["cases"] as! [[String: Any]] {
            let origin = c["origin"] as! String
            guard origin.hasPrefix(file + ":") else { continue }
            let parts = origin.split(separator: ":")
            let name = String(parts[1])
            let blocks = parts[2].dropFirst().dropLast().split(separator: ",").map {
                Int($0.trimmingCharacters(in: .whitespaces))!
            }
            let info = try XCTUnwrap(f.tensor(named: name))
            let bytes = f.bytes(of: info)
            let ts = info.type.typeSize, bs = info.type.blockSize
            let expectedBytes = FormatFixtures.hex(c["bytes"] as! String)
            let expectedValues = FormatFixtures.floats(c["values"] as! String)
            // Decode only the checked blocks (token_embd alone is 168M values).
            func decode(_ b: Int, _ count: Int) throws -> [Float] {
                var out = [Float](repeating: .nan, count: count * bs)
                let src = UnsafeRawBufferPointer(rebasing: bytes[b * ts ..< (b + count) * ts])
                try out.withUnsafeMutableBufferPointer {
                    try Dequantize.rows(info, src, into: $0.baseAddress!, count: count * bs, path: f.path)
                }
                return out
            }
            if info.type == .f32 {
                XCTAssertEqual(Array(bytes[0 ..< expectedBytes.count]), expectedBytes, name)
                XCTAssertEqual(try decode(0, expectedValues.count).map(\.bitPattern), expectedValues.map(\.bitPattern),
                               name)
            } else {
                for (k, b) in blocks.enumerated() {
                    XCTAssertEqual(Array(bytes[b * ts ..< (b + 1) * ts]), Array(expectedBytes[k * ts ..< (k + 1) * ts]),
                                   "\(name) block \(b)")
                    XCTAssertEqual(try decode(b, 1).map(\.bitPattern),
                                   expectedValues[k * bs ..< (k + 1) * bs].map(\.bitPattern), "\(name) block \(b)")
                }
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 2, "fixture has real blocks of \(file)")
    }

    func tempDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-gguf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }
}
