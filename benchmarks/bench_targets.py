"""The speed targets, each measured on this code and on the commit before the speed work, side by side.

Not a test (timings on shared machines are noisy). Each figure is measured twice in this one invocation, by
the same Python and packages: once on the working tree, once on a copy of ``--base`` (``git archive`` into
``build/bench-base/``, imported first through ``PYTHONPATH``; worker processes inherit it). Compiled code is
loaded before anything is timed; the two versions alternate within each target.

Targets (issue 15):

- throughput: ``sim batch`` runs a minute of 2,000 merchants x 60 months on 2 workers, once the cluster is up,
  for a Sobol design over 8 policy levers (runs of one replication share their burn-in) and for a Latin
  hypercube over 5 behavioural parameters (what a calibration runs: no two runs share a burn-in);
- time to answer: one Sobol analysis (8 levers, N = 256, 5 replications; its runs at the measured rate plus
  the SALib analysis, measured at ``--sobol-n`` and scaled by 256 / N) and one calibration of 5 parameters
  (a CMA-ES budget of 4,800 runs: 8 candidates x 60 generations x 10 replications, at the behavioural rate;
  ``sim calibrate`` comes with the calibration issue);
- big runs: 1,000,000 merchants x 60 months on 2 threads (no burn-in: the months themselves), bytes of state a
  merchant, and 181 million merchants x 60 months (extrapolated from 10 million, the cost being linear in
  merchants, unless ``--nation`` runs it);
- explorer: a lever move's rerun plus the nine-panel figure at 20,000 merchants x 36 months x 3 replications.

    .venv/bin/python benchmarks/bench_targets.py [--base COMMIT] [--quick] [--nation]

Writes benchmarks/results/targets.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _results import cpu_model, write_markdown

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BASE = "d48fd2a"
"""The commit before the speed work (issue 15): what every figure is compared with."""

SOBOL_LEVERS = {
    "policy.inspection.sampling_ratio.A": (0.0, 0.1), "policy.inspection.sampling_ratio.B": (0.02, 0.3),
    "policy.inspection.sampling_ratio.C": (0.1, 0.6), "policy.inspection.sampling_ratio.D": (0.3, 1.0),
    "policy.inspection.capacity_per_1000_merchants": (10.0, 80.0), "policy.penalties.fine_multiple": (1.0, 5.0),
    "policy.lists.blacklist.max_score": (30.0, 50.0), "policy.incentives.joint_punishment_multiplier": (1.0, 3.0),
}
BEHAVIOUR = {
    "behaviour.learning.rate": (0.05, 0.3), "behaviour.choice_noise": (0.05, 0.5),
    "behaviour.risk_aversion": (0.0, 1.0), "behaviour.social.influence": (0.1, 0.6),
    "behaviour.consequence_weight": (0.2, 1.0),
}
CALIBRATION_RUNS = 8 * 60 * 10

CHILD_BATCH = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import sim.experiment.batch as B
from sim.experiment.batch import plan, run_batch
p = plan(sys.argv[1])
span = {}
orig = B._run_todo
def timed(*a, **k):
    t0 = time.perf_counter()
    orig(*a, **k)
    span["s"] = time.perf_counter() - t0
B._run_todo = timed
t0 = time.perf_counter()
counts = run_batch(p, sys.argv[2], workers=int(sys.argv[3]), progress=False)
wall = time.perf_counter() - t0
import hashlib
from sim.experiment.results import load
from sim.model.metrics import METRICS
df = load(sys.argv[2]).sort_values("run_id")
numbers = hashlib.sha256(df[[m.name for m in METRICS]].to_numpy().tobytes()).hexdigest()[:16]
print(json.dumps({"wall": wall, "span": span["s"], "n": counts["ok"] + counts["failed"], "failed": counts["failed"],
                  "numbers": numbers}))
"""

CHILD_SOBOL = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
from SALib.analyze import sobol
from sim.experiment.results import load
t0 = time.perf_counter()
df = load(sys.argv[1])
names = json.loads(sys.argv[2])
y = df[df["status"] == "ok"].groupby("sample")["compliance_rate"].mean().to_numpy()
si = sobol.analyze({"num_vars": len(names), "names": names, "bounds": [[0, 1]] * len(names)}, y,
                   calc_second_order=False)
print(json.dumps({"analyse": time.perf_counter() - t0, "S1_max": float(np.nanmax(si["S1"]))}))
"""

CHILD_ENGINE = r"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
from sim.model.engines import get_engine
from sim.model.layout import STATE_DTYPE
from sim.model.params import compile_scenario
from sim.model.schema import load_scenario
n, months, trials = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
run = get_engine("fast")
warm = load_scenario("scenarios/shahe_plan.yaml", sets=["population.merchants=2000", "population.months=2",
                                                         "population.burn_in_months=0"])
run(compile_scenario(warm), np.random.default_rng(0))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
scn = load_scenario("scenarios/shahe_plan.yaml", sets=[f"population.merchants={n}", f"population.months={months}",
                                                        "population.burn_in_months=0"])
p = compile_scenario(scn)
times = []
for t in range(trials):
    t0 = time.perf_counter()
    run(p, np.random.default_rng(t))
    times.append(time.perf_counter() - t0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"best": min(times), "median": sorted(times)[len(times) // 2], "state": STATE_DTYPE.itemsize,
                  "rss_per_merchant": (peak - before) / n}))
"""

