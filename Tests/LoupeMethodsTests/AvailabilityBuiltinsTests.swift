import XCTest
import LoupeLang
import LoupeLibrary

/// The `availability` namespace through the language: the hand vector of specs/methods.md section 1, records in
/// and out, a short run of SmolLM2 agreeing with the Swift API (whose numbers AvailabilityTests checks against
/// llama.cpp), and the errors users see.
final class AvailabilityBuiltinsTests: XCTestCase {
    static let interpreter: Interpreter = try! Interpreter(registry: LoupeLibrary.makeRegistry())

    func eval(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        do { return try Self.interpreter.run(source, file: "test.loupe").repr } catch {
            XCTFail("\(source): \(error)", file: file, line: line)
            return ""
        }
    }

    func check(_ source: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(eval(source, file: file, line: line), expected, source, file: file, line: line)
    }

    func checkError(_ source: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let v = try Self.interpreter.run(source, file: "test.loupe")
            XCTFail("expected an error, got \(v.repr)", file: file, line: line)
        } catch let e as LoupeError {
            XCTAssertEqual(e.message, message, source, file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func testHandVector() {
        check("let p = [0.30, 0.25, 0.35, 0.10]; let m = availability.mass(p, [0, 1]); [round(m.p_mass, digits: 12), round(m.concentration, digits: 4), m.top_token]",
              "[0.55, 0.5455, 0]")
        check("availability.concept_aware([0.30, 0.25, 0.35, 0.10], [[2], [0, 1], [3]]).index", "1")
        check("let rs = [{correct: false, p_mass: 0.55, concentration: 0.5455}, {correct: true, p_mass: 0.9, concentration: 1.0}]; map(availability.failure_rate(rs), fn(r) { r.rate })",
              "[1.0, 1.0, 1.0, 1.0]")
        check("let rs = [{correct: false, p_mass: 0.55, concentration: 0.5455}]; availability.failure_rate(rs, tau: 0.6).rate", "0.0")
        check("let rs = [{correct: false, p_mass: 0.55, concentration: 0.5}, {correct: true, p_mass: 0.58, concentration: 0.9}]; let b = availability.binned(rs)[5]; [b.correct, b.hallucinated, round(b.gap, digits: 12)]",
              "[1, 1, 0.4]")
        checkError("availability.failure_rate([{correct: false}])",
                   "availability.failure_rate: argument 'records' record 0 has no field p_mass (use the records of availability.run)")
    }

    func testFactsThroughTheLanguage() {
        check("let qs = availability.load_qa(\"facts\", limit: 2); [len(qs), qs[0].id, qs[0].answer, qs[1].question]",
              "[2, \"capi-001\", \"Paris\", \"What is the capital of Germany?\"]")
        check("len(availability.load_qa(\"facts\")) >= 300", "true")
        checkError("availability.load_qa(\"trivia\")", "availability.load_qa: unknown QA set \"trivia\"; the sets are \"facts\" and \"mmlu\"")
    }

    func testRunOnSmolLM2() {
        check("""
            let m = model.load("smollm2-135m-instruct")
            let rs = availability.run(m, availability.load_qa("facts", limit: 1))
            let r = rs[0]
            let direct = availability.p_mass(m, "What is the capital of France?", ["Paris"])
            [r.answer, r.correct, round(r.p_mass, digits: 2), abs(r.p_mass - direct.p_mass) < 1e-5, r.greedy_token == direct.greedy_token,
             r.prompt_ids == availability.prompt(m, "What is the capital of France?"), r.candidates, r.concept_aware_correct,
             availability.concept_set(m, ["Paris"]).tokens == r.concept]
            """, "[\"Paris\", true, 0.91, true, true, true, [\"Paris\"], true, true]")
        // run prefills the shared template prefix once and runs each item's own tokens from a fork: the same
        // numbers as one pass over the whole prompt up to float32 summation order, hidden states included.
        check("""
            let m = model.load("smollm2-135m-instruct")
            let items = availability.load_qa("facts", limit: 3)
            let rs = availability.run(m, items, hidden: true, max_tokens: 2)
            let whole = map(rs, fn(r) { availability.p_mass(m, r.question, r.aliases).p_mass })
            let fresh = m.forward(rs[2].prompt_ids, capture: ["blocks.*.hook_resid_post"])
            let last = len(rs[2].prompt_ids) - 1
            let errs = map(0..30, fn(l) { max(abs(fresh.cache[f"blocks.{l}.hook_resid_post"][last] - rs[2].hidden[l])) })
            [shape(rs[0].hidden), max(map(0..3, fn(i) { abs(rs[i].p_mass - whole[i]) })) < 1e-5, max(errs) < 1e-3,
             "hidden" in rs[0], "hidden" in availability.run(m, [items[0]], max_tokens: 1)[0]]
            """, "[[30, 576], true, true, true, false]")
        checkError("""
            let m = model.load("smollm2-135m-instruct")
            availability.probe(m, [{correct: true, p_mass: 0.9, prompt_ids: [1, 2, 3]}])
            """, "availability.probe: 1 available items with 0 hallucinated and 1 correct; each class needs at least k = 5 for stratified 5-fold cross-validation")
    }
}
