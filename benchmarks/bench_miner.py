"""Miner throughput: target log-prob requests per second for the tiny models, batched vs a plain baseline.

A next-token request is B windows of T+1 = 129 byte tokens from the held-out pydoc text; the answer is
(B, T) target log-probs. For each tiny model (the default `tiny_lm` Llama and GPT-2, and the 1.8M-param
Llama of notes/ml-offline.md) the script times:

* ``target_logprobs, batch 1``: a request of one window (latency of a single query);
* ``target_logprobs, batch 16``: a request of 16 windows in one forward;
* baseline ``per-sequence forwards, 16``: the same 16 windows answered one at a time, each with a plain
  ``model(ids).logits`` (``torch.no_grad``, default ``use_cache``), a full ``log_softmax`` and a gather:
  what a straightforward miner does.

Each row is the median of ``--repeats`` rounds (after 3 warm-up calls) in which the three rows are timed
one call each, interleaved, so load from other processes hits them alike. Tokens/s counts predicted
targets (B x T). The script asserts that batched answers equal the baseline's (to 1e-4 nats).

A second table times training while serving: ``Trainer.step`` (AdamW, lr 3e-3, batch 8 x 128 bytes of the
train split) on the default Llama for ``--train-steps`` steps, with its held-out loss before and after.

Run from the repository root: ``python benchmarks/bench_miner.py [--threads 2] [--device cpu] [--repeats 30]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np
import torch

from tao_lab.models import Trainer, target_logprobs, tiny_lm
from tao_lab.tasks import NextTokenTask

MODELS = {
    "llama 128x2 (default)": dict(kind="llama"),
    "gpt2 128x2": dict(kind="gpt2"),
    "llama 192x4 (notes)": dict(kind="llama", hidden=192, layers=4, heads=4, kv_heads=4, intermediate=512),
}


def timed(fns: dict, repeats: int) -> dict:
    """Median seconds of each ``fn()``, after 3 warm-up calls, timed in interleaved rounds.

    Interleaving (one call of each per round) makes a burst of load from another process hit every
    row alike, so the ratios stay fair on a shared machine.
    """
    for fn in fns.values():
        for _ in range(3):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            t = time.perf_counter()
            fn()
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}


def baseline(model, tokens: np.ndarray) -> np.ndarray:
    """One plain forward per window: full log_softmax, then the targets; (B, T)."""
    device = next(model.parameters()).device
    rows = []
    with torch.no_grad():
        for row in tokens:
            x = torch.as_tensor(row[None], device=device)  # (1, T+1)
            logp = torch.log_softmax(model(x[:, :-1]).logits, dim=-1)  # (1, T, V)
            rows.append(logp.gather(-1, x[:, 1:, None]).squeeze(-1).cpu().numpy())
    return np.concatenate(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true", help="bfloat16 autocast (CUDA only)")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--train-steps", type=int, default=100)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    cpu = platform.processor() or "?"
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    load = "load average %.2f at start; " % os.getloadavg()[0] if hasattr(os, "getloadavg") else ""
    print(f"machine: nproc {os.cpu_count()}, {cpu}; {load}torch threads {torch.get_num_threads()}; device {args.device}"
          + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else ""))
    print(f"python {platform.python_version()}, torch {torch.__version__}, "
          f"transformers {__import__('transformers').__version__}, numpy {np.__version__}\n")

    task = NextTokenTask(context=128)
    one = task.sample(1, rng=0).inputs  # (1, 129)
    sixteen = task.sample(16, rng=1).inputs  # (16, 129)
    T = task.context
    rows = []
    for label, cfg in MODELS.items():
        model = tiny_lm(context=128, **cfg).to(args.device)
        params = sum(p.numel() for p in model.parameters())
        assert np.allclose(target_logprobs(model, sixteen, amp=args.amp), baseline(model, sixteen),
                           atol=0.05 if args.amp else 1e-4), "batched answers differ from the baseline"
        t = timed({"b1": lambda m=model: target_logprobs(m, one, amp=args.amp),
                   "b16": lambda m=model: target_logprobs(m, sixteen, amp=args.amp),
                   "base": lambda m=model: baseline(m, sixteen)}, args.repeats)
        s1, s16, sb = t["b1"], t["b16"], t["base"]
        rows += [
            (label, params, "target_logprobs, batch 1", s1, 1 / s1, T / s1, ""),
            (label, params, "target_logprobs, batch 16", s16, 1 / s16, 16 * T / s16, f"{sb / s16:.1f}x baseline"),
            (label, params, "baseline: per-sequence forwards, 16", sb, 1 / sb, 16 * T / sb, "1.0x"),
        ]

    head = ("model", "params", "mode", "ms / request", "requests/s", "tokens/s", "vs baseline")
    table = [head] + [(m, f"{p / 1e6:.2f}M", mode, f"{s * 1e3:.2f}", f"{r:.1f}", f"{tok:,.0f}", v)
                      for m, p, mode, s, r, tok, v in rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(head))]
    for n, r in enumerate(table):
        print("  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nrequest = B windows of T+1 = {T + 1} byte tokens; tokens/s counts the B x {T} predicted targets; "
          f"medians of {args.repeats} interleaved rounds; answers checked equal")

    trainer = Trainer(tiny_lm(context=128).to(args.device), task, lr=3e-3, batch_size=8)
    before = trainer.evaluate(batches=8)
    trainer.step(3)  # warm-up
    steps = []
    for _ in range(args.train_steps):
        t = time.perf_counter()
        trainer.step(1)
        steps.append(time.perf_counter() - t)
    dt = statistics.median(steps)
    after = trainer.evaluate(batches=8)
    print(f"\ntraining, llama 128x2, batch 8 x 128: median {dt * 1e3:.1f} ms/step, {8 * T / dt:,.0f} tokens/s; held-out "
          f"loss {before:.2f} -> {after:.2f} nats/byte after {args.train_steps + 3} steps (uniform 5.55)")


if __name__ == "__main__":
    main()