CHILD_EXPLORE = r"""
import json, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
from sim.present.explore import Explorer
from sim.present.report import notebook_setup, prepare
notebook_setup()
setup = prepare("scenarios/shahe_plan.yaml", reps=3, merchants=20000, months=36, min_reps=1)
ex = Explorer(setup)
ex.png(ex.reference)
moves = (("policy__inspection__sampling_ratio__D", (1.0, 0.5, 0.8)),
         ("policy__inspection__capacity_per_1000_merchants", (100, 500, 40)),
         ("policy__tiers__A", (88, 92, 90)),
         ("policy__lists__blacklist__max_score", (30, 45, 40)),
         ("policy__incentives__joint_punishment_multiplier", (3.0, 1.0, 1.5)))
redraws = []
for lever, values in moves[: int(sys.argv[1])]:
    for v in values:
        t0 = time.perf_counter()
        ts, _ = ex.update(**{lever: v})
        ex.png(ts)
        redraws.append(time.perf_counter() - t0)
print(json.dumps({"median": statistics.median(redraws), "max": max(redraws), "n": len(redraws)}))
"""


def _tree(base: str) -> Path:
    """A copy of commit ``base`` under build/bench-base/ (made once)."""
    found = subprocess.run(["git", "rev-parse", "--short=12", f"{base}^{{commit}}"], cwd=ROOT, capture_output=True,
                           text=True)
    if found.returncode != 0:
        raise SystemExit(f"bench_targets: --base {base}: a commit of this clone's history (fetch it, or name "
                         "another with --base)")
    sha = found.stdout.strip()
    tree = ROOT / "build" / "bench-base" / sha
    if not (tree / "sim" / "__init__.py").is_file():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def _child(tree: Path, code: str, *args: str, timeout: float = 3600) -> dict:
    """Run ``code`` with ``tree``'s ``sim`` first on the path, in ``tree``; its last line of output as JSON."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed in {tree}:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _batch_file(d: Path, tree: Path, name: str, method: str, params: dict, samples: int, reps: int) -> Path:
    """A batch file in ``d`` over ``tree``'s own shahe_plan scenario."""
    doc = {"name": name, "scenarios": [str(tree / "scenarios" / "shahe_plan.yaml")], "replications": reps, "seed": 0,
           "engine": "fast", "set": ["population.merchants=2000", "population.months=60"],
           "sweep": {"method": method, "samples": samples, "seed": 1,
                     "parameters": {k: {"min": lo, "max": hi} for k, (lo, hi) in params.items()}}}
    path = d / f"{name}-{tree.name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _throughput(tree: Path, batch: Path, workers: int = 2) -> dict:
    with tempfile.TemporaryDirectory() as out:
        r = _child(tree, CHILD_BATCH, str(batch), str(Path(out) / "store"), str(workers))
        r["rate"] = 60 * r["n"] / r["span"]
        if batch.name.startswith("sobol"):
            r |= _child(tree, CHILD_SOBOL, str(Path(out) / "store"), json.dumps(list(SOBOL_LEVERS)))
    return r


