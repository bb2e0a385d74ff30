import Foundation
import LoupeLang
import LoupeMethods
import LoupeModels
import LoupeTensor

/// The `availability` namespace: LoupeMethods' `Availability` (concept availability, "P-mass", specs/methods.md
/// section 1) and `QADataset` bound into the language.
///
///     let m = model.load("smollm2-135m-instruct")
///     let items = availability.load_qa("facts", limit: 50)
///     let rs = availability.run(m, items, max_tokens: 8)
///     availability.failure_rate(rs)            # one record per tau in 0.1, 0.2, 0.3, 0.5
///     availability.binned(rs, width: 0.1)
///     availability.probe(m, rs).layers         # per-layer cross-validated AUROC
///
/// Decisions: results are plain records (they print, filter and travel through notebook cells); the functions that
/// read results back (failure_rate, binned, probe) need only the fields they use (correct, p_mass,
/// concentration, prompt_ids), so hand-made records work too.
enum AvailabilityBuiltins {
    static func register(_ r: LibRegistrar) {
        r.registry.documentNamespace("availability", """
            Concept availability (P-mass, arXiv 2605.22007): was the right answer's concept available at the commit \
            step when the model answered wrongly? availability.load_qa, run, failure_rate, binned, probe, and the \
            pieces: concept_set, p_mass, mass, concept_aware, sequence_mass, prompt.
            """)
        let model = Parameter("m", .object("model"))
        let chat = Parameter("chat", .optional(.bool), default: .nil, keywordOnly: true)

        add(r, "load_qa", [Parameter("name", .string), Parameter("limit", .optional(.int), default: .nil, keywordOnly: true)], doc: """
            A QA set as a list of records {id, question, answer, aliases, category, choices}: "facts" (the project's
            questions, data/qa/facts.jsonl) or "mmlu" (the 1000 MMLU-style questions of PyPI evals==3.0.1.post1,
            fetched into $LOUPE_HOME/data/evals-sandbagging on first use, sha256-checked; choices are the letters).
            """) { a in
            let items = try QADataset.load(try a.string("name"), limit: a.isNil("limit") ? nil : try a.int("limit"))
            return .list(items.map(itemValue))
        }

        add(r, "concept_set", [model, Parameter("aliases", .list),
                               Parameter("variants", .bool, default: .bool(true), keywordOnly: true)], doc: """
            The concept token set of the aliases: the first token of each casing / leading-space variant (as written,
            lower, Capitalised, UPPER; with and without a leading space), deduplicated; first tokens with no letter
            or digit are left out. A record {tokens, pieces, variants: [{text, token}]}. variants: false takes the
            strings as written (e.g. [" A", "A", "(A)", "A."]).
            """) { a in
            let m = try modelArg(a)
            let c = try Availability.conceptSet(aliases: try strings(a, "aliases"), tokenizer: try tokenizer(m), variants: try a.bool("variants"))
            let tok = try tokenizer(m)
            return .record(Record(["tokens": ints(c.tokens), "pieces": .list(c.tokens.map { .string(tok.piece($0)) }),
                                   "variants": .list(c.variants.map { v in
                                       .record(Record(["text": .string(v.text), "token": v.token.map { .int($0) } ?? .nil]))
                                   })]))
        }

        add(r, "prompt", [model, Parameter("question", .string), chat,
                          Parameter("mmlu", .bool, default: .bool(false), keywordOnly: true)], doc: """
            Token ids of the prompt for a question: the chat template (system message, three example turns, the
            question, the generation prompt) or, with chat: false, plain "Question: ...\\nAnswer:" blocks. chat
            defaults to whether the model has a chat template. mmlu: true uses the multiple-choice style.
            """) { a in
            let m = try modelArg(a)
            return ints(try Availability.prompt(model: m, question: try a.string("question"), chat: try chatFlag(a, m),
                                                style: try a.bool("mmlu") ? .multipleChoice : .facts))
        }

        add(r, "mass", [Parameter("probs", .oneOf([.list, .tensor])), Parameter("concept", .list)], doc: """
            P-mass of a concept (token ids) in one distribution: {p_mass, concentration, dispersion, top_token}.
            availability.mass([.30, .25, .35, .10], [0, 1]).p_mass is 0.55, concentration 0.5455.
            """) { a in
            let m = try Availability.mass(probabilities: try MetricsBuiltins.numbers(a, "probs"), concept: try intList(a, "concept"))
            return massValue(m)
        }

        add(r, "concept_aware", [Parameter("probs", .oneOf([.list, .tensor])), Parameter("concepts", .list)], doc: """
            Concept-aware decoding: the index of the candidate concept (a list of token-id lists) with the largest
            summed probability (the first wins a tie), and every candidate's mass: {index, masses}.
            """) { a in
            guard case let .list(cs) = a["concepts"] else { throw a.typeError("concepts", "a list of token-id lists", a["concepts"]) }
            let concepts = try cs.map { try idList($0, a, "concepts") }
            let c = try Availability.conceptAwareChoice(probabilities: try MetricsBuiltins.numbers(a, "probs"), concepts: concepts)
            return .record(Record(["index": .int(c.index), "masses": floats(c.masses)]))
        }

        add(r, "p_mass", [model, Parameter("prompt", .oneOf([.string, .list, .tensor])), Parameter("aliases", .list), chat], doc: """
            P-mass of the aliases' concept at the commit step after a prompt (token ids as given, or a question
            templated as availability.prompt does): {p_mass, concentration, dispersion, top_token, concept,
            greedy_token, greedy_piece, greedy_p}.
            """) { a in
            let m = try modelArg(a)
            let tok = try tokenizer(m)
            let ids = try promptIDs(a, m)
            let concept = try Availability.conceptSet(aliases: try strings(a, "aliases"), tokenizer: tok)
            let p = Availability.softmax(try m.makeSession().prefill(ids).scalars)
            let mass = try Availability.mass(probabilities: p, concept: concept.tokens)
            let g = Availability.argmax(p)
            guard case let .record(base) = massValue(mass) else { return .nil }
            return .record(Record(keys: base.keys + ["concept", "greedy_token", "greedy_piece", "greedy_p"],
                                  values: base.values + [ints(concept.tokens), .int(g), .string(tok.piece(g)), .float(p[g])]))
        }

        add(r, "sequence_mass", [model, Parameter("prompt", .oneOf([.string, .list, .tensor])), Parameter("aliases", .list), chat,
                                 Parameter("variants", .bool, default: .bool(true), keywordOnly: true)], doc: """
            Multi-token concept mass by teacher forcing: the sum over distinct alias tokenizations (with casing and
            space variants unless variants: false) of p(alias tokens | prompt). {total, sequences: [{text, tokens,
            probability}]}. The prompt is prefilled once; each alias continues from a copy of its KV cache.
            """) { a in
            let m = try modelArg(a)
            let aliases = try strings(a, "aliases")
            let s = try Availability.sequenceMass(model: m, prompt: try promptIDs(a, m),
                                                  aliases: try a.bool("variants") ? aliases.flatMap(Availability.surfaceVariants) : aliases)
            return .record(Record(["total": .float(s.total), "sequences": .list(s.sequences.map { q in
                .record(Record(["text": .string(q.text), "tokens": ints(q.tokens), "probability": .float(q.probability)]))
            })]))
        }

        add(r, "run", [model, Parameter("items", .list), chat,
                       Parameter("max_tokens", .int, default: .int(8), keywordOnly: true),
                       Parameter("sequence_mass", .bool, default: .bool(false), keywordOnly: true),
                       Parameter("hidden", .bool, default: .bool(false), keywordOnly: true)], doc: """
            Runs the model on QA items (records from load_qa): the prompt, the commit-step distribution, a greedy
            answer (up to max_tokens, stopping at a newline or end of sequence), correctness by normalised alias
            match (multiple choice: the letter), P-mass, concentration and concept-aware decoding. One record per
            item: {id, question, gold, aliases, category, answer, correct, hallucinated, p_mass, concentration,
            dispersion, greedy_token, greedy_piece, greedy_p, greedy_in_concept, concept, top_concept_token,
            candidates, candidate_masses, concept_aware_pick, concept_aware_correct, sequence_mass, prompt_ids,
            answer_tokens}. chat defaults to whether the model has a chat template. sequence_mass: true adds the
            teacher-forced multi-token mass; hidden: true adds `hidden`, the last prompt token's hook_resid_post at
            every layer ([layers, d_model], captured in the same pass), which probe then uses. Prompts share their
            template prefix: it is prefilled once and each item runs only its own tokens.
            """) { a in
            let m = try modelArg(a)
            let items = try a.list("items").enumerated().map { try item($0.element, index: $0.offset, a) }
            let options = Availability.Options(chat: try chatFlag(a, m), maxTokens: try a.int("max_tokens"),
                                               hidden: try a.bool("hidden"), sequenceMass: try a.bool("sequence_mass"))
            let task = ProgressTask("availability.run", total: items.count)
            defer { task.finish() }
            let results = try Availability.evaluate(model: m, items: items, options: options) { _, _ in task.advance() }
            return .list(results.map(resultValue))
        }

        add(r, "failure_rate", [Parameter("records", .list), Parameter("tau", .optional(.number), default: .nil, keywordOnly: true)], doc: """
            Commitment-failure rate #(wrong and P-mass >= tau) / #wrong over run records: a record {tau, rate,
            wrong, available_wrong} for one tau, or a list of them for tau in 0.1, 0.2, 0.3, 0.5 (tau nil). The
            rate is nan when nothing was wrong.
            """) { a in
            let (correct, pMass) = try (fieldBools(a, "correct"), fieldNumbers(a, "p_mass"))
            func one(_ tau: Double) throws -> Value {
                let f = try Availability.failureRate(correct: correct, pMass: pMass, tau: tau)
                return .record(Record(["tau": .float(f.tau), "rate": .float(f.rate), "wrong": .int(f.wrong),
                                       "available_wrong": .int(f.availableWrong)]))
            }
            if a.isNil("tau") { return .list(try Availability.taus.map(one)) }
            return try one(try a.double("tau"))
        }

        add(r, "binned", [Parameter("records", .list), Parameter("width", .number, default: .float(0.1), keywordOnly: true)], doc: """
            Correct vs hallucinated answers inside matched P-mass bins [k w, (k+1) w): one record per bin {lower,
            upper, correct, hallucinated, concentration_correct, concentration_hallucinated, gap, p_mass_correct,
            p_mass_hallucinated} (means are nan for an empty group).
            """) { a in
            let bins = try Availability.binned(correct: try fieldBools(a, "correct"), pMass: try fieldNumbers(a, "p_mass"),
                                               concentration: try fieldNumbers(a, "concentration"), width: try a.double("width"))
            return .list(bins.map { b in
                .record(Record(["lower": .float(b.lower), "upper": .float(b.upper), "correct": .int(b.correct),
                                "hallucinated": .int(b.hallucinated), "concentration_correct": .float(b.concentrationCorrect),
                                "concentration_hallucinated": .float(b.concentrationHallucinated), "gap": .float(b.gap),
                                "p_mass_correct": .float(b.pMassCorrect), "p_mass_hallucinated": .float(b.pMassHallucinated)]))
            })
        }

        add(r, "probe", [model, Parameter("records", .list),
                         Parameter("layer", .optional(.int), default: .nil, keywordOnly: true),
                         Parameter("tau", .number, default: .float(Availability.defaultTau), keywordOnly: true),
                         Parameter("k", .int, default: .int(5), keywordOnly: true),
                         Parameter("C", .number, default: .float(1), keywordOnly: true),
                         Parameter("components", .optional(.int), default: .int(32), keywordOnly: true)], doc: """
            Hidden-state probe: the last prompt token's hook_resid_post at every layer (each record's `hidden` from
            run(hidden: true), else recomputed from its prompt_ids) of the available items (p_mass >= tau); logistic
            regression (C) predicting hallucination, stratified k-fold cross-validated AUROC per layer, after projecting each layer on its top `components`
            principal components (nil: all features). {layers: [{layer, auroc, folds, pooled}], auroc (at `layer`,
            default last - 1), layer, items, hallucinated}.
            """) { a in
            let m = try modelArg(a)
            let records = try a.list("records")
            let correct = try fieldBools(a, "correct"), pMass = try fieldNumbers(a, "p_mass")
            let tau = try a.double("tau")
            let task = ProgressTask("availability.probe: hidden states", total: pMass.filter { $0 >= tau }.count)
            var hidden: [[[Float]]] = []
            for (i, rec) in records.enumerated() {
                guard pMass[i] >= tau else { hidden.append([]); continue }
                guard case let .record(r) = rec else { throw a.error("records", "record \(i) is not a record") }
                if let h = r["hidden"], case let .tensor(t) = h {
                    // Captured by run(hidden: true): [layers, d_model].
                    guard t.rank == 2, t.shape[0] == m.config.layers, t.shape[1] == m.config.dModel else {
                        throw a.error("records", "record \(i): hidden has shape \(t.shape), expected [\(m.config.layers), \(m.config.dModel)] for this model")
                    }
                    let flat = t.scalars, d = t.shape[1]
                    hidden.append((0..<t.shape[0]).map { Array(flat[($0 * d)..<(($0 + 1) * d)]) })
                } else {
                    guard let ids = r["prompt_ids"] else {
                        throw a.error("records", "record \(i) has no prompt_ids (use the records of availability.run)")
                    }
                    hidden.append(try Availability.lastTokenResiduals(model: m, prompt: try idList(ids, a, "records")))
                }
                task.advance()
            }
            task.finish()
            let fit = ProgressTask("availability.probe: fitting", total: m.config.layers)
            defer { fit.finish() }
            let p = try Availability.probe(hidden: hidden, correct: correct, pMass: pMass, tau: tau, k: try a.int("k"),
                                           c: try a.double("C"), components: a.isNil("components") ? nil : try a.int("components")) { _, _ in fit.advance() }
            let layer = a.isNil("layer") ? p.defaultLayer : try a.int("layer")
            guard let chosen = p.layers.first(where: { $0.layer == layer }) else {
                throw a.error("layer", "must be in 0..<\(p.layers.count), got \(layer)", kind: .index)
            }
            return .record(Record(["layers": .list(p.layers.map { l in
                .record(Record(["layer": .int(l.layer), "auroc": .float(l.auroc), "folds": floats(l.folds), "pooled": .float(l.pooled)]))
            }), "auroc": .float(chosen.auroc), "layer": .int(layer), "items": .int(p.items), "hallucinated": .int(p.hallucinated)]))
        }
    }

