import Foundation
import XCTest
@testable import LoupeModels

/// Fixtures from Tests/Fixtures/make_tokenizer_fixtures.py (see its docstring for the reference used for each).
enum TokenizerFixtures {
    static func json(_ name: String) throws -> [String: Any] {
        let url = Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil)!
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

}

final class TokenizerTests: XCTestCase {
    /// Loads a store model or fails the test with the fetch command (a missing model is an error, not a skip).
    private func modelURL(_ name: String, file: String? = nil) throws -> URL {
        let store = ModelStore.default
        let url = file.map { store.directory(for: name).appendingPathComponent($0) } ?? (try? store.resolve(name))
        guard let u = url, FileManager.default.fileExists(atPath: u.path) else {
            XCTFail("model '\(name)' is not in \(store.modelsDirectory.path): run ./loupe models fetch \(name)")
            throw CocoaError(.fileNoSuchFile)
        }
        return u
    }

    private func checkGGUFFixture(_ fixture: String, model: String) throws {
        let tok = try Tokenizer(gguf: GGUFFile(path: modelURL(model).path))
        let fx = try TokenizerFixtures.json(fixture)
        let cases = fx["cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 30)
        var pass = 0
        for c in cases {
            let text = c["text"] as! String
            let expected = c["ids"] as! [Int]
            let got = tok.encode(text)
            if got == expected { pass += 1 } else {
                XCTFail("\(model) \(text.debugDescription): expected \(expected), got \(got)")
            }
            // Lossless: decoding gives the text back.
            XCTAssertEqual(tok.decode(got), text, "\(model) round trip of \(text.debugDescription)")
        }
        print("\(model): \(pass)/\(cases.count) match \(fx["reference"] as! String)")
    }

    func testSmolLM2MatchesReference() throws {
        try checkGGUFFixture("tokenizer_smollm2.json", model: "smollm2-135m-instruct")
    }

    func testGemma3MatchesReference() throws {
        try checkGGUFFixture("tokenizer_gemma3.json", model: "gemma-3-270m")
    }

    func testShippedModelMetadata() throws {
        let smol = try Tokenizer(gguf: GGUFFile(path: modelURL("smollm2-135m-instruct").path))
        XCTAssertEqual(smol.algorithm, .byteLevelBPE)
        XCTAssertEqual(smol.vocabSize, 49152)
        XCTAssertEqual(smol.bos, 1)
        XCTAssertEqual(smol.eos, 2)
        XCTAssertFalse(smol.addsBOS)
        XCTAssertEqual(smol.id(of: "<|im_start|>"), 1)
        XCTAssertNotNil(smol.chatTemplate, "SmolLM2 carries a chat template")
        XCTAssertTrue(smol.isSpecial(2))
        XCTAssertEqual(smol.decode(smol.encode("<|im_start|>hi<|im_end|>"), skipSpecial: true), "hi")

        let gemma = try Tokenizer(gguf: GGUFFile(path: modelURL("gemma-3-270m").path))
        XCTAssertEqual(gemma.algorithm, .sentencePiece)
        XCTAssertEqual(gemma.bos, 2)
        XCTAssertEqual(gemma.eos, 1)
        XCTAssertTrue(gemma.addsBOS)
        XCTAssertFalse(gemma.addSpacePrefix)
        XCTAssertNil(gemma.chatTemplateSource, "gemma-3-270m (base) carries no chat template; use ChatTemplate.gemma")
        XCTAssertEqual(gemma.encode("Hi", addBOS: true).first, 2)
        XCTAssertEqual(gemma.encode("Hi", addSpecial: true).first, 2)
        let turn = gemma.encode("<start_of_turn>user\n")
        XCTAssertEqual(gemma.token(turn[0]), "<start_of_turn>")

        // Cutting SentencePiece input before spaces (for speed and caching) changes nothing: compare with one
        // queue over the whole text, including the one Gemma token that spans a space (`>▁</`).
        guard case let .spm(model) = gemma.engine else { return XCTFail("Gemma 3 should use SentencePiece") }
        for text in ["<b> </b> a> </x> >   </ q", "The quick brown fox,  jumps;\n\n over the lazy dog 12345.",
                     String(repeating: "naïve café > </p> ", count: 20)] {
            var escaped: [UInt8] = []
            Tokenizer.appendEscapingSpaces(Array(text.utf8)[...], to: &escaped)
            var whole: [Int32] = [], cut: [Int32] = []
            model.encodeOneQueue(escaped, into: &whole)
            model.encode(escaped, into: &cut)
            XCTAssertEqual(cut, whole, text)
        }
    }

    func testMiniLMMatchesTokenizersLibrary() throws {
        let tok = try Tokenizer(tokenizerJSON: modelURL("all-minilm-l6-v2", file: "tokenizer.json"))
        XCTAssertEqual(tok.algorithm, .wordPiece)
        XCTAssertEqual(tok.vocabSize, 30522)
        XCTAssertEqual(tok.bos, 101)
        XCTAssertEqual(tok.sep, 102)
        XCTAssertEqual(tok.unk, 100)
        let fx = try TokenizerFixtures.json("tokenizer_minilm.json")
        let cases = fx["cases"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 50)
        var pass = 0
        for c in cases {
            let text = c["text"] as! String
            let withSpecial = tok.encode(text, addSpecial: true)
            let plain = tok.encode(text, addSpecial: false)
            let ok1 = withSpecial == c["ids"] as! [Int]
            let ok2 = plain == c["ids_no_special"] as! [Int]
            XCTAssertTrue(ok1, "\(text.debugDescription): expected \(c["ids"]!), got \(withSpecial)")
            XCTAssertTrue(ok2, "\(text.debugDescription) (no special): expected \(c["ids_no_special"]!), got \(plain)")
            XCTAssertEqual(tok.decode(withSpecial, skipSpecial: true), c["decoded"] as! String,
                           "decode of \(text.debugDescription)")
            if ok1 && ok2 { pass += 1 }
        }
        print("all-minilm-l6-v2: \(pass)/\(cases.count) match \(fx["reference"] as! String)")
    }

    func testTokenizerJSONByteLevelBPE() throws {
        let fx = try TokenizerFixtures.json("tokenizer_tinybpe.json")
        let data = try JSONSerialization.data(withJSONObject: fx["tokenizer"]!)
        let tok = try Tokenizer(tokenizerJSONData: data, path: "tinybpe.json")
        XCTAssertEqual(tok.algorithm, .byteLevelBPE)
        for c in fx["cases"] as! [[String: Any]] {
            let text = c["text"] as! String
            XCTAssertEqual(tok.encode(text), c["ids"] as! [Int], text.debugDescription)
            // tokenizers' decode skips special tokens by default.
            XCTAssertEqual(tok.decode(tok.encode(text), skipSpecial: true), c["decoded"] as! String)
        }
        XCTAssertThrowsError(try Tokenizer(tokenizerJSONData: Data(#"{"model": {"type": "Unigram", "vocab": {}}}"#.utf8),
                                           path: "u.json")) { e in
            XCTAssertEqual(e as? TokenizerError, .unsupportedModel(path: "u.json", model: "Unigram"))
        }
    }

    /// SentencePiece-style BPE tokenizer.jsons (raw UTF-8, `▁` for spaces, `<0xNN>` byte fallback) in the ways
    /// Hugging Face files put the `▁` in: Llama-2's normalizer (Prepend + Replace, a Strip decoder), Metaspace with
    /// `prepend_scheme` first (Mistral) and always with `split`, and Gemma's bare Replace. Ids with and without the
    /// post-processor's `<s>`, and decoded text with and without special tokens, against PyPI `tokenizers`
    /// (Tests/Fixtures/make_tokenizer_fixtures.py).
    func testTokenizerJSONSentencePieceBPE() throws {
        let fx = try TokenizerFixtures.json("tokenizer_spm_json.json")
        let variants = fx["tokenizers"] as! [[String: Any]]
        XCTAssertEqual(variants.map { $0["kind"] as! String }, ["llama2", "metaspace", "metaspace-split", "gemma"])
        for v in variants {
            let kind = v["kind"] as! String
            let data = try JSONSerialization.data(withJSONObject: v["tokenizer"]!)
            let tok = try Tokenizer(tokenizerJSONData: data, path: "\(kind).json")
            XCTAssertEqual(tok.algorithm, .sentencePieceBPE, kind)
            for c in v["cases"] as! [[String: Any]] {
                let text = c["text"] as! String, ids = c["ids"] as! [Int]
                XCTAssertEqual(tok.encode(text, addSpecial: false), ids, "\(kind) \(text.debugDescription)")
                XCTAssertEqual(tok.encode(text, addSpecial: true), c["ids_special"] as! [Int], "\(kind) \(text.debugDescription)")
                XCTAssertEqual(tok.decode(ids, skipSpecial: true), c["decoded"] as! String,
                               "\(kind) decode \(text.debugDescription)")
                XCTAssertEqual(tok.decode(ids), c["decoded_special"] as! String,
                               "\(kind) decode with specials \(text.debugDescription)")
            }
        }
    }

    /// The compact tables: a spelling index over shared strings (the last of equal strings wins, as llama.cpp's
    /// `token_to_id` does) answers like a table that owns its keys, and narrow (16-bit) merge slots like wide ones.
    func testCompactTablesAgreeWithPlainOnes() {
        var rng = SystemRandomNumberGenerator()
        let words: [[UInt8]] = (0 ..< 3000).map { _ in (0 ..< Int.random(in: 0 ... 6, using: &rng)).map { _ in UInt8.random(in: 97 ... 100, using: &rng) } }
        let strings = ByteStrings(words)
        XCTAssertEqual(strings.count, words.count)
        for i in [0, 1, 1234, 2999] { XCTAssertEqual(strings.array(i), words[i]) }
        let index = ByteStringTable(indexing: strings)
        let owned = ByteStringTable(capacity: 4)   // grows
        var last: [[UInt8]: Int32] = [:]
        for (i, w) in words.enumerated() { owned.insert(w, value: Int32(i)); last[w] = Int32(i) }
        XCTAssertEqual(index.count, last.count)
        XCTAssertEqual(owned.count, last.count)
        for w in words + [[0x7A], Array("abcdabcd".utf8)] {
            XCTAssertEqual(index.lookup(w), last[w] ?? -1)
            XCTAssertEqual(owned.lookup(w), last[w] ?? -1)
        }

        var narrow = MergeTable(capacity: 100, idLimit: 5000)   // grows past its capacity
        var wide = MergeTable(capacity: 100)
        var first: [[Int32]: (Int32, Int32)] = [:]
        for rank in 0 ..< 20_000 {
            let l = Int32.random(in: 0 ..< 5000, using: &rng), r = Int32.random(in: 0 ..< 300, using: &rng)
            let res = Int32.random(in: 0 ..< 5000, using: &rng)
            narrow.insert(left: l, right: r, rank: Int32(rank), result: res)
            wide.insert(left: l, right: r, rank: Int32(rank), result: res)
            if first[[l, r]] == nil { first[[l, r]] = (Int32(rank), res) }
        }
        XCTAssertEqual(narrow.count, first.count)
        for l in Int32(0) ..< 5000 where l % 7 == 0 {
            for r in Int32(0) ..< 300 {
                let want = first[[l, r]]
                XCTAssertTrue(narrow.lookup(l, r).map { $0 == want! } ?? (want == nil), "\(l) \(r)")
                XCTAssertTrue(wide.lookup(l, r).map { $0 == want! } ?? (want == nil), "\(l) \(r)")
            }
        }
    }

    /// Not a benchmark (tests run in debug): a guard that encoding stays linear-ish. 50 KB of text must encode in
    /// well under the time a quadratic merge loop would take. The release-build throughput is in the report.
    func testEncodingLargeTextIsFast() throws {
        let smol = try Tokenizer(gguf: GGUFFile(path: modelURL("smollm2-135m-instruct").path))
        let sentence = "The quick brown fox jumps over the lazy dog; naïve café 123456, \"quoted\" — done.\n"
        let text = String(repeating: sentence, count: 50_000 / sentence.utf8.count)
        let t0 = Date()
        let ids = smol.encode(text)
        let elapsed = Date().timeIntervalSince(t0)
        XCTAssertEqual(smol.decode(ids), text)
        XCTAssertLessThan(elapsed, 10, "encoding 50 KB took \(elapsed) s")
        // One unbroken 20 KB "word" (no spaces: one BPE problem): the priority queue keeps it O(n log n).
        let word = String(repeating: "abcdefghij", count: 2_000)
        let t1 = Date()
        XCTAssertEqual(smol.decode(smol.encode(word)), word)
        XCTAssertLessThan(Date().timeIntervalSince(t1), 10)
    }
}
