import Foundation
import LoupeLang
import LoupeModels
import LoupeTensor

// The `model` namespace: loading a language model (a shipped name, a .gguf file or a safetensors folder) and the
// model object's members, the surface of specs/api.md:
//
//     let m = model.load("smollm2-135m-instruct")
//     let ids = m.encode("The capital of France is")
//     let lp = log_softmax(m.logits(ids)[-1])
//     m.generate("Once upon a time", max_tokens: 20).text
//     m.forward(ids, capture: ["blocks.*.attn.hook_pattern"]).cache
//     m.forward(ids, intervene: {"blocks.5.hook_resid_post": fn(h) { h * 0.5 }})
//
// LoupeModels knows nothing of the language: this file converts values both ways and calls back into Loupe
// functions for interventions and attention callbacks.

enum ModelBuiltins {
    static func register(_ r: LibRegistrar) {
        r.registry.documentNamespace("model", "Language models: load a GGUF file or a safetensors folder by path or shipped name.")
        r.add("model", "load", [Parameter("name_or_path", .string)], doc: """
            Loads a model: a name from `loupe models` (smollm2-135m-instruct, gemma-3-270m, all-minilm-l6-v2), a .gguf
            file, or a safetensors folder. The weights stay memory-mapped (quantized ones are read in place).
            Loading the same file again returns the same model.
            """) { a in
            let name = try a.string("name_or_path")
            return try load(name, a)
        }
        r.add("model", "list", [], doc: "The shipped models and whether each is fetched: a list of records {name, fetched, path}.") { _ in
            let store = ModelStore.default
            return .list(store.entries().map { e in
                let fetched: Bool
                switch e.status { case .verified, .unverified: fetched = true; default: fetched = false }
                return .record(Record(["name": .string(e.model.name), "fetched": .bool(fetched), "path": .string(e.path.path),
                                       "summary": .string(e.model.summary)]))
            })
        }
    }

    // MARK: Loading

    /// Models loaded in this process, by resolved path and modification time, so that a notebook cell or a REPL
    /// line loading the same file twice shares one mmap and one tokenizer.
    nonisolated(unsafe) private static var loaded: [String: (Date?, HostObject)] = [:]
    private static let lock = NSLock()

    static func load(_ nameOrPath: String, _ a: LibArgs) throws -> Value {
        let url: URL
        do { url = try ModelStore.default.resolve(nameOrPath) } catch { throw a.fail("\(error)", kind: .io) }
        let path = url.path
        let mtime = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        lock.lock()
        if let (t, object) = loaded[path], t == mtime {
            lock.unlock()
            HostHooks.recordFileLoaded(path)
            return .object(object)
        }
        lock.unlock()
        let object: HostObject
        do {
            if path.hasSuffix(".gguf") {
                object = ModelObject(try LanguageModel.load(path: path), name: nameOrPath)
            } else {
                // A safetensors folder (or a file inside one): config.json's architectures say whether it is a
                // decoder (llama, qwen2, qwen3, gemma3: HFCheckpoint.swift) or a BERT sentence encoder.
                var isDir: ObjCBool = false
                FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
                let folder = isDir.boolValue ? path : URL(fileURLWithPath: path).deletingLastPathComponent().path
                if HFCheckpoint.isDecoder(directory: folder) {
                    object = ModelObject(try LanguageModel.load(huggingFace: folder), name: nameOrPath)
                } else {
                    object = EncoderObject(try SentenceEncoder.load(path: folder), name: nameOrPath)
                }
            }
        } catch let e as LoupeError { throw e } catch { throw a.fail("\(error)", kind: .io) }
        HostHooks.recordFileLoaded(path)
        lock.lock(); loaded[path] = (mtime, object); lock.unlock()
        return .object(object)
    }

    // MARK: Conversions