    // MARK: - Registration and errors

    static func add(_ r: LibRegistrar, _ name: String, _ parameters: [Parameter], doc: String,
                    _ body: @escaping (LibArgs) throws -> Value) {
        r.add("availability", name, parameters, doc: doc) { a in
            do { return try body(a) }
            catch let e as LoupeError { throw e }
            catch let e as AvailabilityError {
                // The description starts "availability.NAME: "; fail() puts the function's name first itself.
                let d = e.description
                throw a.fail(d.range(of: ": ").map { String(d[$0.upperBound...]) } ?? d)
            }
            catch let e as QADatasetError { throw a.fail(e.description, kind: .io) }
            catch let e as TensorError { throw a.tensorError(e) }
            catch { throw a.fail("\(error)") }
        }
    }

    // MARK: - Conversions

    static func modelArg(_ a: LibArgs) throws -> LanguageModel {
        guard case let .object(o) = a["m"], let m = o as? ModelObject else { throw a.typeError("m", "a model (model.load)", a["m"]) }
        return m.model
    }

    static func tokenizer(_ m: LanguageModel) throws -> Tokenizer {
        guard let t = m.tokenizer else { throw AvailabilityError.noTokenizer(path: m.path) }
        return t
    }

    static func chatFlag(_ a: LibArgs, _ m: LanguageModel) throws -> Bool {
        a.isNil("chat") ? m.tokenizer?.chatTemplate != nil : try a.bool("chat")
    }

