#!/usr/bin/env python3
"""Reference token ids and chat-template renderings for Tests/LoupeModelsTests/{Tokenizer,ChatTemplate}Tests.swift.

Writes into Tests/LoupeModelsTests/Fixtures/:
  tokenizer_smollm2.json   ids of ~30 texts with SmolLM2-135M-Instruct's GGUF tokenizer
  tokenizer_gemma3.json    the same texts with gemma-3-270m's GGUF tokenizer
  tokenizer_minilm.json    all-MiniLM-L6-v2 tokenizer.json: ids with and without [CLS]/[SEP], and decoded text
  tokenizer_tinybpe.json   a small byte-level BPE tokenizer.json trained here with `tokenizers`, and its ids
  tokenizer_spm_json.json  SentencePiece-style BPE tokenizer.jsons (Llama-2, Metaspace, Gemma styles) trained here
                           with `tokenizers`: ids with and without special tokens, decoded text
  chat_templates.json      templates x conversations x add_generation_prompt, rendered with jinja2

References:
  * GGUF tokenizers: llama-cpp-python (`Llama(path, vocab_only=True).tokenize(text, add_bos=False, special=True)`)
    when it is installed. Otherwise the Hugging Face `tokenizers` library, configured from the GGUF metadata (read
    with the `gguf` package) the way the original tokenizer.json files are:
      - SmolLM2 (tokenizer.ggml.pre = smollm): BPE(vocab, merges) with pre-tokenizers
        [Split(\\p{N}, isolated), ByteLevel(add_prefix_space=False)], as HuggingFaceTB/SmolLM2's tokenizer.json;
      - Gemma 3 (tokenizer.ggml.model = llama, scores): BPE with byte fallback over text whose spaces are
        replaced by "▁", merges derived from the scores as transformers' SentencePieceExtractor does (that is how
        google/gemma-3's tokenizer.json was produced from its SentencePiece model);
    control and user-defined tokens become added special tokens, so "<|im_start|>" etc. are parsed in the text.
    The script records which reference it used in each file ("reference").
  * MiniLM: `tokenizers.Tokenizer.from_file(tokenizer.json)` with padding and truncation off (the file asks for
    both to 128; they are not tokenization).
  * Chat templates: jinja2's ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with `tojson`,
    `raise_exception` and `strftime_now` set up as transformers' `apply_chat_template` does.

Usage: python3 Tests/Fixtures/make_tokenizer_fixtures.py [--models DIR] [--vocab DIR]
  --models: model store (default $LOUPE_HOME/models or ~/.loupe/models)
  --vocab:  llama.cpp vocab files (default ../shared/data/llama-vocab next to the repository)
"""
import argparse
import json
import os
import sys
from pathlib import Path

import gguf
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
import tokenizers
from tokenizers import Tokenizer, models, pre_tokenizers, normalizers, decoders, Regex, AddedToken

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "Tests" / "LoupeModelsTests" / "Fixtures"

TEXTS = [
    "Hello world",
    " Hello world",
    "Hello, world! How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "  leading and trailing spaces  ",
    "multiple     spaces\tand\ttabs",
    "new\nlines\n\nand\r\nwindows\r\nendings\n\n\n",
    "numbers: 0 12 345 6789 1234567890 3.14159 -42 1e10",
    "I'm sure you'll see they've said it's 'quoted' and \"double\" QUOTED",
    "naïve café résumé façade Ångström",
    "Grüße aus München! Ça va? ¿Qué tal? ñandú",
    "Привет, мир! Как дела?",
    "こんにちは世界、元気ですか？",
    "你好，世界！我爱自然语言处理。",
    "안녕하세요 세계",
    "مرحبا بالعالم",
    "emoji 🦙🚀👍🏽 and flags 🇫🇷 and zwj 👨‍👩‍👧",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "<html><body class=\"x\">&amp; &lt;tag&gt;</body></html>",
    "https://example.com/path?query=1&other=two#frag user@example.org",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "<start_of_turn>user\nHi there<end_of_turn>\n<start_of_turn>model\n",
    "text<|endoftext|>more text</s><s>",
    "ALL CAPS SHOUTING and MiXeD cAsE",
    "a",
    "",
    " ",
    "\n",
    "            \n\n      \t\t   ",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "$100 + 20% = €120; 5 × 3 ÷ 2 ≈ 7.5 ± 0.1",
    "Ἀρχὴ ἥμισυ παντός. ΣΊΣΥΦΟΣ",
    "\u00a0non-breaking\u2009thin\u3000ideographic spaces",
]