    /// Token ids from a list of ints or a 1-d tensor of whole numbers.
    static func ids(_ v: Value, _ a: LibArgs, _ name: String, vocab: Int) throws -> [Int] {
        var out: [Int] = []
        switch v {
        case let .list(xs):
            out.reserveCapacity(xs.count)
            for x in xs {
                switch x {
                case let .int(i): out.append(i)
                case let .float(f) where f == f.rounded() && abs(f) < 1e15: out.append(Int(f))
                default: throw a.typeError(name, "a list of token ids (ints)", x)
                }
            }
        case let .tensor(t):
            guard t.shape.count == 1 else { throw a.error(name, "must be a 1-d tensor of token ids, got shape \(t.shape)") }
            for x in t.scalars {
                guard x == x.rounded(), x.isFinite else { throw a.error(name, "holds \(x), not a token id") }
                out.append(Int(x))
            }
        default:
            throw a.typeError(name, "a list of token ids", v)
        }
        for i in out where i < 0 || i >= vocab {
            throw a.error(name, "holds token id \(i), outside the vocabulary (0..<\(vocab))", kind: .index)
        }
        return out
    }

    static func intList(_ xs: [Int]) -> Value { .list(xs.map { .int($0) }) }

    /// A member function of a host object, "TYPE.NAME" (TYPE "model" unless given), whose LoupeModels errors
    /// name it.
    static func method(_ name: String, _ parameters: [Parameter], _ doc: String, type: String = "model",
                       _ body: @escaping (LibArgs) throws -> Value) -> Value {
        .function(Builtin(name: "\(type).\(name)", parameters: parameters, doc: doc) { raw in
            let a = LibArgs(raw)
            return try guarded(a) { try body(a) }
        })
    }

    /// Runs a LoupeModels call, turning its errors into LoupeErrors that name the built-in.
    static func guarded<T>(_ a: LibArgs, _ body: () throws -> T) throws -> T {
        do { return try body() }
        catch let e as LoupeError { throw e }
        catch let e as TensorError { throw a.tensorError(e) }
        catch { throw a.fail("\(error)") }
    }
}

/// A loaded decoder model as the language sees it: fields (`config`, `name`, `hook_names`, `embedding_table`)
/// and methods (`encode`, `decode`, `logits`, `forward`, `generate`, `chat`, `chat_prompt`, `piece`, `token_id`).
final class ModelObject: HostObject {
    let model: LanguageModel
    let name: String

    init(_ model: LanguageModel, name: String) {
        self.model = model
        self.name = name
    }

    var typeName: String { "model" }
    var summary: String {
        let c = model.config
        return "<model \(name): \(c.architecture.rawValue), \(c.layers) layers, d_model \(c.dModel), vocab \(c.vocab)>"
    }
    var memberNames: [String] {
        ["chat", "chat_prompt", "config", "decode", "embedding_table", "encode", "forward", "generate", "hook_names",
         "logits", "name", "path", "piece", "token_id", "vocab_size", "bos", "eos"]
    }

    private func method(_ name: String, _ parameters: [Parameter], _ doc: String,
                        _ body: @escaping (LibArgs) throws -> Value) -> Value {
        ModelBuiltins.method(name, parameters, doc, body)
    }

    private func tokenizer(_ a: LibArgs) throws -> Tokenizer {
        guard let t = model.tokenizer else { throw a.fail("\(model.path) carries no tokenizer") }
        return t
    }