def _machine() -> str:
    cpu = cpu_model()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    import numba
    import numpy

    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB; {platform.system()} {platform.machine()}; Python "
            f"{platform.python_version()}, numpy {numpy.__version__}, numba {numba.__version__}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=BASE, help=f"commit to compare with (default {BASE})")
    ap.add_argument("--quick", action="store_true", help="smaller workloads (a check that the bench runs)")
    ap.add_argument("--nation", action="store_true", help="run 181 million merchants x 60 months (this code only)")
    ap.add_argument("--sobol-n", type=int, default=16, help="Sobol base N measured (scaled to 256)")
    a = ap.parse_args()
    trees = {"base": _tree(a.base), "now": ROOT}
    sobol_n = 4 if a.quick else a.sobol_n
    lhs_points, reps = (8, 2) if a.quick else (64, 5)
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for k, tree in trees.items():  # compile and load each version's code once before timing
            _child(tree, CHILD_ENGINE, "2000", "2", "1")
        for k, tree in trees.items():
            print(f"[{k}] batch throughput ...", file=sys.stderr)
            sob = _batch_file(d, tree, "sobol", "sobol", SOBOL_LEVERS, sobol_n, reps)
            lhs = _batch_file(d, tree, "behaviour", "lhs", BEHAVIOUR, lhs_points, reps)
            rows.setdefault("sobol", {})[k] = _throughput(tree, sob)
            rows.setdefault("behaviour", {})[k] = _throughput(tree, lhs)
        big_n = 200_000 if a.quick else 1_000_000
        nation_n = 2_000_000 if a.quick else 10_000_000
        for k, tree in trees.items():
            print(f"[{k}] big runs ...", file=sys.stderr)
            rows.setdefault("big", {})[k] = _child(tree, CHILD_ENGINE, str(big_n), "60", "3")
            rows.setdefault("nation", {})[k] = _child(tree, CHILD_ENGINE, str(nation_n), "60", "1")
        if a.nation:
            print("[now] 181 million merchants ...", file=sys.stderr)
            rows["nation"]["now"] |= {"measured": _child(ROOT, CHILD_ENGINE, "181000000", "60", "1")["best"]}
        for k, tree in trees.items():
            print(f"[{k}] explorer ...", file=sys.stderr)
            rows.setdefault("explore", {})[k] = _child(tree, CHILD_EXPLORE, "2" if a.quick else "5")
    sobol_runs = 256 * (len(SOBOL_LEVERS) + 2) * 5

    def sobol_minutes(r: dict) -> float:
        return sobol_runs / r["rate"] + r["analyse"] * 256 / sobol_n / 60

    def nation(r: dict) -> float:
        return r.get("measured", r["best"] * 181_000_000 / nation_n)

    figs = [
        ("Throughput, Sobol design over 8 levers (runs/min)", ">= 10,000", lambda r: r["sobol"]["rate"], "{:,.0f}",
         lambda v: v >= 10_000, True),
        ("Throughput, behavioural points, no shared burn-in (runs/min)", ">= 10,000",
         lambda r: r["behaviour"]["rate"], "{:,.0f}", lambda v: v >= 10_000, True),
        ("One Sobol analysis: 8 levers, N = 256, 5 reps (min)", "(measured)", lambda r: sobol_minutes(r["sobol"]),
         "{:.1f}", None, False),
        (f"One calibration of 5 parameters, {CALIBRATION_RUNS:,} runs (min)", "(measured)",
         lambda r: CALIBRATION_RUNS / r["behaviour"]["rate"], "{:.1f}", None, False),
        (f"{big_n:,} merchants x 60 months, 2 threads (s)", "<= 1.5" if not a.quick else "(quick)",
         lambda r: r["big"]["best"], "{:.2f}", (lambda v: v <= 1.5) if not a.quick else None, False),
        ("State per merchant (bytes)", "<= 64", lambda r: r["big"]["state"], "{:.0f}", lambda v: v <= 64, False),
        ("Peak memory growth per merchant at 10 million (bytes)", "(measured)",
         lambda r: r["nation"]["rss_per_merchant"],
         "{:.0f}", None, False),
        ("181 million merchants x 60 months (s)" + ("" if a.nation else f", from {nation_n // 10**6} million"),
         "<= 300", lambda r: nation(r["nation"]), "{:,.0f}", lambda v: v <= 300, False),
        ("Explorer: lever move to new figure, median (s)", "<= 0.5", lambda r: r["explore"]["median"], "{:.2f}",
         lambda v: v <= 0.5, False),
        ("Explorer: slowest move (s)", "(measured)", lambda r: r["explore"]["max"], "{:.2f}", None, False),
    ]
    lines = [
        "# Speed targets: this code against the commit before the speed work",
        "",
        f"Machine: {_machine()}. {time.strftime('%Y-%m-%d')}; base = {a.base}, now = the working tree"
        f"{' (quick workloads)' if a.quick else ''}. Batches: embedded LocalCluster, 2 worker processes, rate "
        f"from the first task to the last result; Sobol design N = {sobol_n} ({sobol_n * 10 * reps:,} runs), "
        f"Latin hypercube of {lhs_points} behavioural points; {reps} replications each.",
        "",
        "| figure | target | base | now | now / base | met |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, target, get, fmt, ok, higher in figs:
        base = get({k: v["base"] for k, v in rows.items()})
        now = get({k: v["now"] for k, v in rows.items()})
        ratio = now / base if base else float("nan")
        met = "" if ok is None else ("yes" if ok(now) else "no")
        lines.append(f"| {name} | {target} | {fmt.format(base)} | {fmt.format(now)} | {ratio:.2f}x | {met} |")
    same = all(rows[w]["base"]["numbers"] == rows[w]["now"]["numbers"] for w in ("sobol", "behaviour"))
    verdict = "identical" if same else "NOT identical"
    lines += ["", f"Same numbers: every metric of every run of both batches is {verdict} in the two versions "
              "(SHA-256 of the runs' summary metrics).",
              "", "Raw figures (JSON): " + json.dumps(rows, default=float)]
    write_markdown("targets" if not a.quick else "targets-quick", lines)


if __name__ == "__main__":
    main()
