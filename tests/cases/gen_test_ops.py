#!/usr/bin/env python3
"""Writes the RingAttentionUpdate and NsaSelectedAttention batch files test_rau_full, test_rau_ci, test_nsa_full,
test_nsa_ci and their negative cases test_rau_negative, test_nsa_negative (problem strings: docs/conformance.md).

RingAttentionUpdate: every layout (SBH; TND with the per-batch and the TND softmax layout) x dtype x head dim
(64, 128 and, cannon extensions without CANNON_STRICT, 96 and 40) x invalid-row side (none, prev, cur, both)
appears; S, B and N rotate through odd sizes (S 1, 7, 113, 1023; B 1..4; N 1, 3, 8, 32) with strides coprime
to the set sizes, and TND batches have different lengths (one of them 1).
NsaSelectedAttention: every dtype x GQA ratio (1, 4, 16) x causal (off, on) x index draw (random order, with
repeats, sorted, the causal diagonal first) appears; head dims, block sizes and counts and the batch layouts
(one to three batches of different lengths, S1 1..113 per batch) rotate.
The CI batches take every fourth case (rotations keep each dimension covered) with the biggest sizes capped.
Re-run after editing: python3 gen_test_ops.py
"""
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
DTYPES = ["fp32", "fp16", "bf16"]


def cum(lens, zero):
    out, total = ([0] if zero else []), 0
    for n in lens:
        total += n
        out.append(total)
    return ",".join(str(x) for x in out)


