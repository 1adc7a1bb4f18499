"""The masking batch test_fa_masks (imported by gen_test_fa.py, which writes every batch file).

Every sparse_mode x layout x dtype (modes 7 and 8 only in TND, mode 5 never in TND) with S1 < S2, S1 = S2
and S1 > S2, rotating heads, head dims, mask shapes and mask dtypes; then the targeted cases: bands with
negative and small pre/next (modes 0 and 4), prefixes with 0 (modes 5 and 6), invalid rows with and without
inner_precise=2, no mask with sparse_mode 2/3, and TND with zero-length batches.

A port of cannon's (and Ascend's) checks, accepted(), keeps the positive cases positive: no band without
intersection or missing the matrix, mode 7/8's pre/next limits, and in TND no row left without a visible column
in the modes where Ascend rejects that. Non-TND cases may leave invalid rows (S1 > S2 in mode 3, prefix 0 ...): the
operator then switches invalid-line mode on by itself, which is what those cases test.
"""
import math

INT32_MAX = 2147483647
LAYOUTS = ["BSH", "SBH", "BSND", "BNSD"]
DTYPES = ["fp32", "fp16", "bf16"]
HEADS = ["n2g1", "n4g2", "n4g4"]
DIMS = ["d=64", "d=128", "d=64", "dk=192dv=128"]
SIZES = {"lt": [(7, 113), (113, 203), (203, 256), (113, 1023)],
         "eq": [(7, 7), (113, 113), (256, 256), (203, 203), (1023, 1023)],
         "gt": [(113, 7), (256, 203), (203, 113), (1023, 256)]}
SHAPED = {0: ["ss", "bnss", "b1ss", "11ss"], 1: ["bnss", "11ss", "ss", "b1ss"], 5: ["b1ss", "bnss"]}
BANDS0 = [(INT32_MAX, INT32_MAX), (4, 4), (-3, 10), (20, -5), (0, 0), (64, 0)]
BANDS4 = [(INT32_MAX, INT32_MAX), (8, 8), (-2, 10), (16, -4), (0, 0), (300, 1)]
BANDS7 = [(INT32_MAX, 0), (INT32_MAX, -3), (INT32_MAX, -20)]  # Ascend: pre >= S2 of the band batch, next <= 0
BANDS8 = [(INT32_MAX, INT32_MAX), (INT32_MAX, 20), (INT32_MAX, 0), (300, 200)]


def band_batch(q, last):
    """Modes 7 and 8 band the last (7) or first (8) batch with S1 > 0 (or the last/first when there is none)."""
    order = list(range(len(q)))[::-1] if last else list(range(len(q)))
    return next((b for b in order if q[b] > 0), order[0])


def accepted(mode, q, kv, pre, nxt, prefix, tnd):
    """False where cannon rejects the case, as Ascend's tiling does (host/schedule/band_rule.cpp cites each
    rule): an empty band, a band missing the matrix, and in TND any rule that leaves a row without keys."""
    n, pairs = len(q), list(zip(q, kv))
    live = lambda s1, s2: s1 > 0 and s2 > 0
    if mode in (5, 6):
        if not prefix or len(prefix) != n:
            return False
        lo = [max(0, s2 - s1) if mode == 6 else 0 for s1, s2 in pairs]
        return all(l <= p <= s2 for l, p, (_, s2) in zip(lo, prefix, pairs))
    if not tnd:
        if mode not in (0, 4):
            return mode not in (7, 8)
        s1, s2 = pairs[0]
        d = s2 - s1 if mode == 4 else 0
        p, x = pre - d, nxt + d
        return p + x >= 0 and (not live(s1, s2) or (p >= 0 or -p < s2) and (x >= 0 or -x < s1))
    if mode == 0:
        if pre >= max(q) and (nxt == 0 or nxt >= max(kv)):
            return True
        return nxt >= 0 and pre + nxt >= 0 and all(not live(s1, s2) or s2 + pre >= s1 for s1, s2 in pairs)
    if mode == 3:
        return all(s1 <= s2 for s1, s2 in pairs)
    if mode == 4:
        return pre >= 0 and pre + nxt >= 0 and all(not live(s1, s2) or s1 - nxt <= s2 for s1, s2 in pairs)
    if mode == 7:
        band = band_batch(q, True)
        return pre >= kv[band] and nxt <= 0 and all(
            not live(s1, s2) or s1 <= s2 and (b != band or s1 - nxt <= s2) for b, (s1, s2) in enumerate(pairs))
    if mode == 8:
        band = band_batch(q, False)
        return q[band] - nxt <= kv[band] and pre >= kv[band]
    return mode != 5


