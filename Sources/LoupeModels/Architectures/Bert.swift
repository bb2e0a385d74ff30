import Foundation
import LoupeTensor

// BERT encoder, as Hugging Face's BertModel (transformers/models/bert/modeling_bert.py) computes it, post-norm:
//
//   x   = LN(word[id] + position[t] + token_type[0])
//   per layer:
//     q, k, v = x Wq + bq, x Wk + bk, x Wv + bv            split into heads of d/h
//     a       = softmax(q k^T / sqrt(d/h) + mask) v          mask: 0 for real keys, float32.min for padding
//     x       = LN(x + a Wo + bo)
//     x       = LN(x + gelu_erf(x W1 + b1) W2 + b2)
//
// The whole batch goes through each linear layer as one [B*T, d] x [d, n] sgemm (q, k and v fused into one
// [d, 3d] matrix); only attention is per (sequence, head). Weights are transposed once at load, so every product
// is a plain x @ W^T with no copy at run time.

/// The hyper-parameters of a BERT encoder, read from a Hugging Face `config.json`.
public struct BertConfig: Equatable, Sendable {
    public let vocabSize: Int
    public let hiddenSize: Int
    public let numLayers: Int
    public let numHeads: Int
    public let intermediateSize: Int
    public let maxPositions: Int
    public let typeVocabSize: Int
    public let layerNormEps: Float
    public let padTokenId: Int

    public var headDim: Int { hiddenSize / numHeads }

    /// Reads and checks the BERT fields of `config`. Throws `ModelFileError` naming config.json and the field
    /// when one is missing, or when the file asks for something this encoder does not compute (another
    /// activation than exact GELU, relative position embeddings, heads that do not divide the width).
    public init(_ config: HFConfig) throws {
        let path = config.path
        func need(_ v: Int?, _ key: String) throws -> Int {
            guard let v else { throw ModelFileError.missing(path: path, what: "key", name: key) }
            guard v > 0 else {
                throw ModelFileError.invalidField(path: path, field: key, message: "must be positive, got \(v)")
            }
            return v
        }
        if let t = config.modelType, t != "bert" {
            throw ModelFileError.invalidField(path: path, field: "model_type",
                                              message: "'\(t)' is not a BERT encoder (expected 'bert')")
        }
        vocabSize = try need(config.vocabSize, "vocab_size")
        hiddenSize = try need(config.hiddenSize, "hidden_size")
        numLayers = try need(config.numHiddenLayers, "num_hidden_layers")
        numHeads = try need(config.numAttentionHeads, "num_attention_heads")
        intermediateSize = try need(config.intermediateSize, "intermediate_size")
        maxPositions = try need(config.maxPositionEmbeddings, "max_position_embeddings")
        // transformers' BertConfig defaults.
        typeVocabSize = try need(config.typeVocabSize ?? 2, "type_vocab_size")
        layerNormEps = Float(config.layerNormEps ?? 1e-12)
        padTokenId = config.padTokenId ?? 0
        guard hiddenSize % numHeads == 0 else {
            throw ModelFileError.invalidField(
                path: path, field: "num_attention_heads",
                message: "\(numHeads) heads do not divide hidden_size \(hiddenSize)")
        }
        // "gelu" in transformers' ACT2FN is the exact erf form; the tanh approximations would differ in the 4th
        // digit, so they are refused rather than silently computed the wrong way.
        let act = config.hiddenAct ?? "gelu"
        guard act == "gelu" else {
            throw ModelFileError.invalidField(path: path, field: "hidden_act",
                                              message: "'\(act)' is not supported (the BERT encoder computes 'gelu', exact erf)")
        }
        let pos = config.positionEmbeddingType ?? "absolute"
        guard pos == "absolute" else {
            throw ModelFileError.invalidField(path: path, field: "position_embedding_type",
                                              message: "'\(pos)' is not supported (only 'absolute')")
        }
    }
}

/// One encoder layer's weights, linear weights stored transposed ([in, out]) for `x.matmul(w)`.
struct BertLayerWeights {
    let wqkv: Tensor, bqkv: Tensor      // [d, 3d], [3d]: query, key, value side by side
    let wo: Tensor, bo: Tensor          // [d, d], [d]
    let ln1w: Tensor, ln1b: Tensor      // attention.output.LayerNorm
    let w1: Tensor, b1: Tensor          // [d, i], [i]: intermediate.dense
    let w2: Tensor, b2: Tensor          // [i, d], [d]: output.dense
    let ln2w: Tensor, ln2b: Tensor      // output.LayerNorm
}

