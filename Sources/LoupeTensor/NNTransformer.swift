import Foundation

// Fused operations for training decoder transformers (llama, qwen, gemma) on autograd tensors: the projection
// x W^T with PyTorch's [out, in] weight layout, rotary position embedding, and causal grouped-query attention over
// one sequence. Each forward kernel has its hand-written backward beside it (micrograd's layout); RMS norm,
// general attention and cross-entropy are in NN.swift.

/// Which dimensions rotary position embedding rotates together.
public enum RoPELayout: String, Sendable {
    /// (x[2i], x[2i+1]): llama.cpp's "normal" mode, the layout of GGUF llama files.
    case adjacentPairs
    /// (x[i], x[i + n/2]): rotate-half ("NEOX"), Hugging Face's layout; qwen2, qwen3, gemma3.
    case halves
}

extension Tensor {
    // MARK: - Linear

    /// x W^T + b over the last axis: x is [..., in], `weight` is [out, in] (the row layout of PyTorch, GGUF and
    /// safetensors), `bias` is [out]. One sgemm forward; the backward computes only the gradients that are wanted
    /// (a frozen base weight under LoRA costs no weight-gradient product).
    public func linear(_ weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        let x = self
        guard rank >= 1, weight.rank == 2, shape[rank - 1] == weight.shape[1] else {
            throw TensorError.shapeMismatch(op: "linear", lhs: shape, rhs: weight.shape)
        }
        let inF = weight.shape[1], outF = weight.shape[0]
        if let bias, bias.shape != [outF] { throw TensorError.shapeMismatch(op: "linear", lhs: weight.shape, rhs: bias.shape) }
        guard Swift.max(inF, outF, count / Swift.max(inF, 1)) <= Int(Int32.max) else {
            throw TensorError.invalidArgument(op: "linear", message: "dimensions exceed BLAS's 32-bit limit")
        }
        let rows = inF == 0 ? count : count / inF
        let out = try Tensor(uninitialized: Array(shape.dropLast()) + [outF], op: "linear")
        try BLAS.ensureLoaded()
        if out.count > 0 {
            if inF == 0 {
                out.dataPointer.initialize(repeating: 0, count: out.count)
            } else {
                BLAS.sgemm(transA: false, transB: true, m: rows, n: outF, k: inF, a: x.dataPointer, lda: inF,
                           b: weight.dataPointer, ldb: inF, c: out.dataPointer, ldc: outF)
            }
            if let bias {
                let o = out.dataPointer, b = bias.dataPointer
                for r in 0..<rows { for j in 0..<outF { o[r * outF + j] += b[j] } }
            }
        }
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return Autograd.record(out, "linear", inputs) { g in
            // y = x W^T + b:  dx = g W;  dW = g^T x;  db = sum over rows of g.
            var grads: [Tensor?] = [nil, nil]
            if x.requiresGrad {
                let gx = try Tensor(uninitialized: x.shape, op: "linear_backward")
                if gx.count > 0 {
                    BLAS.sgemm(transA: false, transB: false, m: rows, n: inF, k: outF, a: g.dataPointer, lda: outF,
                               b: weight.dataPointer, ldb: inF, c: gx.dataPointer, ldc: inF)
                }
                grads[0] = gx
            }
            if weight.requiresGrad {
                let gw = try Tensor(uninitialized: weight.shape, op: "linear_backward")
                if gw.count > 0 {
                    if rows == 0 { gw.dataPointer.initialize(repeating: 0, count: gw.count) } else {
                        BLAS.sgemm(transA: true, transB: false, m: outF, n: inF, k: rows, a: g.dataPointer, lda: outF,
                                   b: x.dataPointer, ldb: inF, c: gw.dataPointer, ldc: inF)
                    }
                }
                grads[1] = gw
            }
            if let bias {
                guard bias.requiresGrad else { grads.append(nil); return grads }
                var acc = [Double](repeating: 0, count: outF)
                let gp = g.dataPointer
                for r in 0..<rows { for j in 0..<outF { acc[j] += Double(gp[r * outF + j]) } }
                grads.append(try Tensor(shape: [outF], data: acc.map(Float.init)))
            }
            return grads
        }
    }

    // MARK: - Rotary position embedding

