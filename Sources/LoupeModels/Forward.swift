import Foundation
import LoupeTensor

/// Activation buffers of one session, grown to the largest call seen and then reused, so that decoding a token
/// allocates nothing. The per-token buffers are page-backed: before the first decode step after a batched pass,
/// `trim()` hands every page past the first token's row back to the kernel, so a long prompt does not leave
/// megabytes resident for the decode steps that follow (which use row 0 only).
final class Scratch {
    private(set) var tokens = 0
    private(set) var logitRows = 0
    private(set) var keyCapacity = 0
    let config: ModelConfig
    /// [T, d_model]: residual stream, normalized input, attention output, MLP output.
    var x, h, attn, mlp: UnsafeMutablePointer<Float>
    /// [T, heads * head_dim], [T, kv_dim] x 2, [T, heads * value_dim].
    var q, k, v, z: UnsafeMutablePointer<Float>
    /// [T, d_ff] x 2.
    var gate, up: UnsafeMutablePointer<Float>
    /// [rows, vocab].
    var logits: UnsafeMutablePointer<Float>
    /// `attentionTile` score rows of keyCapacity per worker (the plain attention path's tiles).
    var scores: UnsafeMutablePointer<Float>
    /// [heads, T, T_key] for the hooked attention path (grown on demand).
    var fullScores: UnsafeMutablePointer<Float>
    private var fullScoresCount = 0
    /// The mappings behind x ... up, with the floats of one token's row in each.
    private var rowBuffers: [(buffer: PageBuffer, row: Int)] = []
    static let workers = KernelPool.shared.workers + 1

    init(config: ModelConfig) {
        self.config = config
        func one() -> UnsafeMutablePointer<Float> { .allocate(capacity: 1) }
        (x, h, attn, mlp, q, k, v, z, gate, up, logits, scores, fullScores) =
            (one(), one(), one(), one(), one(), one(), one(), one(), one(), one(), one(), one(), one())
        ensure(tokens: 1, logitRows: 0, keys: 0)
    }

    deinit {
        if rowBuffers.isEmpty { for p in [x, h, attn, mlp, q, k, v, z, gate, up] { p.deallocate() } }
        for p in [logits, scores, fullScores] { p.deallocate() }
    }

    /// Makes room for `t` tokens, `rows` logit rows and attention over `keys` positions.
    func ensure(tokens t: Int, logitRows rows: Int, keys: Int) {
        let c = config
        if t > tokens {
            if rowBuffers.isEmpty { for p in [x, h, attn, mlp, q, k, v, z, gate, up] { p.deallocate() } }
            let widths = [c.dModel, c.dModel, c.dModel, c.dModel, c.qDim, c.kvDim, c.kvHeads * c.valueDim,
                          c.heads * c.valueDim, c.dFF, c.dFF]
            rowBuffers = widths.map { (PageBuffer(count: t * $0), $0) }
            let p = rowBuffers.map(\.buffer.pointer)
            (x, h, attn, mlp, q, k, v, z, gate, up) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9])
            tokens = t
        }
        if rows > logitRows {
            logits.deallocate()
            logits = .allocate(capacity: rows * c.vocab)
            logitRows = rows
        }
        if keys > keyCapacity {
            let cap = max(keys, keyCapacity * 2)
            scores.deallocate()
            scores = .allocate(capacity: InferenceSession.attentionTile * cap * Scratch.workers)
            keyCapacity = cap
        }
    }

    /// Returns the pages past each buffer's first token row to the kernel (they read as zeros if touched again,
    /// and every pass writes what it reads).
    func trim() {
        for (buffer, row) in rowBuffers { buffer.release(from: row) }
    }

    func ensureFullScores(_ n: Int) {
        if n > fullScoresCount {
            fullScores.deallocate()
            fullScores = .allocate(capacity: n)
            fullScoresCount = n
        }
    }
}

/// A running sequence: the KV cache of the tokens processed so far plus the buffers to process more.
///
/// `prefill` pushes many tokens through in one batched pass (sgemm on the weights); `step` pushes one (matrix-vector
/// kernels), reusing every buffer. `fork` branches the sequence: the copy shares nothing, so N samples of one prompt
/// prefill once and each continues from its own copy of the cache.
public final class InferenceSession {
    public let model: LanguageModel
    public let cache: KVCache
    let scratch: Scratch
    /// RoPE tables: global layers, and local (sliding-window) layers when their base differs.
    let ropeGlobal: RoPETable
    let ropeLocal: RoPETable?
    /// The tokens processed so far.
    public private(set) var tokens: [Int] = []
    /// A one-element array reused by `stepLogits`, so a decode step allocates nothing.
    private var stepIDs = [0]
    /// Whether a batched pass has run since the last decode step: its product scratch and activation rows are still
    /// resident (see `compute`).
    private var holdsBatchBuffers = false

