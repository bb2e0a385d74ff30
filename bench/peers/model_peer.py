"""Peer process for `loupe-bench model`: llama.cpp through llama-cpp-python, 2 threads, on the same GGUF file.
Driven over stdin/stdout (protocol as tensor_peer.py):
  <- hello peer=llama.cpp llama_cpp_python=... threads=2     (first line; or: missing REASON)
  -> setup CASE KIND key=value ...     <- ok | missing REASON | error MSG
  -> run CASE N                        <- time S1 ... SN   (seconds per repetition)
  -> check CASE                        <- check key=value ...
  -> quit

Kinds (the Loupe side is Sources/loupe-bench/ModelSuite.swift; both build the same prompt):
  prefill path=F n=N   the KV cache emptied, then one batched eval of the N-token prompt (timed)
  decode path=F n=N steps=S
                       the N-token prompt evaluated (untimed), then S greedy steps, one token each (timed)

The prompt is token ids (7919 i + 13) mod 5000 + 100 for i < N: ids valid in every shipped vocabulary, no
tokenizer involved. llama.cpp quantizes activations to 8 bits on quantized weights (Loupe does not), so greedy
continuations may part after a few tokens; the check reports the prompt's argmax, which normally agrees.
"""
import platform
import sys
import time


def reply(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


THREADS = 2


def prompt(n):
    return [(7919 * i + 13) % 5000 + 100 for i in range(n)]


class Model:
    """One llama.cpp context per model file, kept between cases."""
    loaded = {}

    @classmethod
    def get(cls, path):
        if path not in cls.loaded:
            from llama_cpp import Llama
            cls.loaded.clear()  # one model at a time, like the Loupe side
            cls.loaded[path] = Llama(model_path=path, n_threads=THREADS, n_threads_batch=THREADS, n_ctx=512,
                                     n_batch=512, n_ubatch=512, logits_all=False, verbose=False)
        return cls.loaded[path]


def argmax(llm):
    # With logits_all=False, llama-cpp-python 0.3.36 leaves `scores` at zero: read the context's last logits.
    import llama_cpp
    import numpy as np
    row = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return int(np.argmax(np.ctypeslib.as_array(row, shape=(llm.n_vocab(),))))


def make(kind, args):
    llm = Model.get(args["path"])
    ids = prompt(int(args["n"]))
    if kind == "prefill":
        def run():
            llm.reset()
            t0 = time.perf_counter()
            llm.eval(ids)
            return time.perf_counter() - t0

        def check():
            llm.reset()
            llm.eval(ids)
            return {"argmax": argmax(llm)}
        return run, check
    if kind == "decode":
        steps = int(args["steps"])

        def run():
            llm.reset()
            llm.eval(ids)
            tok = argmax(llm)
            t0 = time.perf_counter()
            for _ in range(steps):
                llm.eval([tok])
                tok = argmax(llm)
            return time.perf_counter() - t0

        def check():
            llm.reset()
            llm.eval(ids)
            return {"argmax": argmax(llm)}
        return run, check
    raise ValueError("unknown kind " + kind)


def main():
    try:
        import llama_cpp
    except Exception as e:  # the bench reports the peer as missing
        reply("missing llama_cpp not importable (%s)" % str(e).replace("\n", " "))
        return
    reply("hello peer=llama.cpp llama_cpp_python=%s threads=%d python=%s"
          % (llama_cpp.__version__, THREADS, platform.python_version()))
    cases = {}
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cmd = parts[0]
        try:
            if cmd == "quit":
                return
            if cmd == "setup":
                name, kind = parts[1], parts[2]
                args = dict(p.split("=", 1) for p in parts[3:])
                cases[name] = make(kind, args)
                reply("ok")
            elif cmd == "run":
                run, _ = cases[parts[1]]
                reply("time " + " ".join("%.9f" % run() for _ in range(int(parts[2]))))
            elif cmd == "check":
                _, check = cases[parts[1]]
                reply("check " + " ".join("%s=%r" % kv for kv in check().items()))
            else:
                reply("error unknown command " + cmd)
        except Exception as e:  # report, keep serving
            reply("error %s" % str(e).replace("\n", " "))


if __name__ == "__main__":
    main()
