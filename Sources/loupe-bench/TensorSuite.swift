import Foundation
import LoupeTensor

/// Suite `tensor`: LoupeTensor's kernels against numpy, and the transformer block's forward + backward against
/// JAX. Sizes are fixed by the benchmark issue; inputs come from BenchData on both sides (same numbers).
enum TensorSuite {
    static let sixteenM = 16 * 1024 * 1024
    /// Attention-like batched matmul: batch 8 x 8 heads = 64 matrices, T = 128, head dim 64; q @ k^T's shape.
    static let bmm = (batch: 64, m: 128, k: 64, n: 128)
    static let softmax = (rows: 512, cols: 49152)
    /// The transformer block benchmark (TransformerBlock.swift): d 256, 8 heads, T 128, batch 8, hidden 1024.
    static let block = (batch: 8, t: 128, d: 256, heads: 8, hidden: 1024)

    static func tensor(_ shape: [Int], seed: UInt64, scale: Double, offset: Double = 0) throws -> Tensor {
        try Tensor(shape: shape, data: BenchData.values(shape.reduce(1, *), seed: seed, scale: scale, offset: offset))
    }

    /// sum and sum of |x| in float64, as the peer's `check` reports them.
    static func resultSummary(_ t: Tensor) -> [String: Double] {
        t.withUnsafeBufferPointer { p in
            var s = 0.0, a = 0.0
            for v in p { s += Double(v); a += Swift.abs(Double(v)) }
            return ["sum": s, "abs": a]
        }
    }

    /// A case whose Loupe side is one operation on inputs made once.
    static func op(_ name: String, _ summary: String, kind: String, args: [(String, Any)], target: Double?,
                   inputs: @escaping () throws -> [Tensor], _ f: @escaping ([Tensor]) throws -> Tensor) -> BenchCase {
        var c = BenchCase(name: name, summary: summary, peerName: "numpy", peerKind: kind, peerArgs: args) {
            let xs = try inputs()
            return .init(rep: { try timed { try f(xs) } }, check: { resultSummary(try f(xs)) })
        }
        c.target = target
        return c
    }

    // Targets of the benchmark issue (loupe / peer): GEMM <= 1.1 for n >= 512; elementwise ops and reductions
    // <= 1.0; exp and softmax <= 0.6; the block <= 1.5.

    static var cases: [BenchCase] {
        var out: [BenchCase] = []
        for n in [256, 512, 1024, 2048] {
            out.append(op("sgemm-\(n)", "float32 [\(n),\(n)] @ [\(n),\(n)]; numpy a @ b", kind: "sgemm", args: [("n", n)], target: n >= 512 ? 1.1 : nil,
                          inputs: { [try tensor([n, n], seed: 101, scale: 1), try tensor([n, n], seed: 102, scale: 1)] },
                          { try $0[0].matmul($0[1]) }))
        }
        let (bb, bm, bk, bn) = bmm
        out.append(op("bmm", "batched matmul [\(bb),\(bm),\(bk)] @ [\(bb),\(bk),\(bn)] (8 sequences x 8 heads, T \(bm), head dim \(bk)); numpy a @ b",
                      kind: "bmm", args: [("batch", bb), ("m", bm), ("k", bk), ("n", bn)], target: nil,
                      inputs: { [try tensor([bb, bm, bk], seed: 103, scale: 1), try tensor([bb, bk, bn], seed: 104, scale: 1)] },
                      { try $0[0].matmul($0[1]) }))
        let n = sixteenM
        let pair = { [try tensor([n], seed: 105, scale: 2), try tensor([n], seed: 106, scale: 2)] }
        out.append(op("add-16M", "a + b, 16M float32 each; numpy a + b", kind: "add", args: [("n", n)], target: 1.0, inputs: pair) { try $0[0] + $0[1] })
        out.append(op("mul-16M", "a * b, 16M float32 each; numpy a * b", kind: "mul", args: [("n", n)], target: 1.0, inputs: pair) { try $0[0] * $0[1] })
        out.append(op("exp-16M", "exp(a), 16M float32 in [-4, 4); numpy np.exp(a)", kind: "exp", args: [("n", n)], target: 0.6,
                      inputs: { [try tensor([n], seed: 107, scale: 4)] }) { $0[0].exp() })
        let one = { [try tensor([n], seed: 108, scale: 2)] }
        out.append(op("sum-16M", "whole-array sum, 16M float32; numpy a.sum()", kind: "sum", args: [("n", n)], target: 1.0, inputs: one) { try $0[0].sum() })
        out.append(op("max-16M", "whole-array max, 16M float32; numpy a.max()", kind: "max", args: [("n", n)], target: 1.0, inputs: one) { try $0[0].max() })
        let (rows, cols) = softmax
        out.append(op("softmax-\(rows)x\(cols)",
                      "softmax over the last axis of [\(rows),\(cols)] in [-4, 4); numpy e = np.exp(x - x.max(-1, keepdims=True)); e / e.sum(-1, keepdims=True)",
                      kind: "softmax", args: [("rows", rows), ("cols", cols)], target: 0.6,
                      inputs: { [try tensor([rows, cols], seed: 109, scale: 4)] }) { try $0[0].softmax(axis: -1) })
        out.append(blockCase())
        out.append(TrainSuite.stepCase())
        return out
    }

