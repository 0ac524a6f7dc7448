"""What the plan's other instruments cost in run time: shahe_plan with every instrument on, against the
same scenario with them all switched off, on the fast engine, side by side in one run.

Not a test (timings on shared machines are noisy). The instruments added for clauses 2, 3, 6-12 and
14-15 (commitments, penalty disclosure, objections, the campaign, e-commerce, credit consumption,
associations, trade incentives, publicity) each add work per merchant and month when on. Both
variants run on the same code, alternating, ``--trials`` times each after a warm-up that loads the
compiled engine; the fastest trial of each is compared (the least disturbed by other load).

    .venv/bin/python benchmarks/bench_instruments.py [--merchants 1000000] [--months 60] [--trials 3]

Writes benchmarks/results/instruments.md.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from _results import write_markdown

from sim.experiment.runner import run_scenario
from sim.model.schema import load_scenario

HERE = Path(__file__).resolve().parent
OFF = ["policy.commitments.enabled=false", "policy.disclosure.enabled=false", "policy.objections.enabled=false",
       "policy.campaign.enabled=false", "policy.ecommerce.enabled=false", "policy.credit_consumption.enabled=false",
       "policy.associations.enabled=false", "policy.trade.enabled=false", "policy.publicity.intensity=0"]
"""Every instrument beyond the inspection-and-list core, switched off."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--merchants", type=int, default=1_000_000)
    ap.add_argument("--months", type=int, default=60)
    ap.add_argument("--trials", type=int, default=3)
    args = ap.parse_args()
    size = [f"population.merchants={args.merchants}", f"population.months={args.months}"]
    path = HERE.parent / "scenarios" / "shahe_plan.yaml"
    variants = {"every instrument on (shahe_plan)": load_scenario(path, size),
                "instruments off (core only)": load_scenario(path, size + OFF)}
    warm = load_scenario(path, [f"population.merchants={args.merchants}", "population.months=2"])
    run_scenario(warm, reps=1, seed=0, engine="fast", progress=False)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for trial in range(args.trials):
        for name, scn in variants.items():
            t0 = time.perf_counter()
            run_scenario(scn, reps=1, seed=trial, engine="fast", progress=False)
            times[name].append(time.perf_counter() - t0)
    on, off = (min(v) for v in times.values())
    lines = [
        "# Run time of the plan's other instruments",
        "",
        f"shahe_plan, {args.merchants:,} merchants x {args.months} months, 1 replication, engine fast "
        f"({platform.machine()}, {time.strftime('%Y-%m-%d')}); {args.trials} alternating trials each, fastest shown.",
        "",
        "| variant | fastest | all trials |",
        "|---|---|---|",
    ]
    for name, v in times.items():
        lines.append(f"| {name} | {min(v):.2f} s | {', '.join(f'{x:.2f}' for x in v)} |")
    lines += ["", f"Ratio (on / off): **{on / off:.2f}x**."]
    write_markdown("instruments", lines)


if __name__ == "__main__":
    main()