    static func promptIDs(_ a: LibArgs, _ m: LanguageModel) throws -> [Int] {
        if case let .string(q) = a["prompt"] {
            return try Availability.prompt(model: m, question: q, chat: try chatFlag(a, m), style: .facts)
        }
        return try ModelBuiltins.ids(a["prompt"], a, "prompt", vocab: m.config.vocab)
    }

    static func ints(_ xs: [Int]) -> Value { .list(xs.map { .int($0) }) }
    static func floats(_ xs: [Double]) -> Value { .list(xs.map { .float($0) }) }

    static func idList(_ v: Value, _ a: LibArgs, _ name: String) throws -> [Int] {
        guard case let .list(xs) = v else { throw a.typeError(name, "a list of token ids", v) }
        return try xs.map { x in
            guard case let .int(i) = x else { throw a.typeError(name, "a list of token ids (ints)", x) }
            return i
        }
    }

    static func intList(_ a: LibArgs, _ name: String) throws -> [Int] { try idList(a[name], a, name) }

    static func strings(_ a: LibArgs, _ name: String) throws -> [String] {
        try a.list(name).map { v in
            guard case let .string(s) = v else { throw a.typeError(name, "a list of strings", v) }
            return s
        }
    }

    static func massValue(_ m: Availability.ConceptMass) -> Value {
        .record(Record(["p_mass": .float(m.pMass), "concentration": .float(m.concentration),
                        "dispersion": .float(m.dispersion), "top_token": .int(m.topToken)]))
    }