def tnd_lengths(s1, s2):
    """Two batches in the same S1/S2 relation: the second shorter."""
    f = 0.75 if s1 < s2 else 0.5 if s1 == s2 else 0.25
    return [s1, max(1, math.ceil(s1 / 2))], [s2, max(1, math.ceil(s2 * f))]


def cum(lens):
    return ",".join(str(sum(lens[: i + 1])) for i in range(len(lens)))


def flops(n1, q, kv, dk, dv):
    return 2.0 * n1 * sum(a * b for a, b in zip(q, kv)) * (dk + dv)


def dims(dim):
    return (int(dim[2:]),) * 2 if dim.startswith("d=") else (192, 128)


def prefixes(mode, q, kv, k):
    """Per-batch prefixes: mode 5 anywhere in [0, S2] (0 included), mode 6 in [max(0, S2 - S1), S2]."""
    last = len(q) - 1
    if mode == 5:
        return [[0, kv[last] // 2], [kv[0], 3], [kv[0] // 3, 0]][k % 3][: len(q)]
    lo = [max(0, b - a) for a, b in zip(q, kv)]
    return [[lo[0], (lo[last] + kv[last]) // 2], [kv[0], lo[last]]][k % 2][: len(q)]


def line(mode, layout, dtype, heads, dim, s1, s2, k, pre=None, nxt=None, prefix=None, extra="", batch=2,
         lens=None):
    """One case (text, flops), or None when the model says cannon would reject it. TND takes two batches in
    the S1/S2 relation of (s1, s2), or `lens` = (q, kv) per-batch lengths."""
    tnd = layout == "TND"
    q, kv = (lens or tnd_lengths(s1, s2)) if tnd else ([s1] * batch, [s2] * batch)
    if prefix is None and mode in (5, 6):
        prefix = prefixes(mode, q, kv, k)
    if pre is None:
        bands = {0: BANDS0, 4: BANDS4, 7: BANDS7, 8: BANDS8}.get(mode, [(INT32_MAX, INT32_MAX)])
        pre, nxt = next((b for i in range(len(bands)) for b in [bands[(k + i) % len(bands)]]
                         if accepted(mode, q, kv, *b, prefix, tnd)), (None, None))
        if pre is None:
            return None
    if not accepted(mode, q, kv, pre, nxt, prefix, tnd):
        return None
    if tnd:
        size = f"{heads}{dim}:layout=TND:dt={dtype}:seqq={cum(q)}:seqkv={cum(kv)}"
    else:
        size = f"b{batch}{heads}{'s=%d' % s1 if s1 == s2 else 's1=%ds2=%d' % (s1, s2)}{dim}:layout={layout}:dt={dtype}"
    text = f"fa:{size}:sparse={mode}"
    text += f":pre={pre}" if pre != INT32_MAX else ""
    text += f":next={nxt}" if nxt != INT32_MAX else ""
    text += ":prefix=" + ",".join(map(str, prefix)) if prefix else ""
    n1 = int(heads[1:heads.index("g")])
    return text + extra, flops(n1, q, kv, *dims(dim))


def sweep():
    """Every mode x layout x dtype x (S1 < S2, S1 = S2, S1 > S2), the other dimensions rotating with k."""
    cases, k = [], 0
    for mode in range(9):
        for layout in LAYOUTS + ["TND"]:
            if (mode in (7, 8)) != (layout == "TND") and mode in (7, 8) or (mode == 5 and layout == "TND"):
                continue
            for dtype in DTYPES:
                for rel in ("lt", "eq", "gt"):
                    s1, s2 = SIZES[rel][k % len(SIZES[rel])]
                    extra = ""
                    if mode in SHAPED and layout != "TND":
                        kind = SHAPED[mode][k % len(SHAPED[mode])]
                        extra += f":mask={kind}" if kind != ("b1ss" if mode == 5 else "ss") else ""
                    extra += ":mask_dt=bool" if k % 2 else ""
                    c = line(mode, layout, dtype, HEADS[k % 3], DIMS[k % 4], s1, s2, k, extra=extra, batch=1 + k % 2)
                    k += 1
                    if c:
                        cases.append(c)
    return cases


def targeted():
    raw = []
    # Bands, negatives and small widths, on every layout.
    for i, (pre, nxt) in enumerate([(4, 4), (-3, 10), (20, -5), (0, 0), (1, -1), (-8, 8), (256, 256)]):
        for mode in (0, 4):
            for j, layout in enumerate(LAYOUTS + ["TND"]):
                s1, s2 = [(113, 203), (203, 203), (256, 113)][(i + j) % 3]
                raw.append(line(mode, layout, DTYPES[(i + j) % 3], HEADS[j % 3], "d=64", s1, s2, i, pre, nxt,
                                extra=":mask_dt=bool" if j % 2 else ""))
    # Prefixes with 0 in every batch position (modes 5 and 6), and S1 > S2 with a 0 prefix (invalid rows).
    for mode in (5, 6):
        for i, (s1, s2, prefix) in enumerate([(113, 203, [0, 0]), (203, 113, [0, 50]), (256, 256, [0, 256]),
                                             (113, 203, [150, 90]), (203, 113, [113, 0])]):
            if mode == 6 and any(p < max(0, s2 - s1) or p > s2 for p in prefix):
                continue
            raw.append(line(mode, LAYOUTS[i % 4], DTYPES[i % 3], "n4g2", "d=64", s1, s2, i, prefix=prefix))
    # Fully masked rows from the tensor: invalid-line mode (inner_precise=2, and 3), and without it the
    # mean-of-V rows (inner_precise=0, and 1).
    for i, ip in enumerate([2, 0, 3, 1, 2, 0]):
        mode, kind = [(0, "ss"), (1, "bnss"), (0, "b1ss"), (1, "11ss"), (0, "bnss"), (0, "ss")][i]
        s1, s2 = [(113, 203), (203, 113), (256, 256), (7, 113), (113, 7), (64, 64)][i]
        extra = f":mask={kind}:mask_rows={3 + i}" + (f":inner_precise={ip}" if ip else "")
        raw.append(line(mode, LAYOUTS[i % 4], DTYPES[i % 3], HEADS[i % 3], "d=64", s1, s2, i, INT32_MAX, INT32_MAX,
                        extra=extra))
        raw.append(line(mode, "TND", DTYPES[(i + 1) % 3], HEADS[i % 3], "d=64", s1, s2, i, INT32_MAX, INT32_MAX,
                        extra=f":mask_rows={2 + i}:inner_precise=2"))
    # Masks of density 1 (every computed score masked: mean-of-V rows everywhere) and 0 (nothing masked).
    raw.append(line(0, "BSND", "fp32", "n2g1", "d=64", 113, 203, 0, extra=":mask=bnss:mask_density=1"))
    raw.append(line(1, "BNSD", "bf16", "n4g2", "d=64", 203, 113, 0, extra=":mask=11ss:mask_density=0"))
    # Dense causal masks (j > i masked) in the modes that read the tensor: the run-time prepass drops their
    # fully masked tiles, keeps every tile of an S1 tile holding a fully masked row (mask_rows) unless
    # invalid-line mode is on, and turns unmasked tiles FULL.
    for i, (mode, kind, s1, s2, extra) in enumerate([
            (0, "ss", 256, 256, ":mask_density=0"), (1, "bnss", 203, 1023, ":mask_density=0.05"),
            (0, "b1ss", 1023, 203, ":mask_density=0"), (1, "11ss", 256, 256, ":mask_density=0:mask_rows=3"),
            (0, "bnss", 203, 256, ":mask_density=0:mask_rows=4:inner_precise=2"),
            (5, "b1ss", 256, 203, ":mask_density=0")]):
        raw.append(line(mode, LAYOUTS[i % 4], DTYPES[i % 3], HEADS[i % 3], "d=64", s1, s2, i, INT32_MAX, INT32_MAX,
                        [s2 // 2, 0] if mode == 5 else None, extra=f":mask={kind}:mask_causal=1{extra}"))
    raw.append(line(0, "TND", "fp16", "n4g2", "d=64", 203, 256, 0, INT32_MAX, INT32_MAX,
                    extra=":mask_density=0:mask_causal=1"))
    # No atten_mask means no masking, whatever sparse_mode says.
    for i, mode in enumerate([2, 3, 2, 3]):
        raw.append(line(mode, (LAYOUTS + ["TND"])[i + 1], DTYPES[i % 3], "n4g2", "d=64", 203, 113, i,
                        extra=":mask=none"))
    raw.append(line(4, "BSH", "fp16", "n2g1", "d=64", 256, 113, 0, -5, 3, extra=":mask=none"))
    # TND with zero-length batches: mode 8's band goes to the first batch with S1 > 0 (the second here, whose
    # S2 is not 0 either, unlike Ascend's golden, which picks the first with S2 > 0); mode 7's to the last one
    # with S1 > 0 (not the last entry); modes 2, 3 and 6 skip the empty batches.
    for mode, dtype, q, kv, nxt, prefix in [(7, "fp32", [37, 103, 0], [90, 150, 0], -1, None),
                                           (8, "bf16", [0, 37, 103], [5, 90, 70], 20, None),
                                           (8, "fp16", [0, 90, 50, 0], [0, 40, 70, 0], 100, None),
                                           (2, "fp16", [37, 0, 103], [90, 20, 70], None, None),
                                           (3, "fp32", [37, 0, 70], [90, 0, 103], None, None),
                                           (6, "bf16", [37, 0, 103], [90, 20, 70], None, [53, 20, 0])]:
        raw.append(line(mode, "TND", dtype, "n4g2", "d=64", 0, 0, 0, INT32_MAX,
                        INT32_MAX if nxt is None else nxt, prefix, lens=(q, kv)))
    # Every mask dtype with a compressed mask; an S=2048 dense mask in a compressed mode has the right shape.
    raw.append(line(2, "BSND", "fp16", "n2g1", "d=64", 2048, 2048, 0, extra=":mask_dt=bool"))
    raw.append(line(3, "BNSD", "fp32", "n2g2", "d=64", 1023, 2048, 0, extra=":mask_dt=uint8"))
    return [c for c in raw if c]


ORDER = ["layout", "dt", "scale", "seqq", "seqkv", "softmax_layout", "head_num", "sparse", "pre", "next", "prefix",
         "inner_precise", "mask", "mask_dt", "mask_density", "mask_rows", "mask_causal", "seed"]


def canonical(text):
    """cannon-conformance's canonical form (tools/drivers/fa/fa_problem.cpp): attributes in its order,
    defaults (the mode's natural mask, mask_dt=uint8) left out."""
    head, dims, *attrs = text.split(":")
    kv = dict(a.split("=", 1) for a in attrs)
    natural = {0: "ss", 1: "ss", 5: "b1ss", 6: "comp6"}.get(int(kv["sparse"]), "comp")
    if kv.get("mask") == natural:
        del kv["mask"]
    if kv.get("mask_dt") == "uint8":
        del kv["mask_dt"]
    return ":".join([head, dims] + [f"{k}={kv[k]}" for k in sorted(kv, key=ORDER.index)])


def cases():
    return [(canonical(t), f) for t, f in sweep() + targeted()]


def ci_subset(all_cases, budget=1.5e8):
    """Small cases only: the first of each mode x layout, then the first of each targeted kind (fully masked
    rows under each inner_precise, no mask, negative bands, prefix 0, zero-length TND batches)."""
    small = [(t, f) for t, f in all_cases if f <= budget]
    kinds = [":inner_precise=2", ":inner_precise=3", ":mask_rows", ":mask=none", ":pre=-", ":next=-", ":prefix=0",
             "seqq=0,", ":mask_density=1", ":mask=bnss", ":mask=b1ss", ":mask=11ss", ":mask_causal=1"]
    picked, seen = [], set()
    for t, f in small:
        key = (t.split(":sparse=")[1].split(":")[0], t.split("layout=")[1].split(":")[0])
        new_kinds = {k for k in kinds if k in t} - seen
        if key not in seen or new_kinds:
            seen |= {key} | new_kinds
            picked.append((t, f))
    return picked
