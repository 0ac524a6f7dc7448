"""Explorer redraw time: how long a lever move takes to show new charts (target: within 1 s at 20,000 merchants).

Not a test (timings on shared machines are noisy). Runs the explorer of ``notebooks/01_explore`` with
its defaults (shahe_plan, 20,000 merchants, 36 months, 3 replications, auto engine = fast) outside
a notebook, moves each of several levers in turn, and times (a) the rerun alone and (b) the rerun
plus rendering the nine-panel figure to PNG (``Explorer.png``, as the notebook does), which is what
a slider move costs in JupyterLab minus the browser. The first run pays for loading the compiled
engine and building the figure, and is reported apart.

    .venv/bin/python benchmarks/bench_explore.py [--merchants 20000] [--months 36] [--reps 3]

Writes benchmarks/results/explore.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

from _results import write_markdown

from sim.model.engines import resolve_engine
from sim.present.explore import Explorer
from sim.present.report import notebook_setup, prepare

HERE = Path(__file__).resolve().parent
MOVES = (("policy__inspection__sampling_ratio__D", (1.0, 0.5, 0.8)),
         ("policy__inspection__capacity_per_1000_merchants", (100, 500, 40)),
         ("policy__tiers__A", (88, 92, 90)),
         ("policy__lists__blacklist__max_score", (30, 45, 40)),
         ("policy__incentives__joint_punishment_multiplier", (3.0, 1.0, 1.5)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--merchants", type=int, default=20_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    notebook_setup()
    setup = prepare(str(HERE.parent / "scenarios" / "shahe_plan.yaml"), reps=a.reps, merchants=a.merchants,
                    months=a.months, min_reps=1)
    ex = Explorer(setup)
    t0 = time.perf_counter()
    ex.png(ex.reference)  # first run: loads the compiled engine and builds the figure
    first = time.perf_counter() - t0
    runs, redraws = [], []
    for lever, values in MOVES:
        for v in values:
            t0 = time.perf_counter()
            ts, seconds = ex.update(**{lever: v})
            ex.png(ts)  # what the notebook shows: the nine panels rendered once
            redraws.append(time.perf_counter() - t0)
            runs.append(seconds)
    med = statistics.median
    lines = [
        "# Explorer redraw time",
        "",
        f"shahe_plan, {a.merchants:,} merchants x {a.months} months x {a.reps} replications, engine "
        f"{resolve_engine(setup.engine, a.merchants)} ({platform.machine()}, {time.strftime('%Y-%m-%d')}); "
        f"{len(redraws)} lever moves.",
        "",
        "| | median | slowest |",
        "|---|---|---|",
        f"| rerun only | {med(runs):.2f} s | {max(runs):.2f} s |",
        f"| rerun + nine-panel figure (PNG) | {med(redraws):.2f} s | {max(redraws):.2f} s |",
        "",
        f"First run (loads the compiled engine; once per kernel): {first:.2f} s. Target: a move redraws within 1 s.",
    ]
    write_markdown("explore", lines)


if __name__ == "__main__":
    main()
