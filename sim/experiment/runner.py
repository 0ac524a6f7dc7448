"""Replicated runs of a scenario, their summary, and atomic output folders.

Seeds: one base seed becomes a :class:`numpy.random.SeedSequence`; replication
``r`` uses its ``r``-th spawned child, so a replication's numbers do not depend
on how many replications run or in which order.
"""

from __future__ import annotations

import json
import platform
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.experiment.outdir import OutputFolder
from sim.experiment.statistics import SUMMARY_MONTHS, describe, per_rep
from sim.model.engines import check_fits, get_engine, resolve_engine
from sim.model.metrics import METRICS, Months, month_table
from sim.model.params import compile_scenario
from sim.model.schema import Scenario, scenario_hash, to_yaml

__all__ = ["RunResult", "rep_generators", "run_scenario", "run_replication", "summarise", "write_outputs",
           "code_version", "run_folder", "RUN_FILES", "SUMMARY_MONTHS"]



@dataclass
class RunResult:
    """Outcome of :func:`run_scenario`.

    ``timeseries`` is long-format: one row per (rep, month, by, group); ``by``
    is ``all`` for the whole population (every metric) or ``sector``/``tier``/
    ``type`` for breakdowns. ``summary`` maps each metric to ``{mean, lo, hi}``.
    """

    scenario: Scenario
    engine: str
    seed: int
    reps: int
    timeseries: pd.DataFrame
    summary: dict
    seconds: float


def rep_generators(seed: int, reps: int) -> list[np.random.Generator]:
    """One independent generator per replication, spawned from ``seed``."""
    children = np.random.SeedSequence(seed).spawn(reps)
    return [np.random.default_rng(c) for c in children]


def run_scenario(scn: Scenario, reps: int = 10, seed: int = 0, engine: str = "auto",
                 progress: bool = True) -> RunResult:
    """Run ``reps`` replications of a scenario.

    Parameters
    ----------
    scn : Scenario
        Validated scenario.
    reps : int
        Replications (>= 1).
    seed : int
        Base seed (>= 0); the same seed gives the same numbers.
    engine : str
        ``mesa`` (reference), ``fast``, or ``auto`` (mesa up to
        :data:`sim.model.engines.AUTO_FAST_ABOVE` merchants, fast above); the result
        records the engine used.
    progress : bool
        Show a progress bar on stderr for runs longer than ~2 seconds.
    """
    from tqdm.auto import tqdm

    engine = resolve_engine(engine, scn.population.merchants)
    pop = scn.population
    check_fits(engine, pop.merchants, pop.months, pop.entry_rate_per_month, pop.exit_rate_per_month, scn.name)
    params = compile_scenario(scn)
    t0 = time.perf_counter()
    frames = []
    bar = tqdm(total=reps * params.months, desc=f"{scn.name} ({engine})", unit="month",
               disable=not progress, delay=2.0, leave=False)
    try:
        for r, months in enumerate(_replications(engine, params, rep_generators(seed, reps), lambda: bar.update(1))):
            frames.extend(_rep_frames(months, r))
    finally:
        bar.close()
    ts = _long(frames)
    return RunResult(scn, engine, seed, reps, ts, summarise(ts), time.perf_counter() - t0)


def _replications(engine: str, params, generators: list, on_month) -> list:
    """Each replication's :class:`~sim.model.metrics.Months`, in order. Fast-engine runs of at most one chunk of
    merchants use one core each however many threads the engine has, so they run side by side, one thread per
    core, each stepping its months without the interpreter lock (:func:`sim.model.engines.fast_engine.run` with
    ``serial``): the same numbers as one after another."""
    run = get_engine(engine)
    threads = _side_by_side(engine, params, len(generators))
    if threads <= 1:
        return [run(params, rng, on_month=on_month) for rng in generators]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda rng: run(params, rng, on_month=on_month, serial=True), generators))


def _side_by_side(engine: str, params, reps: int) -> int:
    """Threads for :func:`_replications`: the engine's threads for fast runs that start in half a chunk (room to
    grow: a run that outgrows its chunk is still right, only slower), else 1."""
    if engine != "fast" or reps < 2:
        return 1
    import numba

    from sim.model.engines.fast_engine import CHUNK

    return min(reps, numba.get_num_threads()) if params.merchants <= CHUNK // 2 else 1


def _rep_frames(months: Months, r: int) -> list[pd.DataFrame]:
    """Replication ``r``'s totals and breakdowns as two frames (:func:`sim.model.metrics.month_table`)."""
    totals, groups = month_table(months)
    tot = pd.DataFrame(totals)
    tot.insert(0, "rep", r)
    tot.insert(2, "by", "all")
    tot.insert(3, "group", "all")
    month = groups.pop("month")
    grp = pd.DataFrame(groups)
    grp["rep"] = r
    grp["month"] = month
    return [tot, grp]


