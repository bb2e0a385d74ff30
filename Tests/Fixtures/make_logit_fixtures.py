#!/usr/bin/env python3
"""Reference logits for LoupeModels' decoder tests (Tests/LoupeModelsTests/LogitsTests.swift).

For each model:
  * real weights (SmolLM2-135M-Instruct Q4_1, Gemma-3-270M Q4_K_M): an F32 copy of the GGUF file is written to /tmp
    (every tensor dequantized by PyPI gguf's own `gguf.quants.dequantize`, metadata unchanged), because llama.cpp on
    a quantized file quantizes activations to 8 bits and moves log-probabilities by ~0.3 nat; on the F32 copy it
    computes in float32 throughout (the KV cache is kept in F32 too: type_k = type_v = F32).
  * qwen2 and qwen3, which ship no small checkpoints: tiny random-weight GGUF files written here with gguf.GGUFWriter
    (a byte-level BPE vocabulary of 256 bytes + a few merges, so that llama.cpp accepts them), committed next to the
    fixtures (a few hundred KB each) because the Swift tests load them.

The reference is llama.cpp (PyPI llama-cpp-python, n_threads=2, logits_all=True). A float64 numpy implementation of
the same architectures (`NumpyDecoder`) is kept as a second, independent reference: the script checks that llama.cpp
and numpy agree before writing anything (`--numpy-only` writes numpy's numbers when llama.cpp is not installed).

Stored per prompt: the token ids, for every position the reference's top-50 token ids and their log-softmax
values, the greedy continuation (20 tokens, each step's argmax fed back) and each step's top-two logit gap.

Usage: python3 Tests/Fixtures/make_logit_fixtures.py [--models-dir ~/.loupe/models] [--numpy-only]
"""
import argparse
import base64
import json
import os
import sys

import numpy as np
import gguf
from gguf import GGUFReader, GGUFWriter, GGMLQuantizationType
from gguf.quants import dequantize

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "LoupeModelsTests", "Fixtures")
TOP = 50
GREEDY = 20