    func member(_ name: String) -> Value? {
        let m = model
        switch name {
        case "name": return .string(self.name)
        case "path": return .string(m.path)
        case "vocab_size": return .int(m.config.vocab)
        case "bos": return model.tokenizer?.bos.map { .int($0) } ?? .nil
        case "eos": return model.tokenizer?.eos.map { .int($0) } ?? .nil
        case "hook_names": return .list(m.hookNames.map { .string($0) })
        case "embedding_table": return .tensor(m.embeddingTable)
        case "config": return .record(configRecord(m.config))
        case "encode":
            return method("encode", [Parameter("text", .string), Parameter("bos", .bool, default: .bool(false), keywordOnly: true),
                                     Parameter("special", .bool, default: .bool(true), keywordOnly: true)],
                          "Token ids of text; bos: true prepends the model's BOS token; special: false reads <|...|> as plain text.") { [unowned self] a in
                let t = try self.tokenizer(a)
                return ModelBuiltins.intList(t.encode(try a.string("text"), addBOS: try a.bool("bos"), parseSpecial: try a.bool("special")))
            }
        case "decode":
            return method("decode", [Parameter("ids"), Parameter("skip_special", .bool, default: .bool(false), keywordOnly: true)],
                          "The text of token ids (an int, a list of ints or a 1-d tensor).") { [unowned self] a in
                let t = try self.tokenizer(a)
                // One id or a list of them; `ModelBuiltins.ids` checks every id against the vocabulary.
                let single: Value = { if case .int = a["ids"] { return .list([a["ids"]]) }; return a["ids"] }()
                let ids = try ModelBuiltins.ids(single, a, "ids", vocab: m.config.vocab)
                return .string(t.decode(ids, skipSpecial: try a.bool("skip_special")))
            }
        case "piece":
            return method("piece", [Parameter("id", .int)], "The vocabulary entry of one token id, as text.") { [unowned self] a in
                let id = try a.int("id")
                guard id >= 0, id < m.config.vocab else { throw a.error("id", "is outside the vocabulary (0..<\(m.config.vocab))", kind: .index) }
                return .string(try self.tokenizer(a).piece(id))
            }
        case "token_id":
            return method("token_id", [Parameter("text", .string)], "The id of a vocabulary entry, or nil when it is not one token.") { [unowned self] a in
                try self.tokenizer(a).id(of: try a.string("text")).map { .int($0) } ?? .nil
            }
        case "logits":
            return method("logits", [Parameter("ids")], "Raw logits of every position: a tensor [T, vocab].") { a in
                let ids = try ModelBuiltins.ids(a["ids"], a, "ids", vocab: m.config.vocab)
                guard !ids.isEmpty else { throw a.error("ids", "is empty") }
                return .tensor(try m.logits(ids))
            }
        case "forward":
            return method("forward", [
                Parameter("ids"),
                Parameter("capture", .optional(.list), default: .nil, keywordOnly: true),
                Parameter("intervene", .optional(.record), default: .nil, keywordOnly: true),
                Parameter("mask", .optional(.tensorLike), default: .nil, keywordOnly: true),
                Parameter("embeddings", .optional(.record), default: .nil, keywordOnly: true),
                Parameter("attention", .optional(.function), default: .nil, keywordOnly: true),
                Parameter("attention_layers", .optional(.list), default: .nil, keywordOnly: true),
                Parameter("tags", .optional(.list), default: .nil, keywordOnly: true),
            ], """
            One forward pass with hooks (TransformerLens names; `*` matches every layer): returns {logits, cache}.
            capture: names to keep, e.g. ["blocks.*.attn.hook_pattern"]. intervene: {NAME: f} where f is a function
            (its result replaces the activation), a tensor (replaces it), or a record {add: t} / {replace: t} /
            {zero_heads: [h, ...]} / {scale_heads: {"h": factor}}. mask: additive attention mask over key positions
            ([T] or [T, T]). embeddings: {"POSITION": vector} replaces input embeddings (soft prompts).
            attention: fn(ctx) called inside attention per layer and head with {layer, head, q, k, v, scores, tags};
            returning a tensor [T, d_head] replaces the head's output, nil keeps it. tags: a modality per position.
            """) { a in
                try self.forward(a)
            }
        case "generate":
            return method("generate", [
                Parameter("prompt"),
                Parameter("max_tokens", .int, default: .int(64), keywordOnly: true),
                Parameter("temperature", .number, default: .float(0), keywordOnly: true),
                Parameter("top_k", .int, default: .int(0), keywordOnly: true),
                Parameter("top_p", .number, default: .float(1), keywordOnly: true),
                Parameter("min_p", .number, default: .float(0), keywordOnly: true),
                Parameter("repetition_penalty", .number, default: .float(1), keywordOnly: true),
                Parameter("stop", .optional(.oneOf([.string, .list])), default: .nil, keywordOnly: true),
                Parameter("seed", .int, default: .int(0), keywordOnly: true),
                Parameter("n", .int, default: .int(1), keywordOnly: true),
                Parameter("bos", .optional(.bool), default: .nil, keywordOnly: true),
            ], """
            Continues a prompt (text or token ids): {ids, text, finish}; with n: N, a list of N such records that
            share one prefill of the prompt. temperature 0 is greedy; top_k, top_p, min_p, repetition_penalty shape
            sampling; stop: strings that end the text; seed makes sampling reproducible. A text prompt gets the
            file's BOS when its add_bos_token says so (bos: overrides).
            """) { a in
                try self.generate(a, prompt: try self.promptIDs(a))
            }
        case "chat_prompt":
            return method("chat_prompt", [Parameter("messages"), Parameter("generation_prompt", .bool, default: .bool(true), keywordOnly: true)],
                          "The model's chat template applied to messages (a string, or a list of {role, content} records).") { a in
                .string(try self.renderChat(a))
            }
        case "chat":
            return method("chat", [
                Parameter("messages"),
                Parameter("max_tokens", .int, default: .int(128), keywordOnly: true),
                Parameter("temperature", .number, default: .float(0), keywordOnly: true),
                Parameter("top_k", .int, default: .int(0), keywordOnly: true),
                Parameter("top_p", .number, default: .float(1), keywordOnly: true),
                Parameter("min_p", .number, default: .float(0), keywordOnly: true),
                Parameter("repetition_penalty", .number, default: .float(1), keywordOnly: true),
                Parameter("stop", .optional(.oneOf([.string, .list])), default: .nil, keywordOnly: true),
                Parameter("seed", .int, default: .int(0), keywordOnly: true),
                Parameter("n", .int, default: .int(1), keywordOnly: true),
            ], """
            Replies to a conversation through the model's chat template: messages is a string (one user turn) or a
            list of {role, content} records. Returns {ids, text, finish, prompt} (a list of them with n: N).
            """) { a in
                let prompt = try self.renderChat(a)
                let t = try self.tokenizer(a)
                // The template writes any BOS itself; special tokens in it are parsed as such.
                let ids = t.encode(prompt, addBOS: false, parseSpecial: true)
                let out = try self.generate(a, prompt: ids)
                func withPrompt(_ v: Value) -> Value {
                    guard case let .record(r) = v else { return v }
                    return .record(Record(keys: r.keys + ["prompt"], values: r.values + [.string(prompt)]))
                }
                if case let .list(xs) = out { return .list(xs.map(withPrompt)) }
                return withPrompt(out)
            }
        default:
            return nil
        }
    }