    init(model: LanguageModel, cache: KVCache? = nil, tokens: [Int] = []) {
        let c = model.config
        self.model = model
        self.cache = cache ?? KVCache(layers: c.layers, kvDim: c.kvHeads * c.headDim, maxLength: c.context)
        scratch = Scratch(config: c)
        let start = max(256, self.cache.length + 1)
        ropeGlobal = RoPETable(base: c.ropeBase, scale: c.ropeScale, dims: c.ropeDims, style: c.ropeStyle,
                               factors: c.ropePairDivisors, magnitude: c.ropeMagnitude, capacity: start)
        ropeLocal = c.ropeBaseLocal.map { RoPETable(base: $0, scale: 1, dims: c.ropeDims, style: c.ropeStyle, capacity: start) }
        self.tokens = tokens
    }

    /// Positions in the cache.
    public var position: Int { cache.length }

    /// Runs `ids` after whatever the session holds. Returns the logits of the last position ([vocab]) or, with
    /// `allLogits`, of every new position ([T, vocab]).
    public func prefill(_ ids: [Int], allLogits: Bool = false) throws -> Tensor {
        let t = try run(ids, allLogits: allLogits, hooks: nil)
        return allLogits ? t : try t.reshape([model.config.vocab])
    }

    /// Runs one token; returns its logits [vocab].
    public func step(_ id: Int) throws -> Tensor {
        let l = try stepLogits(id)
        return try Tensor(shape: [l.count], data: Array(l))
    }

    /// Runs one token; returns a view of its logits, valid until the next call on this session (no allocation).
    public func stepLogits(_ id: Int) throws -> UnsafeBufferPointer<Float> {
        model.countStep()
        stepIDs[0] = id
        try compute(stepIDs, allLogits: false, hooks: nil)
        return UnsafeBufferPointer(start: scratch.logits, count: model.config.vocab)
    }

    /// Runs `ids` and returns a view of the last position's logits (valid until the next call).
    public func prefillLogits(_ ids: [Int]) throws -> UnsafeBufferPointer<Float> {
        model.countPrefill()
        try compute(ids, allLogits: false, hooks: nil)
        return UnsafeBufferPointer(start: scratch.logits, count: model.config.vocab)
    }

    /// An independent session holding a copy of this one's cache (copy-on-branch).
    public func fork() -> InferenceSession {
        InferenceSession(model: model, cache: cache.copy(), tokens: tokens)
    }

    /// Empties the cache.
    public func reset() {
        cache.truncate(to: 0)
        tokens = []
    }

    /// Forward pass returning logits as a tensor ([T, vocab] or [1, vocab]).
    func run(_ ids: [Int], allLogits: Bool, hooks: HookRun?) throws -> Tensor {
        model.countPrefill()
        let rows = try compute(ids, allLogits: allLogits, hooks: hooks)
        let v = model.config.vocab
        return try Tensor(shape: [rows, v], data: Array(UnsafeBufferPointer(start: scratch.logits, count: rows * v)))
    }

