#!/usr/bin/env python3
"""Reference fixtures for the concept-availability method (Sources/LoupeMethods/Availability.swift).

Writes Tests/LoupeMethodsTests/Fixtures/availability.json with:
  concept_sets   for aliases of data/qa/facts.jsonl and the MMLU letter forms, the concept token set that
                 llama.cpp's tokenizer gives (first token of every casing / leading-space variant, tokens without a
                 letter or digit left out) for SmolLM2-135M-Instruct and Gemma-3-270M (vocab only);
  prompts        three chat prompts of SmolLM2 rendered with jinja2 from the file's chat template (as Hugging Face's
                 apply_chat_template: trim_blocks, lstrip_blocks) and tokenized by llama.cpp; for each, llama.cpp's
                 next-token distribution on an F32 copy of the model (the weights dequantized by gguf-python, so
                 that llama.cpp and Loupe multiply the same float weights) gives P-mass, concentration and the greedy
                 token, plus the teacher-forced multi-token mass of the aliases and the 8-token greedy answer;
  probe          synthetic last-token states (3 layers x 8 dims, 48 items) with labels and P-mass, and the per-layer
                 stratified 5-fold AUROC of sklearn's make_pipeline(StandardScaler(), LogisticRegression(C=1)) on
                 the available items (P-mass >= 0.3), raw and after projection on 4 principal components.

Run from the repository root:  python3 Tests/Fixtures/make_availability_fixtures.py [--models-dir ~/.loupe/models]
Needs llama-cpp-python, gguf, numpy, jinja2, scikit-learn.
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "Tests", "LoupeMethodsTests", "Fixtures", "availability.json")
sys.path.insert(0, HERE)

SMOL = ("smollm2-135m-instruct", "SmolLM2-135M-Instruct.Q4_1.gguf")
GEMMA = ("gemma-3-270m", "gemma-3-270m-q4_k_m.gguf")

# The default prompt style of Availability.PromptStyle.facts (keep in step with the Swift source).
SYSTEM = "Answer with only the answer: a word, a name or a number."
SHOTS = [("What is the capital of Italy?", "Rome"), ("What is 2 plus 3?", "5"), ("What is the opposite of big?", "small")]
PROMPT_IDS = ["capi-001", "capi-080", "plur-001"]
CONCEPT_IDS = ["capi-001", "capi-020", "capi-041", "capi-042", "capi-043", "capi-061", "capi-066", "capi-072",
               "arit-001", "arit-030", "numb-003", "oppo-001", "oppo-006", "plur-001", "plur-010", "colo-001",
               "anim-001", "gene-031", "gene-032", "past-001"]


def surface_variants(alias):
    """As Availability.surfaceVariants: as written, lower, first letter upper, upper; without and with a space."""
    t = alias.strip()
    if not t:
        return []
    out = []
    for form in [t, t.lower(), t[:1].upper() + t[1:], t.upper()]:
        for s in [form, " " + form]:
            if s not in out:
                out.append(s)
    return out


def letter_forms(letter):
    return [f" {letter}", letter, f"({letter})", f" ({letter})", f"{letter}."]


class Vocab:
    def __init__(self, path):
        from llama_cpp import Llama
        self.llm = Llama(model_path=path, vocab_only=True, verbose=False)

    def tokenize(self, text, special=False):
        return self.llm.tokenize(text.encode(), add_bos=False, special=special)

    def piece(self, t):
        return self.llm.detokenize([t], special=True).decode("utf-8", errors="replace")

    def concept(self, strings):
        tokens, variants = [], []
        for s in strings:
            ids = self.tokenize(s)
            first = ids[0] if ids else None
            if first is not None and not any(ch.isalnum() for ch in self.piece(first)):
                first = None
            variants.append([s, first])
            if first is not None and first not in tokens:
                tokens.append(first)
        return {"tokens": tokens, "variants": variants}


def softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max()
    return z - m - np.log(np.exp(z - m).sum())


def render_chat(template_source, messages):
    import jinja2
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    return env.from_string(template_source).render(messages=messages, add_generation_prompt=True,
                                                   bos_token="<|im_start|>", eos_token="<|im_end|>")


def prompt_fixtures(models_dir, facts):
    from gguf import GGUFReader
    from llama_cpp import Llama
    from make_logit_fixtures import copy_as_f32, field_value
    src = os.path.join(models_dir, *SMOL)
    dst = "/tmp/loupe-f32-SmolLM2-135M-Instruct.Q4_1.f32.gguf"
    if not os.path.exists(dst):
        print(f"writing F32 copy {dst}")
        copy_as_f32(src, dst)
    reader = GGUFReader(src)
    template = field_value(reader, "tokenizer.chat_template")
    add_bos = bool(field_value(reader, "tokenizer.ggml.add_bos_token"))
    eos = {int(field_value(reader, "tokenizer.ggml.eos_token_id"))}
    llm = Llama(model_path=dst, n_ctx=512, n_batch=512, n_threads=2, logits_all=True, verbose=False,
                type_k=0, type_v=0, flash_attn=False)
    vocab = Vocab(src)
    out = []
    for fid in PROMPT_IDS:
        item = facts[fid]
        messages = [{"role": "system", "content": SYSTEM}]
        for q, a in SHOTS:
            messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        messages.append({"role": "user", "content": item["question"]})
        text = render_chat(template, messages)
        ids = llm.tokenize(text.encode(), add_bos=add_bos, special=True)
        llm.reset()
        llm.eval(ids)
        p = softmax(llm.scores[len(ids) - 1])
        concept = vocab.concept([v for a in item["aliases"] for v in surface_variants(a)])
        c = concept["tokens"]
        pmass = float(p[c].sum())
        top = max(c, key=lambda t: p[t])
        greedy = int(np.argmax(p))
        # Greedy answer: up to 8 tokens, stop at EOS or a newline.
        answer = []
        t = greedy
        while t not in eos:
            answer.append(t)
            if "\n" in llm.detokenize(answer).decode("utf-8", errors="replace") or len(answer) >= 8:
                break
            llm.eval([t])
            t = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        # Teacher-forced mass of each distinct alias tokenization.
        seqs, seen = [], set()
        for s in [v for a in item["aliases"] for v in surface_variants(a)]:
            toks = vocab.tokenize(s)
            if not toks or tuple(toks) in seen:
                continue
            seen.add(tuple(toks))
            llm.reset()
            llm.eval(ids + toks[:-1])
            lp = 0.0
            for i, tk in enumerate(toks):
                lp += float(log_softmax(llm.scores[len(ids) - 1 + i])[tk])
            seqs.append({"text": s, "tokens": toks, "probability": float(np.exp(lp))})
        out.append({"id": fid, "question": item["question"], "text": text, "ids": ids, "concept": c,
                    "p_mass": pmass, "concentration": float(p[top] / pmass), "top_token": int(top),
                    "greedy": greedy, "greedy_p": float(p[greedy]),
                    "runner_up_gap": float(np.sort(np.log(p))[-1] - np.sort(np.log(p))[-2]),
                    "answer_tokens": answer, "answer": llm.detokenize(answer).decode("utf-8", errors="replace"),
                    "sequences": seqs, "sequence_mass": float(sum(s["probability"] for s in seqs))})
        print(fid, item["question"], "p_mass", round(pmass, 4), "greedy", repr(vocab.piece(greedy)), "answer", repr(out[-1]["answer"]))
    return out


def probe_fixture():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    rng = np.random.default_rng(6)
    n, layers, d = 48, 3, 8
    hallucinated = rng.random(n) < 0.45
    pmass = rng.uniform(0, 1, n)
    hidden = rng.normal(size=(n, layers, d)).astype(np.float32)
    # Layer 0: noise; layer 1: a weak signal in one direction; layer 2: a strong one.
    hidden[:, 1, 0] += 0.8 * hallucinated
    hidden[:, 2, :3] += 1.5 * hallucinated[:, None]
    keep = pmass >= 0.3
    y = hallucinated[keep].astype(int)
    res = {"raw": [], "pca4": []}
    for l in range(layers):
        x = hidden[keep, l, :].astype(np.float64)
        pipe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0))
        res["raw"].append(cross_val_score(pipe, x, y, cv=StratifiedKFold(5), scoring="roc_auc").tolist())
        xc = x - x.mean(0)
        u, s, _ = np.linalg.svd(xc, full_matrices=False)
        z = u[:, :4] * s[:4]
        pipe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0))
        res["pca4"].append(cross_val_score(pipe, z, y, cv=StratifiedKFold(5), scoring="roc_auc").tolist())
    return {"hidden": hidden.tolist(), "correct": (~hallucinated).tolist(), "p_mass": pmass.tolist(), "tau": 0.3,
            "auroc_raw": res["raw"], "auroc_pca4": res["pca4"], "items": int(keep.sum()), "hallucinated": int(y.sum())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models-dir", default=os.path.expanduser("~/.loupe/models"))
    args = ap.parse_args()
    facts = {}
    with open(os.path.join(ROOT, "data", "qa", "facts.jsonl")) as f:
        for line in f:
            if line.strip():
                o = json.loads(line)
                facts[o["id"]] = o
    concept_sets = {}
    for key, (store, fname) in {"smollm2": SMOL, "gemma3": GEMMA}.items():
        vocab = Vocab(os.path.join(args.models_dir, store, fname))
        rows = []
        for fid in CONCEPT_IDS:
            aliases = facts[fid]["aliases"]
            rows.append({"id": fid, "aliases": aliases, "variants": True,
                         **vocab.concept([v for a in aliases for v in surface_variants(a)])})
        for letter in "ABCD":
            rows.append({"id": f"letter-{letter}", "aliases": letter_forms(letter), "variants": False,
                         **vocab.concept(letter_forms(letter))})
        concept_sets[key] = rows
    import llama_cpp
    fx = {"llama_cpp": llama_cpp.__version__, "concept_sets": concept_sets,
          "prompts": prompt_fixtures(args.models_dir, facts), "probe": probe_fixture()}
    with open(OUT, "w") as f:
        json.dump(fx, f, separators=(",", ":"))
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
