#!/usr/bin/env python3
"""Checks a model trained and saved by Loupe against independent readers of the saved files.

1. Runs Loupe (the `loupe` binary) on a script that loads SmolLM2-135M-Instruct, adds LoRA adapters (rank 8,
   alpha 16, on q and v), takes a few Adam steps on a short text, saves the model as GGUF (F32 and F16) and as a
   Hugging Face folder (model.safetensors + config.json), and prints the trained model's logits on a probe sequence.
2. Loads the saved F32 GGUF in llama.cpp (llama-cpp-python, F32 KV cache) and compares its logits with Loupe's.
3. Runs the saved safetensors folder through a float64 numpy forward pass written with transformers' conventions
   (llama and gemma3: rotate-half RoPE on the un-permuted q/k rows, Gemma's 1 + w norms, names and settings from
   config.json) and compares again.
4. Compares the base model's logits (llama.cpp on the untouched source file's F32 copy when present) to show that
   the training moved the model.

Usage: python3 scripts/check_trained_export.py [--loupe .build/debug/loupe] [--model PATH.gguf] [--base-f32 PATH]
       [--steps 5]     (any decoder Loupe runs, e.g. --model ~/.loupe/models/gemma-3-270m/gemma-3-270m-q4_k_m.gguf)
Exits 1 when a comparison is outside its tolerance.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXT = ("The old lighthouse keeper climbed the spiral stairs every evening at dusk. He polished the great lens, "
        "trimmed the wick and lit the lamp, and its beam swept across the dark water until morning.")
PROBE = "Every evening at dusk the old lighthouse keeper"


def find_loupe():
    for p in (".build-train/debug/loupe", ".build/debug/loupe", ".build/release/loupe"):
        if os.path.exists(os.path.join(ROOT, p)):
            return os.path.join(ROOT, p)
    sys.exit("no loupe binary found; build one (swift build) or pass --loupe")


def run_loupe(loupe, model, out, steps):
    script = f"""