MINILM_TEXTS = [
    "Hello world",
    "Hello, World! How are YOU?",
    "The quick brown fox jumps over the lazy dog.",
    "naïve café résumé façade Ångström",
    "Grüße aus München! Ça va? ¿Qué tal? ñandú",
    "ÀÉÎÕÜ àéîõü ÇçÑñ",
    "Привет, мир!",
    "你好，世界！我爱自然语言处理。",
    "こんにちは世界",
    "안녕하세요 세계",
    "مرحبا بالعالم",
    "Ἀρχὴ ἥμισυ παντός",
    "emoji 🦙🚀👍 test",
    "don't won't can't it's I'm they're",
    "e-mail: user@example.com, url: https://example.com/a?b=c",
    "numbers 0 12 345 6789 3.14159 -42 1,000,000",
    "punctuation!!! ??? ... --- ((( ))) [[[ ]]] {{{ }}}",
    "symbols $ + < = > ^ ` | ~ § ¶ © ® ™ ° ± × ÷",
    "tabs\tand\nnewlines\r\nand  multiple   spaces",
    "  leading and trailing  ",
    "[CLS] already has special tokens [SEP]",
    "[MASK] is a mask and [PAD] is padding and [UNK] unknown",
    "unaffable",
    "supercalifragilisticexpialidocious",
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "x" * 101,
    "y" * 100,
    "antidisestablishmentarianism floccinaucinihilipilification",
    "ALL CAPS SHOUTING",
    "MiXeD cAsE wOrDs",
    "control\u0000chars\u0007here\u200bzero\ufeffwidth",
    "soft\u00adhyphen",
    "İstanbul ıi ǅ ǈ ß ẞ",
    "a",
    "",
    " ",
    "Mr. O'Neil's dog-friendly café (est. 1999).",
    "The year 2024 was #1 for AI/ML.",
    "C++ and C# and F# and .NET",
    "sentence one. sentence two! sentence three?",
    "ﬁ ﬂ ligatures and ＦＵＬＬＷＩＤＴＨ letters",
    "\u00a0nbsp\u2009thin\u3000ideographic",
    "résumé vs resume vs RÉSUMÉ",
    "Zürich Genève Köln",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕄𝕒𝕥𝕙",
    "1st 2nd 3rd 4th",
    "hello\u0301 combining",
    "李小龙 and 成龙",
    "semantic search with sentence embeddings",
    "A man is playing a guitar.",
]

TINY_BPE_CORPUS = [
    "The quick brown fox jumps over the lazy dog. " * 3,
    "Tokenizers split text into pieces; byte-level BPE never needs an unknown token.",
    "Numbers like 123 and 4567 appear, as do words such as tokenization and tokenizer.",
    "def main():\n    print('hello, world')\n",
    "naïve café — ünïcödé text with 🦙 emoji",
]

TINY_BPE_TEXTS = [
    "The quick brown fox",
    "tokenization of unseen words: zyxwv",
    "numbers 1234567 and 89",
    "def f(x):\n    return x * 2\n",
    "naïve 🦙 café",
    "  spaces   and\ttabs\n\n",
    "<|endoftext|> is special",
    "",
]

# SentencePiece-style BPE tokenizer.json files (Llama-2, Mistral, Gemma as Hugging Face ships them): raw UTF-8 with
# "▁" for spaces, <0xNN> byte fallback, in the three ways those files put the "▁" in.
SPM_JSON_CORPUS = TINY_BPE_CORPUS + [
    "Hello world. Hello there, world of words and wonders.",
    "the theory that these thoughts are thorough",
]

SPM_JSON_TEXTS = [
    "Hello world",
    " Hello world",
    "  two leading spaces and  double  inside ",
    "line one\nline two\n\n",
    "naïve café 中文 🦙",
    "Hello</s>world",
    "<s>Hello world</s>",
    "</s> after a special token",
    "zyxwv qq",
    "",
]


