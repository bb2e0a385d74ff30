import Foundation
import LoupeModels
import LoupeTensor

/// A problem with the inputs of the concept-availability method; every case names what was at fault.
public enum AvailabilityError: Error, CustomStringConvertible, Equatable {
    /// An item or call gave no alias (or only blank ones).
    case emptyAliases(item: String)
    /// No alias of `aliases` starts with a token that carries text (every first token was spaces or punctuation).
    case noConceptTokens(aliases: [String])
    /// The model file has no tokenizer, so text cannot be encoded.
    case noTokenizer(path: String)
    /// A chat prompt was asked of a model whose file carries no chat template (a Base model).
    case noChatTemplate(path: String)
    /// An argument that does not fit (a width, a tau, a layer, a token id...).
    case invalidArgument(function: String, message: String)
    /// The probe cannot be fitted: too few available items, or one class only.
    case probeData(message: String)

    public var description: String {
        switch self {
        case let .emptyAliases(item): return "availability: item \(item) has no aliases (at least one non-blank answer form is needed)"
        case let .noConceptTokens(aliases):
            return "availability: no alias of \(aliases) starts with a token that has a letter or digit, so the concept has no tokens"
        case let .noTokenizer(path): return "availability: \(path) has no tokenizer; text prompts and aliases need one"
        case let .noChatTemplate(path):
            return "availability: \(path) has no chat template (a Base model?); run it with chat: false"
        case let .invalidArgument(function, message): return "availability.\(function): \(message)"
        case let .probeData(message): return "availability.probe: \(message)"
        }
    }
}

/// Concept availability ("P-mass", arXiv 2605.22007; specs/methods.md section 1): when a model answers a question
/// wrongly, was the correct answer concept already available at the commit step?
///
/// - Commit step t*: the first generated token after the prompt (after the chat template's generation prompt for
///   Instruct models). The default prompts carry a few short question/answer turns so that the first generated
///   token is the first token of the answer, not "The answer is".
/// - Concept token set C: the first token of every alias under casing and leading-space variants (`conceptSet`).
/// - P-mass = sum over C of p(v | prompt); available when P-mass >= tau (default 0.3, reported for 0.1 .. 0.5).
/// - Concentration = max over C of p(v) / P-mass; dispersion = 1 - concentration.
/// - Commitment-failure rate = #(wrong and available) / #wrong.
///
/// The pure functions (`mass`, `conceptAwareChoice`, `failureRate`, `binned`) work on plain numbers; the model
/// functions (`conceptSet`, `prompt`, `evaluate`, `sequenceMass`, `probe`) run a `LanguageModel`.
public enum Availability {
    /// The thresholds the paper's commitment-failure rate is reported at.  [derived]
    public static let taus: [Double] = [0.1, 0.2, 0.3, 0.5]
    /// The default availability threshold.  [derived]
    public static let defaultTau = 0.3

    // MARK: - Mass of a concept in one distribution

    /// The mass of a concept token set in one next-token distribution.
    public struct ConceptMass: Equatable, Sendable {
        /// Sum of the probabilities of the concept's tokens.
        public let pMass: Double
        /// max over the concept of p(v) / pMass (0 when pMass is 0).
        public let concentration: Double
        /// The concept token with the largest probability, and that probability.
        public let topToken: Int
        public let topProbability: Double
        /// 1 - concentration.
        public var dispersion: Double { 1 - concentration }
    }

    /// P-mass and concentration of `concept` (token ids, duplicates counted once) in `probabilities` (indexed by
    /// token id). Throws when the concept is empty or names an id outside the distribution.
    public static func mass(probabilities p: [Double], concept: [Int]) throws -> ConceptMass {
        let ids = unique(concept)
        guard !ids.isEmpty else { throw AvailabilityError.invalidArgument(function: "mass", message: "the concept set is empty") }
        var total = 0.0, top = ids[0], topP = -1.0
        for v in ids {
            guard v >= 0 && v < p.count else {
                throw AvailabilityError.invalidArgument(function: "mass", message:
                    "token id \(v) is outside the distribution of \(p.count) entries")
            }
            total += p[v]
            if p[v] > topP { topP = p[v]; top = v }
        }
        return ConceptMass(pMass: total, concentration: total > 0 ? topP / total : 0, topToken: top, topProbability: topP)
    }

    /// The index of the largest probability (the greedy token; the lowest id among equals, as argmax).
    public static func argmax(_ p: [Double]) -> Int {
        var best = 0
        for i in p.indices where p[i] > p[best] { best = i }
        return best
    }

