"""The pse and dropout batches test_fa_pse and test_fa_dropout (imported by gen_test_fa.py, which writes every
batch file). Rules are docs/flash_attention_score.md's "pse" and "Dropout" sections.

test_fa_pse: every pse_type x shape form x layout x dtype (TND with its packed forms), S1 < S2, S1 = S2 and
S1 > S2 for types 0/1 (types 2/3 need S1 == S2, per batch in TND), q_start/kv_start, the ALiBi-compressed forms
at S=2048 and S=4096 under each causal rule Ascend accepts (sparse_mode 2, 3, or 0 with next=0), the compressed
TND form, and pse combined with masks. test_fa_dropout: explicit bit-packed masks (keep_prob 1 down to 0.02, odd
element counts, masks longer than needed) across layouts and dtypes, the built-in generator with various
seeds and offsets, and dropout combined with pse and masks. Rejected variants are in test_fa_negative.
"""
import math

import gen_fa_masks

INT32_MAX = gen_fa_masks.INT32_MAX
LAYOUTS = ["BSH", "SBH", "BSND", "BNSD", "TND"]
DTYPES = ["fp32", "fp16", "bf16"]
HEADS = ["n2g1", "n4g2", "n3g3"]
DIMS = ["d=64", "d=128", "dk=192dv=128"]
SIZES = {"lt": [(7, 113), (113, 203), (64, 256)],
         "eq": [(113, 113), (256, 256), (7, 7), (203, 203)],
         "gt": [(203, 113), (256, 64), (113, 7)]}
FORMS = {0: ["bnss", "1nss", "bn1s", "1n1s"], 1: ["bnss", "1nss", "bn1s", "1n1s"],
         2: ["slopes_bn", "slopes_n"], 3: ["slopes_bn", "slopes_n"]}
TND_FORMS = {"bnss", "bn1s", "slopes_bn", "slopes_n"}
# q_start/kv_start of types 2/3: both (they apply), one only (ignored: both are 0), negative values.
STARTS = ["", ":q_start=3:kv_start=0", ":q_start=5:kv_start=-2", ":q_start=0:kv_start=7", ":q_start=4"]
ORDER = ["layout", "dt", "scale", "seqq", "seqkv", "softmax_layout", "head_num", "sparse", "pre", "next", "prefix",
         "inner_precise", "mask", "mask_dt", "mask_density", "mask_rows", "mask_causal", "pse_type", "pse", "pse_dt",
         "q_start", "kv_start", "keep_prob", "drop_mask", "drop_dt", "drop_bytes", "drop_seed", "drop_offset", "seed"]


def canonical(text):
    """cannon-conformance's canonical attribute order (tools/drivers/fa/fa_problem.cpp)."""
    head, dims, *attrs = text.split(":")
    kv = dict(a.split("=", 1) for a in attrs)
    for key, default in (("pse_type", "1"), ("keep_prob", "1")):
        if kv.get(key) == default:
            del kv[key]
    if kv["layout"] == "TND" and not dims.startswith("b"):
        dims = f"b{len(kv['seqq'].split(','))}" + dims
    return ":".join([head, dims] + [f"{k}={kv[k]}" for k in sorted(kv, key=ORDER.index)])


def n1_of(heads):
    return int(heads[1:heads.index("g")])


def size_case(layout, dtype, heads, dim, q, kv, batch):
    """The dims + layout + dtype part, and FLOPs. TND takes per-batch lengths q, kv; others batch x (q[0], kv[0])."""
    dk, dv = gen_fa_masks.dims(dim)
    if layout == "TND":
        text = f"fa:{heads}{dim}:layout=TND:dt={dtype}:seqq={gen_fa_masks.cum(q)}:seqkv={gen_fa_masks.cum(kv)}"
        return text, gen_fa_masks.flops(n1_of(heads), q, kv, dk, dv)
    s1, s2 = q[0], kv[0]
    size = f"s={s1}" if s1 == s2 else f"s1={s1}s2={s2}"
    return f"fa:b{batch}{heads}{size}{dim}:layout={layout}:dt={dtype}", batch * gen_fa_masks.flops(
        n1_of(heads), [s1], [s2], dk, dv)


def lengths(layout, s1, s2, equal):
    """Per-batch lengths: TND two batches (the second shorter, in the same S1/S2 relation), else one entry."""
    if layout != "TND":
        return [s1], [s2]
    q = [s1, max(1, math.ceil(s1 / 2))]
    return (q, list(q)) if equal else gen_fa_masks.tnd_lengths(s1, s2)


