#!/usr/bin/env python3
"""References for Tests/LoupeNotebookTests, written to Tests/LoupeNotebookTests/Fixtures/.

1. sha256_vectors.json: SHA-256 digests from Python's hashlib for inputs around the block and padding boundaries
   (0, 3, 55, 56, 63, 64, 65, 119 and 1000 bytes), which the notebook's own SHA-256 (cache keys,
   provenance, model file hashes) must reproduce.
2. export.ipynb and ipynb_validation.json: `loupe export export.nb --to ipynb`, validated with PyPI nbformat
   (nbformat.validate, which checks the notebook against the JSON schema of its declared version, here
   nbformat.v4.5.schema.json) and, independently, with jsonschema against that schema file. The Swift test
   checks that its own export equals this validated file up to timings.

Run from the repository root after building loupe:
    swift build --scratch-path .build-nb --product loupe
    LOUPE_BIN=.build-nb/debug/loupe python3 Tests/Fixtures/make_notebook_fixtures.py
(nbformat 5.x and jsonschema from PyPI.)
"""
import base64
import importlib.metadata
import hashlib
import json
import os
import subprocess
import sys

import jsonschema
import nbformat

OUT = "Tests/LoupeNotebookTests/Fixtures"


def sha_vectors():
    inputs = [b"", b"abc", b"a" * 55, b"a" * 56, bytes(range(63)), bytes(range(64)), bytes(range(65)),
              b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" * 2 + b"x" * 7,
              bytes((i * 7 + 3) % 256 for i in range(1000))]
    out = []
    for data in inputs:
        out.append({"input_base64": base64.b64encode(data).decode(), "sha256": hashlib.sha256(data).hexdigest()})
    with open(os.path.join(OUT, "sha256_vectors.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"sha256_vectors.json: {len(out)} vectors")


def ipynb():
    loupe = os.path.abspath(os.environ.get("LOUPE_BIN", ".build-nb/debug/loupe"))
    dest = os.path.join(OUT, "export.ipynb")
    if os.path.exists(dest):
        os.remove(dest)
    # Run in the fixture folder so error messages name "export.nb", as in the Swift test. The notebook has a
    # failing cell on purpose (an error output), so loupe exits 1; the file is still written.
    proc = subprocess.run([loupe, "export", "export.nb", "--to", "ipynb", "-o", "export.ipynb", "--no-cache"],
                          capture_output=True, text=True, cwd=OUT)
    if proc.returncode not in (0, 1) or not os.path.exists(dest):
        sys.exit(f"export failed ({proc.returncode}): {proc.stderr}")
    with open(dest) as f:
        text = f.read()
    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)  # raises ValidationError when the notebook does not match its schema
    schema_path = os.path.join(os.path.dirname(nbformat.__file__), "v4", "nbformat.v4.5.schema.json")
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.validate(json.loads(text), schema)
    record = {
        "file": "export.ipynb",
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
        "nbformat": nb.nbformat,
        "nbformat_minor": nb.nbformat_minor,
        "schema": "nbformat.v4.5.schema.json",
        "validator": f"nbformat {nbformat.__version__} nbformat.validate + jsonschema {importlib.metadata.version('jsonschema')}",
        "valid": True,
        "cells": len(nb.cells),
    }
    with open(os.path.join(OUT, "ipynb_validation.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(f"export.ipynb: valid nbformat {nb.nbformat}.{nb.nbformat_minor}, {len(nb.cells)} cells")


if __name__ == "__main__":
    sha_vectors()
    ipynb()
