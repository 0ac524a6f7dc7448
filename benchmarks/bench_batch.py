"""Batch throughput on Dask: runs per minute with 1 and 2 workers, scaling efficiency, client memory.

Not a test (timings on shared machines are noisy). For each workload, the same batch runs with
``--workers 1`` and ``--workers 2`` (embedded LocalCluster, one process per worker), side by side
in this invocation, each into a fresh store. Reported:

- wall time of the whole command (cluster start-up included) and runs per minute over it;
- throughput once the cluster is up: runs per minute from the moment the embedded cluster's
  workers are ready to the last result (each worker's loading of compiled code is included);
- efficiency: the 2-worker rate over the 1-worker rate (2.00 would be perfect on two cores);
  1 and 2 workers alternate, ``--repeats`` times each, and the fastest trial of each is kept;
- the client's peak memory for a batch and for one four times its size (flat = streaming works).

    .venv/bin/python benchmarks/bench_batch.py [--quick]

Writes benchmarks/results/batch.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from _results import write_markdown

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

WORKLOADS = {
    "city (fast engine, 20,000 merchants x 60 months)": ("fast", 20_000, 60),
    "town (mesa engine, 300 merchants x 36 months)": ("mesa", 300, 36),
}

CHILD = r"""
import json, resource, sys, time
import sim.experiment.batch
from sim.experiment.batch import plan, run_batch
from sim.experiment.results import Store
p = plan(sys.argv[1])
t0 = time.perf_counter()
stamps, ready = [], []
orig_write, orig_connect = Store.write, sim.experiment.batch.connect
def write(self, result):
    orig_write(self, result)
    stamps.append(time.perf_counter())
def connect(*a, **k):
    out = orig_connect(*a, **k)
    ready.append(time.perf_counter())
    return out
Store.write, sim.experiment.batch.connect = write, connect
counts = run_batch(p, sys.argv[2], workers=int(sys.argv[3]), progress=False)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "ready": ready[0] - t0, "last": stamps[-1] - t0, "n": len(stamps),
                  "failed": counts["failed"], "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def batch_file(d: Path, engine: str, merchants: int, months: int, runs: int) -> Path:
    scen = sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml"))
    doc = {"name": "bench", "scenarios": scen, "replications": max(1, runs // len(scen)), "seed": 0, "engine": engine,
           "set": [f"population.merchants={merchants}", f"population.months={months}"]}
    path = d / f"bench_{engine}_{merchants}_{runs}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def measure(path: Path, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path), str(Path(out) / "store"), str(workers)],
                              capture_output=True, text=True, check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    r["rate_wall"] = 60 * r["n"] / r["wall"]
    r["rate_steady"] = 60 * r["n"] / (r["last"] - r["ready"])
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs")
    ap.add_argument("--only", default=None, help="run only workloads whose label contains this")
    ap.add_argument("--repeats", type=int, default=3, help="trials per worker count, alternating (best kept)")
    a = ap.parse_args()
    runs = 40 if a.quick else 300
    lines = ["# Batch throughput", "",
             f"{platform.machine()}, 2 cores; {time.strftime('%Y-%m-%d')}; the five shipped scenarios, "
             f"{runs} runs a batch; embedded LocalCluster, one process per worker; 1 and 2 workers alternated "
             f"{a.repeats} times in one invocation, fastest trial of each shown.", "",
             "| workload | workers | wall s | runs/min (wall) | runs/min (cluster up) | efficiency (cluster up) |",
             "|---|---:|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as d:
        for label, (engine, merchants, months) in WORKLOADS.items():
            if a.only and a.only not in label:
                continue
            path = batch_file(Path(d), engine, merchants, months, runs)
            measure(path, 1)  # warm the compiled-code cache
            trials: dict[int, list[dict]] = {1: [], 2: []}
            for _ in range(a.repeats):  # alternate, so both worker counts see the same machine
                for w in (1, 2):
                    trials[w].append(measure(path, w))
            best = {w: max(ts, key=lambda r: r["rate_steady"]) for w, ts in trials.items()}
            for w, r in best.items():
                eff = "" if w == 1 else f"{best[2]['rate_steady'] / best[1]['rate_steady']:.2f}x"
                lines.append(f"| {label} | {w} | {r['wall']:.1f} | {r['rate_wall']:,.0f} | "
                             f"{r['rate_steady']:,.0f} | {eff} |")
                print(lines[-1], flush=True)
        small = measure(batch_file(Path(d), "fast", 2_000, 24, runs), 2)
        big = measure(batch_file(Path(d), "fast", 2_000, 24, 4 * runs), 2)
    lines += ["", f"Client peak memory (fast engine, 2,000 merchants x 24 months, 2 workers): {small['rss_mb']:.0f} MB "
              f"for {small['n']} runs, {big['rss_mb']:.0f} MB for {big['n']} runs."]
    write_markdown("batch", lines)


if __name__ == "__main__":
    main()