    /// The index of the largest logit (lowest index among equals).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best
    }

    /// Softmax of logits in Double, stable (the maximum is subtracted first).
    public static func softmax(_ logits: [Float]) -> [Double] {
        guard let m = logits.max() else { return [] }
        var out = logits.map { exp(Double($0) - Double(m)) }
        let z = out.reduce(0, +)
        for i in out.indices { out[i] /= z }
        return out
    }

    /// Log-softmax of logits in Double, stable.
    public static func logSoftmax(_ logits: [Float]) -> [Double] {
        guard let m = logits.max() else { return [] }
        let mm = Double(m)
        let lse = mm + log(logits.reduce(0.0) { $0 + exp(Double($1) - mm) })
        return logits.map { Double($0) - lse }
    }

    /// Concept-aware decoding: the candidate concept with the largest aggregated mass (sum of its tokens'
    /// probabilities). The first candidate wins a tie. Returns its index and every candidate's mass.
    public static func conceptAwareChoice(probabilities p: [Double], concepts: [[Int]]) throws -> (index: Int, masses: [Double]) {
        guard !concepts.isEmpty else {
            throw AvailabilityError.invalidArgument(function: "concept_aware", message: "no candidate concepts")
        }
        let masses = try concepts.map { try mass(probabilities: p, concept: $0).pMass }
        var best = 0
        for i in masses.indices where masses[i] > masses[best] { best = i }
        return (best, masses)
    }

    // MARK: - Rates over many answers

    /// The commitment-failure rate at one threshold.
    public struct FailureRate: Equatable, Sendable {
        public let tau: Double
        /// Wrong answers, and wrong answers whose P-mass was >= tau.
        public let wrong: Int
        public let availableWrong: Int
        /// availableWrong / wrong; NaN when no answer was wrong.
        public let rate: Double
    }

    /// #(wrong and P-mass >= tau) / #wrong over answers given as (correct, P-mass) pairs.
    public static func failureRate(correct: [Bool], pMass: [Double], tau: Double) throws -> FailureRate {
        guard correct.count == pMass.count else {
            throw AvailabilityError.invalidArgument(function: "failure_rate", message:
                "correct has \(correct.count) entries but p_mass has \(pMass.count)")
        }
        guard tau.isFinite else { throw AvailabilityError.invalidArgument(function: "failure_rate", message: "tau must be finite, got \(tau)") }
        var wrong = 0, available = 0
        for (c, m) in zip(correct, pMass) where !c {
            wrong += 1
            if m >= tau { available += 1 }
        }
        return FailureRate(tau: tau, wrong: wrong, availableWrong: available,
                           rate: wrong > 0 ? Double(available) / Double(wrong) : .nan)
    }

    /// Correct and hallucinated answers inside one P-mass bin.
    public struct Bin: Equatable, Sendable {
        /// The bin is [lower, upper), the last one [lower, upper].
        public let lower: Double
        public let upper: Double
        public let correct: Int
        public let hallucinated: Int
        /// Mean concentration of the correct and of the hallucinated answers in the bin (NaN when none).
        public let concentrationCorrect: Double
        public let concentrationHallucinated: Double
        /// Mean P-mass of each group, to show how well the bin matches them.
        public let pMassCorrect: Double
        public let pMassHallucinated: Double
        /// concentrationCorrect - concentrationHallucinated (NaN unless both groups are present).
        public var gap: Double { concentrationCorrect - concentrationHallucinated }
    }

    /// Concentration of correct vs hallucinated answers inside matched P-mass bins of `width` over [0, 1]
    /// (bins [k w, (k+1) w), the last closed; a P-mass of exactly 1 falls in the last bin).
    public static func binned(correct: [Bool], pMass: [Double], concentration: [Double], width: Double = 0.1) throws -> [Bin] {
        guard correct.count == pMass.count, pMass.count == concentration.count else {
            throw AvailabilityError.invalidArgument(function: "binned", message:
                "correct, p_mass and concentration have \(correct.count), \(pMass.count) and \(concentration.count) entries")
        }
        guard width > 0, width <= 1, width.isFinite else {
            throw AvailabilityError.invalidArgument(function: "binned", message: "width must be in (0, 1], got \(width)")
        }
        let n = Swift.max(1, Int((1 / width - 1e-9).rounded(.up)))
        var sums = [(c: Int, h: Int, cc: Double, ch: Double, pc: Double, ph: Double)](repeating: (0, 0, 0, 0, 0, 0), count: n)
        for i in pMass.indices {
            let m = pMass[i]
            guard m.isFinite, m >= -1e-9, m <= 1 + 1e-6 else {
                throw AvailabilityError.invalidArgument(function: "binned", message: "p_mass[\(i)] = \(m) is not in [0, 1]")
            }
            let b = Swift.min(n - 1, Swift.max(0, Int((m + 1e-12) / width)))
            if correct[i] { sums[b].c += 1; sums[b].cc += concentration[i]; sums[b].pc += m }
            else { sums[b].h += 1; sums[b].ch += concentration[i]; sums[b].ph += m }
        }
        return (0..<n).map { b in
            let s = sums[b]
            func mean(_ x: Double, _ k: Int) -> Double { k > 0 ? x / Double(k) : .nan }
            return Bin(lower: Double(b) * width, upper: Swift.min(1, Double(b + 1) * width), correct: s.c, hallucinated: s.h,
                       concentrationCorrect: mean(s.cc, s.c), concentrationHallucinated: mean(s.ch, s.h),
                       pMassCorrect: mean(s.pc, s.c), pMassHallucinated: mean(s.ph, s.h))
        }
    }

    // MARK: - Concept token sets

    /// The surface variants of an alias: as written, lower case, first letter upper case, upper case, each with
    /// and without one leading space (deduplicated, in that order). Blank aliases give none.
    public static func surfaceVariants(_ alias: String) -> [String] {
        let t = alias.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !t.isEmpty else { return [] }
        let capitalized = t.prefix(1).uppercased() + t.dropFirst()
        var out: [String] = []
        for form in [t, t.lowercased(), capitalized, t.uppercased()] {
            for s in [form, " " + form] where !out.contains(s) { out.append(s) }
        }
        return out
    }

    /// The surface forms of a multiple-choice letter: " A", "A", "(A)", "A." (and " (A)").
    public static func letterForms(_ letter: String) -> [String] {
        [" \(letter)", letter, "(\(letter))", " (\(letter))", "\(letter)."]
    }

    /// A concept's tokens, with the variant strings they came from.
    public struct ConceptSet: Equatable, Sendable {
        /// Distinct first tokens, in the order the variants produced them.
        public let tokens: [Int]
        /// Every variant string and its first token (nil when that token carried no letter or digit).
        public let variants: [(text: String, token: Int?)]

        public static func == (a: ConceptSet, b: ConceptSet) -> Bool {
            a.tokens == b.tokens && a.variants.map { $0.text } == b.variants.map { $0.text }
                && a.variants.map { $0.token } == b.variants.map { $0.token }
        }
    }

    /// The concept token set of `aliases`: the first token that `tokenizer` gives each variant string (no BOS,
    /// control tokens not parsed), deduplicated. With `variants: true` each alias expands to `surfaceVariants`;
    /// otherwise the strings are taken as written (e.g. `letterForms`).
    ///
    /// A first token with no letter or digit (a bare space, the "(" of "(A)") is left out: it starts many
    /// answers and carries no concept.  [derived]
    public static func conceptSet(aliases: [String], tokenizer: Tokenizer, variants: Bool = true) throws -> ConceptSet {
        let strings = variants ? aliases.flatMap(surfaceVariants) : aliases.filter { !$0.isEmpty }
        guard !strings.isEmpty else { throw AvailabilityError.emptyAliases(item: "\(aliases)") }
        var seenStrings = Set<String>(), tokens: [Int] = [], rows: [(text: String, token: Int?)] = []
        for s in strings where seenStrings.insert(s).inserted {
            let ids = tokenizer.encode(s, addSpecial: false, parseSpecial: false)
            guard let first = ids.first else { rows.append((s, nil)); continue }
            let piece = tokenizer.piece(first)
            guard piece.unicodeScalars.contains(where: { CharacterSet.alphanumerics.contains($0) }) else {
                rows.append((s, nil)); continue
            }
            rows.append((s, first))
            if !tokens.contains(first) { tokens.append(first) }
        }
        guard !tokens.isEmpty else { throw AvailabilityError.noConceptTokens(aliases: aliases) }
        return ConceptSet(tokens: tokens, variants: rows)
    }

    // MARK: - Answers

    /// SQuAD-style normalisation: lower case, punctuation to spaces, the articles a / an / the dropped,
    /// whitespace collapsed.
    public static func normalize(_ text: String) -> String {
        let lowered = text.lowercased()
        var cleaned = ""
        for ch in lowered.unicodeScalars {
            cleaned.unicodeScalars.append(CharacterSet.alphanumerics.contains(ch) ? ch : " ")
        }
        return cleaned.split(separator: " ").filter { !["a", "an", "the"].contains($0) }.joined(separator: " ")
    }

    /// Whether a generated answer matches one of the aliases: after `normalize`, an alias equals the answer or
    /// appears in it as a run of whole words ("Paris, France" matches "Paris"; "120" does not match "12").
    public static func matches(answer: String, aliases: [String]) -> Bool {
        let a = normalize(answer).split(separator: " ").map(String.init)
        guard !a.isEmpty else { return false }
        for alias in aliases {
            let w = normalize(alias).split(separator: " ").map(String.init)
            guard !w.isEmpty, w.count <= a.count else { continue }
            for start in 0...(a.count - w.count) where Array(a[start..<(start + w.count)]) == w { return true }
        }
        return false
    }

    /// The option letter a multiple-choice answer starts with ("B", " (B) ...", "B. Genetic drift"), or nil.
    public static func choiceLetter(_ answer: String, letters: [String]) -> String? {
        var s = Substring(answer.trimmingCharacters(in: .whitespacesAndNewlines))
        if s.hasPrefix("(") { s = s.dropFirst() }
        guard let c = s.first else { return nil }
        let letter = String(c)
        guard letters.contains(letter) else { return nil }
        // "A" must stand alone: "Apples" does not answer A.
        if let next = s.dropFirst().first, next.isLetter { return nil }
        return letter
    }

    // MARK: - Prompts

    /// How a question becomes a prompt.
    public struct PromptStyle: Equatable, Sendable {
        /// A system message for chat prompts (nil: none).
        public var system: String?
        /// Example question/answer turns put before the question (chat turns, or blocks of plain text).
        public var shots: [Shot]
        /// Plain (Base model) template; "{question}" is replaced by the question.
        public var plainTemplate: String

        public struct Shot: Equatable, Sendable {
            public let question: String
            public let answer: String
            public init(question: String, answer: String) { self.question = question; self.answer = answer }
        }

        public init(system: String? = nil, shots: [Shot] = [], plainTemplate: String = "Question: {question}\nAnswer:") {
            self.system = system; self.shots = shots; self.plainTemplate = plainTemplate
        }

        /// Short factual answers: three example turns (not questions of data/qa/facts.jsonl) so that the answer
        /// starts at the first generated token.
        public static let facts = PromptStyle(
            system: "Answer with only the answer: a word, a name or a number.",
            shots: [Shot(question: "What is the capital of Italy?", answer: "Rome"),
                    Shot(question: "What is 2 plus 3?", answer: "5"),
                    Shot(question: "What is the opposite of big?", answer: "small")])

        /// MMLU-style questions, which end with "Answer:" already: no shots; the reply starts with the letter.
        public static let multipleChoice = PromptStyle(
            system: "Answer with the letter (A, B, C or D) of the correct option only.", shots: [],
            plainTemplate: "{question}")
    }

    /// Token ids of the prompt for `question`.
    ///
    /// - chat: the model's chat template with the system message, the shots as user/assistant turns, the question
    ///   as the last user turn and the generation prompt; encoded with control tokens parsed, BOS put first when
    ///   the tokenizer adds one and the template did not write it.
    /// - plain (the system message unused): each shot as the template followed by " answer", blank lines between, then the template of the
    ///   question; encoded with the tokenizer's own special tokens (BOS).
    public static func prompt(model: LanguageModel, question: String, chat: Bool, style: PromptStyle) throws -> [Int] {
        guard let tok = model.tokenizer else { throw AvailabilityError.noTokenizer(path: model.path) }
        if chat {
            guard let template = tok.chatTemplate else { throw AvailabilityError.noChatTemplate(path: model.path) }
            var messages: [[String: String]] = []
            if let s = style.system { messages.append(["role": "system", "content": s]) }
            for shot in style.shots {
                messages.append(["role": "user", "content": shot.question])
                messages.append(["role": "assistant", "content": shot.answer])
            }
            messages.append(["role": "user", "content": question])
            let text = try template.render(messages: messages, addGenerationPrompt: true,
                                           bosToken: tok.bos.map(tok.piece) ?? "", eosToken: tok.eos.map(tok.piece) ?? "")
            var ids = tok.encode(text, addSpecial: false, parseSpecial: true)
            if tok.addsBOS, let b = tok.bos, ids.first != b { ids.insert(b, at: 0) }
            return ids
        }
        func fill(_ q: String) -> String { style.plainTemplate.replacingOccurrences(of: "{question}", with: q) }
        // Base models follow examples, not instructions: the system message is left out of plain prompts.
        let text = style.shots.map { fill($0.question) + " " + $0.answer + "\n\n" }.joined() + fill(question)
        return tok.encode(text, addSpecial: true, parseSpecial: true)
    }

    // MARK: - Running a model on items

    /// Settings of `evaluate`.
    public struct Options: Sendable {
        /// Chat template (Instruct models) or plain prompt (Base models).
        public var chat: Bool
        /// The most answer tokens to generate (greedy; stops at a newline or an end-of-sequence token).
        public var maxTokens: Int
        /// Prompt style for open questions and for multiple-choice items.
        public var style: PromptStyle
        public var choiceStyle: PromptStyle
        /// Capture the last prompt token's residual stream (hook_resid_post) at every layer, for `probe`.
        public var hidden: Bool
        /// Also compute the multi-token concept mass by teacher forcing (`sequenceMass`).
        public var sequenceMass: Bool

        public init(chat: Bool = true, maxTokens: Int = 8, style: PromptStyle = .facts,
                    choiceStyle: PromptStyle = .multipleChoice, hidden: Bool = false, sequenceMass: Bool = false) {
            self.chat = chat; self.maxTokens = maxTokens; self.style = style; self.choiceStyle = choiceStyle
            self.hidden = hidden; self.sequenceMass = sequenceMass
        }
    }

    /// What one question gave.
    public struct ItemResult: Sendable {
        public let id: String
        public let question: String
        /// The gold answer and its aliases (for a multiple-choice item, the letter).
        public let gold: String
        public let aliases: [String]
        public let category: String
        /// The greedy answer text (up to the first newline, trimmed) and its tokens.
        public let answer: String
        public let answerTokens: [Int]
        public let correct: Bool
        /// P-mass, concentration and the concept set at the commit step.
        public let pMass: Double
        public let concentration: Double
        public let conceptTokens: [Int]
        public let topConceptToken: Int
        /// The greedy token at the commit step, its text and probability, and whether it is in the concept.
        public let greedyToken: Int
        public let greedyPiece: String
        public let greedyProbability: Double
        public let greedyInConcept: Bool
        /// Concept-aware decoding: the candidate concepts' names and masses, the pick, and whether it is gold.
        /// Candidates are the greedy answer's concept and the gold concept (open questions), or every option
        /// letter (multiple choice).
        public let candidates: [String]
        public let candidateMasses: [Double]
        public let conceptAwarePick: String
        public let conceptAwareCorrect: Bool
        /// Multi-token concept mass by teacher forcing (when asked for), else nil.
        public let sequenceMass: Double?
        /// The prompt's token ids.
        public let prompt: [Int]
        public var promptTokens: Int { prompt.count }
        /// hook_resid_post of the last prompt token, one row per layer (when asked for), else empty.
        public let hidden: [[Float]]
        public var dispersion: Double { 1 - concentration }
        public var hallucinated: Bool { !correct }
    }

    /// Runs the model on each item: the prompt, the commit-step distribution, a greedy answer, P-mass,
    /// concentration, correctness, concept-aware decoding, and optionally the multi-token mass and hidden states.
    /// `progress(done, total)` is called after each item.
    public static func evaluate(model: LanguageModel, items: [QAItem], options: Options = Options(),
                                progress: ((Int, Int) -> Void)? = nil) throws -> [ItemResult] {
        guard let tok = model.tokenizer else { throw AvailabilityError.noTokenizer(path: model.path) }
        guard options.maxTokens >= 1 else {
            throw AvailabilityError.invalidArgument(function: "run", message: "max_tokens must be >= 1, got \(options.maxTokens)")
        }
        // Every prompt of one style starts with the same system message, shots and template text; that prefix is
        // prefilled once and each item runs only its own tokens from a fork of it. On the facts set with a chat
        // template the shared prefix is ~90% of the prompt.
        let prompts = try items.map { item in
            try prompt(model: model, question: item.question, chat: options.chat,
                       style: item.choices.isEmpty ? options.style : options.choiceStyle)
        }
        var prefixes: [[Int]: InferenceSession] = [:]
        var groups: [Bool: [Int]] = [:]
        for (i, item) in items.enumerated() { groups[item.choices.isEmpty, default: []].append(i) }
        var prefixOf = [Int](repeating: 0, count: items.count)
        for (_, members) in groups {
            // At least one token of each prompt stays outside the prefix: its logits are the commit step's.
            var n = members.map { prompts[$0].count - 1 }.min() ?? 0
            let first = prompts[members[0]]
            for i in members { n = Swift.min(n, zip(first, prompts[i]).prefix { $0 == $1 }.count) }
            for i in members { prefixOf[i] = n }
            if n > 0 {
                let s = model.makeSession()
                _ = try s.prefillLogits(Array(first[..<n]))
                prefixes[Array(first[..<n])] = s
            }
        }
        var out: [ItemResult] = []
        out.reserveCapacity(items.count)
        for (n, item) in items.enumerated() {
            let ids = prompts[n], k = prefixOf[n]
            let session = k > 0 ? prefixes[Array(ids[..<k])]!.fork() : model.makeSession()
            out.append(try evaluate(model: model, tokenizer: tok, item: item, prompt: ids, session: session, options: options))
            progress?(n + 1, items.count)
        }
        return out
    }

    /// One item: `session` holds a prefix of `ids` (possibly nothing) and runs the rest.
    static func evaluate(model: LanguageModel, tokenizer tok: Tokenizer, item: QAItem, prompt ids: [Int],
                         session: InferenceSession, options: Options) throws -> ItemResult {
        let isChoice = !item.choices.isEmpty
        let concept = isChoice ? try conceptSet(aliases: letterForms(item.answer), tokenizer: tok, variants: false)
                               : try conceptSet(aliases: item.aliases, tokenizer: tok)

        // Commit step: the distribution after the prompt, with the last prompt token's residual stream at every
        // layer captured in the same pass when the probe needs it.
        let rest = Array(ids[session.position...])
        var hidden: [[Float]] = []
        let firstLogits: [Float]
        if options.hidden {
            var fo = ForwardOptions()
            fo.allLogits = false
            let r = try session.forward(rest, capture: ["blocks.*.hook_resid_post"], options: fo)
            firstLogits = r.logits.scalars
            hidden = try lastRows(r.cache, layers: model.config.layers, d: model.config.dModel)
        } else {
            firstLogits = Array(try session.prefillLogits(rest))
        }
        let p = softmax(firstLogits)
        let m = try mass(probabilities: p, concept: concept.tokens)
        let greedy = argmax(p)

        // Multi-token mass continues from a copy of the prompt's cache, before decoding moves it on.
        let seq = options.sequenceMass
            ? try sequenceMass(after: session, firstLogProbs: logSoftmax(firstLogits), tokenizer: tok,
                               aliases: isChoice ? letterForms(item.answer) : item.aliases.flatMap(surfaceVariants)).total
            : nil

        // Greedy decoding through the KV cache.
        let stops = model.defaultStopTokens
        var answerTokens: [Int] = []
        var next = greedy
        while !stops.contains(next) {
            answerTokens.append(next)
            if tok.decode(answerTokens).contains("\n") || answerTokens.count >= options.maxTokens { break }
            if session.position + 1 > model.config.context { break }
            next = argmax(try session.stepLogits(next))
        }
        var answer = tok.decode(answerTokens, skipSpecial: true)
        if let nl = answer.firstIndex(of: "\n") { answer = String(answer[..<nl]) }
        answer = answer.trimmingCharacters(in: .whitespaces)

        // Correctness and concept-aware decoding.
        let correct: Bool
        var names: [String], concepts: [[Int]]
        if isChoice {
            correct = choiceLetter(answer, letters: item.choices) == item.answer
            names = item.choices
            concepts = try item.choices.map { try conceptSet(aliases: letterForms($0), tokenizer: tok, variants: false).tokens }
        } else {
            correct = matches(answer: answer, aliases: item.aliases)
            names = [item.answer]; concepts = [concept.tokens]
            // The greedy answer's own concept goes first, so that a tie keeps the greedy answer.
            if !correct, let own = try? conceptSet(aliases: [answer], tokenizer: tok) {
                names.insert(answer, at: 0); concepts.insert(own.tokens, at: 0)
            }
        }
        let choice = try conceptAwareChoice(probabilities: p, concepts: concepts)
        let pick = names[choice.index]
        // The gold concept is the last candidate of an open question.
        let pickCorrect = isChoice ? pick == item.answer : choice.index == names.count - 1

        return ItemResult(id: item.id, question: item.question, gold: item.answer, aliases: item.aliases,
                          category: item.category, answer: answer, answerTokens: answerTokens, correct: correct,
                          pMass: m.pMass, concentration: m.concentration, conceptTokens: concept.tokens,
                          topConceptToken: m.topToken, greedyToken: greedy, greedyPiece: tok.piece(greedy),
                          greedyProbability: p[greedy], greedyInConcept: concept.tokens.contains(greedy),
                          candidates: names, candidateMasses: choice.masses, conceptAwarePick: pick,
                          conceptAwareCorrect: pickCorrect, sequenceMass: seq, prompt: ids, hidden: hidden)
    }

    /// The last row of each layer's captured hook_resid_post: [layers][d].
    static func lastRows(_ cache: [String: Tensor], layers: Int, d: Int) throws -> [[Float]] {
        try (0..<layers).map { l in
            guard let t = cache["blocks.\(l).hook_resid_post"] else {
                throw AvailabilityError.invalidArgument(function: "probe", message: "the forward pass captured no blocks.\(l).hook_resid_post")
            }
            let all = t.scalars
            return Array(all[(all.count - d)...])
        }
    }

    /// The residual stream after every block (hook_resid_post) at the last prompt token: [layers][d_model].
    public static func lastTokenResiduals(model: LanguageModel, prompt ids: [Int]) throws -> [[Float]] {
        var options = ForwardOptions()
        options.allLogits = false
        let r = try model.forward(ids: ids, capture: ["blocks.*.hook_resid_post"], options: options)
        return try lastRows(r.cache, layers: model.config.layers, d: model.config.dModel)
    }

    // MARK: - Multi-token concept mass

    /// The teacher-forced probability of each distinct token sequence of the aliases, and their sum.
    public struct SequenceMass: Equatable, Sendable {
        public let total: Double
        /// Each distinct alias tokenization with its text and sequence probability.
        public let sequences: [Sequence]
        public struct Sequence: Equatable, Sendable {
            public let text: String
            public let tokens: [Int]
            public let probability: Double
        }
    }

    /// Multi-token concept mass: sum over the distinct aliases (distinct token sequences; the strings taken as
    /// written, so pass `surfaceVariants` for casing and space variants) of p(alias tokens | prompt), each the
    /// product of the teacher-forced next-token probabilities. The prompt is prefilled once; each alias continues
    /// from a copy of its KV cache.
    public static func sequenceMass(model: LanguageModel, prompt ids: [Int], aliases: [String]) throws -> SequenceMass {
        guard let tok = model.tokenizer else { throw AvailabilityError.noTokenizer(path: model.path) }
        guard !ids.isEmpty else { throw AvailabilityError.invalidArgument(function: "sequence_mass", message: "the prompt is empty") }
        var seen = Set<[Int]>(), seqs: [(String, [Int])] = []
        for a in aliases where !a.isEmpty {
            let t = tok.encode(a, addSpecial: false, parseSpecial: false)
            if !t.isEmpty, seen.insert(t).inserted { seqs.append((a, t)) }
        }
        guard !seqs.isEmpty else { throw AvailabilityError.emptyAliases(item: "\(aliases)") }
        let base = model.makeSession()
        let first = logSoftmax(try base.prefill(ids).scalars)
        return try sequenceMass(after: base, firstLogProbs: first, sequences: seqs)
    }

    /// `sequenceMass` from a session that has run the prompt, given the log-probabilities after it.
    static func sequenceMass(after base: InferenceSession, firstLogProbs: [Double], tokenizer tok: Tokenizer,
                             aliases: [String]) throws -> SequenceMass {
        var seen = Set<[Int]>(), seqs: [(String, [Int])] = []
        for a in aliases where !a.isEmpty {
            let t = tok.encode(a, addSpecial: false, parseSpecial: false)
            if !t.isEmpty, seen.insert(t).inserted { seqs.append((a, t)) }
        }
        guard !seqs.isEmpty else { throw AvailabilityError.emptyAliases(item: "\(aliases)") }
        return try sequenceMass(after: base, firstLogProbs: firstLogProbs, sequences: seqs)
    }

    static func sequenceMass(after base: InferenceSession, firstLogProbs first: [Double],
                             sequences seqs: [(String, [Int])]) throws -> SequenceMass {
        var out: [SequenceMass.Sequence] = []
        for (text, t) in seqs {
            var lp = first[t[0]]
            if t.count > 1 {
                let s = base.fork()
                for i in 1..<t.count {
                    let l = logSoftmax(Array(try s.stepLogits(t[i - 1])))
                    lp += l[t[i]]
                }
            }
            out.append(.init(text: text, tokens: t, probability: exp(lp)))
        }
        return SequenceMass(total: out.reduce(0) { $0 + $1.probability }, sequences: out)
    }

    // MARK: - Hidden-state probe

    /// Cross-validated AUROC of a hallucination probe at one layer.
    public struct ProbeLayer: Equatable, Sendable {
        public let layer: Int
        /// Mean of the folds' AUROCs, the folds' AUROCs, and the AUROC of the pooled out-of-fold scores.
        public let auroc: Double
        public let folds: [Double]
        public let pooled: Double
    }

    /// The probe's result: one entry per layer, the items used and the default layer (last - 1).
    public struct ProbeResult: Equatable, Sendable {
        public let layers: [ProbeLayer]
        public let items: Int
        public let hallucinated: Int
        public let defaultLayer: Int
        public var atDefault: ProbeLayer { layers.first { $0.layer == defaultLayer } ?? layers[layers.count - 1] }
    }

    /// A logistic-regression probe on the last prompt token's residual stream predicting hallucination (label 1 =
    /// wrong answer) among available items (P-mass >= tau), scored by stratified k-fold cross-validated AUROC at
    /// each layer (`hidden[item][layer]`), standardised inside each fold as sklearn's pipeline.
    ///
    /// - components: when set, each layer's states are first projected on their top principal components (SVD of
    ///   the centred states of all items, labels unused). Newton's method on the full width (576-640 features)
    ///   times layers times folds is too slow on two cores; nil keeps every feature.  [derived]
    /// - layers: which layers to score (nil: all).
    public static func probe(hidden: [[[Float]]], correct: [Bool], pMass: [Double], tau: Double = defaultTau,
                             k: Int = 5, c: Double = 1, components: Int? = 32, layers: [Int]? = nil,
                             progress: ((Int, Int) -> Void)? = nil) throws -> ProbeResult {
        guard hidden.count == correct.count, correct.count == pMass.count else {
            throw AvailabilityError.invalidArgument(function: "probe", message:
                "hidden, correct and p_mass have \(hidden.count), \(correct.count) and \(pMass.count) entries")
        }
        let keep = pMass.indices.filter { pMass[$0] >= tau }
        guard let first = keep.first else {
            throw AvailabilityError.probeData(message: "no item has P-mass >= \(tau)")
        }
        let nLayers = hidden[first].count
        guard nLayers > 0, keep.allSatisfy({ hidden[$0].count == nLayers }) else {
            throw AvailabilityError.probeData(message: "items lack hidden states (run with hidden: true) or differ in layer count")
        }
        let y = keep.map { correct[$0] ? 0.0 : 1.0 }
        let positives = Int(y.reduce(0, +))
        guard positives >= k, keep.count - positives >= k else {
            throw AvailabilityError.probeData(message: "\(keep.count) available items with \(positives) hallucinated and "
                + "\(keep.count - positives) correct; each class needs at least k = \(k) for stratified \(k)-fold cross-validation")
        }
        let which = layers ?? Array(0..<nLayers)
        for l in which where l < 0 || l >= nLayers {
            throw AvailabilityError.invalidArgument(function: "probe", message: "layer \(l) is outside 0..<\(nLayers)")
        }
        var result: [ProbeLayer] = []
        for (n, l) in which.enumerated() {
            var x = keep.map { hidden[$0][l].map(Double.init) }
            if let comps = components { x = try principalScores(x, components: comps) }
            var stream: RandomStream? = nil
            let cv = try ML.crossValidatedAUROC(x: x, labels: y, k: k, c: c, standardize: true, stream: &stream)
            result.append(ProbeLayer(layer: l, auroc: cv.mean, folds: cv.folds, pooled: cv.pooled))
            progress?(n + 1, which.count)
        }
        return ProbeResult(layers: result, items: keep.count, hallucinated: positives, defaultLayer: Swift.max(0, nLayers - 2))
    }

    /// Scores of the rows on their top `components` principal components (U S of the centred matrix's SVD).
    static func principalScores(_ x: [[Double]], components: Int) throws -> [[Double]] {
        let n = x.count, d = x.first?.count ?? 0
        guard components >= 1 else {
            throw AvailabilityError.invalidArgument(function: "probe", message: "components must be >= 1, got \(components)")
        }
        let k = Swift.min(components, n, d)
        var mean = [Double](repeating: 0, count: d)
        for row in x { for j in 0..<d { mean[j] += row[j] } }
        for j in 0..<d { mean[j] /= Double(n) }
        var flat = [Float](repeating: 0, count: n * d)
        for i in 0..<n { for j in 0..<d { flat[i * d + j] = Float(x[i][j] - mean[j]) } }
        let (u, s, _) = try Tensor(shape: [n, d], data: flat).svd()
        let us = u.scalars, ss = s.scalars
        let cols = ss.count
        return (0..<n).map { i in (0..<k).map { j in Double(us[i * cols + j]) * Double(ss[j]) } }
    }

    // MARK: - Helpers

    static func unique(_ xs: [Int]) -> [Int] {
        var seen = Set<Int>()
        return xs.filter { seen.insert($0).inserted }
    }
}
