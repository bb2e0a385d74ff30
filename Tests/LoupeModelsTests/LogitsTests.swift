import Foundation
import XCTest
@testable import LoupeModels
import LoupeTensor

/// Where the tests find model files: the committed random-weight fixtures, and the shipped models in the store
/// ($LOUPE_HOME/models/NAME/FILE, LOUPE_HOME defaulting to ~/.loupe; scripts/test.sh fetches them first).
enum TestModels {
    /// A committed fixture file. The random-weight GGUF files are committed base64-wrapped in `FILE.json` (the
    /// repository keeps no *.gguf); they are unwrapped once per process into a temporary folder.
    static func fixture(_ file: String) throws -> String {
        if let url = Bundle.module.url(forResource: file, withExtension: nil, subdirectory: "Fixtures") { return url.path }
        let wrapped = try XCTUnwrap(Bundle.module.url(forResource: file + ".json", withExtension: nil, subdirectory: "Fixtures"),
                                    "fixture \(file) is missing from the test bundle")
        lock.lock(); defer { lock.unlock() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loupe-fixtures-\(getpid())")
        let out = dir.appendingPathComponent(file)
        if FileManager.default.fileExists(atPath: out.path) { return out.path }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: wrapped)) as? [String: Any]
        let bytes = try XCTUnwrap((object?["base64"] as? String).flatMap { Data(base64Encoded: $0) }, "\(file).json holds no base64")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try bytes.write(to: out, options: .atomic)
        return out.path
    }

    static func stored(_ name: String, _ file: String) throws -> String {
        let home = ProcessInfo.processInfo.environment["LOUPE_HOME"]
            ?? (NSHomeDirectory() as NSString).appendingPathComponent(".loupe")
        let path = "\(home)/models/\(name)/\(file)"
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("model file \(path) is missing: run ./loupe models fetch \(name)")
            throw ModelFileError.modelNotFetched(name: name, path: path)
        }
        return path
    }

    static let lock = NSLock()
    nonisolated(unsafe) static var loaded: [String: LanguageModel] = [:]

    /// Loads a model once per test process.
    static func model(_ path: String) throws -> LanguageModel {
        lock.lock(); defer { lock.unlock() }
        if let m = loaded[path] { return m }
        let m = try LanguageModel.load(path: path)
        loaded[path] = m
        return m
    }

    static func smollm() throws -> LanguageModel {
        try model(try stored("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf"))
    }
    static func gemma() throws -> LanguageModel { try model(try stored("gemma-3-270m", "gemma-3-270m-q4_k_m.gguf")) }
    static func qwen2() throws -> LanguageModel { try model(try fixture("random_qwen2.gguf")) }
    static func qwen3() throws -> LanguageModel { try model(try fixture("random_qwen3.gguf")) }
}

/// Log-softmax of one row, in double.
func logSoftmax(_ row: UnsafeBufferPointer<Float>) -> [Double] {
    let m = Double(row.max() ?? 0)
    var s = 0.0
    for v in row { s += exp(Double(v) - m) }
    let lse = m + log(s)
    return row.map { Double($0) - lse }
}

/// Loupe against the reference logits of Tests/Fixtures/make_logit_fixtures.py: llama.cpp on an F32 copy of each
/// file (Loupe runs the original file, quantized weights dequantized inside its kernels, float32 activations).
final class LogitsTests: XCTestCase {
    struct Fixture: Decodable {
        let model: String
        let reference: String
        let prompts: [Prompt]
    }
    struct Prompt: Decodable {
        let ids: [Int]
        let top_ids: [[Int]]
        let top_logprobs: [[Double]]
        let greedy: [Int]
        let greedy_gaps: [Double]
    }

    static let tolerance = 0.03
    static let nearTie = 0.05

    func fixture(_ name: String) throws -> Fixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// Max |Δ log-softmax| over the reference's top 50 at every position, and the greedy continuation up to the
    /// first near-tie. Returns the max error.
    @discardableResult
    func check(_ model: LanguageModel, _ fx: Fixture, file: StaticString = #filePath, line: UInt = #line) throws -> Double {
        var worst = 0.0
        var greedyCompared = 0
        for (pi, p) in fx.prompts.enumerated() {
            let logits = try model.logits(p.ids)
            XCTAssertEqual(logits.shape, [p.ids.count, model.config.vocab], file: file, line: line)
            logits.withUnsafeBufferPointer { all in
                let v = model.config.vocab
                for t in 0..<p.ids.count {
                    let lp = logSoftmax(UnsafeBufferPointer(rebasing: all[(t * v)..<((t + 1) * v)]))
                    for (id, ref) in zip(p.top_ids[t], p.top_logprobs[t]) {
                        let d = abs(lp[id] - ref)
                        worst = max(worst, d)
                        if d > Self.tolerance {
                            XCTFail("\(fx.model) prompt \(pi) position \(t) token \(id): log p \(lp[id]) vs reference \(ref)",
                                    file: file, line: line)
                            return
                        }
                    }
                }
            }
            // Greedy through the KV cache, one step at a time.
            let s = model.makeSession()
            var next = try s.prefill(p.ids)
            for (i, expected) in p.greedy.enumerated() {
                let got = next.withUnsafeBufferPointer { Sampler.argmax($0) }
                if p.greedy_gaps[i] < Self.nearTie { break }  // a near-tie: either choice is right, stop comparing
                XCTAssertEqual(got, expected, "\(fx.model) prompt \(pi) greedy step \(i)", file: file, line: line)
                if got != expected { break }
                greedyCompared += 1
                next = try s.step(got)
            }
        }
        XCTAssertGreaterThan(greedyCompared, fx.prompts.count, "too few greedy steps compared for \(fx.model)")
        print("\(fx.model): max |Δ log-softmax| over the top-50 = \(String(format: "%.5f", worst)) "
              + "(\(fx.reference)); \(greedyCompared) greedy steps equal")
        return worst
    }

    func testSmolLM2MatchesLlamaCpp() throws {
        try check(try TestModels.smollm(), try fixture("logits_smollm2"))
    }

    func testGemma3MatchesLlamaCpp() throws {
        try check(try TestModels.gemma(), try fixture("logits_gemma3"))
    }

    func testQwen2RandomWeightsMatchReference() throws {
        try check(try TestModels.qwen2(), try fixture("logits_qwen2"))
    }

    func testQwen3RandomWeightsMatchReference() throws {
        try check(try TestModels.qwen3(), try fixture("logits_qwen3"))
    }
}
