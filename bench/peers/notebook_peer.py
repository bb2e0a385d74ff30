"""Peer process for `loupe-bench notebook`, driven over stdin/stdout (protocol as tensor_peer.py):
  <- hello peer=... python=3.11.7
  -> setup CASE KIND key=value ...     <- ok | error MSG
  -> run CASE N                        <- time S1 ... SN   (seconds per repetition)
  -> check CASE                        <- check
  -> quit

Kinds (the Loupe side is in Sources/loupe-bench/NotebookSuite.swift):
  python-startup            `python3 -c pass` as a fresh process (the start-up yardstick for `loupe run`)
  command bin=B nb=F out=D  `B run F --no-cache --out D`: the cold run of a notebook, against which the
                            cached rerun is measured (so the ratio is cached / cold)
"""
import platform
import subprocess
import sys
import time


def reply(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def make(kind, args):
    if kind == "python-startup":
        cmd = [sys.executable, "-c", "pass"]
    elif kind == "command":
        cmd = [args["bin"], "run", args["nb"], "--no-cache", "--out", args["out"]]
    else:
        raise ValueError("unknown kind " + kind)

    def run():
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError("%s exited with %d" % (" ".join(cmd), p.returncode))
        return t
    return run


def main():
    cases = {}
    reply("hello peer=process python=%s" % platform.python_version())
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
                f = cases[parts[1]]
                reply("time " + " ".join("%.9f" % f() for _ in range(int(parts[2]))))
            elif cmd == "check":
                reply("check")
            else:
                reply("error unknown command " + cmd)
        except Exception as e:  # report, keep serving
            reply("error %s" % str(e).replace("\n", " "))


if __name__ == "__main__":
    main()