def _long(frames: list[pd.DataFrame]) -> pd.DataFrame:
    ts = pd.concat(frames, ignore_index=True)
    lead = ["rep", "month", "by", "group"]
    ts = ts[lead + [c for c in ts.columns if c not in lead]]
    ts = ts.sort_values(["rep", "month", "by", "group"], kind="stable").reset_index(drop=True)
    ts["by"] = ts["by"].astype(str)
    ts["group"] = ts["group"].astype(str)
    return ts


def run_replication(scn: Scenario, seed: np.random.SeedSequence, engine: str = "auto", rep: int = 0) -> pd.DataFrame:
    """One replication of a scenario drawn from ``seed``: its long time series (``rep`` column set to ``rep``).

    ``run_scenario(scn, reps, s)`` replication ``r`` is ``run_replication(scn, SeedSequence(s).spawn(reps)[r])``,
    i.e. ``SeedSequence(s, spawn_key=(r,))``: the same numbers whichever way it is run.
    """
    engine = resolve_engine(engine, scn.population.merchants)
    months = get_engine(engine)(compile_scenario(scn), np.random.default_rng(seed))
    return _long(_rep_frames(months, rep))


def summarise(ts: pd.DataFrame, months: int = SUMMARY_MONTHS) -> dict:
    """Summary per metric over the last ``months`` months: ``{mean, lo, hi}``.

    Each replication's metric is averaged over its last ``months`` months
    (:func:`sim.analysis.per_rep`); ``mean`` is the mean over replications and
    ``lo``/``hi`` the 95% t-interval of that mean (equal to the mean for one
    replication), clipped to the metric's range (>= 0; <= 1 for shares). Metrics
    undefined in every month (e.g. hit rate without checks) are ``null``.
    """
    table = describe(per_rep(ts, months))
    out = {}
    for m in METRICS:
        row = table.loc[m.name]
        if np.isnan(row["mean"]):
            out[m.name] = {"mean": None, "lo": None, "hi": None}
        else:
            out[m.name] = {"mean": float(row["mean"]), "lo": float(row["lo"]), "hi": float(row["hi"])}
    return out


def code_version() -> str:
    """Git commit of the code (with ``+dirty`` for local changes), or the package version."""
    here = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5)
        if rev.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                                   capture_output=True, text=True, timeout=5).stdout.strip()
            return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    from importlib.metadata import PackageNotFoundError, version
    try:
        return "sim " + version("credit-policy-lab")
    except PackageNotFoundError:
        return "unknown"


RUN_FILES = frozenset({"summary.json", "timeseries.parquet", "scenario.yaml", "manifest.json"})
"""The files of a ``sim run`` folder."""


def run_folder(out_dir: str | Path, field: str = "--out") -> OutputFolder:
    """The :class:`~sim.experiment.outdir.OutputFolder` of a ``sim run`` result (claim it before running)."""
    legacy = (RUN_FILES.__contains__, frozenset({"scenario", "scenario_hash", "engine", "seed", "code_version"}))
    return OutputFolder(out_dir, "sim run", "manifest.json", legacy=legacy, field=field)


def write_outputs(result: RunResult, out_dir: str | Path | OutputFolder, source: str = "") -> Path:
    """Write ``summary.json``, ``timeseries.parquet``, ``scenario.yaml`` and ``manifest.json``.

    ``out_dir`` is a path or a folder already claimed with :func:`run_folder` (as ``sim run`` does,
    so that a folder it may not replace is refused before the simulation). The folder is built next
    to its place under a temporary name and renamed into place, so it never holds a half-written
    result, and an existing folder is replaced only if ``sim run`` wrote it.
    """
    folder = out_dir if isinstance(out_dir, OutputFolder) else run_folder(out_dir)
    with folder:
        tmp = folder.tmp
        (tmp / "summary.json").write_text(json.dumps(result.summary, indent=2, sort_keys=False) + "\n")
        result.timeseries.to_parquet(tmp / "timeseries.parquet", index=False)
        (tmp / "scenario.yaml").write_text(to_yaml(result.scenario), encoding="utf-8")
        folder.manifest = {
            "scenario": result.scenario.name,
            "scenario_file": source,
            "scenario_hash": scenario_hash(result.scenario),
            "engine": result.engine,
            "seed": result.seed,
            "reps": result.reps,
            "merchants": result.scenario.population.merchants,
            "months": result.scenario.population.months,
            "summary_months": SUMMARY_MONTHS,
            "code_version": code_version(),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "run_seconds": round(result.seconds, 3),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "host": platform.node(),
        }
    return folder.out
