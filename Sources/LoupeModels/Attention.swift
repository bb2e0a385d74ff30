import CBLAS
import Foundation
import LoupeTensor

// Causal (optionally sliding-window) grouped-query attention over the KV cache.
//
// For query t at absolute position p and head h (reading kv head g = h / (heads / kv_heads)) the keys attended are
// j in [lo, p] with lo = 0, or p - window + 1 on sliding-window layers (llama.cpp's rule: a key is hidden when
// p - j >= window). Scores are scale * q.k; softmax; z = sum_j P_j v_j.
//
// Two paths share the kernels below, so they give bit-identical results when nothing is changed:
// - `attend`: nothing is materialized beyond a worker's scratch. A batched pass (prefill) goes in tiles of
//   `attentionTile` queries per head through sgemm (scores, then weights times V); a single query (decode) scores
//   one key at a time with the dot kernels, its (head, query) pairs split over the cores.
// - `attendHooked`: the full [heads, T, T_key] scores, for hooks that read or change scores or patterns, user masks
//   and the attention callback, computed by the same tiles or dots.

/// Sum of a[i] * b[i], eight lanes at a time with two accumulators.
@_optimize(speed) @inline(__always) func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), i = 0
    while i + 16 <= n {
        s0.addProduct(load8(a + i), load8(b + i))
        s1.addProduct(load8(a + i + 8), load8(b + i + 8))
        i += 16
    }
    if i + 8 <= n { s0.addProduct(load8(a + i), load8(b + i)); i += 8 }
    var s = hsum(s0 + s1)  // a tree of three adds: the next key's dot need not wait on seven serial ones
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// y += a * x.
@_optimize(speed) @inline(__always) func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    let av = SIMD8<Float>(repeating: a)
    var i = 0
    while i + 8 <= n { store8(load8(y + i) + av * load8(x + i), y + i); i += 8 }
    while i < n { y[i] += a * x[i]; i += 1 }
}

/// out[0..<d] = sum_j w[j] * v_j for the `n` rows v_j = v + j * stride (the attention-weighted sum of values).
/// The sums stay in registers, 64 dimensions (eight vectors) at a time, so each key costs eight loads and eight
/// multiply-adds instead of a load-add-store pass over `out` (whose store-to-load chain bounded the old loop).
@_optimize(speed) @inline(__always)
func weightedSum(_ w: UnsafePointer<Float>, _ v: UnsafePointer<Float>, rows n: Int, stride: Int,
                 into out: UnsafeMutablePointer<Float>, _ d: Int) {
    var c = 0
    while c + 64 <= d {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
        var vj = v + c
        for j in 0..<n {
            let p = SIMD8<Float>(repeating: w[j])
            a0.addProduct(p, load8(vj)); a1.addProduct(p, load8(vj + 8))
            a2.addProduct(p, load8(vj + 16)); a3.addProduct(p, load8(vj + 24))
            a4.addProduct(p, load8(vj + 32)); a5.addProduct(p, load8(vj + 40))
            a6.addProduct(p, load8(vj + 48)); a7.addProduct(p, load8(vj + 56))
            vj += stride
        }
        store8(a0, out + c); store8(a1, out + c + 8); store8(a2, out + c + 16); store8(a3, out + c + 24)
        store8(a4, out + c + 32); store8(a5, out + c + 40); store8(a6, out + c + 48); store8(a7, out + c + 56)
        c += 64
    }
    while c + 8 <= d {
        var a = SIMD8<Float>()
        for j in 0..<n { a.addProduct(SIMD8(repeating: w[j]), load8(v + j * stride + c)) }
        store8(a, out + c)
        c += 8
    }
    while c < d {
        var a: Float = 0
        for j in 0..<n { a += w[j] * v[j * stride + c] }
        out[c] = a
        c += 1
    }
}

/// Softmax of row[0..<n] in place; a row that is -inf everywhere becomes all zeros.
@_optimize(speed) @inline(__always) func softmaxRow(_ row: UnsafeMutablePointer<Float>, _ n: Int) {
    var m = -Float.infinity
    for j in 0..<n { m = max(m, row[j]) }
    guard m > -.infinity else {
        row.update(repeating: 0, count: n)
        return
    }
    var sum: Float = 0, j = 0
    let mv = SIMD8<Float>(repeating: m)
    var acc = SIMD8<Float>()
    while j + 8 <= n {
        let e = fastExp(load8(row + j) - mv)
        store8(e, row + j); acc += e; j += 8
    }
    sum = acc.sum()
    while j < n {
        let e = fastExp(SIMD8<Float>(repeating: row[j] - m))[0]
        row[j] = e; sum += e; j += 1
    }
    scaleInPlace(row, n, 1 / sum)
}