    /// Rotary position embedding of x [T, heads, headDim] at positions `start ..< start + T`.
    ///
    /// Pair i of the first `dims` dimensions (all when nil) turns by the angle p / scale * base^(-2i/dims); the
    /// remaining dimensions pass through. Angles are computed in double precision, as the inference engine's
    /// tables are. The backward turns the gradient back by the same angle (a rotation's transpose is its inverse).
    public func rope(base: Double, scale: Double = 1, dims: Int? = nil, layout: RoPELayout, start: Int = 0,
                     factors: [Double]? = nil) throws -> Tensor {
        let x = self
        guard rank == 3 else {
            throw TensorError.invalidArgument(op: "rope", message: "input must be [T, heads, head_dim], got \(fmt(shape))")
        }
        let (t, heads, hd) = (shape[0], shape[1], shape[2])
        let n = dims ?? hd
        guard n > 0, n % 2 == 0, n <= hd, base > 0, scale > 0, start >= 0 else {
            throw TensorError.invalidArgument(op: "rope", message: "rotated dims \(n) must be even and at most the head size \(hd); base \(base) and scale \(scale) positive; start \(start) >= 0")
        }
        let half = n / 2
        if let f = factors, f.count != half || f.contains(where: { !($0 > 0) || !$0.isFinite }) {
            throw TensorError.invalidArgument(op: "rope", message: "factors must be \(half) positive numbers (one per rotated pair), got \(f.count)")
        }
        var cosT = [Float](repeating: 0, count: t * half), sinT = cosT
        for i in 0..<half {
            // As the inference RoPE table: llama3 scaling divides each pair's frequency by its factor.
            var inv = Foundation.pow(base, -2 * Double(i) / Double(n)) / scale
            if let f = factors { inv /= f[i] }
            for p in 0..<t {
                let a = Double(start + p) * inv
                cosT[p * half + i] = Float(Foundation.cos(a)); sinT[p * half + i] = Float(Foundation.sin(a))
            }
        }
        // Where the two halves of pair i live in a head vector.
        let (stride, second) = layout == .adjacentPairs ? (2, 1) : (1, half)
        // out = R(sign * angle) src, head by head; sign -1 is the backward's inverse rotation.
        func rotate(_ src: Tensor, sign: Float, op: String) throws -> Tensor {
            let out = try Tensor(uninitialized: src.shape, op: op)
            let s = src.dataPointer, o = out.dataPointer
            o.update(from: s, count: src.count)  // dimensions past `dims` pass through
            cosT.withUnsafeBufferPointer { cp in
                sinT.withUnsafeBufferPointer { sp in
                    for p in 0..<t {
                        let c = cp.baseAddress! + p * half, sn = sp.baseAddress! + p * half
                        for h in 0..<heads {
                            let v = s + (p * heads + h) * hd, y = o + (p * heads + h) * hd
                            for i in 0..<half {
                                let ia = i * stride, ib = ia + second
                                let a = v[ia], b = v[ib], si = sign * sn[i]
                                y[ia] = a * c[i] - b * si
                                y[ib] = a * si + b * c[i]
                            }
                        }
                    }
                }
            }
            return out
        }
        let out = try rotate(x, sign: 1, op: "rope")
        return Autograd.record(out, "rope", [x]) { g in [try rotate(g, sign: -1, op: "rope_backward")] }
    }

    // MARK: - Causal grouped-query attention