    static func itemValue(_ i: QAItem) -> Value {
        .record(Record(["id": .string(i.id), "question": .string(i.question), "answer": .string(i.answer),
                        "aliases": .list(i.aliases.map { .string($0) }), "category": .string(i.category),
                        "choices": .list(i.choices.map { .string($0) })]))
    }

    /// An item from a record: question and answer required; id, aliases (default [answer]), category, choices.
    static func item(_ v: Value, index: Int, _ a: LibArgs) throws -> QAItem {
        guard case let .record(r) = v else { throw a.typeError("items", "a list of records {question, answer, ...}", v) }
        func str(_ k: String) -> String? { if case let .string(s)? = r[k] { return s }; return nil }
        func strs(_ k: String) throws -> [String]? {
            guard let f = r[k] else { return nil }
            guard case let .list(xs) = f else { throw a.error("items", "item \(index): \(k) must be a list of strings") }
            return try xs.map { x in
                guard case let .string(s) = x else { throw a.error("items", "item \(index): \(k) must be a list of strings") }
                return s
            }
        }
        guard let q = str("question"), let ans = str("answer") else {
            throw a.error("items", "item \(index) needs string fields question and answer")
        }
        let aliases = try strs("aliases") ?? [ans]
        guard !aliases.isEmpty else { throw a.error("items", "item \(index): aliases is empty") }
        return QAItem(id: str("id") ?? "item-\(index)", question: q, answer: ans, aliases: aliases,
                      category: str("category") ?? "", choices: try strs("choices") ?? [])
    }

