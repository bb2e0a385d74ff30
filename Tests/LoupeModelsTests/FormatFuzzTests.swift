import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// Bad input for the GGUF and safetensors readers: hand-made broken headers with their exact messages, then a
/// randomized mutation run (bit flips, byte stores, truncations, splices and length-field tampering) over small
/// valid files written by Loupe's writers. Every outcome must be a parse or a `ModelFileError`; a crash, a hang or a
/// giant allocation fails the run.
final class FormatFuzzTests: XCTestCase {
    /// Little-endian GGUF bytes built field by field.
    struct Bytes {
        var b: [UInt8] = []
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
        mutating func str(_ s: String) { u64(UInt64(s.utf8.count)); b += Array(s.utf8) }
        mutating func header(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) {
            b += Array("GGUF".utf8); u32(version); u64(tensors); u64(kvs)
        }
        var data: Data { Data(b) }
    }

    func expectError(_ bytes: Bytes, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try GGUFFile(data: bytes.data, path: "m.gguf"), file: file, line: line) { e in
            XCTAssertTrue(e is ModelFileError, file: file, line: line)
            XCTAssertEqual("\(e)", message, file: file, line: line)
        }
    }

    func testGGUFBadInputMessages() throws {
        var b = Bytes()
        b.b = Array("GGML".utf8) + [3, 0, 0, 0]
        expectError(b, "m.gguf: not a GGUF file (first bytes 47 47 4d 4c)")
        b = Bytes(); b.b = Array("GG".utf8)
        expectError(b, "m.gguf: magic: file is truncated (needs 4 bytes at offset 0, file size 2)")
        b = Bytes(); b.header(version: 1, tensors: 0, kvs: 0)
        expectError(b, "m.gguf: unsupported version 1 (supported: 2, 3)")
        b = Bytes(); b.header(version: 0x0300_0000, tensors: 0, kvs: 0)
        expectError(b, "m.gguf: unsupported version 50331648 (supported: 2, 3 (a big-endian file?))")
        b = Bytes(); b.b = Array("GGUF".utf8) + [3, 0, 0, 0, 0, 0]
        expectError(b, "m.gguf: tensor count: file is truncated (needs 8 bytes at offset 8, file size 10)")

        // Absurd counts are refused before anything is allocated.
        b = Bytes(); b.header(tensors: 0, kvs: 1 << 40)
        expectError(b, "m.gguf: metadata count: count 1099511627776 at offset 16 cannot fit in the 0 bytes that remain")
        b = Bytes(); b.header(tensors: 0, kvs: 1); b.u64(1 << 60); b.u64(0); b.u64(0)
        expectError(b, "m.gguf: metadata key #0: string length 1152921504606846976 at offset 24 exceeds the 16 bytes that remain")
        b = Bytes(); b.header(tensors: 0, kvs: 1); b.str("a"); b.u32(9); b.u32(4); b.u64(1 << 40)
        expectError(b, "m.gguf: metadata 'a' array length: count 1099511627776 at offset 41 cannot fit in the 0 bytes that remain")
        b = Bytes(); b.header(tensors: 0, kvs: 1); b.str("a"); b.u32(9); b.u32(8); b.u64(2); b.str("x"); b.u64(1 << 60)
        expectError(b, "m.gguf: metadata 'a' element 1: string length 1152921504606846976 at offset 58 exceeds the 0 bytes that remain")
        b = Bytes(); b.header(tensors: 0, kvs: 1); b.str("a"); b.u32(13)
        expectError(b, "m.gguf: metadata 'a': unknown value type 13")
        b = Bytes(); b.header(tensors: 0, kvs: 1); b.str("a"); b.u32(9); b.u32(77); b.u64(0)
        expectError(b, "m.gguf: metadata 'a': unknown array element type 77")
        b = Bytes(); b.header(tensors: 0, kvs: 2); b.str("a"); b.u32(4); b.u32(1); b.str("a"); b.u32(4); b.u32(2)
        expectError(b, "m.gguf: duplicate metadata key 'a'")
        b = Bytes(); b.header(tensors: 0, kvs: 1); b.str("a"); b.u32(9)
        for _ in 0 ..< 20 { b.u32(9); b.u64(1) }
        expectError(b, "m.gguf: metadata 'a': arrays nested deeper than 8")

        // Alignment.
        b = Bytes(); b.header(tensors: 0, kvs: 1); b.str("general.alignment"); b.u32(4); b.u32(48)
        expectError(b, "m.gguf: metadata 'general.alignment': 48 is not a power of two")
        b = Bytes(); b.header(tensors: 0, kvs: 1); b.str("general.alignment"); b.u32(10); b.u64(64)
        expectError(b, "m.gguf: metadata 'general.alignment': must be uint32, found uint64")

        // Tensor infos.
        func tensor(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64, pad: Int = 64) -> Bytes {
            var b = Bytes(); b.header(tensors: 1, kvs: 0); b.str(name); b.u32(UInt32(dims.count))
            for d in dims { b.u64(d) }
            b.u32(type); b.u64(offset)
            while b.b.count % 32 != 0 { b.b.append(0) }
            b.b += [UInt8](repeating: 0, count: pad)
            return b
        }
        expectError(tensor("w", dims: [16], type: 99, offset: 0), "m.gguf: tensor 'w': unsupported type 99")
        expectError(tensor("w", dims: [1, 1, 1, 1, 1], type: 0, offset: 0),
                    "m.gguf: tensor 'w': 5 dimensions (at most 4)")
        expectError(tensor("w", dims: [16], type: 8, offset: 0),
                    "m.gguf: tensor 'w': row length 16 is not a multiple of Q8_0's block size 32")
        expectError(tensor("w", dims: [32], type: 0, offset: 0),
                    "m.gguf: tensor 'w': data [64, 192) lies outside the file (size 128)")
        expectError(tensor("w", dims: [4], type: 0, offset: 8),
                    "m.gguf: tensor 'w' offset: 8 is not a multiple of the alignment 32")
        expectError(tensor("w", dims: [1 << 62, 1 << 62], type: 0, offset: 0),
                    "m.gguf: tensor 'w': dimension 1 = 4611686018427387904 makes the element count overflow")
        expectError(tensor("w", dims: [1 << 40], type: 0, offset: 0),
                    "m.gguf: tensor 'w': data [64, 4398046511168) lies outside the file (size 128)")
        expectError(tensor("w", dims: [4], type: 0, offset: 1 << 62),
                    "m.gguf: tensor 'w': data [4611686018427387904, 9223372036854775807) lies outside the file (size 128)")
        // The same tensor name twice.
        b = Bytes(); b.header(tensors: 2, kvs: 0)
        for _ in 0 ..< 2 { b.str("w"); b.u32(1); b.u64(4); b.u32(0); b.u64(0) }
        expectError(b, "m.gguf: duplicate tensor 'w'")

        // A valid tiny file parses; a missing file is an io error naming it.
        let ok = tensor("w", dims: [4], type: 0, offset: 0)
        XCTAssertEqual(try GGUFFile(data: ok.data).tensors.first?.byteCount, 16)
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/x.gguf")) { e in
            XCTAssertEqual("\(e)", "/nonexistent/x.gguf: No such file or directory")
        }
        XCTAssertThrowsError(try GGUFFile(path: "/tmp")) { e in XCTAssertEqual("\(e)", "/tmp: not a regular file") }
    }

    // MARK: Randomized mutations

    /// SplitMix64: deterministic, so a failure names the iteration that reproduces it.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    /// Values that make length and count fields interesting.
    static let tamper: [UInt64] = [0, 1, 2, 3, 4, 7, 8, 31, 32, 33, 64, 255, 256, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                   1 << 32, 1 << 40, 1 << 60, UInt64(Int64.max), UInt64.max, UInt64.max - 7]

    func mutate(_ seed: [UInt8], _ rng: inout Rng) -> [UInt8] {
        var b = seed
        let rounds = 1 + rng.below(3)
        for _ in 0 ..< rounds {
            guard !b.isEmpty else { break }
            switch rng.below(7) {
            case 0:  // flip a few bits
                for _ in 0 ... rng.below(4) { b[rng.below(b.count)] ^= UInt8(1 << rng.below(8)) }
            case 1:  // store an interesting byte
                b[rng.below(b.count)] = [0, 0xFF, 0x7F, 0x80, 0x01, 0x20, 0x7B, 0x22][rng.below(8)]
            case 2:  // truncate
                b = Array(b[0 ..< rng.below(b.count)])
            case 3:  // splice: copy a chunk elsewhere (overwrite)
                let from = rng.below(b.count), to = rng.below(b.count)
                let n = min(rng.below(16) + 1, b.count - from, b.count - to)
                let chunk = Array(b[from ..< from + n])
                b.replaceSubrange(to ..< to + n, with: chunk)
            case 4:  // insert or delete a chunk
                let at = rng.below(b.count)
                if rng.below(2) == 0 {
                    b.insert(contentsOf: (0 ..< rng.below(9) + 1).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
                } else {
                    b.removeSubrange(at ..< min(b.count, at + rng.below(9) + 1))
                }
            default:  // overwrite a 4- or 8-byte field (aligned to 4, where GGUF's fields mostly sit) with a tamper value
                let width = rng.below(2) == 0 ? 4 : 8
                guard b.count >= width else { break }
                let at = min(rng.below(b.count - width + 1) & ~3, b.count - width)
                let v = FormatFuzzTests.tamper[rng.below(FormatFuzzTests.tamper.count)] &+ UInt64(rng.below(3))
                for k in 0 ..< width { b[at + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            }
        }
        return b
    }

    /// A small GGUF with every value kind, a vocabulary-like string array and three tensors.
    func seedGGUF() throws -> [UInt8] {
        let w = GGUFWriter(architecture: "llama")
        w.set("llama.block_count", .uint32(2))
        w.set("llama.rope.freq_base", .float32(10000))
        w.set("tokenizer.ggml.tokens", .array(["<s>", "a", "bc", "▁x", "<0x0A>"].map { .string($0) }))
        w.set("tokenizer.ggml.scores", .array([0, -1, -2, -3, -4].map { .float32($0) }))
        w.set("nested", .array([.array([.int8(1)]), .array([])]))
        w.set("flag", .bool(true))
        w.set("big", .int64(-5))
        try w.addTensor("a", tensor: Tensor(shape: [2, 32], data: (0 ..< 64).map { Float($0) / 9 }), as: .q8_0)
        try w.addTensor("b", tensor: Tensor(shape: [3], data: [1, 2, 3]))
        try w.addTensor("c", tensor: Tensor(shape: [32], data: (0 ..< 32).map { Float($0) - 16 }), as: .q4_1)
        return Array(try w.data())
    }

    func seedSafetensors() throws -> [UInt8] {
        let w = SafetensorsWriter(metadata: ["format": "pt"])
        try w.add("w", tensor: Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]))
        try w.add("h", tensor: Tensor(shape: [4], data: [1, 2, 3, 4]), as: .f16)
        try w.add("ids", shape: [2], dtype: .i64, bytes: [UInt8](repeating: 1, count: 16))
        return Array(try w.data())
    }

    /// Parses, then touches everything a loader would: metadata helpers and every tensor's data.
    func exercise(_ f: GGUFFile) throws {
        _ = f.architecture
        for k in f.metadataKeys {
            _ = f.stringArray(k); _ = f.floatArray(k); _ = f.intArray(k); _ = f.stringArrayBytes(k)
        }
        for t in f.tensors where Dequantize.isSupported(t.type) {
            let n = t.elementCount
            var out = [Float](repeating: 0, count: n)
            try out.withUnsafeMutableBufferPointer {
                try Dequantize.rows(t, f.bytes(of: t), into: $0.baseAddress!, count: n, path: f.path)
            }
        }
    }

    func testGGUFMutations() throws {
        let seed = try seedGGUF()
        try exercise(GGUFFile(data: Data(seed)))  // the seed itself is valid
        var rng = Rng(state: 0x6767_5546)
        var parsed = 0, refused = 0
        let iterations = 64_000
        for i in 0 ..< iterations {
            let m = mutate(seed, &rng)
            do {
                try exercise(GGUFFile(data: Data(m), path: "fuzz.gguf"))
                parsed += 1
            } catch is ModelFileError {
                refused += 1
            } catch {
                XCTFail("iteration \(i): \(type(of: error)) \(error) for \(m.map { String(format: "%02x", $0) }.joined())")
                return
            }
        }
        print("GGUF mutations: \(parsed) parsed, \(refused) refused")
        XCTAssertEqual(parsed + refused, iterations)
        XCTAssertGreaterThan(refused, iterations / 10, "mutations reach the validation")
        XCTAssertGreaterThan(parsed, iterations / 20, "mutations also reach the data paths")
    }

    func testSafetensorsMutations() throws {
        let seed = try seedSafetensors()
        _ = try SafetensorsFile(data: Data(seed))
        var rng = Rng(state: 0x5AFE_7E45)
        var parsed = 0, refused = 0
        let iterations = 40_000
        // The data section is small; mutate mostly the header (length field and JSON).
        for i in 0 ..< iterations {
            let m = mutate(seed, &rng)
            do {
                let f = try SafetensorsFile(data: Data(m), path: "fuzz.safetensors")
                for t in f.tensors where [.f32, .f16, .bf16].contains(t.dtype) { _ = try f.floats(of: t) }
                parsed += 1
            } catch is ModelFileError {
                refused += 1
            } catch {
                XCTFail("iteration \(i): \(type(of: error)) \(error) for \(m.map { String(format: "%02x", $0) }.joined())")
                return
            }
        }
        print("safetensors mutations: \(parsed) parsed, \(refused) refused")
        XCTAssertGreaterThan(refused, iterations / 10)
        XCTAssertGreaterThan(parsed, iterations / 50)
    }
}
