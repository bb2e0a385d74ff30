import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// Dequantization and quantization, bit-exact against PyPI gguf's `gguf.quants` (fixtures from
/// Tests/Fixtures/make_gguf_fixtures.py: random blocks with valid scales, gguf-quantized data, real blocks of the
/// shipped models).
final class DequantTests: XCTestCase {
    func testDequantizeMatchesGGUFBitForBit() throws {
        let ref = try FormatFixtures.json("dequant_blocks.json")
        var types = Set<String>()
        for c in ref["cases"] as! [[String: Any]] {
            let typeName = c["type"] as! String
            let type = try XCTUnwrap(GGMLType.allCases.first { $0.name == typeName }, typeName)
            let bytes = FormatFixtures.hex(c["bytes"] as! String)
            let expected = FormatFixtures.floats(c["values"] as! String)
            var got = [Float](repeating: .nan, count: expected.count)
            try bytes.withUnsafeBytes { src in
                try got.withUnsafeMutableBufferPointer { dst in
                    try Dequantize.rows(type, src, into: dst.baseAddress!, count: expected.count)
                }
            }
            let label = "\(typeName) \(c["origin"]!)"
            XCTAssertEqual(bytes.count, expected.count / type.blockSize * type.typeSize, label)
            let mismatch = zip(got, expected).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
            XCTAssertNil(mismatch.map { "element \($0.offset): \($0.element.0) vs gguf \($0.element.1)" }, label)
            types.insert(typeName)
        }
        XCTAssertEqual(types, ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K",
                               "Q5_K", "Q6_K"])
    }

    func testQuantizeMatchesGGUFBitForBit() throws {
        let ref = try FormatFixtures.json("dequant_quantize.json")
        for c in ref["cases"] as! [[String: Any]] {
            let typeName = c["type"] as! String
            let type = try XCTUnwrap(GGMLType.allCases.first { $0.name == typeName }, typeName)
            let input = FormatFixtures.floats(c["input"] as! String)
            let expected = FormatFixtures.hex(c["bytes"] as! String)
            let got = try Quantize.bytes(type, input)
            XCTAssertEqual(got.count, expected.count, typeName)
            let first = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }
            XCTAssertNil(first.map { "byte \($0.offset) (block \($0.offset / type.typeSize)): \($0.element.0) vs "
                + "gguf \($0.element.1)" }, typeName)
        }
    }

    /// Every finite half survives half -> float -> half; the table and the slow path agree.
    func testHalfRoundTripsExhaustively() {
        for h in 0 ... 0xFFFF {
            let bits = UInt16(h)
            let f = Half.toFloat(bits)
            XCTAssertEqual(f.bitPattern, Half.toFloatSlow(bits).bitPattern)
            if f.isNaN { XCTAssertTrue(Half.toFloat(Half.fromFloat(f)).isNaN); continue }
            if Half.fromFloat(f) != bits { XCTFail("half \(String(h, radix: 16)) -> \(f) -> \(Half.fromFloat(f))"); return }
        }
        XCTAssertEqual(Half.bf16ToFloat(Half.bf16FromFloat(1.5)), 1.5)
        XCTAssertTrue(Half.bf16ToFloat(Half.bf16FromFloat(.nan)).isNaN)
    }

    /// Quantizing and dequantizing stays within each format's step (a property independent of the fixtures).
    func testQuantizeDequantizeErrorIsWithinOneStep() throws {
        var g = SystemRandomNumberGenerator()
        let x = (0 ..< 32 * 64).map { _ in Float.random(in: -3 ... 3, using: &g) }
        // Worst-case error: one step of the scale for the symmetric formats (the clipped extreme), half a step of
        // the range for the min/max formats, plus the f16 rounding of the scales.
        let symmetric: [(GGMLType, Float)] = [(.q8_0, 127), (.q4_0, 8), (.q5_0, 16)]
        let asymmetric: [(GGMLType, Float)] = [(.q4_1, 15), (.q5_1, 31)]
        for (type, levels) in symmetric + asymmetric {
            let b = try Quantize.bytes(type, x)
            var y = [Float](repeating: 0, count: x.count)
            try b.withUnsafeBytes { src in
                try y.withUnsafeMutableBufferPointer { try Dequantize.rows(type, src, into: $0.baseAddress!, count: x.count) }
            }
            for blk in 0 ..< 64 {
                let xs = x[blk * 32 ..< (blk + 1) * 32]
                let isSymmetric = symmetric.contains { $0.0 == type }
                let step = isSymmetric ? xs.map(abs).max()! / levels : (xs.max()! - xs.min()!) / levels
                for i in blk * 32 ..< (blk + 1) * 32 {
                    XCTAssertLessThanOrEqual(abs(x[i] - y[i]), step * 1.02 + 2e-3, "\(type.name) element \(i)")
                }
            }
        }
    }

    func testDequantizeRefusesBadRequests() throws {
        var out = [Float](repeating: 0, count: 64)
        let bytes = [UInt8](repeating: 0, count: 34)
        try bytes.withUnsafeBytes { src in
            try out.withUnsafeMutableBufferPointer { dst in
                XCTAssertThrowsError(try Dequantize.rows(.q8_0, src, into: dst.baseAddress!, count: 64,
                                                         path: "m.gguf", tensor: "w")) { e in
                    XCTAssertEqual("\(e)", "m.gguf: tensor 'w': 64 Q8_0 elements need 68 bytes, got 34")
                }
                XCTAssertThrowsError(try Dequantize.rows(.q8_0, src, into: dst.baseAddress!, count: 31))
                XCTAssertThrowsError(try Dequantize.rows(.iq2_xxs, src, into: dst.baseAddress!, count: 0)) { e in
                    XCTAssertTrue("\(e)".contains("IQ2_XXS"), "\(e)")
                }
            }
        }
    }

    /// A whole real tensor: tensorF32's shape is numpy order and its rows are the blocks' values.
    func testTensorF32OfARealMatrix() throws {
        let f = try GGUFFile(path: FormatFixtures.model("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf"))
        let t = try f.tensorF32(named: "blk.0.ffn_down.weight")
        let info = try XCTUnwrap(f.tensor(named: "blk.0.ffn_down.weight"))
        XCTAssertEqual(t.shape, [576, 1536])
        // Row r of the matrix is dims[0] = 1536 elements = 48 Q4_1 blocks starting at block 48 r.
        let r = 300
        var row = [Float](repeating: 0, count: 1536)
        let bytes = f.bytes(of: info)
        let rowBytes = UnsafeRawBufferPointer(rebasing: bytes[r * 48 * 20 ..< (r + 1) * 48 * 20])
        try row.withUnsafeMutableBufferPointer { try Dequantize.rows(.q4_1, rowBytes, into: $0.baseAddress!, count: 1536) }
        XCTAssertEqual(Array(t.scalars[r * 1536 ..< (r + 1) * 1536]), row)
        XCTAssertThrowsError(try f.tensorF32(named: "nope")) { e in
            XCTAssertEqual("\(e)", "\(f.path): no tensor 'nope'")
        }
    }
}
