#!/usr/bin/env python3
"""cannon beside PyTorch's CPU scaled_dot_product_attention, in one run (issue 10, part 4).

Why this exists: cannon's speed claims on a CPU are only meaningful next to what users would otherwise run, measured
on the same machine, with the same threads, the same shapes and the same FLOP count. This script runs the shapes
through `cannon-bench --json` (which also measures OpenBLAS SGEMM as the machine's yardstick) and through
`torch.nn.functional.scaled_dot_product_attention`, and prints one table. docs/performance.md explains the method.
--backward does the same for the backward pass: `cannon-bench --backward` (FlashAttentionScoreGrad) beside autograd
through the same torch call, timing only `out.backward(dy)`.

PyTorch is a benchmark dependency only: it is never needed to build or test cannon. The torch side runs in a child
process (this script with --torch-worker) under a Python that has torch: --torch-python, else this interpreter if it
can import torch, else a virtual environment under ~/.cache/cannon (XDG_CACHE_HOME) that the script creates and fills
from the package index (the CPU wheel index first, then PyPI). --check-only needs neither torch nor a network.
"""

import argparse
import datetime
import fnmatch
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

# --isa avx2: what makes each library generate or pick AVX2 code on an AVX-512 machine (docs/performance.md,
# "ISA emulation", says what was verified). PoCL: Debian's PoCL 3.1 is a "distro" build that chooses its kernel
# library and LLVM target from POCL_KERNELLIB_NAME (device pthread-haswell, no zmm registers in the kernels) and
# ignores POCL_LLVM_CPU_NAME; upstream non-distro builds read POCL_LLVM_CPU_NAME. Both are set. The AVX2 run gets
# its own POCL_CACHE_DIR so no AVX-512 binary can be reused. OpenBLAS: OPENBLAS_CORETYPE. PyTorch: ATen's
# dispatch (ATEN_CPU_CAPABILITY), oneDNN (ONEDNN_MAX_CPU_ISA) and MKL (MKL_ENABLE_INSTRUCTIONS).
ISA_ENV = {
    "native": {},
    "avx2": {
        "POCL_KERNELLIB_NAME": "avx2",
        "POCL_LLVM_CPU_NAME": "haswell",
        "OPENBLAS_CORETYPE": "Haswell",
        "ATEN_CPU_CAPABILITY": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "DNNL_MAX_CPU_ISA": "AVX2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    },
}
EMULATED_LABEL = "AVX2 code on an AVX-512 machine (emulated ISA)"


# ---------------------------------------------------------------------------------------------------------------
# Shapes


def make_shape(sid, b, n1, n2, s1, s2, d, dtype, causal, backward=False):
    """One row: the cannon problem string and the torch arguments of the same computation (forward, or with
    `backward` its backward pass: the same problem string, run through cannon-bench --backward)."""
    g = n1 // n2
    dims = f"b{b}n{n1}" + (f"g{g}" if g != 1 else "")
    dims += f"s{s1}" if s1 == s2 else f"s1={s1}s2={s2}"
    # Causal: cannon sparse_mode 3 (rightDownCausal) aligns the diagonal to the bottom-right corner, torch's
    # is_causal to the top-left; with S1 = S2 both keep key j for query i iff j <= i.
    problem = f"fa:{dims}d{d}:layout=BSND:dt={dtype}" + (":sparse=3" if causal else "")
    if causal and s1 != s2:
        raise ValueError(f"{sid}: causal rows need S1 = S2 (cannon aligns bottom-right, torch top-left)")
    return {
        "id": sid,
        "problem": problem,
        "b": b, "n1": n1, "n2": n2, "s1": s1, "s2": s2, "d": d, "dtype": dtype, "causal": causal,
        "backward": backward, "flops": flops(b, n1, s1, s2, d, causal, backward),
    }


def flops(b, n1, s1, s2, d, causal, backward=False):
    """The FLOPs both sides are credited with: forward 4·B·N1·S1·S2·D (Q·Kᵀ and P·V, 2 per multiply-add), backward
    10·B·N1·S1·S2·D (its five matmuls: Q·Kᵀ again, dO·Vᵀ, dS·K, dSᵀ·Q, Pᵀ·dO), halved for causal. Softmax work is not
    counted. cannon's own plan figure (visited tiles, or visible scores) is reported separately."""
    f = (10.0 if backward else 4.0) * b * n1 * s1 * s2 * d
    return f / 2 if causal else f


def flop_formula(backward):
    return "10*B*N1*S1*S2*D" if backward else "4*B*N1*S1*S2*D"


def all_shapes(backward=False):
    rows = []
    for d in (64, 128):
        for s in (1024, 2048, 4096):
            for dt in ("fp32", "bf16"):
                for causal in (False, True):
                    sid = f"d{d}_s{s}_{dt}_{'causal' if causal else 'dense'}"
                    rows.append(make_shape(sid, 1, 8, 8, s, s, d, dt, causal, backward))
    for dt in ("fp32", "bf16"):  # GQA 8:1: 32 query heads over 4 kv heads
        for causal in (False, True):
            rows.append(make_shape(f"gqa8_s4096_{dt}_{'causal' if causal else 'dense'}", 1, 32, 4, 4096, 4096, 128,
                                   dt, causal, backward))
    for dt in ("fp32", "bf16"):  # decode: one query row over a long cache, 32 query heads over 8 kv heads
        rows.append(make_shape(f"decode_{dt}", 1, 32, 8, 1, 32768, 128, dt, False, backward))
    return rows


SHAPE_SETS = {
    "all": ["*"],
    "quick": ["d64_s1024_fp32_*", "d128_s1024_fp32_*", "d128_s1024_bf16_dense", "decode_fp32"],
    "gate": ["d*_s1024_*", "d*_s4096_*"],  # the rows of the issue's >= 1.0x criterion
}


def select_shapes(spec, backward=False):
    patterns = []
    for part in spec.split(","):
        patterns += SHAPE_SETS.get(part.strip(), [part.strip()])
    rows = [r for r in all_shapes(backward) if any(fnmatch.fnmatch(r["id"], p) for p in patterns)]
    if not rows:
        raise SystemExit(f"--shapes {spec!r} matches no row; ids look like d64_s1024_fp32_dense, gqa8_s4096_bf16_causal,"
                         f" decode_fp32; sets: {', '.join(SHAPE_SETS)}")
    return rows


# ---------------------------------------------------------------------------------------------------------------
# Machine facts


def cpu_facts():
    flags, model = set(), platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
            if line.startswith("model name") and model in ("", "x86_64"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else platform.machine()
    return {"model": model, "isa": isa, "cores": os.cpu_count()}


def find_cannon_bench(given):
    if given:
        path = Path(given)
        if not path.is_file():
            raise SystemExit(f"--cannon-bench {given}: no such file")
        return path
    candidates = sorted(REPO.glob("build*/tools/cannon-bench"), key=lambda p: p.stat().st_mtime, reverse=True)
    if candidates:
        return candidates[0]
    found = shutil.which("cannon-bench")
    if found:
        return Path(found)
    raise SystemExit("cannon-bench not found under build*/tools/ or on PATH; build it or pass --cannon-bench PATH")


# OpenBLAS cores that its dynamic dispatch falls back to when it does not know the CPU model (0.3.21, Debian 12, on a
# 2026 Xeon: "Prescott", SSE3 kernels at a third of the machine's SGEMM speed), which would make the yardstick
# meaningless.
GENERIC_BLAS_CORES = {"prescott", "core2", "nehalem", "katmai", "coppermine", "northwood", "banias"}


def native_blas_core():
    """OPENBLAS_CORETYPE for a native run: None when OpenBLAS recognises the CPU, else the core of the widest ISA the
    CPU has (SkylakeX for AVX-512, Haswell for AVX2), read from /proc/cpuinfo."""
    try:
        import ctypes

        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode().lower()
        flags = next(l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")).split()
    except (OSError, AttributeError, StopIteration):
        return None
    if core not in GENERIC_BLAS_CORES:
        return None
    if "avx512f" in flags and "avx512bw" in flags and "avx512vl" in flags:
        return "SkylakeX"
    if "avx2" in flags and "fma" in flags:
        return "Haswell"
    return None


def base_env(threads, isa, cache_dir):
    """The child processes' environment: the thread count for every library and the ISA overrides."""
    env = dict(os.environ)
    for name in ("POCL_MAX_PTHREAD_COUNT", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    env.update(ISA_ENV[isa])
    if isa == "native" and "OPENBLAS_CORETYPE" not in env:
        core = native_blas_core()
        if core:
            env["OPENBLAS_CORETYPE"] = core
    if isa != "native":  # a cache of its own: never reuse a kernel built for another ISA
        env["POCL_CACHE_DIR"] = str(cache_dir / f"pocl-{isa}")
    return env


# ---------------------------------------------------------------------------------------------------------------
# cannon side


def run_cannon(bench, problems, repeat, env, extra=()):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cannon.json"
        cmd = [str(bench), "--json", str(out), "--repeat", str(repeat), *extra, *problems]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if not out.exists():
            raise SystemExit(f"cannon-bench failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        report = json.loads(out.read_text())
    if proc.returncode != 0:
        print(f"warning: cannon-bench exited {proc.returncode}:\n{proc.stdout[-2000:]}", file=sys.stderr)
    return report


def check_cannon_report(report, problems, backward=False):
    """The fields this script reads; a missing one is a cannon-bench change this script must follow."""
    missing = [k for k in ("device", "device_info", "sgemm_gflops", "cases") if k not in report]
    if backward and report.get("pass") != "backward":
        missing.append('pass: "backward" (a cannon-bench without --backward?)')
    missing += [f"device_info.{k}" for k in ("name", "version", "env") if k not in report.get("device_info", {})]
    by_problem = {c.get("problem"): c for c in report.get("cases", [])}
    for p in problems:
        case = by_problem.get(p)
        if case is None:
            missing.append(f"case {p}")
            continue
        missing += [f"{p}.{k}" for k in ("ms", "gflops", "flops", "samples_ms") if k not in case]
        if backward and case.get("pass") != "backward":
            missing.append(f'{p}.pass = "backward"')
    return missing


# ---------------------------------------------------------------------------------------------------------------
# torch side


def cache_root():
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cannon"


def torch_python(given):
    """A Python that can import torch; creates and fills a venv under the cache directory if needed."""
    if given:
        return given
    if subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0:
        return sys.executable
    venv = cache_root() / "torch-venv"
    py = venv / "bin" / "python"
    if py.exists() and subprocess.run([str(py), "-c", "import torch"], capture_output=True).returncode == 0:
        return str(py)
    print(f"installing PyTorch (CPU) into {venv} ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(py), "-m", "pip", "install", "--quiet"]
    if subprocess.run(pip + ["torch", "--index-url", TORCH_CPU_INDEX]).returncode != 0:
        print("the CPU wheel index failed; trying PyPI", file=sys.stderr)
        subprocess.run(pip + ["torch"], check=True)
    return str(py)


def run_torch(python, shapes, repeat, warmup, threads, env, backward=False):
    spec = {"shapes": shapes, "repeat": repeat, "warmup": warmup, "threads": threads, "backward": backward}
    with tempfile.TemporaryDirectory() as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "torch.json"
        spec_path.write_text(json.dumps(spec))
        proc = subprocess.run([python, str(Path(__file__).resolve()), "--torch-worker", str(spec_path), str(out_path)],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0 or not out_path.exists():
            raise SystemExit(f"torch worker failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return json.loads(out_path.read_text())


def torch_setup(spec):
    """The worker's torch, its functional module and the sdpa backend selector (None where torch lacks it), with
    spec["threads"] set."""
    import torch  # noqa: PLC0415 (only the worker needs torch)
    import torch.nn.functional as F  # noqa: PLC0415

    torch.set_num_threads(spec["threads"])
    try:
        from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: PLC0415
    except ImportError:
        SDPBackend = sdpa_kernel = None
    return torch, F, SDPBackend, sdpa_kernel


def prepare_torch_row(setup, sh, backward, warmup):
    """One shape made ready in torch, in BSND storage (the memory cannon reads), as strided [B, N, S, D] views, which
    torch's CPU kernels take without a copy. With `backward` the BSND tensors are autograd leaves (their gradients
    land in BSND storage, as cannon's dq/dk/dv do) and a run times only out.backward(dy). Returns the row's report
    (id, backend, aten_op, refusals) and `once`, which returns one timed run's ms (None if every backend refused),
    after `warmup` untimed runs."""
    torch, F, SDPBackend, sdpa_kernel = setup
    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
    gen = torch.Generator().manual_seed(1)
    dt = dtypes[sh["dtype"]]
    leaves = []  # backward: the BSND leaves whose .grad is reset between runs

    def make(n, s):
        t = torch.randn(sh["b"], s, n, sh["d"], generator=gen).to(dt)
        if backward:
            leaves.append(t.requires_grad_())
        return t.transpose(1, 2)

    q, k, v = make(sh["n1"], sh["s1"]), make(sh["n2"], sh["s2"]), make(sh["n2"], sh["s2"])
    # A fixed random dy in the output's shape ([B, N1, S1, D]), stored BSND like the inputs.
    dy = torch.randn(sh["b"], sh["s1"], sh["n1"], sh["d"], generator=gen).to(dt).transpose(1, 2) if backward \
        else None
    gqa = sh["n1"] != sh["n2"]
    attempts = []  # (label, callable): forced flash first, then what torch picks by itself
    if sdpa_kernel is not None:
        def flash(k=k, v=v):
            with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                return F.scaled_dot_product_attention(q, k, v, is_causal=sh["causal"], enable_gqa=gqa)
        attempts.append(("flash (forced)", flash))
        if gqa:  # if flash refuses enable_gqa: expand K/V once, outside the timing
            rep = sh["n1"] // sh["n2"]
            ke, ve = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
            if backward:  # expanded leaves of their own: the reduction of dK/dV over the group is not timed
                ke, ve = ke.detach().requires_grad_(), ve.detach().requires_grad_()
                leaves += [ke, ve]

            def flash_expanded(ke=ke, ve=ve):
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    return F.scaled_dot_product_attention(q, ke, ve, is_causal=sh["causal"])
            attempts.append(("flash (forced, K/V expanded)", flash_expanded))
    attempts.append(("default", lambda: F.scaled_dot_product_attention(q, k, v, is_causal=sh["causal"],
                                                                       enable_gqa=gqa)))
    row = {"id": sh["id"]}
    for label, fn in attempts:
        try:
            fn()
        except (RuntimeError, TypeError) as e:
            row.setdefault("refused", []).append(f"{label}: {str(e).splitlines()[0][:160]}")
            continue
        row["backend"] = label
        if backward:
            try:
                fn().backward(dy)
            except (RuntimeError, TypeError) as e:
                row.setdefault("refused", []).append(f"{label} backward: {str(e).splitlines()[0][:160]}")
                row.pop("backend")
                continue
            row["aten_op"] = aten_op(torch, lambda fn=fn: fn().backward(dy), "backward")
            once = backward_once(fn, dy, leaves)
        else:
            row["aten_op"] = aten_op(torch, fn)
            once = forward_once(fn)
        for _ in range(warmup):
            once()
        return row, once
    return row, None


def torch_info(torch):
    return {
        "version": torch.__version__,
        "capability": torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else "",
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "env": {k: os.environ.get(k, "") for k in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA",
                                                   "MKL_ENABLE_INSTRUCTIONS", "OMP_NUM_THREADS")},
    }


def torch_worker(spec_path, out_path):
    """Runs in the child: times every shape with torch (prepare_torch_row), spec["repeat"] runs each."""
    spec = json.loads(Path(spec_path).read_text())
    setup = torch_setup(spec)
    results = []
    for sh in spec["shapes"]:
        row, once = prepare_torch_row(setup, sh, spec.get("backward", False), spec["warmup"])
        if once:
            row["samples_ms"] = [once() for _ in range(spec["repeat"])]
            row["ms"] = statistics.median(row["samples_ms"])
        results.append(row)
    Path(out_path).write_text(json.dumps({"torch": torch_info(setup[0]), "rows": results}))


def torch_serve(spec_path):
    """Runs in the child for --paired: prepares every shape, prints "@ready <json>" (the rows' reports and torch's
    facts), then answers "run I" with "@ms <ms>" of one timed run of shape I until "quit" (cannon-bench --serve's
    protocol)."""
    spec = json.loads(Path(spec_path).read_text())
    setup = torch_setup(spec)
    rows, runs = [], []
    for sh in spec["shapes"]:
        row, once = prepare_torch_row(setup, sh, spec.get("backward", False), spec["warmup"])
        rows.append(row)
        runs.append(once)
    print("@ready " + json.dumps({"torch": torch_info(setup[0]), "rows": rows}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[:1] == ["quit"]:
            break
        if len(words) == 2 and words[0] == "run" and words[1].isdigit() and int(words[1]) < len(runs) \
                and runs[int(words[1])]:
            print(f"@ms {runs[int(words[1])]():.6f}", flush=True)
        else:
            print(f"@error expected 'run I' for a shape torch runs, or 'quit', got {line.strip()!r}", flush=True)


def forward_once(fn):
    def once():
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3
    return once


def backward_once(fn, dy, leaves):
    """One run of out.backward(dy), in ms; the forward (a fresh graph each run) and the resetting of the leaves'
    .grad stay outside the timed region."""
    def once():
        for t in leaves:
            t.grad = None
        out = fn()
        t0 = time.perf_counter()
        out.backward(dy)
        ms = (time.perf_counter() - t0) * 1e3
        for t in leaves:
            t.grad = None
        return ms
    return once


def aten_op(torch, fn, needle=""):
    """The ATen attention op that ran (e.g. aten::_scaled_dot_product_flash_attention_for_cpu, or with needle
    "backward" aten::_scaled_dot_product_flash_attention_for_cpu_backward), from the profiler."""
    try:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            fn()
        names = [e.key for e in prof.key_averages() if "scaled_dot_product" in e.key or "attention" in e.key]
        names = [n for n in names if n.startswith("aten::") and needle in n] or names
        inner = [n for n in names if n != "aten::scaled_dot_product_attention"]
        return (inner or names or ["?"])[0]
    except Exception as e:  # noqa: BLE001 (diagnostic only)
        return f"? ({e.__class__.__name__})"


# ---------------------------------------------------------------------------------------------------------------
# The table


def run_lockstep(bench, tpy, shapes, args, env, pass_args):
    """Each row on both sides back to back: one cannon-bench run (the first also times SGEMM at 2048^3, the others
    at 256^3, not reported), then one torch worker, then the next row. Returns the two sides' reports, merged."""
    cannon, torch_res = None, None
    for i, sh in enumerate(shapes):
        extra = list(pass_args) if i == 0 else ["--gemm-n", "256", *pass_args]
        c = run_cannon(bench, [sh["problem"]], args.repeat, env, extra=extra)
        t = run_torch(tpy, [sh], args.repeat, args.warmup, args.threads, env, args.backward)
        if cannon is None:
            cannon, torch_res = c, t
        else:
            cannon["cases"] += c["cases"]
            torch_res["rows"] += t["rows"]
    return cannon, torch_res


class Server:
    """A child in --serve protocol (cannon-bench --serve, or this script's --torch-serve): "@ready <json>" once
    prepared, then "@ms <ms>" per "run I". Other stdout lines are its log; stderr goes to a file kept for errors."""

    def __init__(self, name, cmd, env):
        self.name, self.log = name, []
        self.err = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([str(c) for c in cmd], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True, bufsize=1)
        self.ready = json.loads(self._answer("@ready "))

    def _answer(self, prefix):
        for line in self.proc.stdout:
            if line.startswith(prefix):
                return line[len(prefix):]
            if line.startswith("@error"):
                self.fail(line.strip())
            self.log.append(line.rstrip())
        self.fail("ended without answering")

    def fail(self, why):
        self.proc.kill()
        self.err.seek(0)
        raise SystemExit(f"{self.name} --serve: {why}\n" + "\n".join(self.log[-20:]) + "\n" + self.err.read()[-2000:])

    def run(self, index):
        self.proc.stdin.write(f"run {index}\n")
        self.proc.stdin.flush()
        return float(self._answer("@ms "))

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=60)
        self.err.close()


def check_serve(bench, env, pass_args):
    """--check-only --paired: cannon-bench --serve on one tiny case answers as run_paired expects (no torch)."""
    tiny = make_shape("tiny_causal", 1, 2, 1, 128, 128, 64, "fp32", True, bool(pass_args))
    c = Server("cannon-bench", [bench, "--serve", "--repeat", "1", "--gemm-n", "256", *pass_args, tiny["problem"]], env)
    cases = c.ready.get("cases", [])
    missing = [k for k in ("device", "device_info", "sgemm_gflops", "pass") if k not in c.ready]
    if len(cases) != 1 or cases[0].get("problem") != tiny["problem"] or not cases[0].get("flops"):
        missing.append(f"cases: [{{problem: {tiny['problem']}, flops}}]")
    times = [c.run(0) for _ in range(3)]
    c.proc.stdin.write("run 1\n")  # past the one case: an @error line, and the server goes on
    c.proc.stdin.flush()
    refused = c.proc.stdout.readline().startswith("@error")
    times.append(c.run(0))
    c.close()
    problems = missing + ([] if refused else ["no @error for 'run 1'"]) + \
        ([] if all(t > 0 for t in times) else [f"times {times}"]) + \
        ([] if c.proc.returncode == 0 else [f"exit {c.proc.returncode} after quit"])
    if problems:
        print("cannon-bench --serve: " + "; ".join(problems))
        return 1
    print(f"ok: cannon-bench --serve, {tiny['problem']}{' backward' if pass_args else ''} "
          f"{', '.join(f'{t:.3f}' for t in times)} ms")
    return 0


def run_paired(bench, tpy, shapes, args, env, pass_args):
    """Each row through two servers alive side by side: cannon-bench --serve and a torch worker in --torch-serve,
    both warmed up, then args.repeat pairs of one cannon run and one torch run, the order swapped every pair and
    args.gap seconds of idle before each run (so neither side's idle threads, PoCL's or OpenMP's spinning ones,
    overlap the other's run). Returns the two sides' reports, as run_lockstep does, and per row id the per-pair
    ratios torch ms / cannon ms."""
    cannon, torch_res, pair_ratios = None, None, {}
    for i, sh in enumerate(shapes):
        extra = list(pass_args) if i == 0 else ["--gemm-n", "256", *pass_args]
        c = Server("cannon-bench", [bench, "--serve", "--repeat", str(args.repeat), *extra, sh["problem"]], env)
        with tempfile.TemporaryDirectory() as tmp:
            spec = Path(tmp) / "spec.json"
            spec.write_text(json.dumps({"shapes": [sh], "warmup": args.warmup, "threads": args.threads,
                                        "backward": args.backward}))
            t = Server("torch worker", [tpy, Path(__file__).resolve(), "--torch-serve", spec], env)
        trow = t.ready["rows"][0]
        csamples, tsamples = [], []
        for p in range(args.repeat if "backend" in trow else 0):
            for side in ((c, t) if p % 2 == 0 else (t, c)):
                time.sleep(args.gap)
                (csamples if side is c else tsamples).append(side.run(0))
        if not csamples:  # torch refused every backend: cannon's side alone
            for _ in range(args.repeat):
                time.sleep(args.gap)
                csamples.append(c.run(0))
        c.close()
        t.close()
        case = dict(c.ready["cases"][0])
        ms = statistics.median(csamples)
        case.update({"pass": c.ready["pass"], "ms": ms, "gflops": gflops(case["flops"], ms),
                     "ratio_to_sgemm": gflops(case["flops"], ms) / c.ready["sgemm_gflops"], "samples_ms": csamples})
        if tsamples:
            trow.update({"samples_ms": tsamples, "ms": statistics.median(tsamples)})
            pair_ratios[sh["id"]] = [tm / cm for tm, cm in zip(tsamples, csamples)]
        if cannon is None:
            cannon = dict(c.ready, cases=[case], repeat=args.repeat)
            torch_res = {"torch": t.ready["torch"], "rows": [trow]}
        else:
            cannon["cases"].append(case)
            torch_res["rows"].append(trow)
    return cannon, torch_res, pair_ratios


def gflops(f, ms):
    return f / (ms * 1e-3) * 1e-9 if ms else 0.0


def combine(shapes, cannon, torch_res):
    by_problem = {c["problem"]: c for c in cannon["cases"]}
    by_id = {r["id"]: r for r in torch_res["rows"]} if torch_res else {}
    sgemm = cannon["sgemm_gflops"]
    rows = []
    for sh in shapes:
        c, t = by_problem.get(sh["problem"], {}), by_id.get(sh["id"], {})
        cms, tms = c.get("ms", 0.0), t.get("ms", 0.0)
        cg, tg = gflops(sh["flops"], cms), gflops(sh["flops"], tms)
        rows.append({
            "id": sh["id"], "problem": sh["problem"], "flops": sh["flops"],
            "cannon_ms": cms, "torch_ms": tms, "cannon_gflops": cg, "torch_gflops": tg,
            "speed_ratio": tms / cms if cms and tms else None,  # > 1: cannon is faster
            "cannon_plan_gflops": c.get("gflops"),
            "ratio_to_sgemm": cg / sgemm if sgemm else None,
            "torch_backend": t.get("backend", "refused" if t else ""), "torch_aten_op": t.get("aten_op", ""),
            "cannon_samples_ms": c.get("samples_ms", []), "torch_samples_ms": t.get("samples_ms", []),
        })
    return rows


def fmt_num(x, digits=2):
    return "-" if x is None or x == 0 else f"{x:.{digits}f}"


def table_lines(rows, sgemm, markdown, backward=False):
    head = ["shape (backward)" if backward else "shape", "cannon ms", "torch ms", "cannon GFLOP/s", "torch GFLOP/s",
            "cannon/torch speed", "cannon/SGEMM"]
    body = [[r["id"], fmt_num(r["cannon_ms"]), fmt_num(r["torch_ms"]), fmt_num(r["cannon_gflops"], 1),
             fmt_num(r["torch_gflops"], 1), fmt_num(r["speed_ratio"]), fmt_num(r["ratio_to_sgemm"])] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return lines
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    fmt_row = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)  # noqa: E731
                                      for i, (c, w) in enumerate(zip(cells, widths)))
    return [fmt_row(head)] + [fmt_row(b) for b in body]


def header_lines(meta):
    lines = [
        f"date: {meta['date']}",
        f"machine: {meta['cpu']['model']}, {meta['cpu']['cores']} cores, hardware ISA {meta['cpu']['isa']}",
        f"code ISA: {meta['isa_label']}",
        f"PoCL device: {meta['cannon_device']['name']} ({meta['cannon_device']['version']})",
        f"threads: {meta['threads']} (POCL_MAX_PTHREAD_COUNT, OPENBLAS_NUM_THREADS, torch.set_num_threads)",
        f"OpenBLAS SGEMM {meta['sgemm_n']}^3: {meta['sgemm_gflops']:.1f} GFLOP/s (core {meta['blas_core'] or '?'}"
        f"{', from OPENBLAS_CORETYPE' if meta.get('env', {}).get('OPENBLAS_CORETYPE') else ''}),"
        " same cannon-bench run",
    ]
    if meta.get("torch"):
        tt = meta["torch"]
        lines.append(f"PyTorch {tt['version']}, ATen CPU capability {tt['capability']}, backends: "
                     f"{', '.join(sorted(meta['torch_backends']))}")
    backward = meta.get("pass") == "backward"
    if backward:
        lines.append("pass: backward (cannon FlashAttentionScoreGrad, after its forward; torch: only out.backward(dy) "
                     "timed, the forward re-run outside the timing)")
    lines.append(f"medians of {meta['repeat']} timed runs after warm-up, each side; FLOPs {flop_formula(backward)} for "
                 "both, causal counted as half")
    if meta.get("lockstep"):
        lines.append("lockstep: each row timed on both sides back to back before the next row")
    if meta.get("paired"):
        lines.append(f"paired: {meta['repeat']} pairs per row of one cannon run and one torch run back to back "
                     f"(order swapped every pair, {meta['gap_s']:g} s idle before each run); speed ratio = median of "
                     "the per-pair ratios, times = each side's median")
    return lines


def merge_runs(paths, markdown_path):
    """Several --json runs of one ISA in one table: medians across runs of each row's times and of its per-run
    speed ratio, with the lowest and highest ratio (the machines are noisy; one run is not a figure)."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    isas = {r["meta"]["isa_label"] for r in runs}
    if len(isas) != 1:
        print("--merge: the runs mix code ISAs: " + "; ".join(sorted(isas)), file=sys.stderr)
        return 1
    passes = {r["meta"].get("pass", "forward") for r in runs}
    if len(passes) != 1:
        print("--merge: the runs mix forward and backward", file=sys.stderr)
        return 1
    med = statistics.median
    sgemm = med(r["meta"]["sgemm_gflops"] for r in runs)
    rows = []
    for row in runs[0]["rows"]:
        same = [x for r in runs for x in r["rows"] if x["id"] == row["id"]]
        ratios = [x["speed_ratio"] for x in same if x["speed_ratio"]]
        cms, tms = med(x["cannon_ms"] for x in same), med(x["torch_ms"] for x in same)
        rows.append({"id": row["id"], "cannon_ms": cms, "torch_ms": tms,
                     "cannon_gflops": gflops(row["flops"], cms), "torch_gflops": gflops(row["flops"], tms),
                     "speed_ratio": med(ratios) if ratios else None,
                     "ratio_span": (min(ratios), max(ratios)) if ratios else None,
                     "ratio_to_sgemm": gflops(row["flops"], cms) / sgemm if sgemm else None})
    meta = dict(runs[0]["meta"])
    meta["sgemm_gflops"] = sgemm
    lines = header_lines(meta)
    lines[0] = "dates: " + ", ".join(r["meta"]["date"] for r in runs)
    lines.append(f"{len(runs)} runs of compare_torch.py: medians across runs; speed ratio = median of the per-run "
                 "ratios [lowest, highest]")
    body = table_lines(rows, sgemm, markdown=bool(markdown_path), backward=passes == {"backward"})
    spans = [f"[{r['ratio_span'][0]:.2f}, {r['ratio_span'][1]:.2f}]" if r["ratio_span"] else "-" for r in rows]
    body = [body[0] + (" ratio range |" if markdown_path else "  ratio range")] + \
           ([body[1] + "---|"] if markdown_path else []) + \
           [b + (f" {sp} |" if markdown_path else f"  {sp}") for b, sp in zip(body[1 + bool(markdown_path):], spans)]
    scaling = [x for r in runs for x in r.get("decode_scaling", [])]
    if scaling:
        threads = max(x["threads"] for x in scaling)
        body += ["", f"decode, 1 thread vs {threads} threads, medians across runs (speed-up = 1-thread time / "
                 f"{threads}-thread time; target >= 1.7):", ""]
        for sid in sorted({x["id"] for x in scaling}):
            for side in ("cannon", "torch"):
                one = med(x[f"{side}_ms"] for x in scaling if x["id"] == sid and x["threads"] == 1)
                many = med(x[f"{side}_ms"] for x in scaling if x["id"] == sid and x["threads"] == threads)
                body.append(f"- {sid} {side}: 1 thread {one:.1f} ms, {threads} threads {many:.1f} ms, "
                            f"speed-up {one / many if many else 0:.2f}x")
    text = "\n".join(lines + [""] + body)
    print(text)
    if markdown_path:
        Path(markdown_path).write_text("\n".join(["- " + line for line in lines] + [""] + body) + "\n")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--torch-worker", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--torch-serve", metavar="SPEC", help=argparse.SUPPRESS)
    ap.add_argument("--cannon-bench", help="path of cannon-bench (default: the newest build*/tools/cannon-bench)")
    ap.add_argument("--shapes", default="all",
                    help="comma-separated sets (all, quick, gate) or row-id globs, e.g. 'd128_s4096_*,decode_fp32'")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per row and side; the median is reported")
    ap.add_argument("--warmup", type=int, default=2, help="untimed torch runs per row (cannon-bench does one)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both sides (default: all cores)")
    ap.add_argument("--isa", choices=sorted(ISA_ENV), default="native",
                    help="avx2: AVX2 code on an AVX-512 machine for PoCL, OpenBLAS and torch (emulated ISA)")
    ap.add_argument("--decode-scaling", action="store_true",
                    help="also time the decode rows at 1 thread and at --threads (target: >= 1.7x faster)")
    ap.add_argument("--torch-python", help="a Python with torch installed (default: this one, else a cached venv)")
    ap.add_argument("--json", help="write rows and conditions as JSON")
    ap.add_argument("--markdown", help="write the table as Markdown (for docs/performance.md)")
    ap.add_argument("--check-only", action="store_true",
                    help="no torch: run cannon-bench on one tiny shape and check its --json has what this script reads"
                         " (with --paired: check cannon-bench --serve's answers instead)")
    ap.add_argument("--backward", action="store_true",
                    help="time the backward pass: cannon-bench --backward (FlashAttentionScoreGrad) beside torch's "
                         "out.backward(dy) through the same SDPA call; FLOPs 10*B*N1*S1*S2*D (causal half)")
    ap.add_argument("--lockstep", action="store_true",
                    help="time each row on both sides back to back (cannon, then torch) before the next row, so a "
                         "noisy machine's slow phases fall on both sides of a ratio; default: all cannon rows, then "
                         "all torch rows")
    ap.add_argument("--paired", action="store_true",
                    help="time each row as --repeat pairs of single runs, one cannon run and one torch run back to "
                         "back (cannon-bench --serve beside a torch worker), the order swapped every pair; the speed "
                         "ratio is the median of the per-pair ratios, so a noisy machine's slow phases, which last "
                         "longer than a pair, fall on both sides of each ratio")
    ap.add_argument("--gap", type=float, default=0.1,
                    help="--paired: seconds of idle before each run, so that one side's idle threads have stopped "
                         "spinning when the other side's run starts (default 0.1)")
    ap.add_argument("--list", action="store_true", help="print the row ids and problem strings and exit")
    ap.add_argument("--merge", nargs="+", metavar="JSON",
                    help="no new runs: combine several --json files of one ISA into one table of medians")
    args = ap.parse_args()

    if args.merge:
        return merge_runs(args.merge, args.markdown)

    if args.torch_worker:
        torch_worker(*args.torch_worker)
        return 0
    if args.torch_serve:
        torch_serve(args.torch_serve)
        return 0
    if args.paired and args.lockstep:
        raise SystemExit("--paired and --lockstep are two ways of timing rows; give one")
    if args.repeat < 1:
        raise SystemExit(f"--repeat {args.repeat}: at least one timed run (one pair with --paired) per row")
    if not args.gap >= 0:
        raise SystemExit(f"--gap {args.gap}: seconds of idle before each run, 0 or more")
    if args.list:
        for r in all_shapes(args.backward):
            print(f"{r['id']:<28} {r['problem']}")
        return 0
    bench = find_cannon_bench(args.cannon_bench)
    cache_dir = cache_root()
    env = base_env(args.threads, args.isa, cache_dir)
    pass_args = ["--backward"] if args.backward else []

    if args.check_only and args.paired:
        return check_serve(bench, env, pass_args)
    if args.check_only:
        tiny = make_shape("tiny_causal", 1, 2, 1, 128, 128, 64, "fp32", True, args.backward)
        report = run_cannon(bench, [tiny["problem"]], 1, env, extra=["--gemm-n", "256", *pass_args])
        missing = check_cannon_report(report, [tiny["problem"]], args.backward)
        if missing:
            print("cannon-bench --json lacks: " + ", ".join(missing))
            return 1
        case = report["cases"][0]
        # The plan counts visited tiles: at least the causal half, at most the dense figure.
        if not (tiny["flops"] <= case["flops"] <= 2 * tiny["flops"] and case["ms"] > 0):
            print(f"implausible case: flops {case['flops']} (causal half {tiny['flops']}), ms {case['ms']}")
            return 1
        print(f"ok: {report['device_info']['name']}, {tiny['problem']}{' backward' if args.backward else ''} "
              f"{case['ms']:.3f} ms, "
              f"SGEMM {report['sgemm_gflops']:.1f} GFLOP/s")
        return 0

    shapes = select_shapes(args.shapes, args.backward)
    tpy = torch_python(args.torch_python)
    pair_ratios = {}
    if args.paired:
        cannon, torch_res, pair_ratios = run_paired(bench, tpy, shapes, args, env, pass_args)
    elif args.lockstep:
        cannon, torch_res = run_lockstep(bench, tpy, shapes, args, env, pass_args)
    else:
        cannon = run_cannon(bench, [s["problem"] for s in shapes], args.repeat, env, extra=pass_args)
        torch_res = run_torch(tpy, shapes, args.repeat, args.warmup, args.threads, env, args.backward)
    missing = check_cannon_report(cannon, [s["problem"] for s in shapes], args.backward)
    if missing:
        print("warning: cannon-bench --json lacks: " + ", ".join(missing), file=sys.stderr)
    rows = combine(shapes, cannon, torch_res)
    for r in rows:
        if r["id"] in pair_ratios:
            r["pair_ratios"] = pair_ratios[r["id"]]
            r["speed_ratio"] = statistics.median(pair_ratios[r["id"]])
    dev = cannon["device_info"]
    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_facts(), "threads": args.threads, "isa": args.isa,
        "pass": "backward" if args.backward else "forward",
        "isa_label": EMULATED_LABEL if args.isa == "avx2" else "native (the hardware's own ISA)",
        "cannon_device": {"name": dev["name"], "version": dev["version"]},
        "sgemm_gflops": cannon["sgemm_gflops"], "sgemm_n": cannon.get("sgemm_n", 2048),
        "blas_core": dev.get("blas_core", ""), "repeat": args.repeat, "lockstep": args.lockstep,
        "paired": args.paired, "gap_s": args.gap,
        "torch": torch_res["torch"], "torch_backends": sorted({r["torch_backend"] for r in rows}),
        "torch_refusals": {r["id"]: r["refused"] for r in torch_res["rows"] if r.get("refused")},
        "env": {k: env.get(k, "") for k in sorted(set(ISA_ENV["avx2"]) | {"POCL_MAX_PTHREAD_COUNT", "POCL_CACHE_DIR"})},
    }
    out = {"meta": meta, "rows": rows}

    scaling = []
    if args.decode_scaling:
        decode = [s for s in all_shapes(args.backward) if s["id"].startswith("decode_") and
                  (s in shapes or not any(x["id"].startswith("decode_") for x in shapes))]
        for n in sorted({1, args.threads}):
            e = base_env(n, args.isa, cache_dir)
            c = run_cannon(bench, [s["problem"] for s in decode], args.repeat, e,
                           extra=["--gemm-n", "256", *pass_args])
            t = run_torch(tpy, decode, args.repeat, args.warmup, n, e, args.backward)
            for r in combine(decode, c, t):
                scaling.append({"threads": n, "id": r["id"], "cannon_ms": r["cannon_ms"], "torch_ms": r["torch_ms"]})
        out["decode_scaling"] = scaling

    lines = header_lines(meta) + [""] + table_lines(rows, meta["sgemm_gflops"], markdown=False,
                                                    backward=args.backward)
    if scaling:
        lines += ["", "decode, 1 thread vs all threads (speed-up = 1-thread time / N-thread time; target >= 1.7):"]
        for sid in sorted({s["id"] for s in scaling}):
            one = next(s for s in scaling if s["id"] == sid and s["threads"] == 1)
            many = next(s for s in scaling if s["id"] == sid and s["threads"] == args.threads)
            for side in ("cannon", "torch"):
                a, b = one[f"{side}_ms"], many[f"{side}_ms"]
                lines.append(f"  {sid:<14} {side:<7} 1 thread {a:9.2f} ms, {args.threads} threads {b:9.2f} ms, "
                             f"speed-up {a / b if b else 0:.2f}x")
    if meta["torch_refusals"]:
        lines += ["", "torch refused the forced flash backend for: " + ", ".join(meta["torch_refusals"])]
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    if args.markdown:
        title = meta["isa_label"] + (", backward" if args.backward else "")
        md = [f"**{title}** — " + "; ".join(header_lines(meta)), ""]
        md += table_lines(rows, meta["sgemm_gflops"], markdown=True, backward=args.backward)
        Path(args.markdown).write_text("\n".join(md) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