def spm_json_tokenizers():
    """Three tokenizer.json files over one trained vocabulary: <unk> <s> </s>, the 256 <0xNN> byte tokens, then
    BPE pieces trained here; merges from the trainer."""
    from tokenizers import trainers, processors
    base = Tokenizer(models.BPE(unk_token="<unk>"))
    base.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    trainer = trainers.BpeTrainer(vocab_size=360, special_tokens=["<unk>", "<s>", "</s>"], show_progress=False)
    base.train_from_iterator(SPM_JSON_CORPUS, trainer=trainer)
    trained = json.loads(base.to_str())["model"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = len(vocab)
    for piece, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if piece not in vocab:
            vocab[piece] = len(vocab)
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]

    def make(kind):
        tk = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True))
        # Llama-2's and Mistral's decoder: spaces back, <0xNN> as bytes, and the one space put in front dropped.
        strip_decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                           decoders.Strip(" ", 1, 0)])
        if kind == "llama2":      # Llama-2's file: normalizer Prepend + Replace
            tk.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
            tk.decoder = strip_decoder
        elif kind == "metaspace":  # newer files (Mistral v0.3, Llama-2 legacy=False): Metaspace, first fragment only
            tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="first", split=False)
            tk.decoder = strip_decoder
        elif kind == "metaspace-split":
            tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
            tk.decoder = strip_decoder
        else:                     # Gemma's file: spaces replaced, nothing prepended
            tk.normalizer = normalizers.Replace(" ", "\u2581")
            tk.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
        tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]])
        tk.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
        return tk

    out = []
    for kind in ["llama2", "metaspace", "metaspace-split", "gemma"]:
        tk = make(kind)
        cases = []
        for t in SPM_JSON_TEXTS:
            ids = tk.encode(t, add_special_tokens=False).ids
            cases.append({"text": t, "ids": ids, "ids_special": tk.encode(t, add_special_tokens=True).ids,
                          "decoded": tk.decode(ids, skip_special_tokens=True),
                          "decoded_special": tk.decode(ids, skip_special_tokens=False)})
        out.append({"kind": kind, "tokenizer": json.loads(tk.to_str()), "cases": cases})
    return out


# ---------------------------------------------------------------------------------------------------------------
# GGUF helpers


def gguf_fields(path):
    r = gguf.GGUFReader(path)
    out = {}
    for k, f in r.fields.items():
        if not k.startswith("tokenizer."):
            continue
        t = f.types[0] if f.types else None
        if t == gguf.GGUFValueType.ARRAY:
            et = f.types[-1]
            if et == gguf.GGUFValueType.STRING:
                out[k] = [bytes(f.parts[i]).decode("utf-8", errors="replace") for i in f.data]
            else:
                out[k] = [f.parts[i].tolist()[0] for i in f.data]
        elif t == gguf.GGUFValueType.STRING:
            out[k] = bytes(f.parts[-1]).decode("utf-8")
        else:
            out[k] = f.parts[-1].tolist()[0]
    return out


def added_tokens(meta):
    toks = meta["tokenizer.ggml.tokens"]
    types = meta.get("tokenizer.ggml.token_type", [1] * len(toks))
    out = []
    for i, (t, ty) in enumerate(zip(toks, types)):
        if ty in (2, 3, 4):  # unknown, control, user-defined
            out.append((i, t))
    return out


def hf_smollm(meta):
    toks = meta["tokenizer.ggml.tokens"]
    vocab = {t: i for i, t in enumerate(toks)}
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    tk = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tk.decoder = decoders.ByteLevel()
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for _, t in added_tokens(meta)])
    return tk


def hf_sentencepiece_bpe(meta):
    toks = meta["tokenizer.ggml.tokens"]
    scores = meta["tokenizer.ggml.scores"]
    types = meta["tokenizer.ggml.token_type"]
    vocab = {t: i for i, t in enumerate(toks)}
    # transformers' SentencePieceExtractor: every split of a piece into two pieces is a merge, ranked by the
    # merged piece's score (higher first), then by the pieces' ids.
    merges = []
    for piece, pid in vocab.items():
        if types[pid] != 1:
            continue
        for k in range(1, len(piece)):
            a, b = piece[:k], piece[k:]
            if a in vocab and b in vocab and types[vocab[a]] == 1 and types[vocab[b]] == 1:
                merges.append((a, b, pid))
    merges.sort(key=lambda m: (-scores[m[2]], vocab[m[0]], vocab[m[1]]))
    unk = meta.get("tokenizer.ggml.unknown_token_id", 3)
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[(a, b) for a, b, _ in merges], unk_token=toks[unk],
                              byte_fallback=True, fuse_unk=True))
    tk.normalizer = normalizers.Replace(" ", "\u2581")
    tk.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    tk.add_special_tokens([AddedToken(t, special=True, normalized=False) for _, t in added_tokens(meta)])
    return tk