    // MARK: Members' bodies

    private func configRecord(_ c: ModelConfig) -> Record {
        var keys: [String] = [], values: [Value] = []
        func put(_ k: String, _ v: Value) { keys.append(k); values.append(v) }
        put("architecture", .string(c.architecture.rawValue))
        put("layers", .int(c.layers)); put("d_model", .int(c.dModel)); put("heads", .int(c.heads))
        put("kv_heads", .int(c.kvHeads)); put("head_dim", .int(c.headDim)); put("d_ff", .int(c.dFF))
        put("vocab", .int(c.vocab)); put("context", .int(c.context)); put("rope_base", .float(c.ropeBase))
        put("rope_base_local", c.ropeBaseLocal.map { .float($0) } ?? .nil)
        put("eps", .float(Value.shortestDouble(c.eps)))
        put("sliding_window", c.slidingWindow.map { .int($0) } ?? .nil)
        put("tied_embeddings", .bool(c.tiedEmbeddings))
        put("activation", .string(c.activation.rawValue))
        return Record(keys: keys, values: values)
    }

    /// The prompt of generate: token ids as given, or text encoded (BOS per the file unless `bos:` says).
    private func promptIDs(_ a: LibArgs) throws -> [Int] {
        if case let .string(text) = a["prompt"] {
            let t = try tokenizer(a)
            let addBOS = a.isNil("bos") ? (model.file.bool("tokenizer.ggml.add_bos_token") ?? false) : try a.bool("bos")
            return t.encode(text, addBOS: addBOS, parseSpecial: true)
        }
        return try ModelBuiltins.ids(a["prompt"], a, "prompt", vocab: model.config.vocab)
    }

