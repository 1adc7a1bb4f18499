#!/usr/bin/env python3
"""Writes the FlashAttentionScoreGrad batch files test_fag_full, test_fag_ci and test_fag_negative ("fag:" problem
strings: docs/conformance.md; the forward's keys, since a fag case is the backward of that forward).

test_fag_full: every layout x dtype x sparse_mode (7 and 8 only in TND, 5 never in TND) x pse (none, types 0-3 in
rotating forms; types 2/3 need S1 = S2, per batch in TND) x dropout path (none, the generator from seed/offset, an
explicit bit-packed mask), with GQA 1/2/8, head dims 64, 72/40 (Dv < Dk) and 40 and odd sizes S1 < S2 and S1 > S2
(7, 33, 113) rotating; then targeted cases: fully masked rows with and without invalid-line mode, negative bands,
prefixes with 0, zero-length TND batches, the ALiBi-compressed pse forms, large GQA and S = 1023.
test_fag_ci: every 17th case of the sweep (the draws keep each dimension covered; head dim 40 becomes 64, so CI
builds fewer kernels) and the targeted cases under a size budget. Rejected cases: test_fag_negative, included by both.
Re-run after editing: python3 gen_test_fag.py
"""
import pathlib
import random

import gen_fa_masks
import gen_fa_pse

HERE = pathlib.Path(__file__).resolve().parent
INT32_MAX = gen_fa_masks.INT32_MAX
LAYOUTS = ["BSH", "SBH", "BSND", "BNSD", "TND"]
DTYPES = ["fp32", "fp16", "bf16"]
HEADS = ["n2g1", "n4g2", "n8g8"]
DIMS = ["d=64", "dk=72dv=40", "d=40"]
SIZES = {"lt": [(7, 33), (33, 113), (7, 113)], "gt": [(33, 7), (113, 33), (113, 7)], "eq": [(33, 33), (7, 7), (113, 113)]}
PSE = [None, 0, 1, 2, 3]
DROPOUT = ["none", "gen", "explicit"]
CI_EVERY = 17  # coprime with the 3 dropout paths and 5 pse choices


def pse_extra(pse_type, layout, k):
    if pse_type is None:
        return ""
    forms = gen_fa_pse.FORMS[pse_type]
    if layout == "TND":
        forms = [f for f in forms if f in gen_fa_pse.TND_FORMS]
    return f":pse_type={pse_type}:pse={forms[k % len(forms)]}"


def drop_extra(path, k):
    if path == "gen":
        return f":keep_prob={[0.9, 0.75, 0.5][k % 3]}:drop_seed={11 + k}:drop_offset={(k * 37) % 256}"
    if path == "explicit":
        return f":keep_prob={[0.8, 0.6, 1][k % 3]}:drop_mask=explicit"
    return ""


def fag(case):
    """A forward case of gen_fa_masks.line() as the backward's problem, in the conformance tool's canonical order."""
    return gen_fa_pse.canonical("fag" + case[0][2:])


