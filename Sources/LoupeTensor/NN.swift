import Foundation

// Fused neural-network operations: layer norm, RMS norm, cross-entropy, attention. Each is one forward kernel
// and one hand-written backward, instead of a chain of small ops: fewer passes over memory and fewer
// intermediate tensors kept alive for the backward pass.

extension Tensor {
    // MARK: - Layer norm

    /// (x - mean) / sqrt(var + eps) * weight + bias over the last axis.
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        let x = self
        guard rank >= 1 else { throw TensorError.invalidArgument(op: "layer_norm", message: "needs rank >= 1") }
        let d = shape[rank - 1], rows = d == 0 ? 0 : count / d
        for p in [weight, bias].compactMap({ $0 }) where p.shape != [d] {
            throw TensorError.shapeMismatch(op: "layer_norm", lhs: shape, rhs: p.shape)
        }
        let out = try Tensor(uninitialized: shape, op: "layer_norm")
        // Per-row mean and 1/std, kept for backward.
        let stats = try Tensor(uninitialized: [rows, 2], op: "layer_norm")
        let xp = dataPointer, yp = out.dataPointer, sp = stats.dataPointer
        let wp = weight?.dataPointer, bp = bias?.dataPointer
        Parallel.forEach(rows, cost: d * 4) { r in
            for row in r {
                let xr = xp + row * d, yr = yp + row * d
                var mean: Double = 0
                for i in 0..<d { mean += Double(xr[i]) }
                mean /= Double(d)
                var v: Double = 0
                for i in 0..<d { let c = Double(xr[i]) - mean; v += c * c }
                let rstd = Float(1 / (v / Double(d) + Double(eps)).squareRoot())
                let m = Float(mean)
                sp[2 * row] = m; sp[2 * row + 1] = rstd
                for i in 0..<d {
                    var y = (xr[i] - m) * rstd
                    if let wp { y *= wp[i] }
                    if let bp { y += bp[i] }
                    yr[i] = y
                }
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        return Autograd.record(out, "layer_norm", inputs) { g in
            // xhat = (x - m) rstd;  dxhat = g * w
            // dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat));  dw = sum(g * xhat);  db = sum(g)
            // Pointers are taken from the captured tensors here: `stats` is otherwise released when the forward
            // returns, and its buffer freed before backward reads it.
            let xp = x.dataPointer, sp = stats.dataPointer, wp = weight?.dataPointer
            let gx = try Tensor(uninitialized: x.shape, op: "layer_norm_backward")
            let gp = g.dataPointer, gxp = gx.dataPointer
            var dw = [Double](repeating: 0, count: weight == nil ? 0 : d)
            var db = [Double](repeating: 0, count: bias == nil ? 0 : d)
            for row in 0..<rows {
                let xr = xp + row * d, gr = gp + row * d, out = gxp + row * d
                let m = sp[2 * row], rstd = sp[2 * row + 1]
                var meanD: Float = 0, meanDX: Float = 0
                for i in 0..<d {
                    let xh = (xr[i] - m) * rstd
                    let dxh = gr[i] * (wp?[i] ?? 1)
                    meanD += dxh; meanDX += dxh * xh
                    if wp != nil { dw[i] += Double(gr[i] * xh) }
                    if bp != nil { db[i] += Double(gr[i]) }
                }
                meanD /= Float(d); meanDX /= Float(d)
                for i in 0..<d {
                    let xh = (xr[i] - m) * rstd
                    out[i] = rstd * (gr[i] * (wp?[i] ?? 1) - meanD - xh * meanDX)
                }
            }
            var grads: [Tensor?] = [gx]
            if weight != nil { grads.append(try Tensor(shape: [d], data: dw.map(Float.init))) }
            if bias != nil { grads.append(try Tensor(shape: [d], data: db.map(Float.init))) }
            return grads
        }
    }

    // MARK: - RMS norm

    /// x / sqrt(mean(x^2) + eps) * weight over the last axis (Llama, Gemma, Qwen).
    public func rmsNorm(weight: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        let x = self
        guard rank >= 1 else { throw TensorError.invalidArgument(op: "rms_norm", message: "needs rank >= 1") }
        let d = shape[rank - 1], rows = d == 0 ? 0 : count / d
        if let weight, weight.shape != [d] { throw TensorError.shapeMismatch(op: "rms_norm", lhs: shape, rhs: weight.shape) }
        let out = try Tensor(uninitialized: shape, op: "rms_norm")
        let rstds = try Tensor(uninitialized: [rows], op: "rms_norm")
        let xp = dataPointer, yp = out.dataPointer, rp = rstds.dataPointer, wp = weight?.dataPointer
        Parallel.forEach(rows, cost: d * 3) { r in
            for row in r {
                let xr = xp + row * d, yr = yp + row * d
                var ss: Double = 0
                for i in 0..<d { ss += Double(xr[i]) * Double(xr[i]) }
                let rstd = Float(1 / (ss / Double(d) + Double(eps)).squareRoot())
                rp[row] = rstd
                for i in 0..<d { yr[i] = xr[i] * rstd * (wp?[i] ?? 1) }
            }
        }
        return Autograd.record(out, "rms_norm", weight.map { [x, $0] } ?? [x]) { g in
            // y = x r w with r = (mean(x^2) + eps)^-1/2:  dx = r (g w) - x r^3 mean(g w x);  dw = sum(g x r)
            // As in layer norm: keep `rstds` (and x, weight) alive through the closure, not through raw pointers.
            let xp = x.dataPointer, rp = rstds.dataPointer, wp = weight?.dataPointer
            let gx = try Tensor(uninitialized: x.shape, op: "rms_norm_backward")
            let gp = g.dataPointer, gxp = gx.dataPointer
            var dw = [Double](repeating: 0, count: d)
            for row in 0..<rows {
                let xr = xp + row * d, gr = gp + row * d, o = gxp + row * d
                let rstd = rp[row]
                var dot: Float = 0
                for i in 0..<d {
                    dot += gr[i] * (wp?[i] ?? 1) * xr[i]
                    if wp != nil { dw[i] += Double(gr[i] * xr[i] * rstd) }
                }
                let c = rstd * rstd * rstd * dot / Float(d)
                for i in 0..<d { o[i] = rstd * gr[i] * (wp?[i] ?? 1) - xr[i] * c }
            }
            return weight == nil ? [gx] : [gx, try Tensor(shape: [d], data: dw.map(Float.init))]
        }
    }

    // MARK: - Cross-entropy

    /// Mean negative log-likelihood of `targets` under softmax(self) along the last axis.
    /// `self` is [..., C] logits; `targets` holds class indices with shape [...].
    public func crossEntropy(_ targets: IndexTensor) throws -> Tensor {
        let logits = self
        guard rank >= 1, Array(shape.dropLast()) == targets.shape else {
            throw TensorError.shapeMismatch(op: "cross_entropy", lhs: shape, rhs: targets.shape)
        }
        let c = shape[rank - 1], n = targets.count
        guard n > 0 else { throw TensorError.invalidArgument(op: "cross_entropy", message: "no targets") }
        for t in targets.data where t < 0 || t >= c {
            throw TensorError.indexOutOfRange(op: "cross_entropy", index: t, axis: rank - 1, size: c)
        }
        let lsm = try Autograd.noGrad { try logits.logSoftmax(axis: -1) }
        var total: Double = 0
        for (i, t) in targets.data.enumerated() { total -= Double(lsm.dataPointer[i * c + t]) }
        let out = Tensor(scalar: Float(total / Double(n)))
        return Autograd.record(out, "cross_entropy", [logits]) { g in
            // d/dlogits = (softmax - onehot(target)) / n
            let gl = lsm.exp()
            let scale = try g.item() / Float(n)
            let p = gl.dataPointer
            for (i, t) in targets.data.enumerated() { p[i * c + t] -= 1 }
            for i in 0..<gl.count { p[i] *= scale }
            return [gl]
        }
    }

    // MARK: - Attention

    /// Scaled dot-product attention: softmax(q k^T * scale + mask) v, fused with its backward.
    ///
    /// q: [..., Tq, dk], k: [..., Tk, dk], v: [..., Tk, dv]; batch dimensions broadcast (so grouped-query
    /// attention can pass k and v with fewer heads as [..., 1, Tk, d] slices). `causal` hides keys after each
    /// query (aligned at the end when Tk > Tq, as with a KV cache). `mask` is added to the scores.
    public static func attention(q: Tensor, k: Tensor, v: Tensor, causal: Bool = false, mask: Tensor? = nil,
                                 scale: Float? = nil) throws -> Tensor {
        guard q.rank >= 2, k.rank >= 2, v.rank >= 2, q.shape.last == k.shape.last,
              k.shape[k.rank - 2] == v.shape[v.rank - 2] else {
            throw TensorError.invalidArgument(op: "attention",
                message: "q \(fmt(q.shape)), k \(fmt(k.shape)), v \(fmt(v.shape)) do not fit [..., T, d]")
        }
        let dk = q.shape[q.rank - 1], tq = q.shape[q.rank - 2], tk = k.shape[k.rank - 2]
        let s = scale ?? 1 / Float(dk).squareRoot()
        let probs: Tensor = try Autograd.noGrad {
            var scores = try batchedMatmul(q, false, k, true, op: "attention") * s
            if let mask { scores = try scores + mask }
            if causal {
                // Fresh tensor, not yet shared: safe to write the mask in place.
                let p = scores.dataPointer
                let offset = tk - tq
                for b in 0..<(scores.count / Swift.max(tq * tk, 1)) {
                    for i in 0..<tq where i + offset + 1 < tk {
                        let row = p + (b * tq + i) * tk
                        // Tq > Tk: the first Tq - Tk queries see no key at all (start clamped to the row).
                        for j in Swift.max(0, i + offset + 1)..<tk { row[j] = -.infinity }
                    }
                }
            }
            return try scores.softmax(axis: -1)
        }
        let out = try Autograd.noGrad { try batchedMatmul(probs, false, v, false, op: "attention") }
        return Autograd.record(out, "attention", [q, k, v]) { g in
            // dV = P^T dO;  dP = dO V^T;  dS = P * (dP - rowsum(dP * P));  dQ = s dS K;  dK = s dS^T Q
            let dv = try batchedMatmul(probs, true, g, false, op: "attention")
            let dp = try batchedMatmul(g, false, v, true, op: "attention")
            let ds = try probs * (dp - (dp * probs).sum(axis: -1, keepDims: true))
            let dq = try batchedMatmul(ds, false, k, false, op: "attention") * s
            let dkk = try batchedMatmul(ds, true, q, false, op: "attention") * s
            return [try dq.sumToShape(q.shape), try dkk.sumToShape(k.shape), try dv.sumToShape(v.shape)]
        }
    }
}
