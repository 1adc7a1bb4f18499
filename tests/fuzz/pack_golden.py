#!/usr/bin/env python3
# Packs a golden case directory (cannon-conformance --dump) into one fuzz_golden_case input: case.json, then each
# other file after a line "--- <relative name>". Used to make tests/fuzz/corpus/fuzz_golden_case/ seeds.
# Usage: pack_golden.py DIR OUT
import os
import sys

src, out = sys.argv[1], sys.argv[2]
with open(os.path.join(src, "case.json"), "rb") as f:
    packed = f.read().rstrip(b"\n")
for root, _, files in sorted(os.walk(src)):
    for name in sorted(files):
        rel = os.path.relpath(os.path.join(root, name), src)
        if rel != "case.json":
            with open(os.path.join(root, name), "rb") as f:
                packed += b"\n--- " + rel.encode() + b"\n" + f.read()
with open(out, "wb") as f:
    f.write(packed)