let m = model.load({json.dumps(model)})
let ids = m.encode({json.dumps(TEXT)})
let probe = m.encode({json.dumps(PROBE)})
let t = train.model(m, lora: {{rank: 8, alpha: 16, targets: ["q", "v"], seed: 7}})
for i in range({steps}) {{ print("STEP", i, t.step(ids, lr: 2e-3)) }}
print("LOSS_AFTER", t.loss(ids))
t.save({json.dumps(out + "/tuned.gguf")})
t.save({json.dumps(out + "/tuned-f16.gguf")}, dtype: "f16")
t.save({json.dumps(out + "/hf")}, format: "safetensors")
print("PROBE", json.stringify(probe))
print("LOGITS", json.stringify(tolist(t.logits(probe))))
print("BASE_LOGITS", json.stringify(tolist(m.logits(probe))))
"""
    path = os.path.join(out, "train.loupe")
    with open(path, "w") as f:
        f.write(script)
    r = subprocess.run([loupe, "run", path], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"loupe failed ({r.returncode}):\n{r.stderr}")
    res = {"steps": []}
    for line in r.stdout.splitlines():
        key, _, rest = line.partition(" ")
        if key == "STEP":
            res["steps"].append(float(rest.split()[1]))
        elif key == "LOSS_AFTER":
            res["loss_after"] = float(rest)
        elif key == "PROBE":
            res["probe"] = json.loads(rest)
        elif key == "LOGITS":
            res["logits"] = np.array(json.loads(rest), dtype=np.float64)
        elif key == "BASE_LOGITS":
            res["base_logits"] = np.array(json.loads(rest), dtype=np.float64)
    return res


def llama_cpp_logits(path, ids):
    from llama_cpp import Llama
    llm = Llama(model_path=path, n_ctx=256, n_batch=256, n_threads=2, logits_all=True, verbose=False,
                type_k=0, type_v=0, flash_attn=False)
    llm.reset()
    llm.eval(list(ids))
    z = np.array(llm.scores[: len(ids)], dtype=np.float64)
    del llm
    return z


def log_softmax(z):
    m = z.max(-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(-1, keepdims=True))


def hf_forward(folder, ids):
    """llama / gemma3_text forward in float64 with transformers' conventions, from model.safetensors + config.json:
    rotate-half RoPE on the stored q/k rows; Gemma's RMSNorm multiplies by (1 + w), its embeddings by
    sqrt(hidden_size), its attention by query_pre_attn_scalar^-1/2, local layers (layer_types) see a sliding window
    and use rope_local_base_freq."""
    from safetensors.numpy import load_file
    cfg = json.load(open(os.path.join(folder, "config.json")))
    gemma = cfg["model_type"] == "gemma3_text"
    assert gemma or cfg["model_type"] == "llama", cfg["model_type"]
    W = {k: v.astype(np.float64) for k, v in load_file(os.path.join(folder, "model.safetensors")).items()}
    H, KV, hd, eps = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"], cfg["rms_norm_eps"]
    T = len(ids)

    def rms(x, w):
        return x / np.sqrt(np.mean(x * x, -1, keepdims=True) + eps) * ((1 + w) if gemma else w)

    def rotate_half(x):
        return np.concatenate([-x[..., hd // 2:], x[..., : hd // 2]], -1)

    def rope_tables(base):
        inv = base ** (-np.arange(0, hd, 2) / hd)
        ang = np.arange(T)[:, None] * inv[None]
        return np.concatenate([np.cos(ang)] * 2, -1)[:, None, :], np.concatenate([np.sin(ang)] * 2, -1)[:, None, :]

    x = W["model.embed_tokens.weight"][ids]
    if gemma:
        x = x * np.sqrt(cfg["hidden_size"])
    scale = cfg.get("query_pre_attn_scalar", hd) ** -0.5 if gemma else hd ** -0.5
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        local = gemma and cfg["layer_types"][l] == "sliding_attention"
        cos, sin = rope_tables(cfg["rope_local_base_freq"] if local else cfg["rope_theta"])
        mask = np.where((j <= i) & (~local | (i - j < cfg.get("sliding_window", T + 1))), 0.0, -np.inf)
        h = rms(x, W[p + "input_layernorm.weight"])
        q = (h @ W[p + "self_attn.q_proj.weight"].T).reshape(T, H, hd)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).reshape(T, KV, hd)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).reshape(T, KV, hd)
        if gemma:
            q, k = rms(q, W[p + "self_attn.q_norm.weight"]), rms(k, W[p + "self_attn.k_norm.weight"])
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        z = np.zeros((T, H, hd))
        for hh in range(H):
            g = hh // (H // KV)
            s = q[:, hh] @ k[:, g].T * scale + mask
            s = np.exp(s - s.max(-1, keepdims=True))
            z[:, hh] = (s / s.sum(-1, keepdims=True)) @ v[:, g]
        o = z.reshape(T, -1) @ W[p + "self_attn.o_proj.weight"].T
        if gemma:
            o = rms(o, W[p + "post_attention_layernorm.weight"])
        x = x + o
        h = rms(x, W[p + ("pre_feedforward_layernorm.weight" if gemma else "post_attention_layernorm.weight")])
        gt, up = h @ W[p + "mlp.gate_proj.weight"].T, h @ W[p + "mlp.up_proj.weight"].T
        act = 0.5 * gt * (1 + np.tanh(np.sqrt(2 / np.pi) * (gt + 0.044715 * gt ** 3))) if gemma else gt / (1 + np.exp(-gt))
        m = (act * up) @ W[p + "mlp.down_proj.weight"].T
        if gemma:
            m = rms(m, W[p + "post_feedforward_layernorm.weight"])
        x = x + m
    h = rms(x, W["model.norm.weight"])
    out = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    return h @ out.T


def compare(name, ours, ref, tol_lp):
    lp, lr = log_softmax(ours), log_softmax(ref)
    top = np.argsort(-lr, -1)[:, :50]
    d_lp = np.abs(np.take_along_axis(lp, top, -1) - np.take_along_axis(lr, top, -1)).max()
    d_logit = np.abs(ours - ref).max()
    same_argmax = int((ours.argmax(-1) == ref.argmax(-1)).sum())
    ok = d_lp <= tol_lp and same_argmax == len(ours)
    print(f"  {name}: max |Δ logit| {d_logit:.2e}, max |Δ log p| over the top-50 {d_lp:.2e}, "
          f"argmax equal at {same_argmax}/{len(ours)} positions -> {'ok' if ok else 'FAIL'} (tolerance {tol_lp})")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loupe", default=None)
    ap.add_argument("--model", default=os.path.expanduser("~/.loupe/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--base-f32", default="/tmp/loupe-f32-SmolLM2-135M-Instruct.Q4_1.f32.gguf",
                    help="an F32 copy of the source model (Tests/Fixtures/make_logit_fixtures.py writes it)")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="keep the saved files (default: removed at the end)")
    args = ap.parse_args()
    loupe = args.loupe or find_loupe()
    import llama_cpp
    out = tempfile.mkdtemp(prefix="loupe-trained-")
    print(f"loupe: {loupe}\nmodel: {args.model}\nllama-cpp-python {llama_cpp.__version__}\noutput: {out}")
    r = run_loupe(loupe, args.model, out, args.steps)
    print(f"Loupe LoRA training losses: {[round(x, 4) for x in r['steps']]} -> {r['loss_after']:.4f}")
    ids, ours = r["probe"], r["logits"]
    ok = True
    # How far llama.cpp and Loupe's inference engine already are on the untouched model (float32 rounding in
    # different orders; larger for Gemma's sqrt(d)-scaled activations): the trained model may differ by a few times
    # that, never more.
    tol = 2e-3
    if os.path.exists(args.base_f32):
        base = llama_cpp_logits(args.base_f32, ids)
        lp_b, lp_o = log_softmax(base), log_softmax(r["base_logits"])
        top = np.argsort(-lp_b, -1)[:, :50]
        floor = float(np.abs(np.take_along_axis(lp_o, top, -1) - np.take_along_axis(lp_b, top, -1)).max())
        tol = max(tol, 3 * floor)
        print(f"  baseline: Loupe's inference engine on the source vs llama.cpp on its F32 copy: max |Δ log p| over the "
              f"top-50 {floor:.2e} (tolerance below: {tol:.1e})")
    ok &= compare("llama.cpp on the saved F32 GGUF vs Loupe's trained model", ours,
                  llama_cpp_logits(out + "/tuned.gguf", ids), tol)
    ok &= compare("llama.cpp on the saved F16 GGUF vs Loupe's trained model", ours,
                  llama_cpp_logits(out + "/tuned-f16.gguf", ids), 5e-2)
    if json.load(open(out + "/hf/config.json"))["model_type"] in ("llama", "gemma3_text"):
        ok &= compare("numpy float64 (transformers layout) on the saved safetensors vs Loupe", ours,
                      hf_forward(out + "/hf", ids), 1e-3)
    else:
        print("  (the numpy transformers-layout forward covers llama and gemma3: safetensors not checked here)")
    if os.path.exists(args.base_f32):
        d = np.abs(log_softmax(base) - log_softmax(ours)).max()
        print(f"  the training moved the model: max |Δ log p| vs the base model (llama.cpp, F32 copy) = {d:.3f}")
        ok &= d > 1e-2
    if not args.keep:
        import shutil
        shutil.rmtree(out, ignore_errors=True)
    print("all checks passed" if ok else "SOME CHECKS FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