def mask_extra(k, layout, q, kv, allow8=True):
    """Every fourth case adds a mask the op accepts with pse: a random [S1,S2] mask (mode 0), causal modes 2/3,
    or a band (mode 4); TND: modes 0, 2, 3 (when S1_b <= S2_b) and 8 (when S1_b == S2_b)."""
    if k % 4 != 3:
        return ""
    tnd = layout == "TND"
    options = [(0, ":sparse=0"), (2, ":sparse=2"), (3, ":sparse=3"), (4, ":sparse=4:pre=16:next=16")]
    if tnd:
        options = [(0, ":sparse=0"), (2, ":sparse=2"), (3, ":sparse=3")]
        options += [(8, ":sparse=8")] if q == kv and allow8 else []
    for i in range(len(options)):
        mode, text = options[(k // 4 + i) % len(options)]
        pre, nxt = (16, 16) if mode == 4 else (INT32_MAX, INT32_MAX)
        if gen_fa_masks.accepted(mode, q, kv, pre, nxt, None, tnd):
            return text
    return ""


def sweep():
    cases, k = [], 0
    for pse_type in range(4):
        for form in FORMS[pse_type]:
            for layout in LAYOUTS:
                if layout == "TND" and form not in TND_FORMS:
                    continue
                for d, dtype in enumerate(DTYPES):
                    rel = "eq" if pse_type >= 2 else ["lt", "eq", "gt"][(d + k) % 3]
                    s1, s2 = SIZES[rel][k % len(SIZES[rel])]
                    q, kv = lengths(layout, s1, s2, pse_type >= 2)
                    text, f = size_case(layout, dtype, HEADS[k % 3], DIMS[k % 3], q, kv, 1 + k % 2)
                    starts = STARTS[k % len(STARTS)] if pse_type >= 2 else ""
                    # sparse_mode 8 with types 2/3: batch 0 needs S1 + q_start == S2 + kv_start (starts apply
                    # only when both are given).
                    allow8 = "kv_start" not in starts or starts == ":q_start=0:kv_start=0"
                    text += mask_extra(k, layout, q, kv, allow8) + f":pse_type={pse_type}:pse={form}" + starts
                    cases.append((text, f))
                    k += 1
    return cases


def alibi():
    """The ALiBi-compressed forms: S=2048 (every form x type x dtype) and S=4096, under the causal rules; S1=1024
    (the plain full form, no rule needed); TND with S1max above and below 1024."""
    rules = [":sparse=2", ":sparse=3", ":sparse=0:next=0:mask_density=0.05"]
    cases, k = [], 0
    for s, dtypes in ((2048, DTYPES), (4096, ["bf16", "fp32"])):
        for form in ("alibi", "alibi1"):
            for pse_type in (0, 1):
                for dtype in dtypes:
                    layout = LAYOUTS[k % 4]
                    batch = 2 if s == 2048 and form == "alibi" else 1
                    text, f = size_case(layout, dtype, "n2g1", "d=64", [s], [s], batch)
                    cases.append((text + rules[k % 3] + f":pse_type={pse_type}:pse={form}", f / 2))
                    k += 1
    for pse_type, form in ((0, "alibi"), (1, "alibi1")):
        text, f = size_case("BNSD", "fp16", "n2g2", "d=64", [1024], [1024], 2)
        cases.append((text + f":pse_type={pse_type}:pse={form}", f))
    for i, (q, tnd_rule) in enumerate([([2048, 1100], ":sparse=3"), ([300, 700, 64], ":sparse=2"),
                                       ([1500, 1025], ":sparse=0:next=0:mask_density=0.05"), ([900, 1], ":sparse=3")]):
        for j, (pse_type, form) in enumerate(((0, "alibi1"), (1, "alibi"))):
            text, f = size_case("TND", DTYPES[(i + j) % 3], HEADS[(i + j) % 2], "d=64", q, q, 1)
            cases.append((text + tnd_rule + f":pse_type={pse_type}:pse={form}", f / 2))
    return cases


def large():
    """Types 2/3 and full pse at S=2048 (the benchmark's shape, smaller), with and without a causal mask."""
    rows = [("BSND", "fp32", ":pse_type=2:pse=slopes_n"), ("BNSD", "bf16", ":sparse=3:pse_type=3:pse=slopes_bn"),
            ("BSH", "fp16", ":pse_type=2:pse=slopes_bn:q_start=100:kv_start=0"), ("SBH", "bf16", ":pse=bnss"),
            ("TND", "fp16", ":sparse=8:pse_type=2:pse=slopes_n:q_start=1:kv_start=0")]
    cases = []
    for layout, dtype, extra in rows:
        q, kv = ([2048], [2048]) if layout != "TND" else ([1500, 548], [1501, 548])
        text, f = size_case(layout, dtype, "n2g1", "d=64", q, kv, 1)
        cases.append((text + extra, f))
    return cases


def pse_cases():
    return [(canonical(t), f) for t, f in sweep() + alibi() + large()]


def dropout_cases():
    cases, k = [], 0
    keeps = [1, 0.9, 0.5, 0.1, 0.02]
    # Explicit masks: each layout x dtype with two keep_probs (odd sizes: numels not a multiple of 8).
    for layout in LAYOUTS:
        for dtype in DTYPES:
            for rep in range(2):
                rel = ["lt", "eq", "gt"][(k + rep) % 3]
                s1, s2 = SIZES[rel][k % len(SIZES[rel])]
                q, kv = lengths(layout, s1, s2, False)
                text, f = size_case(layout, dtype, HEADS[k % 3], DIMS[k % 3], q, kv, 1 + k % 2)
                cases.append((text + f":keep_prob={keeps[k % len(keeps)]}:drop_mask=explicit", f))
                k += 1
    # The generator: seeds (negative and above 2^32 included) and offsets (not multiples of 16 included).
    seeds = [(0, 0), (1234, 16), (2**40 + 7, 37), (-5, 1000003), (99, 5)]
    for i, layout in enumerate(LAYOUTS):
        for d, dtype in enumerate(DTYPES):
            rel = ["lt", "eq", "gt"][(i + d) % 3]
            s1, s2 = SIZES[rel][(i + d) % len(SIZES[rel])]
            q, kv = lengths(layout, s1, s2, False)
            text, f = size_case(layout, dtype, HEADS[(i + d) % 3], "d=64", q, kv, 1 + d % 2)
            seed, offset = seeds[(i + d) % len(seeds)]
            text += f":keep_prob={[0.9, 0.5, 0.1, 0.75][(i + d) % 4]}"
            text += (f":drop_seed={seed}" if seed else "") + (f":drop_offset={offset}" if offset else "")
            cases.append((text, f))
    # Masks longer than ceil(numels/8): torch_npu's ceil(numels/128)*128/8 + 32 bytes.
    for layout, dtype, b, s1, s2 in (("BSND", "fp32", 2, 113, 203), ("BNSD", "bf16", 1, 7, 9)):
        numels = b * 2 * s1 * s2
        text, f = size_case(layout, dtype, "n2g1", "d=64", [s1], [s2], b)
        cases.append((text + f":keep_prob=0.8:drop_mask=explicit:drop_bytes={-(-numels // 128) * 16 + 32}", f))
    # Dropout with masks (invalid rows included), pse, and both.
    combos = [("BSND", "fp32", (113, 203), ":sparse=3:keep_prob=0.7:drop_mask=explicit"),
              ("BNSD", "fp16", (203, 113), ":sparse=0:mask_rows=3:inner_precise=2:keep_prob=0.6"),
              ("BSH", "bf16", (256, 256), ":sparse=4:pre=16:next=16:keep_prob=0.9:drop_seed=7"),
              ("SBH", "fp32", (113, 113), ":pse_type=2:pse=slopes_bn:q_start=2:kv_start=0:keep_prob=0.5"),
              ("BSND", "bf16", (64, 256), ":pse=bnss:keep_prob=0.85:drop_mask=explicit"),
              ("TND", "fp16", (203, 256), ":sparse=2:pse=bn1s:keep_prob=0.75:drop_mask=explicit"),
              ("TND", "fp32", (113, 113), ":sparse=0:pse_type=3:pse=slopes_n:keep_prob=0.4:drop_seed=3:drop_offset=48"),
              ("BNSD", "fp32", (2048, 2048), ":sparse=2:pse=alibi1:keep_prob=0.9:drop_seed=11")]
    for i, (layout, dtype, (s1, s2), extra) in enumerate(combos):
        q, kv = lengths(layout, s1, s2, s1 == s2)
        text, f = size_case(layout, dtype, HEADS[i % 2], "d=64", q, kv, 1 + i % 2 if s1 < 2048 else 1)
        cases.append((text + extra, f))
    # S=2048: the generator's kept fraction is checked against keep_prob (cannon-conformance, 1%).
    for dtype, keep in (("fp32", 0.9), ("bf16", 0.1)):
        text, f = size_case("BSND", dtype, "n2g1", "d=64", [2048], [2048], 1)
        cases.append((text + f":keep_prob={keep}:drop_seed=42:drop_offset=4096", f))
    return [(canonical(t), f) for t, f in cases]


def ci_subset(all_cases, budget=2e8, alibi=True):
    """Small cases that bring something new: a (pse_type, form), a (pse_type or dropout kind, layout), a
    (pse_type, dtype), pse or dropout with a mask; plus the first ALiBi-compressed case at S=2048."""
    picked, seen = [], set()
    for t, f in all_cases:
        kv = dict(a.split("=", 1) for a in t.split(":")[2:])
        kind = kv.get("pse_type", "1" if "pse" in kv else "") + ("drop" if "drop_mask" in kv else
                                                                 "gen" if "keep_prob" in kv else "")
        keys = {("form", kind, kv.get("pse")), ("layout", kind, kv["layout"]), ("dtype", kind, kv["dt"]),
                ("mask", kind, "sparse" in kv)}
        if "alibi" in kv.get("pse", "") and "s=2048" in t:
            if not alibi:
                continue
            keys = {"alibi"}
        elif f > budget:
            continue
        if keys - seen:
            seen |= keys
            picked.append((t, f))
    return picked