    /// The forward pass over `ids` at positions `position ..< position + T`. Writes the logits of the last
    /// position (or all) into `scratch.logits`; returns the number of logit rows.
    @discardableResult
    func compute(_ ids: [Int], allLogits: Bool, hooks: HookRun?) throws -> Int {
        let c = model.config, s = scratch
        let T = ids.count, pos0 = cache.length
        guard T > 0 else { throw ModelRunError.invalidArgument(function: "forward", message: "no tokens to run") }
        for (i, id) in ids.enumerated() where id < 0 || id >= c.vocab {
            throw ModelRunError.tokenOutOfRange(id: id, position: pos0 + i, vocab: c.vocab)
        }
        let total = pos0 + T
        // Memory a pass does not need goes back before it touches anything new (so the peak never grows by it):
        // cache pages past this pass's end that a longer, since truncated, sequence wrote; and, before a decode
        // step, the product scratch and activation rows past the first that the last batched pass left. Batched passes
        // in a row (a reset session refilled, a method scoring prompt after prompt) keep them, and would only
        // fault the same pages back in.
        cache.releasePages(beyond: total)
        if T < WeightMatrix.matvecTokenLimit && holdsBatchBuffers {
            PrefillScratch.shared.release()
            s.trim()
            holdsBatchBuffers = false
        }
        try cache.reserve(total)
        let rows = allLogits ? T : 1
        s.ensure(tokens: T, logitRows: rows, keys: total)
        ropeGlobal.reserve(total)
        ropeLocal?.reserve(total)
        let d = c.dModel, ff = c.dFF, hd = c.headDim, kvDim = c.kvDim, qDim = c.qDim
        let options = hooks?.options

        // Embedding rows, soft-prompt injections, Gemma's scale.
        for (t, id) in ids.enumerated() { model.embedding.row(id, into: s.x + t * d) }
        if let inj = options?.injectedEmbeddings, !inj.isEmpty {
            for (p, e) in inj {
                let t = p - pos0
                guard t >= 0, t < T else {
                    throw ModelRunError.invalidArgument(function: "forward", message: "injected embedding at position \(p) is outside 0..<\(total)")
                }
                guard e.count == d else {
                    throw ModelRunError.invalidArgument(function: "forward", message: "injected embedding at position \(p) has \(e.count) values, d_model is \(d)")
                }
                e.withUnsafeBufferPointer { (s.x + t * d).update(from: $0.baseAddress!, count: d) }
            }
        }
        if c.embeddingScale != 1 { scaleInPlace(s.x, T * d, c.embeddingScale) }
        try hooks?.visit("hook_embed", s.x, shape: [T, d])

        for l in 0..<c.layers {
            let b = model.blocks[l]
            let name = hooks == nil ? nil : "blocks.\(l)."
            if let hooks, let name { try hooks.visit(name + "hook_resid_pre", s.x, shape: [T, d]) }

            // ---- Attention ----
            rmsNorm(s.x, b.attnNorm.pointer, into: s.h, rows: T, dim: d, eps: c.eps)
            if let hooks, let name { try hooks.visit(name + "ln1.hook_normalized", s.h, shape: [T, d]) }
            if T == 1 {
                WeightMatrix.matvec(b.wq, b.wk, b.wv, x: s.h, ya: s.q, yb: s.k, yc: s.v)
            } else {
                linear(b.wq, s.h, T, s.q)
                linear(b.wk, s.h, T, s.k)
                linear(b.wv, s.h, T, s.v)
            }
            if let bq = b.bq, let bk = b.bk, let bv = b.bv {
                addBias(s.q, bq.pointer, rows: T, dim: qDim)
                addBias(s.k, bk.pointer, rows: T, dim: kvDim)
                addBias(s.v, bv.pointer, rows: T, dim: kvDim)
            }
            if let qn = b.qNorm, let kn = b.kNorm {
                rmsNorm(s.q, qn.pointer, into: s.q, rows: T * c.heads, dim: hd, eps: c.eps)
                rmsNorm(s.k, kn.pointer, into: s.k, rows: T * c.kvHeads, dim: hd, eps: c.eps)
            }
            if let hooks, let name {
                try hooks.visit(name + "attn.hook_q", s.q, shape: [T, c.heads, hd], headAxis: 1)
                try hooks.visit(name + "attn.hook_k", s.k, shape: [T, c.kvHeads, hd], headAxis: 1)
                try hooks.visit(name + "attn.hook_v", s.v, shape: [T, c.kvHeads, hd], headAxis: 1)
            }
            let local = c.slidingLayers[l]
            let rope = local ? (ropeLocal ?? ropeGlobal) : ropeGlobal
            KernelPool.shared.run(count: T, chunk: Swift.max(1, T / 8), parallel: T >= 4) { range in
                for t in range {
                    rope.apply(s.q + t * qDim, heads: c.heads, headDim: hd, position: pos0 + t)
                    rope.apply(s.k + t * kvDim, heads: c.kvHeads, headDim: hd, position: pos0 + t)
                }
            }
            if let hooks, let name {
                try hooks.visit(name + "attn.hook_rot_q", s.q, shape: [T, c.heads, hd], headAxis: 1)
                try hooks.visit(name + "attn.hook_rot_k", s.k, shape: [T, c.kvHeads, hd], headAxis: 1)
            }
            (cache.keys[l] + pos0 * kvDim).update(from: s.k, count: T * kvDim)
            (cache.values[l] + pos0 * kvDim).update(from: s.v, count: T * kvDim)
            let window = local ? c.slidingWindow : nil
            if let hooks, let name {
                try attendHooked(layer: l, T: T, pos0: pos0, window: window, hooks: hooks, name: name)
                try hooks.visit(name + "attn.hook_z", s.z, shape: [T, c.heads, hd], headAxis: 1)
            } else {
                attend(layer: l, T: T, pos0: pos0, window: window)
            }
            linear(b.wo, s.z, T, s.attn)
            if let pn = b.postAttnNorm { rmsNorm(s.attn, pn.pointer, into: s.attn, rows: T, dim: d, eps: c.eps) }
            if let hooks, let name { try hooks.visit(name + "hook_attn_out", s.attn, shape: [T, d]) }
            addInPlace(s.x, s.attn, T * d)
            if let hooks, let name { try hooks.visit(name + "hook_resid_mid", s.x, shape: [T, d]) }

            // ---- MLP ----
            rmsNorm(s.x, b.ffnNorm.pointer, into: s.h, rows: T, dim: d, eps: c.eps)
            if let hooks, let name { try hooks.visit(name + "ln2.hook_normalized", s.h, shape: [T, d]) }
            if T == 1 {
                WeightMatrix.matvec(b.gate, b.up, x: s.h, ya: s.gate, yb: s.up)
            } else {
                linear(b.gate, s.h, T, s.gate)
                linear(b.up, s.h, T, s.up)
            }
            if let hooks, let name {
                try hooks.visit(name + "mlp.hook_pre", s.gate, shape: [T, ff])
                try hooks.visit(name + "mlp.hook_pre_linear", s.up, shape: [T, ff])
            }
            gatedActivation(s.gate, s.up, T * ff, c.activation)
            if let hooks, let name { try hooks.visit(name + "mlp.hook_post", s.gate, shape: [T, ff]) }
            linear(b.down, s.gate, T, s.mlp)
            if let pn = b.postFfnNorm { rmsNorm(s.mlp, pn.pointer, into: s.mlp, rows: T, dim: d, eps: c.eps) }
            if let hooks, let name { try hooks.visit(name + "hook_mlp_out", s.mlp, shape: [T, d]) }
            addInPlace(s.x, s.mlp, T * d)
            if let hooks, let name { try hooks.visit(name + "hook_resid_post", s.x, shape: [T, d]) }
        }

        // ---- Final norm and unembedding (only the rows asked for) ----
        let first = allLogits ? 0 : T - 1
        rmsNorm(s.x + first * d, model.outputNorm.pointer, into: s.h, rows: rows, dim: d, eps: c.eps)
        try hooks?.visit("ln_final.hook_normalized", s.h, shape: [rows, d])
        linear(model.output, s.h, rows, s.logits)
        if let cap = c.finalLogitSoftcap {
            for i in 0..<(rows * c.vocab) { s.logits[i] = cap * tanh(s.logits[i] / cap) }
        }
        try hooks?.visit("unembed.hook_out", s.logits, shape: [rows, c.vocab])

        cache.length = total
        tokens += ids
        if T >= WeightMatrix.matvecTokenLimit { holdsBatchBuffers = true }
        return rows
    }