extension InferenceSession {
    /// The first key position a query at position `p` sees.
    @inline(__always) func firstKey(_ p: Int, window: Int?) -> Int {
        guard let w = window else { return 0 }
        return max(0, p - w + 1)
    }

    /// Attention for the `T` new queries in `scratch.q` against cache positions 0..<pos0+T, into `scratch.z`.
    func attend(layer l: Int, T: Int, pos0: Int, window: Int?) {
        let c = model.config, s = scratch
        let pairs = c.heads * T, hd = c.headDim
        let keyCap = s.keyCapacity
        let work = pairs * (pos0 + T) * hd
        if attendsInTiles(T) {
            // Jobs (head, tile), the tiles with most keys first, dealt round-robin so the threads' shares match.
            let tiles = (T + Self.attentionTile - 1) / Self.attentionTile
            withSingleThreadedBLAS {
                KernelPool.shared.run(parallel: work >= 1 << 16) { part, parts in
                    let buffer = s.scores + part * Self.attentionTile * keyCap
                    var job = part
                    while job < c.heads * tiles {
                        let tile = tiles - 1 - job / c.heads, h = job % c.heads
                        let t0 = tile * Self.attentionTile, t1 = Swift.min(T, t0 + Self.attentionTile)
                        let (kLo, kHi) = tileKeys(t0, t1, pos0: pos0, window: window)
                        let nk = kHi - kLo + 1
                        tileScores(layer: l, head: h, t0, t1, kLo: kLo, kHi: kHi, into: buffer, ldc: nk)
                        for t in t0..<t1 {
                            let p = pos0 + t, lo = firstKey(p, window: window)
                            let row = buffer + (t - t0) * nk
                            softmaxRow(row + (lo - kLo), p - lo + 1)
                            if lo > kLo { row.update(repeating: 0, count: lo - kLo) }
                            if p < kHi { (row + (p - kLo + 1)).update(repeating: 0, count: kHi - p) }
                        }
                        tileContext(layer: l, head: h, t0, t1, kLo: kLo, kHi: kHi, weights: buffer, ldw: nk)
                        job += parts
                    }
                }
            }
            return
        }
        KernelPool.shared.run(parallel: work >= 1 << 16) { part, parts in
            // Head-major order: consecutive pairs of one worker read the same keys.
            attendPairs(KernelPool.split(pairs, part: part, parts: parts), row: s.scores + part * Self.attentionTile * keyCap, layer: l,
                        T: T, pos0: pos0, window: window)
        }
    }

    @_optimize(speed)
    func attendPairs(_ range: Range<Int>, row: UnsafeMutablePointer<Float>, layer l: Int, T: Int, pos0: Int,
                     window: Int?) {
        let c = model.config, s = scratch
        let hd = c.headDim, kvDim = c.kvDim, qDim = c.qDim, group = c.heads / c.kvHeads
        let K = cache.keys[l], V = cache.values[l], scale = c.attentionScale
        for idx in range {
            let h = idx / T, t = idx % T
            let g = h / group, p = pos0 + t
            let lo = firstKey(p, window: window), n = p - lo + 1
            let qv = s.q + t * qDim + h * hd
            let kb = K + lo * kvDim + g * hd
            for j in 0..<n { row[j] = dot(qv, kb + j * kvDim, hd) * scale }
            softmaxRow(row, n)
            weightedSum(row, V + lo * kvDim + g * hd, rows: n, stride: kvDim, into: s.z + t * qDim + h * hd, hd)
        }
    }

    // MARK: Batched passes: tiles through sgemm

    /// Queries per tile of a batched pass. A tile multiplies its queries with every key its last query sees, so
    /// the causal triangle costs whole tiles: 32 rows waste at most a quarter at 128 tokens, little at thousands.
    static let attentionTile = 32

