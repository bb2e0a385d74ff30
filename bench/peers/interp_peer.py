"""Peer process for `loupe-bench interp`: the same small programs in CPython, driven over stdin/stdout.

Protocol (as tensor_peer.py):
  <- hello peer=cpython python=3.11.7
  -> setup CASE KIND key=value ...     <- ok | error MSG
  -> run CASE N                        <- time S1 ... SN   (seconds per repetition)
  -> check CASE                        <- check value=V
  -> quit

Each KIND mirrors one Loupe program in Sources/loupe-bench/InterpSuite.swift; inputs made in setup are untimed.
"""
import gc
import platform
import sys
import time


def reply(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def make(kind, args):
    """Returns (run, check): run() does the timed work and returns its result."""
    n = int(args.get("n", 0))
    if kind == "fib":
        return lambda: fib(n)
    if kind == "loop-sum":
        def loop_sum():
            s = 0
            for i in range(n):
                s += i
            return s
        return loop_sum
    if kind == "string-build":
        def string_build():
            s = ""
            for i in range(n):
                s += "x"
            return len(s)
        return string_build
    if kind == "sort":
        # The same floats as Loupe: a multiplicative hash of the index, scaled to [0, 1).
        xs = [((i * 2654435761) % 4294967296) / 4294967296.0 for i in range(n)]
        return lambda: sorted(xs)[n // 2]
    if kind == "closure-calls":
        def closure_calls():
            k = 3
            add = lambda a, b: a + b + k
            s = 0
            for i in range(n):
                s = add(s, i)
            return s
        return closure_calls
    if kind == "tensor-op-call":
        import numpy as np
        t = np.ones((4,), dtype=np.float32)
        def op_calls():
            r = None
            for i in range(n):
                r = t + t
            return float(r[0])
        return op_calls
    raise ValueError("unknown kind " + kind)


def main():
    cases = {}
    results = {}
    reply("hello peer=cpython python=%s" % platform.python_version())
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
                name, reps = parts[1], int(parts[2])
                f = cases[name]
                times = []
                gc.disable()
                for _ in range(reps):
                    t0 = time.perf_counter()
                    r = f()
                    times.append(time.perf_counter() - t0)
                    results[name] = r
                gc.enable()
                reply("time " + " ".join("%.9g" % t for t in times))
            elif cmd == "check":
                reply("check value=%r" % float(results[parts[1]]))
            else:
                reply("error unknown command " + cmd)
        except Exception as e:  # report, keep serving
            reply("error %s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