    /// Causal self-attention of one sequence with grouped-query heads, in the decoder's own layout:
    /// q [T, heads, d], k and v [T, kvHeads, d] -> [T, heads, d]. Query head h reads key/value head
    /// h / (heads / kvHeads). Query i sees keys j <= i, and with a `window` only those with i - j < window
    /// (llama.cpp's sliding-window rule). Scores are `scale` * q.k.
    ///
    /// Neither the [heads, T, T] probabilities nor copies of k and v per query head are kept: the forward stores
    /// each row's log-sum-exp, and the backward recomputes the probabilities from it (memory O(heads * T)).
    public static func causalAttention(q: Tensor, k: Tensor, v: Tensor, scale: Float, window: Int? = nil) throws -> Tensor {
        guard q.rank == 3, k.rank == 3, v.rank == 3, k.shape == v.shape, q.shape[0] == k.shape[0],
              q.shape[2] == k.shape[2], k.shape[1] > 0, q.shape[1] % k.shape[1] == 0 else {
            throw TensorError.invalidArgument(op: "causal_attention",
                message: "q \(fmt(q.shape)) must be [T, heads, d] and k, v \(fmt(k.shape)), \(fmt(v.shape)) [T, kv_heads, d] with kv_heads dividing heads")
        }
        if let window, window <= 0 {
            throw TensorError.invalidArgument(op: "causal_attention", message: "window must be positive, got \(window)")
        }
        let (t, heads, kvHeads, d) = (q.shape[0], q.shape[1], k.shape[1], q.shape[2])
        let group = heads / kvHeads
        let out = try Tensor(uninitialized: q.shape, op: "causal_attention")
        let lse = try Tensor(uninitialized: [heads, t], op: "causal_attention")
        let (qp, kp, vp, op, lp) = (q.dataPointer, k.dataPointer, v.dataPointer, out.dataPointer, lse.dataPointer)
        // The first key query i sees.
        let first: (Int) -> Int = { i in window.map { Swift.max(0, i - $0 + 1) } ?? 0 }
        // Row pointers: element (i, h, :) of a [T, H, d] tensor.
        let qStride = heads * d, kStride = kvHeads * d

        // One query head per task: rows of `out` and `lse` are disjoint across heads.
        Parallel.forEach(heads, cost: t * t * d) { range in
            var row = [Float](repeating: 0, count: t)
            for h in range {
                let g = h / group
                for i in 0..<t {
                    let qi = qp + i * qStride + h * d, lo = first(i)
                    var m = -Float.infinity
                    for j in lo...i {
                        let kj = kp + j * kStride + g * d
                        var s: Float = 0
                        for c in 0..<d { s += qi[c] * kj[c] }
                        s *= scale
                        row[j] = s
                        m = Swift.max(m, s)
                    }
                    var sum: Float = 0
                    for j in lo...i { let e = Foundation.exp(row[j] - m); row[j] = e; sum += e }
                    lp[h * t + i] = m + Foundation.log(sum)
                    let oi = op + i * qStride + h * d
                    for c in 0..<d { oi[c] = 0 }
                    let inv = 1 / sum
                    for j in lo...i {
                        let p = row[j] * inv, vj = vp + j * kStride + g * d
                        for c in 0..<d { oi[c] += p * vj[c] }
                    }
                }
            }
        }
        let saved = out.detached()  // not `out` itself: the closure would keep its own result alive (a cycle)
        return Autograd.record(out, "causal_attention", [q, k, v]) { gOut in
            // P_ij = exp(scale q_i.k_j - lse_i);  dP_ij = dO_i.v_j;  dS_ij = P_ij (dP_ij - dO_i.O_i)
            // dq_i = scale sum_j dS_ij k_j;  dk_j = scale sum_i dS_ij q_i;  dv_j = sum_i P_ij dO_i
            let dq = try Tensor.zeros(q.shape), dk = try Tensor.zeros(k.shape), dv = try Tensor.zeros(v.shape)
            let (qp, kp, vp, op, lp, gp) = (q.dataPointer, k.dataPointer, v.dataPointer, saved.dataPointer,
                                            lse.dataPointer, gOut.dataPointer)
            let (dqp, dkp, dvp) = (dq.dataPointer, dk.dataPointer, dv.dataPointer)
            // One key/value head per task: it owns its rows of dk and dv, and its query heads' rows of dq.
            Parallel.forEach(kvHeads, cost: group * t * t * d * 2) { range in
                for g in range {
                    for h in (g * group)..<((g + 1) * group) {
                        for i in 0..<t {
                            let qi = qp + i * qStride + h * d, gi = gp + i * qStride + h * d, oi = op + i * qStride + h * d
                            let dqi = dqp + i * qStride + h * d
                            let lo = first(i), l = lp[h * t + i]
                            var dot: Float = 0  // dO_i . O_i = sum_j P_ij dP_ij
                            for c in 0..<d { dot += gi[c] * oi[c] }
                            for j in lo...i {
                                let kj = kp + j * kStride + g * d, vj = vp + j * kStride + g * d
                                var s: Float = 0, dpj: Float = 0
                                for c in 0..<d { s += qi[c] * kj[c]; dpj += gi[c] * vj[c] }
                                let p = Foundation.exp(s * scale - l)
                                let ds = p * (dpj - dot) * scale
                                let dkj = dkp + j * kStride + g * d, dvj = dvp + j * kStride + g * d
                                for c in 0..<d {
                                    dqi[c] += ds * kj[c]
                                    dkj[c] += ds * qi[c]
                                    dvj[c] += p * gi[c]
                                }
                            }
                        }
                    }
                }
            }
            return [dq, dk, dv]
        }
    }

