#!/usr/bin/env python3
"""Reference outputs for Sources/LoupeTensor/Random.swift, written to Tests/LoupeTensorTests/Fixtures/random.json.

Everything checked here comes from numpy's own Philox bit generator (numpy.random.Philox is Philox4x64-10, the
Random123 algorithm with a 256-bit counter and a 128-bit key), not from a re-implementation, except the `streams`
section, which records Loupe's seed/name -> key derivation computed by the independent Python code below.

numpy's conventions that the Swift code has to reproduce:
  * The counter is incremented (256-bit, little-endian words, with carry) *before* each block is computed, so a
    fresh Philox(counter=c) first outputs block(c + 1). Each block gives four 64-bit words, handed out in order.
  * next_uint32 splits a 64-bit word: low half first, the high half is kept for the next next_uint32 call
    (has_uint32/uinteger). next_uint64 ignores that kept half: it stays pending across 64-bit draws.
  * Generator.random(dtype=float32) is (next_uint32 >> 8) * 2**-24.
  * Generator.integers(low, high, dtype=int64) is Lemire's multiply-shift with rejection: on next_uint32 when
    high - low - 1 < 2**32, on next_uint64 otherwise; no draw at all when high - low == 1.
  * Generator.permutation(n) is Fisher-Yates from the top (i = n-1 .. 1) with j drawn by masked rejection
    (random_interval: next_uint32 when i < 2**32).

Run: python3 Tests/Fixtures/make_random_fixtures.py
"""
import json
import os

import numpy as np

M64 = (1 << 64) - 1
PHILOX_M0, PHILOX_M1 = 0xD2E7470EE14C6C93, 0xCA5A826395121157
PHILOX_W0, PHILOX_W1 = 0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B


def philox_block(ctr, key):
    """Philox4x64-10 on a 4-word counter and a 2-word key (pure Python, used only for key derivation and KATs)."""
    x = list(ctr)
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + PHILOX_W0) & M64, (k1 + PHILOX_W1) & M64
        p0, p1 = PHILOX_M0 * x[0], PHILOX_M1 * x[2]
        x = [(p1 >> 64) ^ x[1] ^ k0, p1 & M64, (p0 >> 64) ^ x[3] ^ k1, p0 & M64]
    return x


# Random123's published known-answer vectors (kat_vectors, philox4x64 10): counter, key -> block.
KAT = [
    ([0, 0, 0, 0], [0, 0],
     [0x16554D9ECA36314C, 0xDB20FE9D672D0FDC, 0xD7E772CEE186176B, 0x7E68B68AEC7BA23B]),
    ([M64] * 4, [M64] * 2,
     [0x87B092C3013FE90B, 0x438C3C67BE8D0224, 0x9CC7D7C69CD777B6, 0xA09CAEBF594F0BA0]),
    ([0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89],
     [0x452821E638D01377, 0xBE5466CF34E90C6C],
     [0xA528F45403E61D95, 0x38C72DBD566E9788, 0xA5A1610E72FD18B5, 0x57BD43B5E52B7FE6]),
]


def words(value, n):
    return [(value >> (64 * i)) & M64 for i in range(n)]


def hx(v):
    return "%016x" % v


def philox(key, counter):
    return np.random.Philox(key=key, counter=counter)


