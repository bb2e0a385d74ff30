import Foundation
import XCTest
@testable import LoupeLang
import LoupeLibrary

/// Mutates the corpus programs at random and feeds them through lexer, parser and resolver (and runs a sample
/// under a time budget): nothing may crash, and every failure must be a LoupeError with a sensible span.
final class ParserFuzzTests: XCTestCase {
    /// A small deterministic generator (SplitMix64), so failures reproduce.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    }

    static let fragments: [String] = [
        "(", ")", "[", "]", "{", "}", ",", ":", ";", "\n", ".", "..", "...", "|>", "->", "=", "+=", "+", "-", "*",
        "/", "//", "%", "**", "@", "==", "<", ">=", "\"", "f\"", "{x}", "\\u", "\\ud83d", "\\", "#", "let ", "var ",
        "fn ", "if ", "else ", "for ", " in ", "while ", "break", "continue", "return ", "import ", "try ", "nil",
        "true", "and ", "or ", "not ", "by ", "as ", "x", "_", "0", "1_0", "0x", "0b2", "1e", "3.5", "é", "😀",
        "\t", " ", "fn(a, a) -> a", "{a: 1}", "t[::-1]", "t[..., 0]", "xs[-1]", "f\"{1:>6d}\"", "f\"{", "}}",
    ]

    static func mutate(_ source: String, _ rng: inout Rng) -> String {
        var s = Array(source.unicodeScalars)
        let edits = 1 + rng.int(4)
        for _ in 0..<edits {
            let pos = s.isEmpty ? 0 : rng.int(s.count + 1)
            switch rng.int(6) {
            case 0:  // delete a run
                if !s.isEmpty { let end = min(s.count, pos + 1 + rng.int(8)); if pos < end { s.removeSubrange(pos..<end) } }
            case 1, 2:  // insert a fragment
                s.insert(contentsOf: fragments[rng.int(fragments.count)].unicodeScalars, at: pos)
            case 3:  // duplicate a slice elsewhere
                if !s.isEmpty {
                    let a = rng.int(s.count), b = min(s.count, a + 1 + rng.int(20))
                    let piece = Array(s[a..<b])
                    s.insert(contentsOf: piece, at: min(pos, s.count))
                }
            case 4:  // replace one character
                if pos < s.count { s[pos] = fragments[rng.int(fragments.count)].unicodeScalars.first ?? "x" }
            default:  // truncate
                if pos < s.count { s.removeSubrange(pos...) }
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s)
        return String(out)
    }

    func validate(_ e: LoupeError, _ source: String, _ file: String) {
        guard let span = e.span else { return XCTFail("error without a span: \(e) for input:\n\(source)") }
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false).count
        if span.file == file {
            XCTAssertGreaterThanOrEqual(span.line, 1, "\(e)")
            XCTAssertLessThanOrEqual(span.line, lines + 1, "\(e) for input:\n\(source)")
            XCTAssertGreaterThanOrEqual(span.column, 1, "\(e)")
        }
        XCTAssertFalse(e.message.isEmpty)
    }

    func testMutatedCorpusThroughParserAndResolver() throws {
        let sources = try CorpusTests.corpusFiles().map { try String(contentsOf: $0, encoding: .utf8) }
        let interp = try Interpreter(registry: LoupeLibrary.makeRegistry(), loadStdlib: false)
        let file = CorpusTests.corpusDirectory.appendingPathComponent("fuzz.loupe").path
        var rng = Rng(state: 0x5EED)
        var failures = 0
        let count = 100_000
        for _ in 0..<count {
            let src = ParserFuzzTests.mutate(sources[rng.int(sources.count)], &rng)
            let errors = interp.check(src, file: file)
            failures += errors.isEmpty ? 0 : 1
            for e in errors { validate(e, src, file) }
        }
        // Most mutations break something; a fuzzer whose inputs all parse would be testing nothing.
        XCTAssertGreaterThan(failures, count / 4)
    }

    func testMutatedProgramsRunUnderABudget() throws {
        let sources = try CorpusTests.corpusFiles().map { try String(contentsOf: $0, encoding: .utf8) }
        let interp = try Interpreter(registry: LoupeLibrary.makeRegistry())
        interp.output = { _ in }
        interp.maxDepth = 300
        let file = CorpusTests.corpusDirectory.appendingPathComponent("fuzz-run.loupe").path
        // A watchdog interrupts any program that runs longer than its budget.
        let lock = NSLock()
        var started: Date? = nil
        var stop = false
        let watchdog = Thread {
            while true {
                usleep(2_000)
                lock.lock()
                if stop { lock.unlock(); return }
                if let s = started, Date().timeIntervalSince(s) > 0.05 { Interpreter.requestInterrupt(); started = nil }
                lock.unlock()
            }
        }
        watchdog.start()
        defer { lock.lock(); stop = true; lock.unlock() }
        var rng = Rng(state: 0xC0FFEE)
        let deadline = Date().addingTimeInterval(8)
        var ran = 0
        while ran < 3_000 && Date() < deadline {
            let src = ParserFuzzTests.mutate(sources[rng.int(sources.count)], &rng)
            if !interp.check(src, file: file).isEmpty { continue }
            ran += 1
            interp.reset()
            lock.lock(); started = Date(); lock.unlock()
            do { _ = try interp.run(src, file: file) } catch let e as LoupeError { validate(e, src, file) } catch {
                XCTFail("non-Loupe error \(error) for input:\n\(src)")
            }
            lock.lock(); started = nil; lock.unlock()
        }
        XCTAssertGreaterThan(ran, 100)
    }
}