REAL = {
    "smollm2": ("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "gemma3": ("gemma-3-270m", "gemma-3-270m-q4_k_m.gguf"),
}

# Prompts as text for the real models (tokenized by llama.cpp itself, BOS as the file says).
TEXTS = [
    "The capital of France is",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
    "Once upon a time, in a small village by the sea, there lived an old fisherman who",
    "Water boils at 100 degrees Celsius. At the top of a high mountain, water boils at a",
    "1, 2, 3, 5, 8, 13, 21,",
    "Question: What is the largest planet in the solar system?\nAnswer:",
]


# ----------------------------------------------------------------------------------------------------------------
# Reading GGUF files

def field_value(reader, key):
    f = reader.fields.get(key)
    if f is None:
        return None
    return f.contents()


def tensors_f32(reader):
    """name -> float32 numpy array in numpy order (ggml dims reversed), dequantized by gguf."""
    out = {}
    for t in reader.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        a = dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        out[t.name] = a.reshape(shape)
    return out


def copy_as_f32(src, dst):
    """Writes `dst`: the same metadata as `src`, every tensor dequantized to F32."""
    reader = GGUFReader(src)
    arch = field_value(reader, "general.architecture")
    w = GGUFWriter(dst, arch)
    for key, f in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        vtype = f.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            sub = f.types[1] if len(f.types) > 1 else None
            w.add_key_value(key, f.contents(), vtype, sub_type=sub)
        else:
            w.add_key_value(key, f.contents(), vtype)
    for name, a in tensors_f32(reader).items():
        w.add_tensor(name, np.ascontiguousarray(a, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ----------------------------------------------------------------------------------------------------------------
# Independent float64 reference

class NumpyDecoder:
    """llama / qwen2 / qwen3 / gemma3 forward pass in float64, written from the architectures' definitions."""

    def __init__(self, path):
        r = GGUFReader(path)
        self.arch = field_value(r, "general.architecture")
        a = self.arch
        g = lambda k, d=None: field_value(r, f"{a}.{k}") if field_value(r, f"{a}.{k}") is not None else d
        self.layers = g("block_count")
        self.d = g("embedding_length")
        self.heads = g("attention.head_count")
        self.kv = g("attention.head_count_kv", self.heads)
        self.hd = g("attention.key_length", self.d // self.heads)
        self.eps = g("attention.layer_norm_rms_epsilon")
        self.base = g("rope.freq_base", 10000.0)
        self.rot = g("rope.dimension_count", self.hd)
        self.window = g("attention.sliding_window") if a == "gemma3" else None
        self.t = {k: v for k, v in tensors_f32(r).items()}

    def rms(self, x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + self.eps) * w.astype(np.float64)

    def rope(self, x, pos, base):
        # x: [T, H, hd]
        n = self.rot
        inv = base ** (-np.arange(0, n, 2, dtype=np.float64) / n)
        ang = pos[:, None] * inv[None, :]  # [T, n/2]
        c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
        y = x.copy()
        if self.arch == "llama":  # adjacent pairs
            a, b = x[..., 0:n:2], x[..., 1:n:2]
            y[..., 0:n:2] = a * c - b * s
            y[..., 1:n:2] = a * s + b * c
        else:  # rotate halves
            a, b = x[..., : n // 2], x[..., n // 2: n]
            y[..., : n // 2] = a * c - b * s
            y[..., n // 2: n] = a * s + b * c
        return y

    def W(self, name):
        return self.t[name].astype(np.float64)

    def logits(self, ids):
        ids = np.asarray(ids)
        T = len(ids)
        a = self.arch
        x = self.t["token_embd.weight"][ids].astype(np.float64)
        if a == "gemma3":
            x = x * np.sqrt(self.d)
        pos = np.arange(T, dtype=np.float64)
        for l in range(self.layers):
            p = f"blk.{l}."
            h = self.rms(x, self.t[p + "attn_norm.weight"])
            q = h @ self.W(p + "attn_q.weight").T
            k = h @ self.W(p + "attn_k.weight").T
            v = h @ self.W(p + "attn_v.weight").T
            if a == "qwen2":
                q = q + self.t[p + "attn_q.bias"]
                k = k + self.t[p + "attn_k.bias"]
                v = v + self.t[p + "attn_v.bias"]
            q = q.reshape(T, self.heads, self.hd)
            k = k.reshape(T, self.kv, self.hd)
            v = v.reshape(T, self.kv, self.hd)
            if a in ("qwen3", "gemma3"):
                q = self.rms(q, self.t[p + "attn_q_norm.weight"])
                k = self.rms(k, self.t[p + "attn_k_norm.weight"])
            local = a == "gemma3" and (l + 1) % 6 != 0
            base = 10000.0 if local else self.base
            q, k = self.rope(q, pos, base), self.rope(k, pos, base)
            group = self.heads // self.kv
            z = np.zeros((T, self.heads, self.hd))
            mask = np.triu(np.full((T, T), -np.inf), 1)
            if local and self.window:
                i, j = np.arange(T)[:, None], np.arange(T)[None, :]
                mask = np.where(i - j >= self.window, -np.inf, mask)
            for hh in range(self.heads):
                s = q[:, hh] @ k[:, hh // group].T / np.sqrt(self.hd) + mask
                s = np.exp(s - s.max(-1, keepdims=True))
                s /= s.sum(-1, keepdims=True)
                z[:, hh] = s @ v[:, hh // group]
            o = z.reshape(T, -1) @ self.W(p + "attn_output.weight").T
            if a == "gemma3":
                o = self.rms(o, self.t[p + "post_attention_norm.weight"])
            x = x + o
            h = self.rms(x, self.t[p + "ffn_norm.weight"])
            gt = h @ self.W(p + "ffn_gate.weight").T
            up = h @ self.W(p + "ffn_up.weight").T
            if a == "gemma3":
                act = 0.5 * gt * (1 + np.tanh(np.sqrt(2 / np.pi) * (gt + 0.044715 * gt ** 3)))
            else:
                act = gt / (1 + np.exp(-gt))
            m = (act * up) @ self.W(p + "ffn_down.weight").T
            if a == "gemma3":
                m = self.rms(m, self.t[p + "post_ffw_norm.weight"])
            x = x + m
        h = self.rms(x, self.t["output_norm.weight"])
        out = self.t.get("output.weight", self.t["token_embd.weight"])
        # Chunked so a 262k-row table is never upcast whole.
        logits = np.empty((T, out.shape[0]))
        for i in range(0, out.shape[0], 32768):
            logits[:, i:i + 32768] = h @ out[i:i + 32768].astype(np.float64).T
        return logits


def log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


# ----------------------------------------------------------------------------------------------------------------
# llama.cpp

class LlamaCpp:
    def __init__(self, path):
        from llama_cpp import Llama
        self.llm = Llama(model_path=path, n_ctx=512, n_batch=512, n_threads=2, logits_all=True, verbose=False,
                         type_k=0, type_v=0, flash_attn=False)
        self.version = __import__("llama_cpp").__version__

    def tokenize(self, text, add_bos):
        return self.llm.tokenize(text.encode(), add_bos=add_bos, special=False)

    def logits(self, ids):
        self.llm.reset()
        self.llm.eval(list(ids))
        return np.array(self.llm.scores[: len(ids)], dtype=np.float64)

    def greedy(self, ids, n):
        """Greedy continuation; returns (tokens, top-two gaps)."""
        self.llm.reset()
        self.llm.eval(list(ids))
        toks, gaps = [], []
        for _ in range(n):
            z = np.array(self.llm.scores[self.llm.n_tokens - 1], dtype=np.float64)
            top2 = np.sort(z)[-2:]
            t = int(np.argmax(z))
            toks.append(t)
            gaps.append(float(top2[1] - top2[0]))
            self.llm.eval([t])
        return toks, gaps


def numpy_greedy(ref, ids, n):
    ids = list(ids)
    toks, gaps = [], []
    for _ in range(n):
        z = ref.logits(ids)[-1]
        top2 = np.sort(z)[-2:]
        t = int(np.argmax(z))
        toks.append(t)
        gaps.append(float(top2[1] - top2[0]))
        ids.append(t)
    return toks, gaps


def fixture(name, source, prompts, engine, ref, numpy_only, cross_check=True):
    """Computes the reference numbers for every prompt; checks llama.cpp against numpy on the way."""
    out = {"model": name, "source": source, "top": TOP, "prompts": []}
    worst = 0.0
    for ids in prompts:
        z = ref.logits(ids) if numpy_only else engine.logits(ids)
        lp = log_softmax(z)
        if not numpy_only and cross_check:
            # Second reference: float64 numpy on the same (dequantized) weights.
            lp64 = log_softmax(ref.logits(ids))
            top = np.argsort(-lp, axis=-1)[:, :TOP]
            diff = np.abs(np.take_along_axis(lp, top, -1) - np.take_along_axis(lp64, top, -1)).max()
            worst = max(worst, float(diff))
        top = np.argsort(-lp, axis=-1, kind="stable")[:, :TOP]
        vals = np.take_along_axis(lp, top, -1)
        toks, gaps = numpy_greedy(ref, ids, GREEDY) if numpy_only else engine.greedy(ids, GREEDY)
        out["prompts"].append({
            "ids": [int(i) for i in ids],
            "top_ids": top.tolist(),
            "top_logprobs": [[round(float(v), 6) for v in row] for row in vals],
            "greedy": toks,
            "greedy_gaps": [round(g, 6) for g in gaps],
        })
    out["reference"] = ("numpy float64 (llama.cpp unavailable)" if numpy_only
                        else f"llama.cpp (llama-cpp-python {engine.version}) on an F32 copy, 2 threads, F32 KV cache")
    if not numpy_only and cross_check:
        out["llama_cpp_vs_numpy_max_abs_logprob_diff"] = round(worst, 6)
        print(f"  {name}: llama.cpp vs numpy float64, max |d log p| over top-{TOP}: {worst:.5f}")
    return out


def approx_tokenize(reader, text, add_bos):
    """Word-level lookup in the file's vocabulary (whole words with their leading space, else single characters).

    Only for --numpy-only runs without llama.cpp: the ids need not be the tokenizer's, just valid, text-like input.
    """
    tokens = field_value(reader, "tokenizer.ggml.tokens")
    index = {t: i for i, t in enumerate(tokens)}
    spm = field_value(reader, "tokenizer.ggml.model") == "llama"
    space, newline = ("▁", "\n") if spm else ("Ġ", "Ċ")
    ids = [int(field_value(reader, "tokenizer.ggml.bos_token_id"))] if add_bos else []
    words = text.replace("\n", " \n ").split(" ")
    for k, w in enumerate(words):
        if w == "":
            continue
        piece = newline if w == "\n" else ((space if k > 0 and words[k - 1] != "\n" else "") + w)
        if piece in index:
            ids.append(index[piece])
        else:
            ids.extend(index[c] for c in piece if c in index)
    return ids


# ----------------------------------------------------------------------------------------------------------------
# Tiny random-weight qwen2 / qwen3 files

def byte_vocab():
    """GPT-2's byte-to-unicode table: 256 single-byte tokens, a few merges, and special tokens."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_tokens = [chr(c) for c in cs]
    merges = ["Ġ t", "Ġ a", "h e", "i n", "Ġt he", "e r"]
    merged = [m.replace(" ", "") for m in merges]
    tokens = byte_tokens + merged + ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    types = [1] * (len(byte_tokens) + len(merged)) + [3, 3, 3]
    return tokens, types, merges


def write_random(path, arch, seed):
    rng = np.random.default_rng(seed)
    tokens, types, merges = byte_vocab()
    V = len(tokens)
    d, heads, kv, ff, layers = 64, 4, 2, 128, 2
    hd = 16 if arch == "qwen2" else 32  # qwen3: head size is its own key (not d / heads)
    wtype = np.float32 if arch == "qwen2" else np.float16
    w = GGUFWriter(path, arch)
    w.add_name(f"loupe-random-{arch}")
    w.add_block_count(layers)
    w.add_context_length(256)
    w.add_embedding_length(d)
    w.add_feed_forward_length(ff)
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_rope_freq_base(1_000_000.0)
    w.add_layer_norm_rms_eps(1e-6)
    if arch == "qwen3":
        w.add_key_length(hd)
        w.add_value_length(hd)
    w.add_file_type(0 if wtype == np.float32 else 1)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(V - 3)
    w.add_eos_token_id(V - 1)
    w.add_add_bos_token(False)

    def mat(rows, cols, gain=1.0):
        return (rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(wtype)

    def norm(n):
        return (1 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    w.add_tensor("token_embd.weight", rng.standard_normal((V, d)).astype(wtype))
    w.add_tensor("output_norm.weight", norm(d))
    # Untied outputs: a tied one (h . E with the token's own row dominating) makes random models repeat one token,
    # which would leave the greedy check nothing to compare. Tied outputs are covered by SmolLM2 and Gemma 3.
    w.add_tensor("output.weight", mat(V, d, gain=4.0))
    for l in range(layers):
        p = f"blk.{l}."
        w.add_tensor(p + "attn_norm.weight", norm(d))
        w.add_tensor(p + "attn_q.weight", mat(heads * hd, d, 2.0))
        w.add_tensor(p + "attn_k.weight", mat(kv * hd, d, 2.0))
        w.add_tensor(p + "attn_v.weight", mat(kv * hd, d))
        if arch == "qwen2":
            w.add_tensor(p + "attn_q.bias", (0.1 * rng.standard_normal(heads * hd)).astype(np.float32))
            w.add_tensor(p + "attn_k.bias", (0.1 * rng.standard_normal(kv * hd)).astype(np.float32))
            w.add_tensor(p + "attn_v.bias", (0.1 * rng.standard_normal(kv * hd)).astype(np.float32))
        else:
            w.add_tensor(p + "attn_q_norm.weight", norm(hd))
            w.add_tensor(p + "attn_k_norm.weight", norm(hd))
        w.add_tensor(p + "attn_output.weight", mat(d, heads * hd))
        w.add_tensor(p + "ffn_norm.weight", norm(d))
        w.add_tensor(p + "ffn_gate.weight", mat(ff, d))
        w.add_tensor(p + "ffn_up.weight", mat(ff, d))
        w.add_tensor(p + "ffn_down.weight", mat(d, ff))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return V


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models-dir", default=os.path.expanduser("~/.loupe/models"))
    ap.add_argument("--numpy-only", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--skip-numpy", action="store_true",
                    help="skip the float64 numpy cross-check of llama.cpp (slow for Gemma's 262k vocabulary)")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None

    for arch, seed in (("qwen2", 2), ("qwen3", 3)):
        if only and arch not in only:
            continue
        # The GGUF itself is written to /tmp; the repository keeps it base64-wrapped in JSON (no *.gguf files are
        # committed), and the Swift tests unwrap it into a temporary file.
        path = f"/tmp/loupe-random_{arch}.gguf"
        V = write_random(path, arch, seed)
        with open(path, "rb") as g, open(os.path.join(OUT, f"random_{arch}.gguf.json"), "w") as f:
            json.dump({"file": f"random_{arch}.gguf", "base64": base64.b64encode(g.read()).decode("ascii")}, f)
        print(f"{arch}: wrote {path} ({os.path.getsize(path)} bytes, vocab {V})")
        rng = np.random.default_rng(100 + seed)
        prompts = [rng.integers(0, V - 3, size=n).tolist() for n in (5, 9, 13, 17, 24)]
        # llama.cpp rounds activations to F16 when it multiplies F16 weights: run it on an F32 copy, as for the
        # quantized real models (Loupe reads the F16 file itself).
        ref_path = path
        if arch == "qwen3":
            ref_path = f"/tmp/loupe-f32-random_{arch}.gguf"
            copy_as_f32(path, ref_path)
        engine = None if args.numpy_only else LlamaCpp(ref_path)
        fx = fixture(f"random-{arch}", f"random_{arch}.gguf", prompts, engine, NumpyDecoder(path), args.numpy_only)
        with open(os.path.join(OUT, f"logits_{arch}.json"), "w") as f:
            json.dump(fx, f, separators=(",", ":"))

    for key, (store, fname) in REAL.items():
        if only and key not in only:
            continue
        src = os.path.join(args.models_dir, store, fname)
        dst = f"/tmp/loupe-f32-{fname.replace('.gguf', '')}.f32.gguf"
        if not os.path.exists(dst):
            print(f"{key}: writing F32 copy {dst}")
            copy_as_f32(src, dst)
        ref = None if args.skip_numpy and not args.numpy_only else NumpyDecoder(dst)
        engine = None if args.numpy_only else LlamaCpp(dst)
        src_reader = GGUFReader(src)
        add_bos = bool(field_value(src_reader, "tokenizer.ggml.add_bos_token"))
        if engine:
            prompts = [engine.tokenize(t, add_bos) for t in TEXTS]
        else:
            prompts = [approx_tokenize(src_reader, t, add_bos) for t in TEXTS]
        fx = fixture(store, fname, prompts, engine, ref, args.numpy_only, cross_check=ref is not None)
        fx["texts"] = TEXTS
        with open(os.path.join(OUT, f"logits_{key}.json"), "w") as f:
            json.dump(fx, f, separators=(",", ":"))
        print(f"{key}: {sum(len(p) for p in prompts)} positions")


if __name__ == "__main__":
    main()
