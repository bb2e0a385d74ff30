import Foundation
import LoupeTensor

/// The hook points of a decoder, named as TransformerLens names them (without the batch axis).
///
/// | name                              | shape                   | what                                              |
/// |-----------------------------------|-------------------------|---------------------------------------------------|
/// | hook_embed                        | [T, d_model]            | embedding rows entering the residual (scaled)     |
/// | blocks.L.hook_resid_pre           | [T, d_model]            | residual stream before block L                    |
/// | blocks.L.ln1.hook_normalized      | [T, d_model]            | attention input after RMSNorm                     |
/// | blocks.L.attn.hook_q / hook_k / hook_v | [T, heads or kv_heads, d_head] | projections (after bias and q/k norm, before RoPE) |
/// | blocks.L.attn.hook_rot_q / hook_rot_k  | [T, heads or kv_heads, d_head] | queries and keys after RoPE              |
/// | blocks.L.attn.hook_attn_scores    | [heads, T, T_key]       | scaled, masked scores (-inf where masked)         |
/// | blocks.L.attn.hook_pattern        | [heads, T, T_key]       | attention probabilities                           |
/// | blocks.L.attn.hook_z              | [T, heads, d_head]      | per-head outputs before the output projection     |
/// | blocks.L.hook_attn_out            | [T, d_model]            | attention output (after Gemma's post-norm)        |
/// | blocks.L.hook_resid_mid           | [T, d_model]            | residual between attention and MLP                |
/// | blocks.L.ln2.hook_normalized      | [T, d_model]            | MLP input after RMSNorm                           |
/// | blocks.L.mlp.hook_pre             | [T, d_ff]               | gate projection before its nonlinearity           |
/// | blocks.L.mlp.hook_pre_linear      | [T, d_ff]               | up projection                                     |
/// | blocks.L.mlp.hook_post            | [T, d_ff]               | act(gate) * up, the input of the down projection  |
/// | blocks.L.hook_mlp_out             | [T, d_model]            | MLP output (after Gemma's post-norm)              |
/// | blocks.L.hook_resid_post          | [T, d_model]            | residual stream after block L                     |
/// | ln_final.hook_normalized          | [T, d_model]            | final RMSNorm output                              |
/// | unembed.hook_out                  | [T, vocab]              | logits                                            |
///
/// T is the number of tokens in this call; T_key the number of positions attended to (T plus any cached prefix).
public enum HookNames {
    /// Per-block hook names, in the order the forward pass reaches them, without the "blocks.L." prefix.
    public static let block = [
        "hook_resid_pre", "ln1.hook_normalized", "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_rot_q",
        "attn.hook_rot_k", "attn.hook_attn_scores", "attn.hook_pattern", "attn.hook_z", "hook_attn_out",
        "hook_resid_mid", "ln2.hook_normalized", "mlp.hook_pre", "mlp.hook_pre_linear", "mlp.hook_post",
        "hook_mlp_out", "hook_resid_post",
    ]

    /// Every hook name of a model with `layers` blocks, in forward order.
    public static func all(layers: Int) -> [String] {
        var names = ["hook_embed"]
        for l in 0..<layers { names += block.map { "blocks.\(l).\($0)" } }
        return names + ["ln_final.hook_normalized", "unembed.hook_out"]
    }

    /// A short list of the valid names for error messages ("blocks.{0..29}.attn.hook_pattern").
    public static func summary(layers: Int) -> String {
        let range = layers > 0 ? "{0..\(layers - 1)}" : "{}"
        return (["hook_embed"] + block.map { "blocks.\(range).\($0)" } + ["ln_final.hook_normalized", "unembed.hook_out"])
            .joined(separator: ", ")
    }

    /// Glob match: `*` matches any run of characters (so "blocks.*.hook_resid_post" matches every layer and
    /// "blocks.3.*" every hook of block 3); everything else matches itself.
    public static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern.utf8), s = Array(name.utf8)
        // Iterative wildcard matching with one backtrack point (the last star).
        var i = 0, j = 0, star = -1, mark = 0
        while j < s.count {
            if i < p.count, p[i] != UInt8(ascii: "*"), p[i] == s[j] {
                i += 1; j += 1
            } else if i < p.count, p[i] == UInt8(ascii: "*") {
                star = i; mark = j; i += 1
            } else if star >= 0 {
                i = star + 1; mark += 1; j = mark
            } else {
                return false
            }
        }
        while i < p.count, p[i] == UInt8(ascii: "*") { i += 1 }
        return i == p.count
    }
}

/// The hook state of one forward call: which names to capture, which to change, and what was captured.
///
/// Built only when a call asks for hooks; the forward pass checks `hooks != nil` before touching any of this, so a
/// run without hooks does no name lookups and no copies.
final class HookRun {
    /// Names to copy into `captured`.
    let capture: Set<String>
    /// Name -> interventions, in the order they were given.
    let interventions: [String: [Intervention]]
    let options: ForwardOptions
    var captured: [String: Tensor] = [:]
    /// Every name that `capture` or `interventions` mention (fast "is this hook live?" test).
    let live: Set<String>

    init(model: LanguageModel, capture patterns: [String], interventions given: [String: Intervention],
         options: ForwardOptions) throws {
        let all = model.hookNames
        var cap = Set<String>()
        for p in patterns {
            let hits = p.contains("*") ? all.filter { HookNames.matches(p, $0) } : (model.hookNameSet.contains(p) ? [p] : [])
            guard !hits.isEmpty else { throw ModelRunError.unknownHook(name: p, valid: HookNames.summary(layers: model.config.layers)) }
            cap.formUnion(hits)
        }
        var iv: [String: [Intervention]] = [:]
        // Sorted so that two patterns hitting one name apply in a reproducible order.
        for (p, intervention) in given.sorted(by: { $0.key < $1.key }) {
            let hits = p.contains("*") ? all.filter { HookNames.matches(p, $0) } : (model.hookNameSet.contains(p) ? [p] : [])
            guard !hits.isEmpty else { throw ModelRunError.unknownHook(name: p, valid: HookNames.summary(layers: model.config.layers)) }
            for h in hits {
                try intervention.check(hook: h)
                iv[h, default: []].append(intervention)
            }
        }
        capture = cap
        interventions = iv
        self.options = options
        live = cap.union(iv.keys)
    }

    @inline(__always) func isLive(_ name: String) -> Bool { live.contains(name) }

    /// Applies the interventions registered at `name` to the activation in `buffer` (shape `shape`, contiguous),
    /// writing the result back in place, then captures it if asked. `headAxis` is the axis of heads, if any.
    func visit(_ name: String, _ buffer: UnsafeMutablePointer<Float>, shape: [Int], headAxis: Int? = nil) throws {
        guard live.contains(name) else { return }
        let count = shape.reduce(1, *)
        if let list = interventions[name] {
            for intervention in list {
                try intervention.apply(hook: name, buffer: buffer, shape: shape, headAxis: headAxis)
            }
        }
        if capture.contains(name) {
            captured[name] = try Tensor(shape: shape, data: Array(UnsafeBufferPointer(start: buffer, count: count)))
        }
    }
}