/// A BERT encoder's weights and its forward pass over a padded batch of token ids.
final class BertEncoder: @unchecked Sendable {
    let config: BertConfig
    /// Embedding tables as flat row-major floats: gathering rows is a copy, not a GEMM.
    let wordEmbeddings: [Float]        // [vocab, d]
    let positionEmbeddings: [Float]    // [maxPositions, d]
    let tokenTypeEmbeddings: [Float]   // [typeVocab, d]
    let embLnW: Tensor, embLnB: Tensor
    let layers: [BertLayerWeights]

    /// Loads the encoder's tensors from `model`, checking every shape against `config`. Names are those of
    /// BertModel (`embeddings.word_embeddings.weight`, `encoder.layer.N.attention.self.query.weight`, ...), with
    /// or without the `bert.` prefix that BertForMaskedLM-style checkpoints add.
    init(model: SafetensorsModel, config: BertConfig) throws {
        self.config = config
        let prefix = model.locate("embeddings.word_embeddings.weight") == nil
            && model.locate("bert.embeddings.word_embeddings.weight") != nil ? "bert." : ""
        let c = config
        let d = c.hiddenSize

        /// The tensor `name` as floats, after checking its shape is `shape`.
        func floats(_ name: String, _ shape: [Int], _ why: String) throws -> [Float] {
            let full = prefix + name
            guard let (file, info) = model.locate(full) else {
                throw ModelFileError.missing(path: model.directory.appendingPathComponent("model.safetensors").path,
                                             what: "tensor", name: full)
            }
            guard info.shape == shape else {
                throw ModelFileError.badTensorShape(
                    path: file.path, tensor: full,
                    message: "shape \(info.shape) disagrees with config.json (\(why)), which needs \(shape)")
            }
            return try file.floats(of: info)
        }
        func tensor(_ name: String, _ shape: [Int], _ why: String) throws -> Tensor {
            try Tensor(shape: shape, data: try floats(name, shape, why))
        }
        /// A Linear's weight [out, in], returned transposed as [in, out].
        func linear(_ name: String, out: Int, in n: Int, _ why: String) throws -> Tensor {
            try tensor(name, [out, n], why).T
        }
        /// A LayerNorm's weight and bias; pre-2019 checkpoints call them gamma and beta.
        func layerNorm(_ base: String) throws -> (Tensor, Tensor) {
            let modern = model.locate(prefix + base + ".weight") != nil || model.locate(prefix + base + ".gamma") == nil
            let (w, b) = modern ? ("weight", "bias") : ("gamma", "beta")
            return (try tensor("\(base).\(w)", [d], "hidden_size \(d)"), try tensor("\(base).\(b)", [d], "hidden_size \(d)"))
        }

        let hd = "hidden_size \(d)"
        wordEmbeddings = try floats("embeddings.word_embeddings.weight", [c.vocabSize, d], "vocab_size \(c.vocabSize), \(hd)")
        positionEmbeddings = try floats("embeddings.position_embeddings.weight", [c.maxPositions, d],
                                        "max_position_embeddings \(c.maxPositions), \(hd)")
        tokenTypeEmbeddings = try floats("embeddings.token_type_embeddings.weight", [c.typeVocabSize, d],
                                         "type_vocab_size \(c.typeVocabSize), \(hd)")
        (embLnW, embLnB) = try layerNorm("embeddings.LayerNorm")

        var layers: [BertLayerWeights] = []
        let inter = c.intermediateSize
        let ih = "intermediate_size \(inter), \(hd)"
        for l in 0..<c.numLayers {
            let p = "encoder.layer.\(l)."
            let q = try linear(p + "attention.self.query.weight", out: d, in: d, hd)
            let k = try linear(p + "attention.self.key.weight", out: d, in: d, hd)
            let v = try linear(p + "attention.self.value.weight", out: d, in: d, hd)
            let bq = try tensor(p + "attention.self.query.bias", [d], hd)
            let bk = try tensor(p + "attention.self.key.bias", [d], hd)
            let bv = try tensor(p + "attention.self.value.bias", [d], hd)
            let (ln1w, ln1b) = try layerNorm(p + "attention.output.LayerNorm")
            let (ln2w, ln2b) = try layerNorm(p + "output.LayerNorm")
            layers.append(BertLayerWeights(
                wqkv: try Tensor.concat([q, k, v], axis: 1), bqkv: try Tensor.concat([bq, bk, bv], axis: 0),
                wo: try linear(p + "attention.output.dense.weight", out: d, in: d, hd),
                bo: try tensor(p + "attention.output.dense.bias", [d], hd),
                ln1w: ln1w, ln1b: ln1b,
                w1: try linear(p + "intermediate.dense.weight", out: inter, in: d, ih),
                b1: try tensor(p + "intermediate.dense.bias", [inter], ih),
                w2: try linear(p + "output.dense.weight", out: d, in: inter, ih),
                b2: try tensor(p + "output.dense.bias", [d], hd),
                ln2w: ln2w, ln2b: ln2b))
        }
        self.layers = layers
    }

