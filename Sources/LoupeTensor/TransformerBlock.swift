// A pre-norm transformer block (GPT-2 layout), used as the engine's end-to-end check of autograd and as the
// benchmark against JAX:
//   h  = LN1(x);  q, k, v = split(h Wqkv + bqkv);  z = causal_attention(q, k, v) per head
//   x1 = x + z Wo + bo;  y = x1 + gelu_tanh(LN2(x1) W1 + b1) W2 + b2
// The same computation is written in JAX in Tests/Fixtures/make_block_fixture.py and bench/peers/block_jax.py.

/// Parameters and forward pass of one transformer block. All weights are leaves that require grad.
public struct TransformerBlock {
    public let d: Int, heads: Int, hidden: Int
    public var ln1w, ln1b, wqkv, bqkv, wo, bo, ln2w, ln2b, w1, b1, w2, b2: Tensor

    /// Parameters in a fixed order (the order of the JAX reference).
    public var parameters: [Tensor] { [ln1w, ln1b, wqkv, bqkv, wo, bo, ln2w, ln2b, w1, b1, w2, b2] }
    public static let parameterNames = ["ln1_w", "ln1_b", "w_qkv", "b_qkv", "w_o", "b_o", "ln2_w", "ln2_b", "w_1", "b_1", "w_2", "b_2"]

    /// Builds a block from the 12 parameter tensors, in `parameterNames` order.
    public init(d: Int, heads: Int, parameters p: [Tensor]) throws {
        guard heads > 0, d % heads == 0, p.count == 12 else {
            throw TensorError.invalidArgument(op: "transformer_block", message: "d = \(d) must divide into \(heads) heads, with 12 parameters (got \(p.count))")
        }
        let hidden = p[8].shape.last ?? 0
        let expected: [[Int]] = [[d], [d], [d, 3 * d], [3 * d], [d, d], [d], [d], [d], [d, hidden], [hidden], [hidden, d], [d]]
        for (i, (t, s)) in zip(p, expected).enumerated() where t.shape != s {
            throw TensorError.invalidArgument(op: "transformer_block", message: "parameter \(Self.parameterNames[i]) has shape \(fmt(t.shape)), expected \(fmt(s))")
        }
        self.d = d; self.heads = heads; self.hidden = hidden
        let q = p.map { $0.requiresGrad ? $0 : $0.requiringGrad() }
        (ln1w, ln1b, wqkv, bqkv, wo, bo) = (q[0], q[1], q[2], q[3], q[4], q[5])
        (ln2w, ln2b, w1, b1, w2, b2) = (q[6], q[7], q[8], q[9], q[10], q[11])
    }

    /// x: [B, T, d] -> [B, T, d].
    public func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 3, x.shape[2] == d else {
            throw TensorError.invalidArgument(op: "transformer_block", message: "input must be [B, T, \(d)], got \(fmt(x.shape))")
        }
        let (b, t, dh) = (x.shape[0], x.shape[1], d / heads)
        let h = try x.layerNorm(weight: ln1w, bias: ln1b)
        let qkv = try h.matmul(wqkv) + bqkv
        // [B, T, 3d] -> three [B, heads, T, dh]
        let parts = try qkv.split(sections: 3, axis: -1).map {
            try $0.reshape([b, t, heads, dh]).permute([0, 2, 1, 3])
        }
        let z = try Tensor.attention(q: parts[0], k: parts[1], v: parts[2], causal: true)
        let merged = try z.permute([0, 2, 1, 3]).reshape([b, t, d])
        let x1 = try x + merged.matmul(wo) + bo
        let m = try (x1.layerNorm(weight: ln2w, bias: ln2b).matmul(w1) + b1).gelu(approximate: true)
        return try x1 + m.matmul(w2) + b2
    }
}
