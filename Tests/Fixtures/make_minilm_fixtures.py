#!/usr/bin/env python3
"""Reference sentence embeddings of all-MiniLM-L6-v2 for Tests/LoupeModelsTests/SentenceEncoderTests.swift.

Writes Tests/LoupeModelsTests/Fixtures/minilm_embeddings.json:
  texts        ~12 sentences (short, long, accents, punctuation, a paraphrase pair, one past max_seq_length)
  token_ids    their ids, [CLS] ... [SEP], truncated to max_seq_length (256) as sentence-transformers does
  embeddings   mean-pooled over non-padding tokens, L2-normalised (modules.json: Transformer, Pooling, Normalize)
  hidden       last_hidden_state [T, 384] of one sentence (`hidden_text`), token by token

Reference route: Hugging Face transformers' FlaxBertModel (transformers 4.x: Flax was removed in 5.0), run by JAX
in float64 (jax_enable_x64, parameters cast from the file's F32) on the model folder's model.safetensors. This is
the real BertModel definition, independent of Loupe's Swift code. sentence-transformers itself needs torch, which
is not installed here, so its two remaining steps (mean pooling with the attention mask, then F.normalize) are
written out below in numpy exactly as sentence_transformers.models.Pooling / Normalize compute them. All texts run
as ONE padded batch with an attention mask, so the reference itself goes through padding.

Tokenization: PyPI `tokenizers` on the same tokenizer.json (independent of Loupe's tokenizer), with the file's
padding turned off and truncation set to max_seq_length from sentence_bert_config.json.

transformers 4.x + flax do not install into the shared Python without downgrading `tokenizers` (which other
fixture scripts record as their reference), so they live in a virtual environment that sees the system packages
(jax 0.10.2 and numpy stay as they are; pip's dry run showed no change to either):

  python3 -m venv --system-site-packages /tmp/bert-venv
  /tmp/bert-venv/bin/pip install "transformers<5" flax
  /tmp/bert-venv/bin/python Tests/Fixtures/make_minilm_fixtures.py [--model DIR]

--model: the model folder (default $LOUPE_HOME/models/all-minilm-l6-v2, LOUPE_HOME defaulting to ~/.loupe).
"""
import argparse
import json
import os
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import FlaxBertModel  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "LoupeModelsTests" / "Fixtures" / "minilm_embeddings.json"

LONG = ("The history of natural language processing generally started in the 1950s, although work can be found "
        "from earlier periods. In 1950, Alan Turing published an article titled 'Computing Machinery and "
        "Intelligence' which proposed what is now called the Turing test as a criterion of intelligence. ")

TEXTS = [
    "A man is eating food.",                                  # 0  paraphrase pair with 1
    "A man is eating a piece of bread.",                      # 1
    "The stock market fell sharply on Tuesday.",              # 2  unrelated to 0/1
    "Hi",                                                     # 3  shortest: [CLS] hi [SEP]
    "naïve café résumé façade Ångström",                      # 4  accents (stripped by the normalizer)
    "Grüße aus München! Ça va? ¿Qué tal?",                    # 5
    "Wait... what?!? (really) -- yes: \"quoted\", 'single'; #hashtag @user $100 50% & more.",  # 6 punctuation
    "It's 3:45pm on 2024-03-15, and the temperature is -7.5°C.",  # 7 numbers
    "你好，世界！",                                              # 8  CJK: one token per ideograph
    LONG,                                                     # 9  long (53 tokens)
    LONG * 5,                                                 # 10 past max_seq_length: truncated to 256
    "A cat sits on the mat.",                                 # 11
]
HIDDEN_TEXT = "The quick brown fox jumps over the lazy dog."


def main():
    ap = argparse.ArgumentParser()
    home = Path(os.environ.get("LOUPE_HOME", Path.home() / ".loupe"))
    ap.add_argument("--model", default=str(home / "models" / "all-minilm-l6-v2"))
    args = ap.parse_args()
    model_dir = Path(args.model)

    modules = json.loads((model_dir / "modules.json").read_text())
    assert [m["type"].split(".")[-1] for m in modules] == ["Transformer", "Pooling", "Normalize"], modules
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] and not pooling["pooling_mode_cls_token"], pooling
    max_len = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]

    tok = tokenizers.Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)

    model = FlaxBertModel.from_pretrained(str(model_dir), dtype=jnp.float64)
    params = jax.tree_util.tree_map(lambda p: jnp.asarray(p, dtype=jnp.float64), model.params)

    def run(id_lists):
        t = max(len(x) for x in id_lists)
        ids = np.zeros((len(id_lists), t), dtype=np.int64)
        mask = np.zeros((len(id_lists), t), dtype=np.int64)
        for i, x in enumerate(id_lists):
            ids[i, : len(x)] = x
            mask[i, : len(x)] = 1
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=np.zeros_like(ids), params=params)
        return np.asarray(out.last_hidden_state, dtype=np.float64), mask

    ids = [tok.encode(t).ids for t in TEXTS]
    hidden, mask = run(ids)
    # sentence_transformers.models.Pooling (mean): sum(h * mask) / clamp(sum(mask), min=1e-9)
    m = mask[:, :, None].astype(np.float64)
    pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
    # sentence_transformers.models.Normalize: torch.nn.functional.normalize(p=2, dim=1, eps=1e-12)
    emb = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    hidden_ids = tok.encode(HIDDEN_TEXT).ids
    h1, _ = run([hidden_ids])

    def r(a):
        return [float(f"{x:.7g}") for x in a]

    data = {
        "model": "all-minilm-l6-v2",
        "reference": (f"transformers {transformers.__version__} FlaxBertModel in float64 (jax {jax.__version__}), "
                      f"mean pooling + L2 normalise as sentence-transformers; tokenizers {tokenizers.__version__}"),
        "max_seq_length": max_len,
        "texts": TEXTS,
        "token_ids": ids,
        "embeddings": [r(e) for e in emb],
        "hidden_text": HIDDEN_TEXT,
        "hidden_token_ids": hidden_ids,
        "hidden": [r(row) for row in h1[0]],
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    cos = emb @ emb.T
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes); lengths {[len(x) for x in ids]}")
    print(f"cos(0,1) paraphrase {cos[0, 1]:.4f}, cos(0,2) unrelated {cos[0, 2]:.4f}")


if __name__ == "__main__":
    main()
