import Foundation

// Fused operations for training decoder transformers (llama, qwen, gemma) on autograd tensors: the projection
// x W^T with PyTorch's [out, in] weight layout, and rotary position embedding. Each forward kernel has its
// hand-written backward beside it (micrograd's layout); RMS norm, attention and cross-entropy are in NN.swift.

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
    public func rope(base: Double, scale: Double = 1, dims: Int? = nil, layout: RoPELayout, start: Int = 0) throws -> Tensor {
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
        var cosT = [Float](repeating: 0, count: t * half), sinT = cosT
        for i in 0..<half {
            let inv = Foundation.pow(base, -2 * Double(i) / Double(n)) / scale
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
}
