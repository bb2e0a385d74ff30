// Hooks on a running session: capture and interventions on tokens appended to a KV cache.
//
// `LanguageModel.forward` runs a fresh sequence. Methods that evaluate many prompts sharing a long prefix (a chat
// template, a system message, few-shot turns) prefill the prefix once, fork the session per prompt and run only
// each prompt's own tokens; they still need the hidden states of those tokens, which this gives.

extension InferenceSession {
    /// Runs `ids` after whatever the session holds (positions `position ..< position + ids.count`), with the same
    /// hooks as `LanguageModel.forward`; the tokens stay in the cache, so decoding can continue from here.
    ///
    /// Captured activations cover the new positions only: a residual capture is [ids.count, d_model], an attention
    /// pattern [heads, ids.count, keys] with keys counting the cached positions too. Positions in `options`
    /// (masks, injected embeddings, tags) are absolute.
    public func forward(_ ids: [Int], capture: [String] = [], interventions: [String: Intervention] = [:],
                        options: ForwardOptions = ForwardOptions()) throws -> ForwardResult {
        let hooks = try HookRun(model: model, capture: capture, interventions: interventions, options: options)
        let logits = try run(ids, allLogits: options.allLogits, hooks: hooks)
        return ForwardResult(logits: logits, cache: hooks.captured)
    }
}