def gguf_reference(path, texts):
    try:
        import llama_cpp  # noqa: F401
        from llama_cpp import Llama
        llm = Llama(model_path=str(path), vocab_only=True, verbose=False)
        ids = [llm.tokenize(t.encode("utf-8"), add_bos=False, special=True) for t in texts]
        return f"llama-cpp-python {llama_cpp.__version__}", ids
    except ImportError:
        meta = gguf_fields(str(path))
        model = meta["tokenizer.ggml.model"]
        if model == "gpt2":
            tk = hf_smollm(meta)
        elif model == "llama":
            tk = hf_sentencepiece_bpe(meta)
        else:
            raise SystemExit(f"no tokenizers-based reference for {model}")
        ids = [tk.encode(t, add_special_tokens=False).ids for t in texts]
        return f"tokenizers {tokenizers.__version__} configured from the GGUF metadata (llama-cpp-python absent)", ids


# ---------------------------------------------------------------------------------------------------------------
# Chat templates

LLAMA3 = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)

QWEN25 = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

# A template that exercises the rest of the supported Jinja (not a model's): loop variables, elif, set, filters,
# namespace, tests, slicing, string methods, `in`, `~`, arithmetic, dict literals and tojson.
FEATURES = """{%- set ns = namespace(count=0, roles=[]) -%}
{%- for m in messages -%}
  {%- set ns.count = ns.count + 1 -%}
  {%- set ns.roles = ns.roles + [m.role] -%}
  {{ loop.index }}/{{ loop.length }}{% if loop.first %} first{% elif loop.last %} last{% else %} middle{% endif %}
  [{{ m['role'] | upper }}|{{ m.role | length }}] {{ m.content | trim | lower }}
  {%- if 'help' in m.content %} (asks for help){% endif %}
  {%- if m.role not in ['user', 'assistant'] %} (other role){% endif %}
  {{ '' }} {{ (m.content ~ '') [:5] }}|{{ m.content.strip().startswith('Hi') }}|{{ m.content.split(' ') | length }}
{% endfor -%}
count={{ ns.count }} roles={{ ns.roles | join(',') }} last={{ messages[-1].role }}
{{ {'a': 1, 'b': [1, 2.5, 'x', none, true]} | tojson }} {{ missing | default('dflt') }} {{ missing is defined }}
{{ 7 // 2 }} {{ 7 % 3 }} {{ 2 * 3 + 1 }} {{ 'ab' * 2 }} {{ [1, 2, 3][1:] }} {{ messages | length > 2 }}
{%- if add_generation_prompt %}
GEN{{ eos_token }}
{%- endif %}
"""

CONVERSATIONS = [
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are a terse assistant."},
     {"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "Hi, can you help me?"},
     {"role": "assistant", "content": "Of course. What do you need?"},
     {"role": "user", "content": "  Write a haiku about tokenizers.  "}],
    [{"role": "system", "content": "Answer in French.\nBe brief."},
     {"role": "user", "content": "Thanks for the help"},
     {"role": "assistant", "content": "De rien ! 🦙"},
     {"role": "user", "content": "Unicode: naïve café, 日本語, \"quotes\" and 'apostrophes'\n\twith tab"}],
    [{"role": "user", "content": "Last turn is the assistant's"},
     {"role": "assistant", "content": "Yes, it is."}],
]


def hf_environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    return env