def sweep():
    """The cross product, with heads, head dims, sizes and batch drawn per case from a fixed-seed generator (so the
    CI stride does not lock them to one dropout path or pse type)."""
    cases, k, rng = [], 0, random.Random(20261203)
    for layout in LAYOUTS:
        for dtype in DTYPES:
            for mode in range(9):
                if (mode in (7, 8)) != (layout == "TND") and mode in (7, 8) or (mode == 5 and layout == "TND"):
                    continue
                for pse_type in PSE:
                    if mode == 7 and pse_type is not None:  # Ascend has no pse with sparse_mode 7
                        continue
                    for path in DROPOUT:
                        k += 1
                        # ALiBi (types 2/3), and any pse in sparse_mode 8, needs S1 = S2 (per batch in TND);
                        # otherwise S1 < S2 and S1 > S2 alternate.
                        equal = pse_type in (2, 3) or (mode == 8 and pse_type is not None)
                        rel = "eq" if equal else ("lt", "gt")[k % 2]
                        s1, s2 = rng.choice(SIZES[rel])
                        short = max(1, s1 // 3)
                        lens = ([s1, short], [s2, short if rel == "eq" else s2 // 2 + 1])
                        extra = pse_extra(pse_type, layout, k) + drop_extra(path, k)
                        c = gen_fa_masks.line(mode, layout, dtype, rng.choice(HEADS), rng.choice(DIMS), s1, s2, k,
                                              extra=extra, batch=rng.choice([1, 2]),
                                              lens=lens if layout == "TND" else None)
                        if c:
                            cases.append(fag(c))
    return cases


def targeted():
    raw = []
    line = gen_fa_masks.line
    # Fully masked rows from the tensor: invalid-line mode (inner_precise 2) gives zero gradients; without it the
    # forward's sum is the row's column count and dv gets the mean's gradient.
    for i, ip in enumerate([2, 0, 2, 0]):
        mode, kind = [(0, "ss"), (1, "bnss"), (0, "b1ss"), (1, "11ss")][i]
        s1, s2 = [(33, 113), (113, 33), (33, 33), (7, 113)][i]
        extra = f":mask={kind}:mask_rows={3 + i}" + (f":inner_precise={ip}" if ip else "")
        raw.append(line(mode, LAYOUTS[i % 4], DTYPES[i % 3], HEADS[i % 3], "d=64", s1, s2, i, INT32_MAX, INT32_MAX,
                        extra=extra))
    raw.append(line(0, "TND", "fp16", "n4g2", "d=64", 33, 113, 0, INT32_MAX, INT32_MAX,
                    extra=":mask_rows=3:inner_precise=2"))
    # Negative and narrow bands (modes 0 and 4), prefixes with 0 (modes 5 and 6).
    for i, (pre, nxt) in enumerate([(-3, 10), (20, -5), (0, 0), (1, -1)]):
        for mode in (0, 4):
            raw.append(line(mode, LAYOUTS[(i + mode) % 5], DTYPES[i % 3], HEADS[i % 3], "d=64", 113, 33 + 80 * (i % 2),
                            i, pre, nxt))
    for mode in (5, 6):
        for i, (s1, s2, prefix) in enumerate([(33, 113, [0, 0]), (113, 33, [0, 20]), (113, 113, [0, 113])]):
            if mode == 6 and any(p < max(0, s2 - s1) or p > s2 for p in prefix):
                continue
            raw.append(line(mode, LAYOUTS[i % 4], DTYPES[i % 3], "n4g2", "d=64", s1, s2, i, prefix=prefix))
    # TND with zero-length batches in the band modes and the skipping ones.
    for mode, dtype, q, kv, nxt, prefix in [(7, "fp32", [37, 103, 0], [90, 150, 0], -1, None),
                                           (8, "bf16", [0, 37, 103], [5, 90, 70], 20, None),
                                           (2, "fp16", [37, 0, 103], [90, 20, 70], None, None),
                                           (3, "fp32", [37, 0, 70], [90, 0, 103], None, None),
                                           (6, "bf16", [37, 0, 103], [90, 20, 70], None, [53, 20, 0])]:
        raw.append(line(mode, "TND", dtype, "n4g2", "d=64", 0, 0, 0, INT32_MAX,
                        INT32_MAX if nxt is None else nxt, prefix, lens=(q, kv)))
    # Dropout with pse and a causal band together; large G; S = 1023 (the CPU kernel's many key blocks).
    raw.append(line(3, "BSND", "bf16", "n8g8", "d=64", 113, 203, 0,
                    extra=":pse_type=1:pse=bnss:keep_prob=0.8:drop_seed=5:drop_offset=3"))
    raw.append(line(0, "BNSD", "fp32", "n16g8", "d=64", 113, 70, 0, INT32_MAX, INT32_MAX))
    raw.append(line(0, "BNSD", "fp32", "n2g1", "d=64", 300, 1023, 0, INT32_MAX, INT32_MAX))
    raw.append(line(3, "BSH", "fp16", "n2g2", "d=64", 1023, 1023, 0))
    out = [fag(c) for c in raw if c]
    # The bf16 pair tiles (fag.BF16_DOT, on CPUs with avx512_bf16): odd head dims (a pair's second half past the head
    # dim), odd rows and keys (past the block's rows or keys), head dim 128, one query row, GQA, a band and dropout.
    out += [gen_fa_pse.canonical(t) for t in [
        "fag:b2n4g2s1=113s2=203dk=59dv=33:layout=BSND:dt=bf16:sparse=3",
        "fag:b1n2g2s1=1s2=7d=128:layout=BNSD:dt=bf16",
        "fag:b1n2g1s1=203s2=113d=128:layout=SBH:dt=bf16:sparse=0:pre=40:next=7:keep_prob=0.9:drop_seed=7:drop_offset=5"]]
    # The ALiBi-compressed forms (S1 = S2 >= 1024 and a causal rule), from the forward's pse batch.
    for t in (HERE / "test_fa_pse").read_text().splitlines():
        t = t.split("#")[0].strip()
        if t.startswith("fa:") and ":pse=alibi" in t and ("s=2048" in t):
            out.append("fag" + t[2:])
    return out


NEGATIVE = [
    ("fag:b1n2g1s=16d=64:layout=BSND:dt=fp32:dy_dt=fp16", "dy's dtype is not the query's"),
    ("fag:b1n2g1s=16d=64:layout=BSH:dt=bf16:dy_d=32", "dy is not attention_out's shape"),
    ("fag:b1n2g1s=16d=64:layout=BNSD:dt=fp16:ain_dt=fp32", "attention_in's dtype is not the query's"),
    ("fag:b1n2g1s=16d=64:layout=BSND:dt=fp32:stats_dt=fp16", "softmax_max/sum are not fp32"),
    ("fag:b1n2g1s=16d=64:layout=SBH:dt=fp32:stats_lanes=1", "softmax_max/sum without the 8 lanes"),
    ("fag:n2g1d=64:layout=TND:dt=fp32:seqq=5,12:stats_lanes=4", "TND statistics without the 8 lanes"),
    ("fag:b1n2g1s=16d=64:layout=BSND:dt=fp32:pse_type=0", "pse_type 0 without a pse"),
    ("fag:b1n2g1s=16d=64:layout=BSDN:dt=fp32", "unknown layout"),
    ("fag:b1n2g1s=16d=64:layout=BSND:dt=int32", "not a floating dtype"),
    ("fag:b1n2g1s=16dk=64dv=128:layout=BSND:dt=fp32", "Dv > Dk"),
    ("fag:b1n8n2=3s=16d=64:layout=BSND:dt=fp32", "N1 % N2 != 0"),
    ("fag:b1n4g2s=16d=64:layout=BSND:dt=fp32:head_num=2", "head_num differs from the query's heads"),
    ("fag:b1n2g1s=16d=64:layout=BSND:dt=fp32:sparse=9", "no such sparse_mode"),
    ("fag:b1n2g1s=64d=64:layout=BSND:dt=fp32:sparse=7", "sparse_mode 7 outside TND"),
    ("fag:b1n2g1s=64d=64:layout=BSND:dt=fp32:sparse=0:pre=-5:next=2", "band without intersection"),
    ("fag:b1n2g1s=16d=64:layout=BSND:dt=fp32:keep_prob=0", "keep_prob outside (0, 1]"),
    ("fag:b1n2g1s=16d=64:layout=BSND:dt=fp32:pse_type=4:pse=bnss", "no such pse_type"),
    ("fag:b1n2g1s1=16s2=32d=64:layout=BSND:dt=fp32:pse_type=2:pse=slopes_n", "ALiBi with S1 != S2"),
    ("fag:b1n2g1s=16d=64:layout=BSND:dt=fp32:softmax_layout=TND", "softmax_layout TND needs layout TND"),
    ("fag:n2g1d=64:layout=TND:dt=fp32:seqq=5,3,9:seqkv=5,6,9", "seqq decreases"),
]


def write(name, header, lines):
    text = "".join(f"# {h}\n" for h in header) + "\n" + "".join(f"{l}\n" for l in lines)
    (HERE / name).write_text(text)


def main():
    note = "Written by gen_test_fag.py; edit that, not this."
    width = max(len(t) for t, _ in NEGATIVE)
    write("test_fag_negative", ["FlashAttentionScoreGrad cases the operator must reject.", note],
          [f"!{t:<{width}}  # {why}" for t, why in NEGATIVE])
    full, extra = sweep(), targeted()
    # CI builds fewer kernels: head dim 40 (an odd multiple of 8, like 72/40's Dv) becomes 64; the full batch keeps it.
    ci = [t.replace("d=40:", "d=64:") for t in full[CI_EVERY - 1::CI_EVERY]]
    ci += [t for t in extra if "1023" not in t and "2048" not in t]
    write("test_fag_full", [f"{len(full) + len(extra)} generated cases plus the negative ones. {note}"],
          ["include test_fag_negative", ""] + full + extra)
    write("test_fag_ci", [f"The CI subset ({len(ci)} cases, small sizes) plus the negative ones. {note}"],
          ["include test_fag_negative", ""] + ci)


if __name__ == "__main__":
    main()
