"""Peer process for `loupe-bench tensor`: numpy (and JAX for the transformer block), driven over stdin/stdout.

One long-lived process, so Loupe and the peer can alternate single repetitions of each case. Protocol, one line
each way:

  <- hello peer=numpy numpy=... blas=... core=... threads=...     (first line; or: missing REASON)
  -> setup CASE KIND key=value ...     inputs made once, outside any timing    <- ok | missing REASON | error MSG
  -> run CASE N                        N timed repetitions                     <- time S1 ... SN   (seconds)
  -> check CASE                        a result summary for cross-checking     <- check key=value ...
  -> quit

Inputs are the same numbers Loupe uses: block_jax.det_values, a counter-based hash both sides compute identically.
Timings use time.perf_counter around the operation only; the result is released after the clock stops (as in
Loupe's bench); the garbage collector is off while timing.
"""
import gc
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def reply(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def blas_info(np):
    """Which BLAS numpy runs, its core type and thread count (from the library itself where possible)."""
    parts = []
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        parts.append("blas=%s-%s" % (cfg.get("name", "?"), cfg.get("version", "?")))
    except Exception as e:  # older numpy: no mode="dicts"
        parts.append("blas=unknown(%s)" % type(e).__name__)
    try:
        import ctypes
        import glob

        libdir = os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs")
        libs = glob.glob(os.path.join(libdir, "libscipy_openblas*")) + glob.glob(os.path.join(libdir, "libopenblas*"))
        if libs:
            lib = ctypes.CDLL(libs[0])
            for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "64_"), ("openblas_", "")):
                core = getattr(lib, prefix + "get_corename" + suffix, None)
                threads = getattr(lib, prefix + "get_num_threads" + suffix, None)
                if core is not None and threads is not None:
                    core.restype = ctypes.c_char_p
                    parts.append("core=%s threads=%d" % (core().decode(), threads()))
                    break
    except Exception as e:
        parts.append("core=unknown(%s)" % type(e).__name__)
    return " ".join(parts)


class NumpyCase:
    def __init__(self, np, det, kind, args):
        self.np = np
        n = int(args.get("n", 0))
        if kind == "sgemm":
            a, b = det(n * n, 101, 1.0).reshape(n, n), det(n * n, 102, 1.0).reshape(n, n)
            self.fn = lambda: a @ b
        elif kind == "bmm":
            bt, m, k, nn = (int(args[x]) for x in ("batch", "m", "k", "n"))
            a, b = det(bt * m * k, 103, 1.0).reshape(bt, m, k), det(bt * k * nn, 104, 1.0).reshape(bt, k, nn)
            self.fn = lambda: a @ b
        elif kind in ("add", "mul"):
            a, b = det(n, 105, 2.0), det(n, 106, 2.0)
            self.fn = (lambda: a + b) if kind == "add" else (lambda: a * b)
        elif kind == "exp":
            a = det(n, 107, 4.0)
            self.fn = lambda: np.exp(a)
        elif kind in ("sum", "max"):
            a = det(n, 108, 2.0)
            self.fn = (lambda: a.sum()) if kind == "sum" else (lambda: a.max())
        elif kind == "softmax":
            rows, cols = int(args["rows"]), int(args["cols"])
            x = det(rows * cols, 109, 4.0).reshape(rows, cols)

            def softmax():
                e = np.exp(x - x.max(-1, keepdims=True))
                return e / e.sum(-1, keepdims=True)

            self.fn = softmax
        else:
            raise KeyError(kind)

    def run(self):
        t0 = time.perf_counter()
        r = self.fn()
        t1 = time.perf_counter()
        del r
        return t1 - t0

    def check(self):
        r = self.np.asarray(self.fn(), dtype=self.np.float64)
        return "check sum=%r abs=%r" % (float(r.sum()), float(self.np.abs(r).sum()))