    /// The last hidden state of a batch: `ids[b]` are sequence b's token ids (special tokens included), shorter
    /// sequences padded on the right to the longest. Returns [B, T, d] with T the longest length; rows at padded
    /// positions hold values (padding tokens are attended by nobody, but still computed) that callers ignore.
    func forward(_ ids: [[Int]]) throws -> Tensor {
        let c = config, d = c.hiddenSize, h = c.numHeads, dh = c.headDim
        let b = ids.count, t = ids.map(\.count).max() ?? 0
        guard b > 0, t > 0 else { return try Tensor.zeros([b, t, d]) }
        // SentenceEncoder truncates and checks ids before calling; these guard direct callers.
        precondition(t <= c.maxPositions, "\(t) tokens exceed max_position_embeddings \(c.maxPositions)")

        // Embeddings: word + position + token type 0, gathered row by row.
        var x0 = [Float](repeating: 0, count: b * t * d)
        for (s, seq) in ids.enumerated() {
            for p in 0..<t {
                let id = p < seq.count ? seq[p] : c.padTokenId
                precondition(id >= 0 && id < c.vocabSize, "token id \(id) outside the vocabulary of \(c.vocabSize)")
                let o = (s * t + p) * d
                for i in 0..<d {
                    x0[o + i] = wordEmbeddings[id * d + i] + positionEmbeddings[p * d + i] + tokenTypeEmbeddings[i]
                }
            }
        }
        var x = try Tensor(shape: [b * t, d], data: x0).layerNorm(weight: embLnW, bias: embLnB, eps: c.layerNormEps)

        // Additive key mask [B, 1, 1, T], broadcast over heads and queries. float32.min, as transformers uses:
        // exp underflows to exactly 0, and unlike -inf it cannot produce NaN.
        var m = [Float](repeating: 0, count: b * t)
        for (s, seq) in ids.enumerated() where seq.count < t {
            for p in seq.count..<t { m[s * t + p] = -Float.greatestFiniteMagnitude }
        }
        let mask = try Tensor(shape: [b, 1, 1, t], data: m)

        for w in layers {
            let qkv = try x.matmul(w.wqkv) + w.bqkv                                   // [B*T, 3d]
            let heads = try qkv.reshape([b, t, 3, h, dh]).permute([2, 0, 3, 1, 4])    // [3, B, h, T, dh]
            let parts = try heads.split(sections: 3, axis: 0).map { try $0.reshape([b, h, t, dh]) }
            let z = try Tensor.attention(q: parts[0], k: parts[1], v: parts[2], mask: mask)
            let merged = try z.permute([0, 2, 1, 3]).reshape([b * t, d])
            x = try (x + merged.matmul(w.wo) + w.bo).layerNorm(weight: w.ln1w, bias: w.ln1b, eps: c.layerNormEps)
            let inner = try (x.matmul(w.w1) + w.b1).gelu(approximate: false)
            x = try (x + inner.matmul(w.w2) + w.b2).layerNorm(weight: w.ln2w, bias: w.ln2b, eps: c.layerNormEps)
        }
        return try x.reshape([b, t, d])
    }
}