def chat_fixtures(models_dir, vocab_dir):
    templates = {}
    smol = gguf_fields(str(models_dir / "smollm2-135m-instruct" / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    templates["smollm2"] = (smol["tokenizer.chat_template"], "<|im_start|>", "<|im_end|>")
    for fam in ["phi-3", "qwen2", "command-r", "gemma-4"]:
        meta = gguf_fields(str(vocab_dir / f"ggml-vocab-{fam}.gguf"))
        toks = meta["tokenizer.ggml.tokens"]
        templates[fam] = (meta["tokenizer.chat_template"], toks[meta["tokenizer.ggml.bos_token_id"]],
                          toks[meta["tokenizer.ggml.eos_token_id"]])
    # Gemma's built-in template (Sources/LoupeModels/ChatTemplate.swift carries the same text).
    swift = (ROOT / "Sources" / "LoupeModels" / "ChatTemplate.swift").read_text()
    start = swift.index('static let gemmaSource = """\n') + len('static let gemmaSource = """\n')
    end = swift.index('        """', start)
    # The Swift literal escapes backslashes; the template text itself has `\n` escapes inside its string literals.
    # Swift drops the newline before the closing delimiter.
    body = swift[start:end]
    body = body[:-1] if body.endswith("\n") else body
    gemma_src = "\n".join(line[8:] for line in body.split("\n")).replace("\\\\", "\\")
    templates["gemma-builtin"] = (gemma_src, "<bos>", "<eos>")
    templates["llama3"] = (LLAMA3, "<|begin_of_text|>", "<|eot_id|>")
    templates["qwen2.5"] = (QWEN25, "", "<|im_end|>")
    templates["features"] = (FEATURES, "<s>", "</s>")

    env = hf_environment()
    cases = []
    for name, (src, bos, eos) in templates.items():
        tmpl = env.from_string(src)
        for ci, conv in enumerate(CONVERSATIONS + [[{"role": "user", "content": "call a tool"},
                                                    {"role": "tool", "content": "{\"temp\": 21}"},
                                                    {"role": "tool", "content": "second result"}]]):
            for gen in (False, True):
                try:
                    text = tmpl.render(messages=conv, add_generation_prompt=gen, bos_token=bos, eos_token=eos)
                    cases.append({"template": name, "conversation": ci, "add_generation_prompt": gen,
                                  "rendered": text})
                except jinja2.exceptions.TemplateError as e:
                    cases.append({"template": name, "conversation": ci, "add_generation_prompt": gen,
                                  "error": str(e)})
    tool_conv = len(CONVERSATIONS)
    return {
        "reference": f"jinja2 {jinja2.__version__} ImmutableSandboxedEnvironment(trim_blocks=True, "
                     "lstrip_blocks=True), transformers-style tojson/raise_exception",
        "templates": {k: {"source": v[0], "bos_token": v[1], "eos_token": v[2]} for k, v in templates.items()},
        "conversations": CONVERSATIONS + [[{"role": "user", "content": "call a tool"},
                                           {"role": "tool", "content": "{\"temp\": 21}"},
                                           {"role": "tool", "content": "second result"}]],
        "tool_conversation": tool_conv,
        "cases": cases,
    }


def main():
    ap = argparse.ArgumentParser()
    home = Path(os.environ.get("LOUPE_HOME", Path.home() / ".loupe"))
    ap.add_argument("--models", type=Path, default=home / "models")
    ap.add_argument("--vocab", type=Path, default=ROOT.parent / "shared" / "data" / "llama-vocab")
    ap.add_argument("--only", choices=["chat", "tokenizers", "spm-json"], help="regenerate only these fixtures")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    def write(name, obj):
        p = OUT / name
        p.write_text(json.dumps(obj, ensure_ascii=False, indent=1) + "\n")
        print(f"wrote {p} ({p.stat().st_size} bytes)")

    if args.only == "chat":
        write("chat_templates.json", chat_fixtures(args.models, args.vocab))
        return
    if args.only == "spm-json":
        write("tokenizer_spm_json.json", {"reference": f"tokenizers {tokenizers.__version__}",
                                          "tokenizers": spm_json_tokenizers()})
        return

    for name, rel in [("smollm2", "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"),
                      ("gemma3", "gemma-3-270m/gemma-3-270m-q4_k_m.gguf")]:
        ref, ids = gguf_reference(args.models / rel, TEXTS)
        write(f"tokenizer_{name}.json", {"model": rel, "reference": ref,
                                         "cases": [{"text": t, "ids": i} for t, i in zip(TEXTS, ids)]})

    tk = Tokenizer.from_file(str(args.models / "all-minilm-l6-v2" / "tokenizer.json"))
    tk.no_padding()
    tk.no_truncation()
    cases = []
    for t in MINILM_TEXTS:
        with_special = tk.encode(t, add_special_tokens=True).ids
        plain = tk.encode(t, add_special_tokens=False).ids
        cases.append({"text": t, "ids": with_special, "ids_no_special": plain,
                      "decoded": tk.decode(with_special, skip_special_tokens=True)})
    write("tokenizer_minilm.json", {"model": "all-minilm-l6-v2/tokenizer.json",
                                    "reference": f"tokenizers {tokenizers.__version__}", "cases": cases})

    # A tiny byte-level BPE tokenizer.json, trained here, for the tokenizer.json BPE path.
    from tokenizers import trainers
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(TINY_BPE_CORPUS, trainer=trainer)
    write("tokenizer_tinybpe.json", {
        "reference": f"tokenizers {tokenizers.__version__}",
        "tokenizer": json.loads(bpe.to_str()),
        "cases": [{"text": t, "ids": bpe.encode(t).ids, "decoded": bpe.decode(bpe.encode(t).ids)}
                  for t in TINY_BPE_TEXTS],
    })

    write("tokenizer_spm_json.json", {"reference": f"tokenizers {tokenizers.__version__}",
                                      "tokenizers": spm_json_tokenizers()})
    write("chat_templates.json", chat_fixtures(args.models, args.vocab))


if __name__ == "__main__":
    main()