    // MARK: - Adam update for large models

    /// One Adam(W) update of this parameter in a single parallel pass, with PyTorch's AdamW rule (the same numbers
    /// as `AdamW.step`): p' = p (1 - lr wd) - lr (m / c1) / (sqrt(v / c2) + eps), m and v updated first, c1 and c2
    /// the bias corrections of step `step` (1-based). Returns p' as a new leaf that requires grad; `moments` is
    /// updated in place.
    ///
    /// Why beside `AdamW`: for a model's worth of weights (135M for SmolLM2) its three element-wise passes, each
    /// into a freshly allocated tensor, took longer than the forward and backward together; here moments are
    /// reused buffers and one pass writes everything.
    public func adamUpdated(grad: Tensor, moments: AdamMoments, step: Int, lr: Float, beta1: Float = 0.9,
                            beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 0) throws -> Tensor {
        guard grad.shape == shape else { throw TensorError.shapeMismatch(op: "adam", lhs: shape, rhs: grad.shape) }
        guard moments.m.shape == shape else { throw TensorError.shapeMismatch(op: "adam", lhs: shape, rhs: moments.m.shape) }
        guard step >= 1 else { throw TensorError.invalidArgument(op: "adam", message: "step must be >= 1, got \(step)") }
        let out = try Tensor(uninitialized: shape, op: "adam")
        let c1 = 1 - Float(Foundation.pow(Double(beta1), Double(step)))
        let c2 = 1 - Float(Foundation.pow(Double(beta2), Double(step)))
        let (pp, gp, mp, vp, op) = (dataPointer, grad.dataPointer, moments.m.dataPointer, moments.v.dataPointer, out.dataPointer)
        let decay = 1 - lr * weightDecay
        Parallel.forEach(count, cost: 8) { r in
            // Eight lanes at a time (the divisions and the square root dominate), then the tail.
            func load(_ p: UnsafeMutablePointer<Float>, _ j: Int) -> SIMD8<Float> {
                UnsafeRawPointer(p + j).loadUnaligned(as: SIMD8<Float>.self)
            }
            func store(_ x: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ j: Int) {
                UnsafeMutableRawPointer(p + j).storeBytes(of: x, as: SIMD8<Float>.self)
            }
            var j = r.lowerBound
            while j + 8 <= r.upperBound {
                let g = load(gp, j)
                let m = beta1 * load(mp, j) + (1 - beta1) * g
                let v = beta2 * load(vp, j) + (1 - beta2) * g * g
                store(m, mp, j); store(v, vp, j)
                store(load(pp, j) * decay - lr * (m / c1) / ((v / c2).squareRoot() + eps), op, j)
                j += 8
            }
            while j < r.upperBound {
                let g = gp[j]
                let m = beta1 * mp[j] + (1 - beta1) * g
                let v = beta2 * vp[j] + (1 - beta2) * g * g
                mp[j] = m; vp[j] = v
                op[j] = pp[j] * decay - lr * (m / c1) / ((v / c2).squareRoot() + eps)
                j += 1
            }
        }
        return out.requiringGrad()
    }
}

/// Adam's first and second moment estimates of one parameter: zero-initialized buffers that `adamUpdated`
/// overwrites in place (they belong to the optimizer and are never shared with the graph).
public final class AdamMoments {
    let m: Tensor
    let v: Tensor

    public init(shape: [Int]) throws {
        m = try Tensor.zeros(shape)
        v = try Tensor.zeros(shape)
    }

    /// Copies of the current estimates.
    public var first: Tensor { get throws { try Tensor(shape: m.shape, data: m.scalars) } }
    public var second: Tensor { get throws { try Tensor(shape: v.shape, data: v.scalars) } }
}