def make_case(name, key, counter):
    case = {"name": name, "key": [hx(w) for w in words(key, 2)], "counter": [hx(w) for w in words(counter, 4)]}
    # Ten words cross two block boundaries (and the counter carry, for the cases that start near it).
    case["raw64"] = [hx(int(w)) for w in philox(key, counter).random_raw(10)]

    bg = philox(key, counter)
    next32, next64, state = bg.ctypes.next_uint32, bg.ctypes.next_uint64, bg.ctypes.state
    case["raw32"] = [int(next32(state)) for _ in range(11)]

    bg = philox(key, counter)
    next32, next64, state = bg.ctypes.next_uint32, bg.ctypes.next_uint64, bg.ctypes.state
    widths = [32, 64, 32, 32, 64, 64, 32, 64, 32, 32, 32, 64, 64, 64, 32]
    case["mixed"] = {"widths": widths,
                     "values": [hx(int(next32(state) if w == 32 else next64(state))) for w in widths]}

    gen = np.random.Generator(philox(key, counter))
    case["float32_bits"] = [int(b) for b in gen.random(13, dtype=np.float32).view(np.uint32)]

    case["integers"] = []
    for low, high in [(0, 10), (-5, 7), (0, 1), (100, 2**32 + 100), (3, 2**40 + 7), (-2**63, 2**63 - 1)]:
        gen = np.random.Generator(philox(key, counter))
        values = gen.integers(low, high, size=12, dtype=np.int64)
        case["integers"].append({"low": str(low), "high": str(high), "values": [str(int(v)) for v in values]})

    gen = np.random.Generator(philox(key, counter))
    case["permutation"] = {"n": 25, "values": [int(v) for v in gen.permutation(25)]}
    return case


# ---- Loupe's key derivation (the spec that RandomStream implements) ----

def splitmix64(state):
    """Yields SplitMix64 outputs from `state` (Steele, Lea & Flood 2014)."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        yield z ^ (z >> 31)


def seed_key(seed):
    g = splitmix64(seed)
    return [next(g), next(g)]


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


DERIVE_TAG = int.from_bytes(b"Loupe-dv", "big")


def derive_key(key, name):
    data = name.encode("utf-8")
    out = philox_block([fnv1a64(data), len(data), 0, DERIVE_TAG], key)
    return out[:2]


def stream_case(seed, names):
    key = seed_key(seed)
    for n in names:
        key = derive_key(key, n)
    k = key[0] | (key[1] << 64)
    return {"seed": str(seed), "names": names, "key": [hx(w) for w in key],
            "raw64": [hx(int(w)) for w in philox(k, 0).random_raw(5)]}


def to_json(value, indent=0):
    """JSON with one line per list of numbers or strings, so that the fixture stays small and diffs stay readable."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {to_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + to_json(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=True)


def main():
    for ctr, key, expected in KAT:
        assert philox_block(ctr, key) == expected, "Python Philox disagrees with Random123's KAT"
        # numpy increments before computing, so counter - 1 makes its first block the KAT's.
        c = (sum(w << (64 * i) for i, w in enumerate(ctr)) - 1) % (1 << 256)
        got = [int(w) for w in philox(key[0] | (key[1] << 64), c).random_raw(4)]
        assert got == expected, "numpy's Philox disagrees with Random123's KAT"

    cases = [
        make_case("zero", 0, 0),
        make_case("small key", 5, 0),
        make_case("wide key, counter at the 64-bit carry",
                  0x0123456789ABCDEF_FEDCBA9876543210, (M64 - 1) | (M64 << 64) | (5 << 128)),
        make_case("counter wraps at 2^256", 0xDEADBEEF << 64 | 0x1234, (1 << 256) - 2),
    ]
    streams = [stream_case(s, n) for s, n in [
        (0, []), (42, []), (M64, []), (42, ["weights"]), (42, [""]), (7, ["dropout/layer1"]),
        (42, ["ü名"]), (42, ["a", "b"]), (42, ["b", "a"]), (42, ["weights", "weights"]),
    ]]
    out = {
        "generator": f"numpy {np.__version__} random.Philox (Philox4x64-10)",
        "kat": [{"counter": [hx(w) for w in c], "key": [hx(w) for w in k], "block": [hx(w) for w in b]}
                for c, k, b in KAT],
        "cases": cases,
        "streams": streams,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "LoupeTensorTests", "Fixtures",
                        "random.json")
    with open(path, "w") as f:
        f.write(to_json(out) + "\n")
    print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