    /// Forward + backward of TransformerBlock, loss = mean(y * R), gradients for x and all 12 parameters;
    /// the peer is jax.jit(jax.value_and_grad) of the same computation (bench/peers/block_jax.py).
    static func blockCase() -> BenchCase {
        let (b, t, d, heads, hidden) = block
        var c = BenchCase(
            name: "block-fwd-bwd",
            summary: "transformer block (pre-norm, d \(d), \(heads) heads, T \(t), batch \(b), hidden \(hidden)) forward + backward of mean(y * R) w.r.t. x and 12 parameters; JAX jit(value_and_grad)",
            peerName: "jax", peerKind: "block",
            peerArgs: [("batch", b), ("t", t), ("d", d), ("heads", heads), ("hidden", hidden)]
        ) {
            // Same inputs as block_jax.make_inputs.
            let shapes: [[Int]] = [[d], [d], [d, 3 * d], [3 * d], [d, d], [d], [d], [d], [d, hidden], [hidden], [hidden, d], [d]]
            var params: [Tensor] = []
            for (j, s) in shapes.enumerated() {
                let seed = UInt64(10 + j)
                let name = TransformerBlock.parameterNames[j]
                if name == "ln1_w" || name == "ln2_w" {
                    params.append(try tensor(s, seed: seed, scale: 0.1, offset: 1))
                } else if s.count == 1 {
                    params.append(try tensor(s, seed: seed, scale: 0.02))
                } else {
                    params.append(try tensor(s, seed: seed, scale: (3.0 / Double(s[0])).squareRoot()))
                }
            }
            let blk = try TransformerBlock(d: d, heads: heads, parameters: params)
            let x = try tensor([b, t, d], seed: 1, scale: 1).requiringGrad()
            let r = try tensor([b, t, d], seed: 2, scale: 1)
            let leaves = [x] + blk.parameters
            // Forward, loss, backward. The graph (and its intermediates) is released inside the timed region, as
            // XLA frees its buffers inside the jitted call; the gradients on the leaves are the result.
            func step() throws -> Float {
                let y = try blk.forward(x)
                let loss = try (y * r).mean()
                try loss.backward()
                return try loss.item()
            }
            return .init(
                rep: {
                    for l in leaves { l.zeroGrad() }
                    return try timed { try step() }
                },
                check: {
                    for l in leaves { l.zeroGrad() }
                    let loss = try step()
                    var out: [String: Double] = ["loss": Double(loss)]
                    for (name, l) in zip(["x"] + TransformerBlock.parameterNames, leaves) {
                        guard let g = l.grad else { throw BenchError.noGradient(name) }
                        out[name] = g.withUnsafeBufferPointer { p in p.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
                    }
                    return out
                })
        }
        c.tolerance = 2e-3
        c.target = 1.5
        return c
    }
}

enum BenchError: Error, CustomStringConvertible {
    case noGradient(String)
    var description: String {
        switch self {
        case .noGradient(let n): return "backward left no gradient for \(n)"
        }
    }
}