    private func renderChat(_ a: LibArgs) throws -> String {
        let t = try tokenizer(a)
        guard let template = t.chatTemplate else {
            throw a.fail("\(model.path) carries no chat template\(t.chatTemplateSource != nil ? " that Loupe can render" : "")")
        }
        var messages: [[String: String]] = []
        switch a["messages"] {
        case let .string(s): messages = [["role": "user", "content": s]]
        case let .list(xs):
            for (i, x) in xs.enumerated() {
                guard case let .record(r) = x, case let .string(role)? = r["role"], case let .string(content)? = r["content"] else {
                    throw a.error("messages", "item \(i) must be a record {role: string, content: string}, got \(x.typeName)")
                }
                var m = ["role": role, "content": content]
                for (k, v) in zip(r.keys, r.values) where m[k] == nil { if case let .string(s) = v { m[k] = s } }
                messages.append(m)
            }
        default: throw a.typeError("messages", "a string or a list of {role, content} records", a["messages"])
        }
        let generationPrompt: Bool
        if case let .bool(b) = a["generation_prompt"] { generationPrompt = b } else { generationPrompt = true }
        let bos = t.bos.map { t.piece($0) } ?? "", eos = t.eos.map { t.piece($0) } ?? ""
        return try template.render(messages: messages, addGenerationPrompt: generationPrompt, bosToken: bos, eosToken: eos)
    }

    private func generate(_ a: LibArgs, prompt: [Int]) throws -> Value {
        guard !prompt.isEmpty else { throw a.error("prompt", "is empty") }
        let n = try a.int("n")
        guard n >= 1 && n <= 10_000 else { throw a.error("n", "must be between 1 and 10000, got \(n)") }
        let maxTokens = try a.int("max_tokens")
        guard maxTokens >= 0 else { throw a.error("max_tokens", "must be >= 0, got \(maxTokens)") }
        var stops: [String] = []
        switch a["stop"] {
        case .nil: break
        case let .string(s): stops = [s]
        case let .list(xs):
            for x in xs { guard case let .string(s) = x else { throw a.typeError("stop", "a list of strings", x) }; stops.append(s) }
        default: throw a.typeError("stop", "a string or a list of strings", a["stop"])
        }
        let seed = try a.int("seed")
        let sampling = SamplingOptions(temperature: Float(try a.double("temperature")), topK: try a.int("top_k"),
                                       topP: Float(try a.double("top_p")), minP: Float(try a.double("min_p")),
                                       repetitionPenalty: Float(try a.double("repetition_penalty")),
                                       seed: UInt64(bitPattern: Int64(seed)))
        let options = GenerationOptions(maxTokens: maxTokens, sampling: sampling, stopStrings: stops, samples: n)
        let decode: (([Int]) -> String)? = model.tokenizer.map { t in { t.decode($0) } }
        let task = ProgressTask("generate", total: n * maxTokens)
        defer { task.finish() }
        let results = try model.generate(prompt: prompt, options: options, decode: decode)
        task.advance(by: n * maxTokens)
        let records: [Value] = results.map { g in
            .record(Record(["ids": ModelBuiltins.intList(g.tokens), "text": g.text.map { .string($0) } ?? .nil,
                            "finish": .string(g.finishReason.rawValue)]))
        }
        return n == 1 ? records[0] : .list(records)
    }