class BlockCase:
    """jax.jit(jax.value_and_grad) of the transformer block; see block_jax.py."""

    def __init__(self, args):
        import jax  # noqa: F401  (ImportError -> missing)
        import block_jax

        self.jax = jax
        b, t, d, h, hid = (int(args[x]) for x in ("batch", "t", "d", "heads", "hidden"))
        x, params, r = block_jax.make_inputs(b, t, d, hid)
        dev = jax.devices("cpu")[0]
        self.x = jax.device_put(x, dev)
        self.params = [jax.device_put(p, dev) for p in params]
        self.r = jax.device_put(r, dev)
        self.f = block_jax.build(h)
        t0 = time.perf_counter()
        jax.block_until_ready(self.f(self.x, self.params, self.r))  # compile
        self.compile_seconds = time.perf_counter() - t0
        self.names = block_jax.PARAMETER_NAMES

    def run(self):
        t0 = time.perf_counter()
        out = self.jax.block_until_ready(self.f(self.x, self.params, self.r))
        t1 = time.perf_counter()
        del out
        return t1 - t0

    def check(self):
        import numpy as np

        loss, (gx, gp) = self.f(self.x, self.params, self.r)
        fields = ["loss=%r" % float(loss), "x=%r" % float(np.linalg.norm(np.asarray(gx, dtype=np.float64)))]
        for name, g in zip(self.names, gp):
            fields.append("%s=%r" % (name, float(np.linalg.norm(np.asarray(g, dtype=np.float64)))))
        return "check " + " ".join(fields)


class TrainCase:
    """One jax.jit training step (loss, gradients, Adam) of the small llama of train_jax.py."""

    def __init__(self, args):
        import jax  # noqa: F401  (ImportError -> missing)
        import jax.numpy as jnp
        import train_jax

        self.jax, self.jnp = jax, jnp
        dims = [int(args[x]) for x in ("layers", "d", "heads", "kv", "hd", "ff", "vocab")]
        layers, d, heads, kv, hd, ff, vocab = dims
        self.w0 = {k: jnp.asarray(v) for k, v in train_jax.make_weights(*dims).items()}
        self.ids = jnp.asarray(train_jax.token_ids(int(args["t"]), vocab))
        self.vg, self.step = train_jax.build(layers, heads, kv, hd)
        self.w, self.t = self.w0, 0
        self.m = {k: jnp.zeros_like(v) for k, v in self.w0.items()}
        self.v = {k: jnp.zeros_like(v) for k, v in self.w0.items()}
        t0 = time.perf_counter()
        jax.block_until_ready(self.vg(self.w0, self.ids))
        jax.block_until_ready(self.step(self.w0, self.m, self.v, jnp.float32(1), self.ids))  # compile
        self.compile_seconds = time.perf_counter() - t0

    def run(self):
        self.t += 1
        t0 = time.perf_counter()
        out = self.jax.block_until_ready(self.step(self.w, self.m, self.v, self.jnp.float32(self.t), self.ids))
        t1 = time.perf_counter()
        _, self.w, self.m, self.v = out
        return t1 - t0

    def check(self):
        import numpy as np

        loss, g = self.vg(self.w0, self.ids)
        fields = ["loss=%r" % float(loss)]
        for name in ("token_embd.weight", "output.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight"):
            fields.append("%s=%r" % (name, float(np.linalg.norm(np.asarray(g[name], dtype=np.float64)))))
        return "check " + " ".join(fields)


def main():
    try:
        import numpy as np
    except Exception as e:
        reply("missing numpy is not importable by %s: %s" % (sys.executable, str(e).replace("\n", " ")))
        return
    import block_jax

    det = block_jax.det_values
    reply("hello peer=numpy numpy=%s python=%s %s env_OPENBLAS_CORETYPE=%s" % (
        np.__version__, sys.version.split()[0], blas_info(np), os.environ.get("OPENBLAS_CORETYPE", "unset")))
    cases = {}
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd = words[0]
        try:
            if cmd == "quit":
                break
            elif cmd == "setup":
                name, kind = words[1], words[2]
                args = dict(w.split("=", 1) for w in words[3:])
                cases.clear()  # free the previous case's inputs first
                gc.collect()
                try:
                    peers = {"block": BlockCase, "train": TrainCase}
                    cases[name] = peers[kind](args) if kind in peers else NumpyCase(np, det, kind, args)
                except ImportError as e:
                    reply("missing %s" % str(e).replace("\n", " "))
                    continue
                extra = ""
                if kind in ("block", "train"):
                    extra = " jax=%s compile=%.3f" % (cases[name].jax.__version__, cases[name].compile_seconds)
                reply("ok" + extra)
            elif cmd == "run":
                case, n = cases[words[1]], int(words[2])
                gc.disable()
                try:
                    times = [case.run() for _ in range(n)]
                finally:
                    gc.enable()
                reply("time " + " ".join("%.9f" % t for t in times))
            elif cmd == "check":
                reply(cases[words[1]].check())
            else:
                reply("error unknown command %s" % cmd)
        except Exception as e:
            reply("error %s: %s" % (type(e).__name__, str(e).replace("\n", " ")))


if __name__ == "__main__":
    main()
