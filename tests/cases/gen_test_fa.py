#!/usr/bin/env python3
"""Writes the generated FlashAttentionScore batch files test_fa_full, test_fa_ci, test_fa_masks, test_fa_pse and
test_fa_dropout.

The cross product layout x dtype x GQA ratio x head dim is covered exactly (every combination appears);
sequence-length pairs rotate through all pairs of the size set with a stride coprime to its length, so
every (S1, S2) pair, S1 < S2 and S1 > S2 included, meets many combinations. The batch count shrinks as a
case's FLOPs grow, keeping the suite's run time bounded. The masking batch is gen_fa_masks.py's, the pse and
dropout batches gen_fa_pse.py's.
Re-run after editing: python3 gen_test_fa.py
"""
import math
import pathlib

import gen_fa_masks
import gen_fa_pse

LAYOUTS = ["BSH", "SBH", "BSND", "BNSD", "TND"]
DTYPES = ["fp32", "fp16", "bf16"]
HEADS = {1: "n3g1", 2: "n4g2", 8: "n8g8"}  # GQA ratio -> N1 and N1/N2 (ratio 1 with an odd head count)
DIMS = {"d=64": (64, 64), "d=128": (128, 128), "dk=192dv=128": (192, 128)}
HERE = pathlib.Path(__file__).resolve().parent


def pairs(sizes):
    return [(a, b) for a in sizes for b in sizes]


def flops(b, n1, s1, s2, dk, dv):
    return 2.0 * b * n1 * s1 * s2 * (dk + dv)


def tnd_seqs(s1, s2):
    """Two batches of different lengths (the second batch has another S1/S2 ratio)."""
    q = [s1, max(1, math.ceil(s1 / 2))]
    kv = [s2, max(1, math.ceil(3 * s2 / 4))]
    cum = lambda lens: ",".join(str(sum(lens[: i + 1])) for i in range(len(lens)))
    return f"seqq={cum(q)}:seqkv={cum(kv)}", sum(a * b for a, b in zip(q, kv))


def case(layout, dtype, ratio, dim, s1, s2, budget):
    heads = HEADS[ratio]
    n1 = int(heads[1:heads.index("g")])
    dk, dv = DIMS[dim]
    if layout == "TND":
        seqs, area = tnd_seqs(s1, s2)
        return f"fa:{heads}{dim}:layout=TND:dt={dtype}:{seqs}", flops(1, n1, 1, area, dk, dv)
    b = next(b for b in (3, 2, 1) if b == 1 or flops(b, n1, s1, s2, dk, dv) <= budget)
    size = f"s={s1}" if s1 == s2 else f"s1={s1}s2={s2}"
    return f"fa:b{b}{heads}{size}{dim}:layout={layout}:dt={dtype}", flops(b, n1, s1, s2, dk, dv)


def combos(latin):
    """Every layout x dtype x ratio x dim, or (latin) a Latin square: per layout x dtype each ratio once,
    with the dims rotated so that layout x dtype x dim and ratio x dim are still fully covered."""
    for k, (layout, dtype) in enumerate((l, d) for l in LAYOUTS for d in DTYPES):
        for r, ratio in enumerate(HEADS):
            dims = [list(DIMS)[(r + k) % len(DIMS)]] if latin else list(DIMS)
            for dim in dims:
                yield layout, dtype, ratio, dim


def generate(sizes, per_combo, budget, latin=False):
    size_pairs = pairs(sizes)
    stride = next(s for s in (11, 7, 3, 1) if math.gcd(s, len(size_pairs)) == 1)
    lines, total, step, seen = [], 0.0, 0, {}
    for layout, dtype, ratio, dim in combos(latin):
        for _ in range(per_combo):
            s1, s2 = size_pairs[(step * stride) % len(size_pairs)]
            step += 1
            seen.setdefault((layout, dtype), set()).add((s1, s2))
            line, f = case(layout, dtype, ratio, dim, s1, s2, budget)
            lines.append(line)
            total += f
    return lines, total, min(len(pairs_seen) for pairs_seen in seen.values())


def write(name, header, lines, includes, total):
    text = "".join(f"# {h}\n" for h in header)
    text += f"# {len(lines)} cases, about {total / 1e9:.0f} GFLOP. Written by gen_test_fa.py; edit that, not this.\n\n"
    text += "".join(f"include {i}\n" for i in includes) + ("\n" if includes else "")
    text += "\n".join(lines) + "\n"
    (HERE / name).write_text(text)