    private func forward(_ a: LibArgs) throws -> Value {
        let m = model
        let ids = try ModelBuiltins.ids(a["ids"], a, "ids", vocab: m.config.vocab)
        guard !ids.isEmpty else { throw a.error("ids", "is empty") }
        var capture: [String] = []
        if case let .list(xs) = a["capture"] {
            for x in xs { guard case let .string(s) = x else { throw a.typeError("capture", "a list of hook names", x) }; capture.append(s) }
        }
        var interventions: [String: Intervention] = [:]
        if case let .record(r) = a["intervene"] {
            for (name, v) in zip(r.keys, r.values) { interventions[name] = try intervention(v, hook: name, a) }
        }
        var options = ForwardOptions()
        options.allLogits = true
        if !a.isNil("mask") { options.attentionMask = try a.tensor("mask") }
        if case let .record(r) = a["embeddings"] {
            for (k, v) in zip(r.keys, r.values) {
                guard let pos = Int(k), pos >= 0, pos < ids.count else {
                    throw a.error("embeddings", "key \"\(k)\" must be a position 0..<\(ids.count)")
                }
                guard case let .tensor(t) = v else { throw a.typeError("embeddings", "a record of position -> tensor", v) }
                options.injectedEmbeddings[pos] = t
            }
        }
        if case let .list(xs) = a["tags"] {
            options.modalityTags = try xs.map { x in
                guard case let .string(s) = x else { throw a.typeError("tags", "a list of strings", x) }
                return s
            }
        }
        if case let .list(xs) = a["attention_layers"] {
            options.attentionCallbackLayers = Set(try xs.map { x in
                guard case let .int(i) = x else { throw a.typeError("attention_layers", "a list of ints", x) }
                return i
            })
        }
        if case let .function = a["attention"] {
            let f = a["attention"]
            options.attentionCallback = { ctx in
                let record = Record(["layer": .int(ctx.layer), "head": .int(ctx.head), "first": .int(ctx.firstPosition),
                                     "q": .tensor(ctx.q), "k": .tensor(ctx.k), "v": .tensor(ctx.v),
                                     "scores": .tensor(ctx.scores), "tags": .list(ctx.modalityTags.map { .string($0) })])
                let out = try a.call(f, [.record(record)])
                switch out {
                case .nil: return nil
                case let .tensor(t): return t
                default: throw a.error("attention", "must return a tensor or nil, returned \(out.typeName)")
                }
            }
        }
        let result = try m.forward(ids: ids, capture: capture, interventions: interventions, options: options)
        let names = result.cache.keys.sorted { (m.hookOrder[$0] ?? Int.max, $0) < (m.hookOrder[$1] ?? Int.max, $1) }
        let cache = Record(keys: names, values: names.map { .tensor(result.cache[$0]!) })
        return .record(Record(["logits": .tensor(result.logits), "cache": .record(cache)]))
    }

    private func intervention(_ v: Value, hook: String, _ a: LibArgs) throws -> Intervention {
        switch v {
        case .function:
            return .apply { t in
                let out = try a.call(v, [.tensor(t)])
                guard case let .tensor(r) = out else {
                    throw a.error("intervene", "the function at \(hook) must return a tensor, returned \(out.typeName)")
                }
                return r
            }
        case let .tensor(t): return .replace(t)
        case let .record(r) where r.count == 1:
            let key = r.keys[0], value = r.values[0]
            switch (key, value) {
            case ("add", .tensor(let t)): return .add(t)
            case ("replace", .tensor(let t)): return .replace(t)
            case ("zero_heads", .list(let hs)):
                return .zeroHeads(try hs.map { h in guard case let .int(i) = h else { throw a.typeError("intervene", "head numbers (ints)", h) }; return i })
            case ("scale_heads", .record(let fs)):
                var factors: [Int: Float] = [:]
                for (k, f) in zip(fs.keys, fs.values) {
                    guard let h = Int(k), let x = LibCompare.number(f) else {
                        throw a.error("intervene", "scale_heads must map head numbers to factors, got \(k): \(f.typeName)")
                    }
                    factors[h] = Float(x)
                }
                return .scaleHeads(factors)
            default: break
            }
            fallthrough
        default:
            throw a.error("intervene", "at \(hook) must be a function, a tensor, or {add: t} / {replace: t} / {zero_heads: [..]} / {scale_heads: {..}}; got \(v.repr)")
        }
    }
}

extension LanguageModel {
    /// Position of each hook name in forward order (for listing a capture cache the way the pass ran).
    var hookOrder: [String: Int] {
        Dictionary(uniqueKeysWithValues: hookNames.enumerated().map { ($1, $0) })
    }
}

