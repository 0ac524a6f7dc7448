"""Engine speed and memory: wall time, merchant-steps per second, peak memory per merchant.

Not a test. Each (engine, size) runs in its own subprocess so peak memory (max RSS) is its own.
Writes benchmarks/results/engines.md and prints it.

    .venv/bin/python benchmarks/bench_engines.py [--sizes 1000 10000 100000] [--months 12]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def one(engine: str, merchants: int, months: int) -> dict:
    """Run one replication of shahe_plan at the given size; return timings and memory."""
    import numpy as np

    from sim.engines import get_engine
    from sim.params import compile_scenario
    from sim.scenario import load_scenario

    scn = load_scenario(ROOT / "scenarios" / "shahe_plan.yaml",
                        [f"population.merchants={merchants}", f"population.months={months}",
                         f"policy.inspection.capacity_per_month={max(80, merchants // 25)}"])
    params = compile_scenario(scn)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    get_engine(engine)(params, np.random.default_rng(0))
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"engine": engine, "merchants": merchants, "months": months, "seconds": wall,
            "merchant_steps_per_s": merchants * months / wall,
            "peak_rss_mb": peak / 1024, "bytes_per_merchant": max(0, peak - base) * 1024 / merchants}


def main() -> None:
    """Run the grid of engines and sizes and write the Markdown table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.child[0], int(args.child[1]), int(args.child[2]))))
        return
    from sim.engines import ENGINES

    rows = []
    for n in args.sizes:
        for engine in ENGINES:
            out = subprocess.run([sys.executable, __file__, "--child", engine, str(n), str(args.months)],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(f"{engine:5s} {n:>10,} merchants: {r['seconds']:8.2f} s, "
                  f"{r['merchant_steps_per_s']:12,.0f} merchant-steps/s", file=sys.stderr)
    lines = [f"Machine: {platform.processor() or platform.machine()}, {platform.python_version()}, "
             f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores; "
             f"scenario shahe_plan, {args.months} months, one replication.", "",
             "| engine | merchants | wall s | merchant-steps/s | peak RSS MB | bytes/merchant (RSS growth) |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['engine']} | {r['merchants']:,} | {r['seconds']:.2f} | "
                     f"{r['merchant_steps_per_s']:,.0f} | {r['peak_rss_mb']:.0f} | {r['bytes_per_merchant']:,.0f} |")
    text = "\n".join(lines) + "\n"
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "engines.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