    /// Whether a pass of `T` queries runs in sgemm tiles (both paths ask, so they take the same arithmetic): every
    /// batched pass when OpenBLAS is there. One query (a decode step) goes through the dot kernels.
    func attendsInTiles(_ T: Int) -> Bool { T >= 2 && (try? BLAS.ensureLoaded()) != nil }

    /// Keys [lo, hi] that the queries t0..<t1 see between them.
    @inline(__always) func tileKeys(_ t0: Int, _ t1: Int, pos0: Int, window: Int?) -> (Int, Int) {
        (firstKey(pos0 + t0, window: window), pos0 + t1 - 1)
    }

    /// c[r * ldc + (j - kLo)] = scale * q_{t0 + r} . k_j for the tile's queries and keys kLo...kHi of head `h`.
    func tileScores(layer l: Int, head h: Int, _ t0: Int, _ t1: Int, kLo: Int, kHi: Int,
                    into c: UnsafeMutablePointer<Float>, ldc: Int) {
        let cf = model.config, hd = cf.headDim, g = h / (cf.heads / cf.kvHeads)
        loupe_sgemm(0, 1, Int32(t1 - t0), Int32(kHi - kLo + 1), Int32(hd), cf.attentionScale,
                    scratch.q + t0 * cf.qDim + h * hd, Int32(cf.qDim), cache.keys[l] + kLo * cf.kvDim + g * hd,
                    Int32(cf.kvDim), 0, c, Int32(ldc))
    }

    /// z_t = sum_j w[t, j] v_j over keys kLo...kHi of head `h`, for the tile's queries (weights row stride `ldw`).
    func tileContext(layer l: Int, head h: Int, _ t0: Int, _ t1: Int, kLo: Int, kHi: Int,
                     weights w: UnsafePointer<Float>, ldw: Int) {
        let cf = model.config, hd = cf.headDim, g = h / (cf.heads / cf.kvHeads)
        loupe_sgemm(0, 0, Int32(t1 - t0), Int32(hd), Int32(kHi - kLo + 1), 1, w, Int32(ldw),
                    cache.values[l] + kLo * cf.kvDim + g * hd, Int32(cf.kvDim), 0,
                    scratch.z + t0 * cf.qDim + h * hd, Int32(cf.qDim))
    }