/// A loaded sentence encoder (BERT, e.g. all-MiniLM-L6-v2): `embed(texts)` gives normalised sentence embeddings,
/// `hidden_states(text)` the last layer per token, `encode(text)` the token ids with [CLS] ... [SEP].
final class EncoderObject: HostObject {
    let encoder: SentenceEncoder
    let name: String

    init(_ encoder: SentenceEncoder, name: String) {
        self.encoder = encoder
        self.name = name
    }

    var typeName: String { "model" }
    var summary: String {
        let c = encoder.config
        return "<model \(name): bert encoder, \(c.numLayers) layers, d_model \(c.hiddenSize), vocab \(c.vocabSize)>"
    }
    var memberNames: [String] { ["config", "decode", "dimension", "embed", "encode", "hidden_states", "name", "path", "similarity"] }

    private func method(_ name: String, _ parameters: [Parameter], _ doc: String,
                        _ body: @escaping (LibArgs) throws -> Value) -> Value {
        ModelBuiltins.method(name, parameters, doc, body)
    }

    private func texts(_ a: LibArgs, _ name: String) throws -> [String] {
        switch a[name] {
        case let .string(s): return [s]
        case let .list(xs):
            return try xs.map { x in
                guard case let .string(s) = x else { throw a.typeError(name, "a string or a list of strings", x) }
                return s
            }
        default: throw a.typeError(name, "a string or a list of strings", a[name])
        }
    }

    func member(_ name: String) -> Value? {
        let e = encoder
        switch name {
        case "name": return .string(self.name)
        case "path": return .string(e.directory.path)
        case "dimension": return .int(e.dimension)
        case "config":
            let c = e.config
            return .record(Record(["architecture": .string("bert"), "layers": .int(c.numLayers), "d_model": .int(c.hiddenSize),
                                   "heads": .int(c.numHeads), "d_ff": .int(c.intermediateSize), "vocab": .int(c.vocabSize),
                                   "context": .int(c.maxPositions), "pooling": .string(e.pooling.rawValue),
                                   "normalize": .bool(e.normalize), "max_length": .int(e.maxSequenceLength)]))
        case "embed":
            return method("embed", [Parameter("texts")],
                          "Sentence embeddings: a tensor [N, d] for a list of N texts ([d] for one text), pooled and normalised as the model's modules say.") { [unowned self] a in
                let ts = try self.texts(a, "texts")
                guard !ts.isEmpty else { throw a.error("texts", "is empty") }
                let out = try e.embed(ts)
                if case .string = a["texts"] { return .tensor(try out.reshape([e.dimension])) }
                return .tensor(out)
            }
        case "similarity":
            return method("similarity", [Parameter("a", .string), Parameter("b", .string)],
                          "Cosine similarity of two texts' embeddings.") { a in
                let out = try e.embed([try a.string("a"), try a.string("b")]).scalars
                let d = e.dimension
                var dot = 0.0, na = 0.0, nb = 0.0
                for i in 0..<d {
                    dot += Double(out[i]) * Double(out[d + i])
                    na += Double(out[i]) * Double(out[i]); nb += Double(out[d + i]) * Double(out[d + i])
                }
                return .float(dot / (na.squareRoot() * nb.squareRoot()))
            }
        case "hidden_states":
            return method("hidden_states", [Parameter("text", .string)], "The last layer's hidden states of one text, [T, d] (T counts [CLS] and [SEP]).") { a in
                .tensor(try e.hiddenStates(try a.string("text")))
            }
        case "encode":
            return method("encode", [Parameter("text", .string)], "Token ids of text as the encoder sees it, with [CLS] and [SEP].") { a in
                ModelBuiltins.intList(e.tokenIds(try a.string("text")))
            }
        case "decode":
            return method("decode", [Parameter("ids", .list)], "The text of token ids.") { a in
                let ids = try ModelBuiltins.ids(a["ids"], a, "ids", vocab: e.config.vocabSize)
                return .string(e.tokenizer.decode(ids))
            }
        default: return nil
        }
    }
}