def rau_cases(ci):
    sizes_s = [1, 7, 113, 1023] if not ci else [1, 7, 113, 33]
    sizes_n = [1, 3, 8, 32] if not ci else [1, 3, 8, 5]
    layouts = [("SBH", ""), ("TND", ""), ("TND", "TND")]
    dims = [64, 128, 96, 40]
    invalids = ["none", "prev", "cur", "both"]
    cases, k = [], 0
    for layout, sm in layouts:
        for dt in DTYPES:
            for d in dims:
                for inv in invalids:
                    k += 1
                    if ci and k % 4 != 0:
                        continue
                    s, b, n = sizes_s[k % 4], 1 + (k * 3) % 4, sizes_n[(k * 3 + 1) % 4]
                    while s * b * n * d > (1 << 21):  # keeps a case under ~2M elements per tensor
                        n = max(1, n // 2) if n > 1 else n
                        b = max(1, b - 1) if n == 1 else b
                        if n == 1 and b == 1:
                            break
                    tail = f":layout={layout}:dt={dt}" + (f":softmax_layout={sm}" if sm else "")
                    tail += f":invalid={inv}" if inv != "none" else ""
                    if layout == "SBH":
                        cases.append(f"rau:b{b}n{n}s={s}d={d}{tail}")
                    else:
                        lens = [s, 1, max(1, s // 3), 5][:b]
                        cases.append(f"rau:n{n}d={d}{tail}:seqq={cum(lens, True)}")
    return cases


RAU_NEGATIVE = [
    "rau:b2n2s=7d=64:layout=BSH:dt=fp32",  # unknown layout
    "rau:b2n2s=7d=64:layout=SBH:dt=fp32:softmax_layout=BSND",
    "rau:b2n2s=7d=64:layout=SBH:dt=int32",
    "rau:b2n2s=7d=64:layout=SBH:dt=fp16:cur_dt=bf16",
    "rau:b2n2s=7d=64:layout=SBH:dt=fp32:cur_d=128",
    "rau:b2n2s=7d=64:layout=SBH:dt=fp32:stat_dt=fp16",
    "rau:b2n2s=7d=64:layout=SBH:dt=fp32:lanes=4",
    "rau:n2d=64:layout=TND:dt=fp32:seqq=0,5,12:lanes=16",
    "rau:n2d=64:layout=TND:dt=fp32:seqq=0,5,12:seq=none",
    "rau:n2d=64:layout=TND:dt=fp32:seqq=0,5,12:seq_dt=int32",
    "rau:n2d=64:layout=TND:dt=fp32:seqq=1,5,12",  # does not start at 0
    "rau:n2d=64:layout=TND:dt=fp32:seqq=0,9,5,12",  # decreases
    "rau:n2d=64:layout=TND:dt=bf16:seqq=0,5,12:cur_d=128",
]


def nsa_cases(ci):
    heads = {1: (3, 3), 4: (8, 2), 16: (16, 1)}  # GQA ratio -> (N1, N2)
    dims = [(192, 128), (128, 128), (64, 64), (192, 64)]
    blocks = [(64, 4), (16, 3), (32, 16), (128, 1), (64, 16)]  # (select_block_size, select_block_count)
    q_sets = [[1], [7, 113], [70, 1, 33], [113]]
    idxs = ["random", "repeat", "sorted", "diag"]
    cases, k = [], 0
    for dt in DTYPES:
        for g, (n1, n2) in heads.items():
            for causal in (0, 1):
                for idx in idxs:
                    k += 1
                    if ci and k % 4 != 0:
                        continue
                    dk, dv = dims[k % 4]
                    bs, count = blocks[k % 5]
                    q = q_sets[(k * 3) % 4]
                    if ci:
                        q = [min(x, 40) for x in q]
                        count = min(count, 4)
                    # kv per batch: the minimum count*bs, plus 0..3 more blocks (and enough for the causal diagonal)
                    kv = [max(count * bs + ((k + i) % 4) * bs, -(-x // bs) * bs) for i, x in enumerate(q)]
                    text = f"nsa:n1={n1}n2={n2}dk={dk}dv={dv}bs={bs}count={count}:dt={dt}"
                    text += f":seqq={cum(q, False)}:seqkv={cum(kv, False)}"
                    text += ":causal=1" if causal else ""
                    text += f":idx={idx}" if idx != "random" else ""
                    cases.append(text)
    return cases


NSA_NEGATIVE = [
    "nsa:n1=4n2=1s1=7s2=256dk=64dv=64bs=64count=4:dt=bf16:layout=BSH",
    "nsa:n1=4n2=1s1=7s2=256dk=64dv=64bs=64count=4:dt=bf16:sparse=1",
    "nsa:n1=4n2=1s1=7s2=160dk=64dv=64bs=40count=4:dt=bf16",  # block size not a multiple of 16
    "nsa:n1=4n2=1s1=7s2=64dk=64dv=64bs=8count=8:dt=bf16",  # block size under 16
    "nsa:n1=4n2=1s1=7s2=512dk=64dv=64bs=256count=2:dt=bf16",  # block size over 128
    "nsa:n1=4n2=1s1=7s2=256dk=64dv=64bs=64count=0:dt=bf16",
    "nsa:n1=4n2=1s1=7s2=8320dk=64dv=64bs=64count=130:dt=bf16",  # count over 128
    "nsa:n1=4n2=1s1=7s2=256dk=64dv=64bs=64count=4:dt=int32",
    "nsa:n1=4n2=1s1=7s2=256dk=64dv=64bs=64count=4:dt=bf16:head_num=8",
    "nsa:n1=6n2=4s1=7s2=256dk=64dv=64bs=64count=4:dt=bf16",  # N1 not a multiple of N2
    "nsa:n1=64n2=1s1=7s2=256dk=64dv=64bs=64count=4:dt=bf16",  # G = 64 > 32
    "nsa:n1=4n2=1s1=7s2=256dk=64dv=128bs=64count=4:dt=bf16",  # Dv > Dk
    "nsa:n1=4n2=1s1=7s2=192dk=64dv=64bs=64count=4:dt=bf16",  # S2 < count*bs
    "nsa:n1=4n2=1s1=7s2=288dk=64dv=64bs=64count=4:dt=bf16",  # S2 % bs != 0
    "nsa:n1=4n2=1dk=64dv=64bs=64count=4:dt=bf16:seqq=7,9:seqkv=256,448",  # second batch S2 < count*bs
    "nsa:n1=4n2=1s1=7s2=256dk=64dv=64bs=64count=4:dt=bf16:idx=oob",  # index past the batch
    "nsa:n1=4n2=1dk=64dv=64bs=64count=4:dt=fp16:seqq=7,9:seqkv=256,512:idx=oob",
    "nsa:n1=4n2=1s1=7s2=256dk=64dv=64bs=64count=4:dt=bf16:scale=inf",
]


def write(name, header, lines):
    text = "".join(f"# {h}\n" for h in header) + "\n" + "".join(f"{l}\n" for l in lines)
    (HERE / name).write_text(text)


def main():
    note = "Written by gen_test_ops.py; edit that, not this."
    write("test_rau_negative", ["RingAttentionUpdate cases the operator must reject.", note],
          [f"!{c}" for c in RAU_NEGATIVE])
    write("test_nsa_negative", ["NsaSelectedAttention cases the operator must reject.", note],
          [f"!{c}" for c in NSA_NEGATIVE])
    for op, gen in (("rau", rau_cases), ("nsa", nsa_cases)):
        full, ci = gen(False), gen(True)
        write(f"test_{op}_full", [f"{len(full)} generated cases plus the negative ones. {note}"],
              [f"include test_{op}_negative", ""] + full)
        write(f"test_{op}_ci", [f"The CI subset ({len(ci)} cases, small sizes) plus the negative ones. {note}"],
              [f"include test_{op}_negative", ""] + ci)


if __name__ == "__main__":
    main()