    /// Attention with hooks, masks and the callback: materializes [heads, T, T_key] scores.
    func attendHooked(layer l: Int, T: Int, pos0: Int, window: Int?, hooks: HookRun, name: String) throws {
        let c = model.config, s = scratch, options = hooks.options
        let hd = c.headDim, kvDim = c.kvDim, qDim = c.qDim, heads = c.heads, group = c.heads / c.kvHeads
        let K = cache.keys[l], V = cache.values[l], scale = c.attentionScale
        let tk = pos0 + T
        let scoresName = name + "attn.hook_attn_scores", patternName = name + "attn.hook_pattern"
        let callback = options.attentionCallback.flatMap { cb in
            (options.attentionCallbackLayers?.contains(l) ?? true) ? cb : nil
        }
        guard hooks.isLive(scoresName) || hooks.isLive(patternName) || callback != nil || options.attentionMask != nil
        else {
            attend(layer: l, T: T, pos0: pos0, window: window)
            return
        }
        s.ensureFullScores(heads * T * tk)
        let S = s.fullScores
        // Mask rows: [T_key] (shared) or [T, T_key].
        var mask: [Float]? = nil, maskRows = 0
        if let m = options.attentionMask {
            if m.shape == [tk] { maskRows = 1 } else if m.shape == [T, tk] { maskRows = T } else {
                throw ModelRunError.invalidArgument(function: "forward", message:
                    "attention mask has shape \(m.shape); it must be [\(tk)] (one value per key position) or [\(T), \(tk)]")
            }
            mask = m.scalars
        }
        let tiled = attendsInTiles(T), tile = Self.attentionTile
        if tiled {
            // The plain path's tiles, written into the full rows (-inf outside each query's keys below).
            withSingleThreadedBLAS {
                for h in 0..<heads {
                    var t0 = 0
                    while t0 < T {
                        let t1 = Swift.min(T, t0 + tile), (kLo, kHi) = tileKeys(t0, t1, pos0: pos0, window: window)
                        tileScores(layer: l, head: h, t0, t1, kLo: kLo, kHi: kHi, into: S + (h * T + t0) * tk + kLo, ldc: tk)
                        t0 = t1
                    }
                }
            }
        }
        for h in 0..<heads {
            let g = h / group
            for t in 0..<T {
                let p = pos0 + t, lo = firstKey(p, window: window)
                let row = S + (h * T + t) * tk
                let qv = s.q + t * qDim + h * hd
                for j in 0..<tk {
                    if j < lo || j > p { row[j] = -.infinity } else if !tiled { row[j] = dot(qv, K + j * kvDim + g * hd, hd) * scale }
                }
                if let mask {
                    let mr = maskRows == 1 ? 0 : t
                    for j in 0..<tk { row[j] += mask[mr * tk + j] }
                }
            }
        }
        try hooks.visit(scoresName, S, shape: [heads, T, tk], headAxis: 0)

        var contexts: [Int: AttentionHeadContext] = [:]
        if callback != nil {
            func take(_ base: UnsafeMutablePointer<Float>, rows: Int, stride: Int) throws -> Tensor {
                var a = [Float](); a.reserveCapacity(rows * hd)
                for r in 0..<rows { a.append(contentsOf: UnsafeBufferPointer(start: base + r * stride, count: hd)) }
                return try Tensor(shape: [rows, hd], data: a)
            }
            for h in 0..<heads {
                let g = h / group
                contexts[h] = AttentionHeadContext(
                    layer: l, head: h, firstPosition: pos0,
                    q: try take(s.q + h * hd, rows: T, stride: qDim),
                    k: try take(K + g * hd, rows: tk, stride: kvDim),
                    v: try take(V + g * hd, rows: tk, stride: kvDim),
                    scores: try Tensor(shape: [T, tk], data: Array(UnsafeBufferPointer(start: S + h * T * tk, count: T * tk))),
                    modalityTags: options.modalityTags)
            }
        }

        // Softmax over the causal range (the same arithmetic as `attend`), zeros outside it.
        for h in 0..<heads {
            for t in 0..<T {
                let p = pos0 + t, lo = firstKey(p, window: window)
                let row = S + (h * T + t) * tk
                softmaxRow(row + lo, p - lo + 1)
                if lo > 0 { row.update(repeating: 0, count: lo) }
                if p + 1 < tk { (row + p + 1).update(repeating: 0, count: tk - p - 1) }
            }
        }
        try hooks.visit(patternName, S, shape: [heads, T, tk], headAxis: 0)

        for h in 0..<heads {
            let g = h / group
            if tiled {
                // The plain path's products over each tile's keys; then any weight an intervention put outside them.
                withSingleThreadedBLAS {
                    var t0 = 0
                    while t0 < T {
                        let t1 = Swift.min(T, t0 + tile), (kLo, kHi) = tileKeys(t0, t1, pos0: pos0, window: window)
                        tileContext(layer: l, head: h, t0, t1, kLo: kLo, kHi: kHi,
                                    weights: S + (h * T + t0) * tk + kLo, ldw: tk)
                        for t in t0..<t1 {
                            let row = S + (h * T + t) * tk, out = s.z + t * qDim + h * hd
                            for j in 0..<tk where (j < kLo || j > kHi) && row[j] != 0 { axpy(row[j], V + j * kvDim + g * hd, out, hd) }
                        }
                        t0 = t1
                    }
                }
            } else {
                for t in 0..<T {
                    let p = pos0 + t, lo = firstKey(p, window: window)
                    let row = S + (h * T + t) * tk
                    let out = s.z + t * qDim + h * hd
                    // The causal range first, with the same arithmetic as `attend`; then any weight an intervention
                    // put outside it.
                    weightedSum(row + lo, V + lo * kvDim + g * hd, rows: p - lo + 1, stride: kvDim, into: out, hd)
                    for j in 0..<tk where (j < lo || j > p) && row[j] != 0 { axpy(row[j], V + j * kvDim + g * hd, out, hd) }
                }
            }
            if let cb = callback, let ctx = contexts[h], let result = try cb(ctx) {
                guard result.shape == [T, hd] else {
                    throw ModelRunError.badIntervention(hook: name + "attn (callback)", message:
                        "the callback for head \(h) returned shape \(result.shape), expected [\(T), \(hd)]")
                }
                result.withUnsafeBufferPointer { r in
                    for t in 0..<T { (s.z + t * qDim + h * hd).update(from: r.baseAddress! + t * hd, count: hd) }
                }
            }
        }
    }
}
