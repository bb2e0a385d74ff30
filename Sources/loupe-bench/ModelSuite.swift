import Foundation
import LoupeModels
import LoupeTensor

/// Suite `model`: inference on the shipped quantized models against llama.cpp (llama-cpp-python, 2 threads) on the
/// same GGUF file (bench/peers/model_peer.py).
///
/// - `prefill-NAME`: an empty KV cache, then the 128-token prompt in one batched pass (register-tiled products on
///   dequantized weights); target: loupe / llama.cpp <= 1/1.5 (1.5x its tokens per second).
/// - `decode-NAME`: the prompt (untimed), then 128 greedy steps of one token each (quantized matrix-vector kernels);
///   target: ratio <= 1.
///
/// Both sides run the same token ids, (7919 i + 13) mod 5000 + 100, so no tokenizer is involved. Model files come
/// from the model store ($LOUPE_HOME/models, default ~/.loupe/models: `./loupe models fetch NAME`). While preparing
/// each decode case, the suite prints the process's peak resident memory for that model (VmHWM, reset before the
/// model is loaded) against the file's size.
enum ModelSuite {
    static let promptLength = 128
    static let decodeSteps = 128

    static let models: [(key: String, store: String, file: String)] = [
        ("smollm2", "smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf"),
        ("gemma3", "gemma-3-270m", "gemma-3-270m-q4_k_m.gguf"),
    ]

    struct BenchError: Error, CustomStringConvertible {
        let description: String
    }

    static func prompt() -> [Int] { (0..<promptLength).map { (7919 * $0 + 13) % 5000 + 100 } }

    static func path(store: String, file: String) -> String {
        let env = ProcessInfo.processInfo.environment
        let home = env["LOUPE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (env["HOME"] ?? NSHomeDirectory()) + "/.loupe"
        return "\(home)/models/\(store)/\(file)"
    }

    /// One model in memory at a time (so each model's peak memory is its own).
    nonisolated(unsafe) static var current: (path: String, model: LanguageModel)?

    static func load(_ path: String) throws -> LanguageModel {
        if let c = current, c.path == path { return c.model }
        guard FileManager.default.fileExists(atPath: path) else {
            let name = path.split(separator: "/").dropLast().last.map(String.init) ?? path
            throw BenchError(description: "\(path) is missing: run ./loupe models fetch \(name)")
        }
        current = nil
        resetPeakMemory()
        let m = try LanguageModel.load(path: path)
        current = (path, m)
        return m
    }

    static func argmax(_ v: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in v.indices where v[i] > v[best] { best = i }
        return best
    }

    static func argmax(_ t: Tensor) -> Int {
        t.withUnsafeBufferPointer { argmax($0) }
    }

    /// Resets the kernel's peak-RSS counter (Linux >= 4.0: writing 5 to clear_refs).
    static func resetPeakMemory() {
        if let fd = fopen("/proc/self/clear_refs", "w") { fputs("5", fd); fclose(fd) }
    }

    /// VmHWM in bytes (0 where /proc is absent).
    static func peakMemory() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    static var cases: [BenchCase] {
        var all: [BenchCase] = []
        for (key, store, file) in models {
            let path = path(store: store, file: file)
            let ids = prompt()
            var prefill = BenchCase(
                name: "prefill-\(key)", summary: "\(file): \(promptLength)-token prompt, one batched pass",
                peerName: "llama.cpp", peerKind: "prefill", peerArgs: [("path", path), ("n", promptLength)]) {
                let session = try load(path).makeSession()
                return .init(rep: {
                    session.reset()
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try session.prefill(ids)
                    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                }, check: {
                    session.reset()
                    return ["argmax": Double(argmax(try session.prefill(ids)))]
                })
            }
            prefill.target = 1 / 1.5
            prefill.tolerance = 0
            var decode = BenchCase(
                name: "decode-\(key)", summary: "\(file): \(decodeSteps) greedy one-token steps after a \(promptLength)-token prompt",
                peerName: "llama.cpp", peerKind: "decode",
                peerArgs: [("path", path), ("n", promptLength), ("steps", decodeSteps)]) {
                let model = try load(path)
                let session = model.makeSession()
                func run() throws -> Double {
                    session.reset()
                    var tok = argmax(try session.prefill(ids))
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    for _ in 0..<decodeSteps { tok = argmax(try session.stepLogits(tok)) }
                    return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
                }
                // One full run before reading the peak: model, cache, scratch and panel buffers all touched.
                _ = try run()
                let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
                let peak = peakMemory()
                note(String(format: "loupe-bench: model/decode-%@: peak resident memory %.1f MiB vs file %.1f MiB (%.2fx)",
                            key, Double(peak) / 1048576, Double(size) / 1048576, Double(peak) / Double(Swift.max(size, 1))))
                return .init(rep: run, check: {
                    session.reset()
                    return ["argmax": Double(argmax(try session.prefill(ids)))]
                })
            }
            decode.target = 1
            decode.tolerance = 0
            all += [prefill, decode]
        }
        return all
    }
}