    static func resultValue(_ r: Availability.ItemResult) -> Value {
        let base = Record([
            "id": .string(r.id), "question": .string(r.question), "gold": .string(r.gold),
            "aliases": .list(r.aliases.map { .string($0) }), "category": .string(r.category),
            "answer": .string(r.answer), "correct": .bool(r.correct), "hallucinated": .bool(r.hallucinated),
            "p_mass": .float(r.pMass), "concentration": .float(r.concentration), "dispersion": .float(r.dispersion),
            "greedy_token": .int(r.greedyToken), "greedy_piece": .string(r.greedyPiece), "greedy_p": .float(r.greedyProbability),
            "greedy_in_concept": .bool(r.greedyInConcept), "concept": ints(r.conceptTokens),
            "top_concept_token": .int(r.topConceptToken), "candidates": .list(r.candidates.map { .string($0) }),
            "candidate_masses": floats(r.candidateMasses), "concept_aware_pick": .string(r.conceptAwarePick),
            "concept_aware_correct": .bool(r.conceptAwareCorrect), "sequence_mass": r.sequenceMass.map { .float($0) } ?? .nil,
            "prompt_ids": ints(r.prompt), "answer_tokens": ints(r.answerTokens),
        ])
        guard !r.hidden.isEmpty else { return .record(base) }
        return .record(Record(keys: base.keys + ["hidden"], values: base.values + [hiddenTensor(r.hidden)]))
    }

    /// Per-layer hidden states as one [layers, d_model] tensor.
    static func hiddenTensor(_ rows: [[Float]]) -> Value {
        let flat = rows.flatMap { $0 }
        return (try? Tensor(shape: [rows.count, rows.first?.count ?? 0], data: flat)).map { .tensor($0) } ?? .nil
    }

    /// A field of every record in `records`, as bools / numbers.
    static func fieldValues(_ a: LibArgs, _ field: String) throws -> [Value] {
        try a.list("records").enumerated().map { i, v in
            guard case let .record(r) = v, let f = r[field] else {
                throw a.error("records", "record \(i) has no field \(field) (use the records of availability.run)")
            }
            return f
        }
    }

    static func fieldBools(_ a: LibArgs, _ field: String) throws -> [Bool] {
        try fieldValues(a, field).enumerated().map { i, v in
            guard case let .bool(b) = v else { throw a.error("records", "record \(i): \(field) must be a bool, got \(v.typeName)") }
            return b
        }
    }

    static func fieldNumbers(_ a: LibArgs, _ field: String) throws -> [Double] {
        try fieldValues(a, field).enumerated().map { i, v in
            guard let d = MetricsBuiltins.number(v) else {
                throw a.error("records", "record \(i): \(field) must be a number, got \(v.typeName)")
            }
            return d
        }
    }
}