    /// y = W x for each of `t` rows.
    @inline(__always)
    func linear(_ w: WeightMatrix, _ x: UnsafeMutablePointer<Float>, _ t: Int, _ y: UnsafeMutablePointer<Float>) {
        if t == 1 { w.matvec(x: x, y: y) } else { w.matmul(x: x, tokens: t, y: y) }
    }
}

// MARK: - Elementwise kernels (SIMD over unsafe buffers)

@_optimize(speed) @inline(__always) func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}
@_optimize(speed) @inline(__always) func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// y = x / sqrt(mean(x^2) + eps) * w, row by row (`y` may be `x`). Sums in double like llama.cpp. The rows of a
/// batched pass are split over the cores (each row's arithmetic is the same either way).
func rmsNorm(_ x: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
             rows: Int, dim: Int, eps: Float) {
    KernelPool.shared.run(count: rows, chunk: Swift.max(1, rows / 8), parallel: rows >= 4 && rows * dim >= 1 << 13) { range in
        rmsNorm(x, w, into: y, rows: range, dim: dim, eps: eps)
    }
}

@_optimize(speed) func rmsNorm(_ x: UnsafeMutablePointer<Float>, _ w: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                               rows: Range<Int>, dim: Int, eps: Float) {
    for r in rows {
        let xr = x + r * dim, yr = y + r * dim
        var acc = SIMD8<Float>(), i = 0
        var tail: Double = 0
        // Float lanes of eight summed into a double at the end: error ~1e-7 relative, far below the tolerance.
        while i + 8 <= dim { let v = load8(xr + i); acc.addProduct(v, v); i += 8 }
        while i < dim { tail += Double(xr[i]) * Double(xr[i]); i += 1 }
        var ss = tail
        for lane in 0..<8 { ss += Double(acc[lane]) }
        let scale = Float(1 / (ss / Double(dim) + Double(eps)).squareRoot())
        i = 0
        let sv = SIMD8<Float>(repeating: scale)
        while i + 8 <= dim { store8(load8(xr + i) * sv * load8(w + i), yr + i); i += 8 }
        while i < dim { yr[i] = xr[i] * scale * w[i]; i += 1 }
    }
}