def main():
    masks = gen_fa_masks.cases()
    write("test_fa_masks",
          ["atten_mask, sparse_mode 0-8, pre/next tokens, prefix and invalid rows (included by test_fa_full): every",
           "mode x layout x dtype (7 and 8 in TND only, 5 never in TND) with S1 < S2, S1 = S2 and S1 > S2, every mask",
           "shape and dtype, bands with negative pre/next, prefixes with 0, fully masked rows with and without",
           "inner_precise=2, and sparse_mode without a mask (no masking). Rejected variants are in test_fa_negative."],
          [line for line, _ in masks], [], sum(f for _, f in masks))
    pse = gen_fa_pse.pse_cases()
    write("test_fa_pse",
          ["pse (included by test_fa_full): every pse_type x shape form x layout x dtype (TND with its packed forms),",
           "S1 < S2, S1 = S2, S1 > S2 for types 0/1 (types 2/3 need S1 == S2), q_start/kv_start, the ALiBi-compressed",
           "forms at S=2048 and S=4096 under each causal rule (and in TND), and pse with masks. Rejected variants",
           "are in test_fa_negative."],
          [line for line, _ in pse], [], sum(f for _, f in pse))
    dropout = gen_fa_pse.dropout_cases()
    write("test_fa_dropout",
          ["Dropout (included by test_fa_full): explicit bit-packed drop_masks (keep_prob 1 down to 0.02, odd element",
           "counts, masks longer than needed) across layouts and dtypes, the built-in generator with various seeds",
           "and offsets (at S=2048 its kept fraction is checked), and dropout with masks and pse. Rejected variants",
           "are in test_fa_negative."],
          [line for line, _ in dropout], [], sum(f for _, f in dropout))
    lines, total, fewest = generate([1, 7, 113, 1023, 2048], 3, 24e9)
    assert fewest == 25, f"a layout x dtype meets only {fewest} of the 25 size pairs"
    write("test_fa_full",
          ["The full FlashAttentionScore conformance suite (README command 1): all 5 layouts x fp32/fp16/bf16 x",
           "GQA ratios 1, 2, 8 x D in {64, 128, 192 with Dv=128}, each three times, with S1/S2 from {1, 7, 113, 1023,",
           "2048} (every layout x dtype meets all 25 pairs, S1 != S2 both ways), plus the edge and negative cases."],
          lines, ["test_fa_edge", "test_fa_negative", "test_fa_masks", "test_fa_pse", "test_fa_dropout", "test_fa_tolerance"],
          total)
    lines, total, _ = generate([1, 7, 64, 113, 203, 256], 1, 1e9, latin=True)
    big = [("fa:b1n2g1s=1023d=64:layout=BSND:dt=fp32", flops(1, 2, 1023, 1023, 64, 64)),
           ("fa:b1n2g2s=2048d=128:layout=BNSD:dt=bf16", flops(1, 2, 2048, 2048, 128, 128)),
           ("fa:b1n4g4s1=113s2=2048d=64:layout=BSH:dt=fp16", flops(1, 4, 113, 2048, 64, 64)),
           ("fa:b1n2g1s1=2048s2=113dk=192dv=128:layout=SBH:dt=fp32", flops(1, 2, 2048, 113, 192, 128)),
           ("fa:n2g2d=64:layout=TND:dt=bf16:seqq=1023,1100:seqkv=1023,2048", flops(1, 2, 1, 1023 * 1023 + 77 * 1025, 64, 64))]
    ci_masks = gen_fa_masks.ci_subset(masks)
    ci_extra = gen_fa_pse.ci_subset(pse) + gen_fa_pse.ci_subset(dropout, alibi=False)
    large = [("fa:b1n4g1s=200d=64:layout=BSND:dt=fp16:pse_type=2:pse=slopes_n:slopes=normal",
              flops(1, 4, 200, 200, 64, 64)),
             ("fa:b2n4g2s=200d=128:layout=BSH:dt=bf16:pse_type=3:pse=slopes_bn:slopes=normal",
              flops(2, 4, 200, 200, 128, 128)),
             ("fa:b1n2g1s=1024d=64:layout=BSND:dt=fp16:sparse=3:pse_type=0:pse=alibi:slopes=normal",
              flops(1, 2, 1024, 1024, 64, 64) / 2),
             ("fa:b2n4g1s=1024d=128:layout=BSH:dt=fp32:scale=1:pre=143:next=44", flops(2, 4, 1024, 188, 128, 128))]
    write("test_fa_tolerance",
          ["Problems whose fp32 error grows past the fixed tolerance table, which the tolerance model must admit",
           "(ctest conformance_fa_tolerance, included by test_fa_full): ALiBi slopes drawn from N(0, 1), so |scores|",
           "reach the hundreds (the compressed fp16 case fails the table's softmax_sum bound 2.2x), and an fp32 band at",
           "scale 1."],
          [line for line, _ in large], [], sum(f for _, f in large))
    write("test_fa_ci",
          ["The conformance CI batch (ctest conformance_fa_ci): every layout x dtype x GQA ratio, with head dims",
           "rotated so every layout x dtype x D appears, S1/S2 up to 256 (S1 != S2 both ways), a few 1023/2048",
           "cases, a subset of test_fa_masks (each sparse_mode x layout once, small sizes), of test_fa_pse and",
           "test_fa_dropout (each pse form, layout and dtype, one ALiBi-compressed case), and the edge and negative",
           "cases."],
          lines + [line for line, _ in big + ci_masks + ci_extra], ["test_fa_edge", "test_fa_negative"],
          total + sum(f for _, f in big + ci_masks + ci_extra))


if __name__ == "__main__":
    main()
