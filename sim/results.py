"""The batch results store: one Parquet file per run, written atomically; loaders and paired comparisons.

Layout of a store folder ``DIR``::

    DIR/manifest.json                   batch file hash, code version, engine, seeds, scenarios, sample points
    DIR/batch.yaml                      the batch file as given
    DIR/runs/<run_id>.ok.parquet        one row: key, sample point, status, error, metrics (12-month averages)
    DIR/runs/<run_id>.failed.parquet    the same for a run that raised (retried by the next invocation)
    DIR/timeseries/<run_id>.parquet     the run's long time series (as ``sim run`` writes, plus ``run_id``)

A run is written as ``.tmp`` and renamed into place (time series first, then its summary row), so a
run is in the store completely or not at all: a batch killed at any moment resumes by running the
runs without an ``.ok`` file, and none is lost or run twice. Files hold no timestamps, so the store
of an interrupted and resumed batch equals that of an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd

from sim.errors import InputError, Problem

__all__ = ["Store", "load", "load_timeseries", "manifest", "compare"]


class Store:
    """A results folder (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.ts = self.root / "timeseries"

    def completed(self) -> set[str]:
        """Run ids with a successful result in the store (reads the folder listing only)."""
        if not self.runs.is_dir():
            return set()
        return {p.name[: -len(".ok.parquet")] for p in self.runs.iterdir() if p.name.endswith(".ok.parquet")}

    def check(self, plan) -> None:
        """Raise :class:`InputError` if the folder holds something other than this batch's store."""
        if self.root.exists() and not self.root.is_dir():
            raise InputError([Problem("sim batch", "--out", str(self.root), "a folder (this is a file)")])
        m = self.root / "manifest.json"
        if m.is_file():
            old = json.loads(m.read_text())
            if old.get("batch_hash") != plan.batch_hash:
                raise InputError([Problem("sim batch", "--out", str(self.root),
                                          f"the store of this batch; it holds batch {old.get('batch_file')} "
                                          f"(hash {old.get('batch_hash')}, this one {plan.batch_hash}): "
                                          "choose another --out")])
        elif self.root.is_dir() and any(self.root.iterdir()):
            raise InputError([Problem("sim batch", "--out", str(self.root),
                                      "an empty or new folder, or a batch store")])

    def open(self, plan) -> None:
        """Create the folders and write the manifest (once: a resumed batch keeps the first one)."""
        from sim.runner import code_version

        self.check(plan)
        self.runs.mkdir(parents=True, exist_ok=True)
        self.ts.mkdir(parents=True, exist_ok=True)
        m = self.root / "manifest.json"
        if not m.is_file():
            b = plan.batch
            doc = {"name": b.name, "batch_file": plan.source, "batch_hash": plan.batch_hash,
                   "code_version": code_version(), "engine": b.engine, "seed": b.seed, "seeds": b.seeds,
                   "replications": b.replications, "overrides": b.set, "scenarios": plan.scenario_hashes,
                   "sweep": b.sweep.model_dump(mode="json") if b.sweep else None, "points": plan.points,
                   "runs": len(plan.runs), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            _atomic_text(m, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            shutil.copyfile(plan.source, self.root / ".batch.yaml.tmp")
            os.replace(self.root / ".batch.yaml.tmp", self.root / "batch.yaml")

    def write(self, result: dict) -> None:
        """Write one run's result atomically: its time series (if any), then its summary row.

        ``result`` is :func:`sim.batch.run_one` output: the row (``summary``) and both tables already
        encoded as Parquet (``summary_parquet``, ``timeseries_parquet``).
        """
        row = result["summary"]
        rid = row["run_id"]
        if result["timeseries_parquet"] is not None:
            _atomic_bytes(self.ts / f"{rid}.parquet", result["timeseries_parquet"])
        status = row["status"]
        _atomic_bytes(self.runs / f"{rid}.{status}.parquet", result["summary_parquet"])
        if status == "ok":
            (self.runs / f"{rid}.failed.parquet").unlink(missing_ok=True)


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _atomic_text(path: Path, text: str) -> None:
    _atomic_bytes(path, text.encode("utf-8"))


def _require(root: Path) -> None:
    if not (root / "manifest.json").is_file():
        raise InputError([Problem("results", "DIR", str(root), "a folder written by 'sim batch'")])


def manifest(root: str | Path) -> dict:
    """The store's manifest (batch hash, code version, engine, seeds, scenarios, sample points)."""
    root = Path(root)
    _require(root)
    return json.loads((root / "manifest.json").read_text())


def load(root: str | Path) -> pd.DataFrame:
    """Every run's summary row (ok and failed), sorted by scenario, sample and replication.

    Columns: ``run_id, scenario, sample, rep, seed_key``, the sample point (``p:<path>``), ``status``,
    ``error`` and one column per metric (its average over the run's last 12 months; NaN if failed).
    A run retried successfully appears once, as ``ok``.
    """
    import pyarrow.dataset as ds

    root = Path(root)
    _require(root)
    files = sorted(str(p) for p in (root / "runs").glob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=["run_id", "scenario", "sample", "rep", "status", "error"])
    df = ds.dataset(files, format="parquet").to_table().to_pandas()
    df = df.sort_values(["scenario", "sample", "rep"], kind="stable").reset_index(drop=True)
    return df


def load_timeseries(root: str | Path, scenario: str | None = None, sample: int | None = None) -> pd.DataFrame:
    """The long time series of the store's successful runs, optionally of one scenario and sample point."""
    import pyarrow.dataset as ds

    runs = load(root)
    runs = runs[runs["status"] == "ok"]
    if scenario is not None:
        runs = runs[runs["scenario"] == scenario]
    if sample is not None:
        runs = runs[runs["sample"] == sample]
    files = [str(Path(root) / "timeseries" / f"{rid}.parquet") for rid in runs["run_id"]]
    if not files:
        return pd.DataFrame()
    return ds.dataset(files, format="parquet").to_table().to_pandas()


def compare(root: str | Path, baseline: str, metrics: list[str] | None = None,
            sample: int | None = None) -> pd.DataFrame:
    """Paired differences of every scenario against ``baseline``, per metric, over common random numbers.

    Runs are paired by (sample point, replication): with ``seeds: common`` both members of a pair
    drew the same random numbers. Pooled over all sample points unless ``sample`` picks one.
    Returns :func:`sim.analysis.compare` output (index scenario, metric; columns base, alt, diff,
    lo, hi, rel, effect, n, sign).
    """
    from sim.analysis import compare as paired_compare
    from sim.metrics import METRICS

    runs = load(root)
    ok = runs[runs["status"] == "ok"]
    if sample is not None:
        ok = ok[ok["sample"] == sample]
    names = list(manifest(root)["scenarios"])
    if baseline not in names:
        raise InputError([Problem("sim compare", "--baseline", baseline,
                                  f"one of the store's scenarios: {', '.join(names)}")])
    cols = metrics or [m.name for m in METRICS]
    unknown = [c for c in cols if c not in runs.columns]
    if unknown:
        raise InputError([Problem("sim compare", "--metrics", unknown[0], "metric names, e.g. compliance_rate")])
    order = {n: i for i, n in enumerate(manifest(root)["scenarios"])}  # the batch file's order
    groups = sorted(ok.groupby("scenario", sort=False), key=lambda kv: order.get(kv[0], len(order)))
    tables = {n: g.set_index(["sample", "rep"])[cols] for n, g in groups}
    if baseline not in tables:
        raise InputError([Problem("sim compare", "--baseline", baseline, "a scenario with successful runs")])
    return paired_compare(tables, baseline)