@_optimize(speed) func addBias(_ x: UnsafeMutablePointer<Float>, _ b: UnsafePointer<Float>, rows: Int, dim: Int) {
    for r in 0..<rows { addInPlace(x + r * dim, UnsafeMutablePointer(mutating: b), dim) }
}

@_optimize(speed) @inline(__always) func addInPlace(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    while i + 8 <= n { store8(load8(x + i) + load8(y + i), x + i); i += 8 }
    while i < n { x[i] += y[i]; i += 1 }
}

@_optimize(speed) func scaleInPlace(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ a: Float) {
    var i = 0
    let av = SIMD8<Float>(repeating: a)
    while i + 8 <= n { store8(load8(x + i) * av, x + i); i += 8 }
    while i < n { x[i] *= a; i += 1 }
}

/// gate = act(gate) * up, in place.
func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafeMutablePointer<Float>, _ n: Int,
                     _ act: ModelConfig.Activation) {
    KernelPool.shared.run(parallel: n >= 1 << 14) { part, parts in
        gatedActivation(gate, up, KernelPool.split(n, part: part, parts: parts, align: 16), act)
    }
}

@_optimize(speed)
func gatedActivation(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafeMutablePointer<Float>, _ r: Range<Int>,
                     _ act: ModelConfig.Activation) {
        switch act {
        case .silu:
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let g = load8(gate + i)
                store8(g / (1 + fastExp(-g)) * load8(up + i), gate + i)
                i += 8
            }
            while i < r.upperBound { let g = gate[i]; gate[i] = g / (1 + expf(-g)) * up[i]; i += 1 }
        case .geluTanh:
            let c = SIMD8<Float>(repeating: 0.7978845608028654), k = SIMD8<Float>(repeating: 0.044715)
            var i = r.lowerBound
            while i + 8 <= r.upperBound {
                let g = load8(gate + i)
                // 0.5 g (1 + tanh(u)) = g * sigmoid(2u) = g / (1 + exp(-2u))
                let u = c * (g + k * g * g * g)
                store8(g / (1 + fastExp(-2 * u)) * load8(up + i), gate + i)
                i += 8
            }
            while i < r.upperBound {
                let g = gate[i]
                gate[i] = 0.5 * g * (1 + tanhf(0.7978845608 * (g + 0.044715 * g * g * g))) * up[i]
                i += 1
            }
        }
}

/// exp(x) on eight lanes: range reduction x = n ln2 + r, |r| <= ln2/2, then a degree-6 polynomial for e^r
/// (relative error ~2e-7 over the float range), with inputs clamped so 2^n stays finite or becomes 0.
@_optimize(speed) @inline(__always) func fastExp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // Clamped by compare-and-blend (`clamped(lowerBound:upperBound:)` is a generic call per vector here).
    let lo = SIMD8<Float>(repeating: -87.3), hi = SIMD8<Float>(repeating: 88.3)
    let xc = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
    // Round to nearest even by adding and removing 1.5 * 2^23 (|x log2 e| < 2^22): the same n as `.rounded`, without
    // its per-lane library call, and the integer n falls out of the sum's low mantissa bits.
    let shifted = xc * SIMD8(repeating: 1.4426950408889634) + SIMD8(repeating: 12582912)
    let n = shifted - SIMD8(repeating: 12582912)
    let r = xc - n * SIMD8(repeating: 0.693145751953125) - n * SIMD8(repeating: 1.428606765330187e-06)
    var p = SIMD8<Float>(repeating: 1.0 / 720)
    p = p * r + SIMD8(repeating: 1.0 / 120)
    p = p * r + SIMD8(repeating: 1.0 / 24)
    p = p * r + SIMD8(repeating: 1.0 / 6)
    p = p * r + SIMD8(repeating: 0.5)
    p = p * r + SIMD8(repeating: 1)
    p = p * r + SIMD8(repeating: 1)
    let ni = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let bits = (ni &+ 127) &<< 23
    // Below the clamp the true value is under 2^-126: 0 (so exp(-inf) is exactly 0, as masked scores need).
    return (p * unsafeBitCast(bits, to: SIMD8<Float>.self)).replacing(with: 0, where: x .< lo)
}
