"""Batches: scenarios x sweep points x replications on Dask, into a resumable Parquet store.

A batch file (YAML) names scenario files, replications, a base seed, the engine, optional
overrides and an optional sweep over parameter paths (a grid, a Latin hypercube or a Sobol
sample, drawn with SALib). :func:`plan` turns it into runs, one per (scenario, sample point,
replication); :func:`run_batch` runs those not yet in the store on a Dask cluster (an embedded
``LocalCluster`` of processes by default, or an existing scheduler) and writes each as it
finishes (:mod:`sim.experiment.results`).

Seeds: run (scenario, sample, replication ``r``) draws from ``SeedSequence(seed, spawn_key=(r,))``
by default (``seeds: common``): the same numbers for every scenario and sample point, so
comparisons are paired (common random numbers), and replication ``r`` equals replication ``r`` of
``sim run --seed seed``. ``seeds: independent`` keys the sequence by (scenario, sample, r) instead.
Either way a run's seed depends only on its key, never on the number of workers or the order in
which runs finish.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from sim.errors import InputError, Problem
from sim.model.names import SLUG_RULE, check_slug
from sim.model.safeyaml import load_yaml, read_capped

MAX_POINTS = 20_000
"""Most sample points a sweep may have (a Sobol design of 8 parameters at N = 2,048 has 20,480; a grid's
points are the product of its lists' lengths)."""

MAX_SCENARIOS = 200
"""Most scenario files one batch may name."""

MAX_RUNS = 1_000_000
"""Most runs (scenarios x points x replications) one batch may plan."""

__all__ = ["BatchFile", "Sweep", "Run", "Plan", "load_batch", "plan", "sample_points", "run_one", "run_many",
           "part_name", "chunk_size", "run_batch", "connect"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class Bounds(_Strict):
    """A swept parameter: ``min``/``max`` bounds (lhs, sobol) or a list of ``values`` (grid)."""

    min: float | None = None
    max: float | None = None
    values: list[Any] | None = None


class Sweep(_Strict):
    """A sweep over parameter paths, applied to every scenario."""

    method: Literal["grid", "lhs", "sobol"] = Field(description="grid: every combination of values; lhs: Latin "
                                                    "hypercube of `samples` points; sobol: Saltelli/Sobol sample")
    samples: Annotated[int, Field(ge=1, le=MAX_POINTS)] = Field(
        16, description="lhs: points; sobol: base N (a power of 2), giving N x (parameters + 2) points")
    seed: Annotated[int, Field(ge=0)] = Field(0, description="seed of the sample design (lhs, sobol)")
    parameters: dict[str, Bounds] = Field(description="parameter path -> bounds or values")


class BatchFile(_Strict):
    """A batch: what to run, how often, with which seeds."""

    name: Annotated[str, AfterValidator(check_slug)] = Field("batch", description=f"the store's default folder name: "
                                                                                    f"{SLUG_RULE}")
    scenarios: list[str] = Field(min_length=1, max_length=MAX_SCENARIOS,
                                 description="scenario files, relative to the batch file")
    replications: Annotated[int, Field(ge=1, le=100_000)] = 10
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    seeds: Literal["common", "independent"] = "common"
    engine: Literal["auto", "mesa", "fast"] = "auto"
    set: list[str] = Field(default_factory=list, description="PATH=VALUE overrides for every scenario")
    sweep: Sweep | None = None


@dataclass(frozen=True)
class Run:
    """One unit of work: a scenario (resolved, as a plain dict) at one sample point, one replication."""

    run_id: str
    scenario: str
    sample: int
    rep: int
    point: dict
    spawn_key: tuple
    data: dict | None
    error: str | None


@dataclass
class Plan:
    """Everything a batch will run, and the facts its manifest records."""

    batch: BatchFile
    source: str
    batch_hash: str
    scenario_hashes: dict
    points: list[dict]
    runs: list[Run]


def _problem(source: str, path: str, value: object, allowed: str) -> InputError:
    return InputError([Problem(source, path, value, allowed)])


def load_batch(path: str | Path) -> tuple[BatchFile, str]:
    """Read and validate a batch file; return it and the SHA-256 of its bytes (16 hex characters)."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise _problem(source, "(file)", source, "an existing batch YAML file")
    raw = read_capped(path, source)
    data = load_yaml(raw, source)
    if not isinstance(data, dict):
        raise _problem(source, "(top level)", "empty" if data is None else f"a {type(data).__name__}",
                       "a mapping with scenarios, replications, seed, ...")
    try:
        batch = BatchFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
            value = e.get("input", "") if e["type"] != "extra_forbidden" else "(a key not in the schema)"
            allowed = e["msg"] if e["type"] != "extra_forbidden" else (
                "not a batch field (allowed: " + ", ".join(BatchFile.model_fields) + ")")
            allowed = allowed.removeprefix("Value error, ")
            problems.append(Problem(source, loc, value if not isinstance(value, (dict, list)) else
                                    f"a {type(value).__name__}", allowed))
        raise InputError(problems) from None
    return batch, hashlib.sha256(raw).hexdigest()[:16]


def _check_sweep(sweep: Sweep, source: str) -> None:
    from sim.model.schema import parameter_table

    table = {r["path"]: r for r in parameter_table()}
    problems = []
    for path, b in sweep.parameters.items():
        where = f"sweep.parameters.{path}"
        if path not in table:
            near = [p for p in table if p.rsplit(".", 1)[-1] == path.rsplit(".", 1)[-1]][:3]
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            problems.append(Problem(source, where, path, "a parameter path of the scenario schema" + hint))
            continue
        lo, hi = table[path]["lo"], table[path]["hi"]
        rng = f"[{lo}, {hi}] ({table[path]['unit']})"
        if sweep.method == "grid":
            if not b.values:
                problems.append(Problem(source, where, "(no values)", "a list of values for a grid"))
            else:
                problems.extend(_check_values(path, b.values, source, where + ".values"))
        else:
            if b.min is None or b.max is None or b.values is not None:
                problems.append(Problem(source, where, "(bounds)", f"min and max (no values) for {sweep.method}"))
                continue
            if lo is None:
                problems.append(Problem(source, where, path, "a numeric parameter (this one is a switch)"))
                continue
            for k, v in (("min", b.min), ("max", b.max)):
                if not lo <= v <= hi:
                    problems.append(Problem(source, f"{where}.{k}", v, f"within the parameter's range {rng}"))
            if b.min >= b.max:
                problems.append(Problem(source, where, f"min {b.min} >= max {b.max}", "min below max"))
    if sweep.method == "sobol" and sweep.samples & (sweep.samples - 1):
        problems.append(Problem(source, "sweep.samples", sweep.samples, "a power of 2 for a Sobol sample"))
    if not problems:
        n = _point_count(sweep)
        if n > MAX_POINTS:
            what = {"grid": "the product of the grid's list lengths", "lhs": "samples",
                    "sobol": f"samples x (parameters + 2) = {sweep.samples} x {len(sweep.parameters) + 2}"}
            problems.append(Problem(source, "sweep", f"{n:,} sample points",
                                    f"at most {MAX_POINTS:,} points ({what[sweep.method]}): split the batch"))
    if problems:
        raise InputError(problems)


def _point_count(sweep: Sweep) -> int:
    """Sample points the sweep will make (computed without making them)."""
    if sweep.method == "grid":
        return math.prod(len(b.values or ()) for b in sweep.parameters.values())
    if sweep.method == "lhs":
        return sweep.samples
    return sweep.samples * (len(sweep.parameters) + 2)


def _check_values(path: str, values: list, source: str, where: str) -> list[Problem]:
    """One problem per grid value the scenario schema would refuse at ``path`` (type and range)."""
    from pydantic import TypeAdapter

    from sim.model.schema import _allowed, _field_at

    _, info = _field_at(tuple(path.split(".")))
    adapter = TypeAdapter(Annotated[info.annotation, info])
    out = []
    for v in values:
        try:
            adapter.validate_python(v, strict=True)
        except ValidationError:
            shown = v if isinstance(v, (str, int, float, bool)) or v is None else f"a {type(v).__name__}"
            out.append(Problem(source, where, shown, _allowed(tuple(path.split(".")), "value")))
    return out


def sample_points(sweep: Sweep | None) -> list[dict]:
    """The sweep's points, in a fixed order: a list of {path: value}; ``[{}]`` without a sweep.

    grid: the Cartesian product of the values (first parameter varies slowest); lhs: SALib's Latin
    hypercube of ``samples`` points; sobol: SALib's Sobol sequence with Saltelli's scheme,
    ``samples x (D + 2)`` points (first-order and total indices, no second order).
    """
    if sweep is None:
        return [{}]
    names = list(sweep.parameters)
    if sweep.method == "grid":
        return [dict(zip(names, combo)) for combo in itertools.product(*(sweep.parameters[n].values for n in names))]
    problem = {"num_vars": len(names), "names": names,
               "bounds": [[sweep.parameters[n].min, sweep.parameters[n].max] for n in names]}
    if sweep.method == "lhs":
        from SALib.sample import latin

        x = latin.sample(problem, sweep.samples, seed=sweep.seed)
    else:
        from SALib.sample import sobol

        x = sobol.sample(problem, sweep.samples, calc_second_order=False, seed=sweep.seed)
    ints = _integer_paths(names)
    return [{n: (int(round(v)) if n in ints else float(v)) for n, v in zip(names, row)} for row in x]


def _integer_paths(names: list[str]) -> set[str]:
    from sim.model.schema import parameter_table

    table = {r["path"]: r for r in parameter_table()}
    return {n for n in names if table[n]["integer"]}


def _set_text(path: str, value: object) -> str:
    return f"{path}={yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"


def plan(path: str | Path) -> Plan:
    """Read a batch file and list its runs; scenario files and sweep bounds are checked here.

    A sample point whose combination breaks a cross-field rule of the scenario (e.g. tier cut-offs
    out of order) becomes a run that fails with that message; everything else wrong is an
    :class:`InputError`.
    """
    from sim.model.schema import apply_overrides, load_raw, scenario_hash, validate_dict

    batch, digest = load_batch(path)
    source = str(path)
    base = Path(path).parent
    if batch.sweep is not None:
        _check_sweep(batch.sweep, source)
    points = sample_points(batch.sweep)
    runs: list[Run] = []
    hashes: dict[str, str] = {}
    problems: list[Problem] = []
    loaded = []
    for i, f in enumerate(batch.scenarios):
        fp = base / f
        if fp.suffix.lower() not in (".yaml", ".yml"):
            problems.append(Problem(source, f"scenarios[{i}]", f, "a scenario file ending in .yaml or .yml"))
            continue
        if not fp.is_file():
            problems.append(Problem(source, f"scenarios[{i}]", f, "an existing scenario file (relative to the batch)"))
            continue
        try:
            raw = load_raw(fp)
            raw = apply_overrides(raw, batch.set) if batch.set else raw
            scn = validate_dict(raw, str(fp))
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if scn.name in hashes:
            problems.append(Problem(source, f"scenarios[{i}]", f,
                                    f"scenarios with distinct names ({scn.name!r} twice)"))
            continue
        hashes[scn.name] = scenario_hash(scn)
        loaded.append((i, scn.name, raw, str(fp)))
    if problems:
        raise InputError(problems)
    total = len(loaded) * len(points) * batch.replications
    if total > MAX_RUNS:
        raise _problem(source, "replications", batch.replications,
                       f"at most {MAX_RUNS:,} runs in one batch (scenarios x points x replications = "
                       f"{len(loaded)} x {len(points):,} x {batch.replications:,} = {total:,}): split the batch")
    width = len(str(max(len(points), 1) - 1))
    rwidth = len(str(batch.replications - 1))
    sizes: dict[tuple, str] = {}
    for i, name, raw, fp in loaded:
        for k, point in enumerate(points):
            data, error = None, None
            try:
                sets = [_set_text(p, v) for p, v in point.items()]
                scn = validate_dict(apply_overrides(raw, sets) if sets else raw, fp)
                data = scn.model_dump(mode="json")
                pop = scn.population
                sizes.setdefault((pop.merchants, pop.months, pop.entry_rate_per_month, pop.exit_rate_per_month), fp)
            except InputError as exc:
                error = "; ".join(str(p) for p in exc.problems)
            for r in range(batch.replications):
                key = (r,) if batch.seeds == "common" else (i, k, r)
                runs.append(Run(f"{name}__s{k:0{width}d}__r{r:0{rwidth}d}", name, k, r, point, key, data, error))
    _check_memory(sizes, batch.engine)
    return Plan(batch, source, digest, hashes, points, runs)


def _check_memory(sizes: dict, engine: str) -> None:
    """Refuse a batch whose largest run would not fit in memory, before anything starts (as ``sim run`` does)."""
    from sim.model.engines import check_fits, resolve_engine

    for (merchants, months, entry, exit_), fp in sizes.items():
        check_fits(resolve_engine(engine, merchants), merchants, months, entry, exit_, fp)


def run_one(run: Run, seed: int, engine: str) -> dict:
    """Execute one run (on a worker): its summary row and its long time series (a DataFrame, None if it failed).

    The summary row holds the run's key, its sample point (``p:<path>`` columns), ``status``
    (``ok`` or ``failed``), ``error`` and every metric's average over the last 12 months. A run that
    raises is returned as ``failed`` with the error's type and message; it never stops the batch.
    """
    from sim.experiment.statistics import per_rep
    from sim.model.metrics import METRICS

    row: dict[str, Any] = {"run_id": run.run_id, "scenario": run.scenario, "sample": run.sample, "rep": run.rep,
                           "seed_key": "/".join(str(x) for x in (seed,) + tuple(run.spawn_key))}
    row |= {f"p:{k}": float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
            for k, v in run.point.items()}
    ts = None
    try:
        if run.error:
            raise ValueError(run.error)
        from sim.experiment.runner import run_replication
        from sim.model.schema import Scenario

        scn = Scenario.model_validate(run.data)
        ts = run_replication(scn, np.random.SeedSequence(seed, spawn_key=run.spawn_key), engine, rep=run.rep)
        means = per_rep(ts).iloc[0]
        row |= {"status": "ok", "error": ""} | {m.name: float(means[m.name]) for m in METRICS}
        ts.insert(0, "run_id", run.run_id)
    except Exception as exc:  # noqa: BLE001  (recorded, the batch goes on)
        row |= {"status": "failed", "error": f"{type(exc).__name__}: {exc}"[:2000]}
        row |= {m.name: math.nan for m in METRICS}
        ts = None
    return {"summary": row, "timeseries": ts}


def part_name(run_ids: list[str]) -> str:
    """The file name (``part-<16 hex>.parquet``) of the store part holding these runs: a hash of their ids."""
    return "part-" + hashlib.sha256("\n".join(run_ids).encode()).hexdigest()[:16] + ".parquet"


def run_many(runs: list[Run], seed: int, engine: str) -> dict:
    """:func:`run_one` for each of a few runs (one Dask task), encoded on the worker as one store part.

    Returns ``part`` (:func:`part_name`), ``rows`` (the summary rows, each naming the part's time-series file
    and that file's SHA-256, checked when a batch resumes; both empty for a failed run), and the rows and the
    ok runs' time series, one after another, as Parquet bytes (``summary_parquet``, ``timeseries_parquet``,
    None if every run failed). Grouping runs amortises the per-task overhead of short runs and their encoding;
    runs of one replication share the worker's burn-in.
    """
    import io

    import pandas as pd

    def parquet(df: pd.DataFrame) -> bytes:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()

    results = [run_one(r, seed, engine) for r in runs]
    part = part_name([r.run_id for r in runs])
    frames = [x["timeseries"] for x in results if x["timeseries"] is not None]
    ts_bytes = parquet(pd.concat(frames, ignore_index=True)) if frames else None
    digest = hashlib.sha256(ts_bytes).hexdigest() if ts_bytes is not None else ""
    rows = []
    for x in results:
        has = x["timeseries"] is not None
        rows.append(x["summary"] | {"timeseries_file": part if has else "", "timeseries_sha256": digest if has else ""})
    return {"part": part, "rows": rows, "summary_parquet": parquet(pd.DataFrame(rows)), "timeseries_parquet": ts_bytes}


SECONDS_PER_TASK = 1.0
"""Aim for tasks of about a second: short runs are grouped (:func:`chunk_size`)."""

MERCHANT_MONTHS_PER_SECOND = {"fast": 1.5e7, "mesa": 4.0e4}
"""Rough speed of one worker process (benchmarks/results/engines.md), used only to size tasks."""


def chunk_size(p: Plan, todo: int, workers: int) -> int:
    """Runs per Dask task: about :data:`SECONDS_PER_TASK` of work, at most 32, and at least 4 tasks a worker."""
    from sim.model.engines import resolve_engine

    data = next((r.data for r in p.runs if r.data), None)
    if data is None:
        return 1
    n, months = data["population"]["merchants"], data["population"]["months"]
    engine = resolve_engine(p.batch.engine, n)
    per_run = 0.02 + n * months / MERCHANT_MONTHS_PER_SECOND[engine]
    return max(1, min(int(SECONDS_PER_TASK / per_run), 32, todo // (4 * workers)))


SCHEDULER_TIMEOUT = 5.0
"""Seconds to reach a Dask scheduler and hear it answer as one (:func:`handshake`)."""


def _scheduler_address(address: str) -> str:
    """``address`` as ``tcp://host:port`` (or ``tls://``); InputError for anything else."""
    import re

    problem = _problem("sim batch", "--scheduler", address,
                       "a Dask scheduler address: tcp://HOST:PORT, tls://HOST:PORT or HOST:PORT")
    text = address.strip()
    if "://" not in text:
        text = "tcp://" + text
    m = re.fullmatch(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(\d{1,5})", text)
    if not m or not 0 < int(m.group(3)) < 65536:
        raise problem
    return text


MAX_GREETING = 1 << 20
"""Largest first message (bytes) a Dask scheduler's greeting may announce; a scheduler's is a few hundred."""


def _greeting_size(address: str, timeout: float) -> None:
    """Read the length the server's first Dask frame announces, before Dask allocates a buffer of that size.

    Dask's TCP comm starts each message with its length (8 bytes); a server that is not Dask may send
    anything there (a banner reads as exabytes). Raises InputError if the length is over
    :data:`MAX_GREETING`; says nothing if the server is silent or closes (the handshake then decides).
    """
    import socket
    import struct

    host, _, port = address.removeprefix("tcp://").rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
            head = b""
            while len(head) < 8:
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    return
                head += chunk
    except OSError:
        return
    (size,) = struct.unpack("Q", head)  # as Dask reads it
    if size > MAX_GREETING:
        raise _problem("sim batch", "--scheduler", address,
                       f"a reachable Dask scheduler (the server there announced a first message of {size:,} bytes)")


def handshake(address: str, timeout: float = SCHEDULER_TIMEOUT) -> dict:
    """Ask the server at ``address`` who it is, within ``timeout`` seconds; return its identity.

    The Dask protocol's ``identity`` call: a scheduler answers with ``type: Scheduler``. Anything
    else (a port that sends a banner, a web server that stays silent, a refused connection, an
    answer too large to be a greeting) is an :class:`InputError` naming ``--scheduler``.
    """
    import asyncio

    from distributed.comm import connect as comm_connect

    if address.startswith("tcp://"):
        _greeting_size(address, timeout)

    async def ask() -> object:
        comm = await comm_connect(address, timeout=timeout, handshake_overrides={"pickle-protocol": 4})
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    async def bounded() -> object:
        return await asyncio.wait_for(ask(), timeout)

    try:
        reply = asyncio.run(bounded())
    except (TimeoutError, asyncio.TimeoutError):
        why = f"no Dask answer within {timeout:g} s"
    except (Exception, MemoryError) as exc:  # noqa: BLE001  (whatever a stranger sends)
        why = f"the server there does not speak Dask: {type(exc).__name__}"
    else:
        if isinstance(reply, dict) and reply.get("type") == "Scheduler":
            return reply
        why = "the server there is not a Dask scheduler"
    raise _problem("sim batch", "--scheduler", address, f"a reachable Dask scheduler ({why})")


def connect(workers: int | None, scheduler: str | None):
    """A Dask client: on ``scheduler`` (or ``DASK_SCHEDULER_ADDRESS``) if given, else an embedded cluster.

    The embedded cluster is a ``LocalCluster`` of ``workers`` processes (default: the machine's
    cores), one thread each, dashboard on a free loopback port; numba in each worker uses one
    thread, so processes do not oversubscribe the cores. A scheduler address is checked first (its
    form, then a :func:`handshake` of at most :data:`SCHEDULER_TIMEOUT` seconds): anything that is not
    a reachable Dask scheduler is an :class:`InputError`.
    """
    from dask.distributed import Client, LocalCluster

    given = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if given:
        address = _scheduler_address(given)
        handshake(address)
        try:
            return Client(address, timeout=f"{SCHEDULER_TIMEOUT:g}s"), None
        except (Exception, MemoryError) as exc:  # noqa: BLE001
            raise _problem("sim batch", "--scheduler", given,
                           f"a reachable Dask scheduler ({type(exc).__name__})") from None
    n = workers or os.cpu_count() or 1
    # set in the worker processes only (this process's environment stays as it was: numba here may already run)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                           silence_logs=50, env={"NUMBA_NUM_THREADS": "1"})
    return Client(cluster), cluster


def check_target(p: Plan, out: str | Path, scheduler: str | None = None):
    """Check, before anything is written, that ``out`` can take this batch's store and that the scheduler
    (``scheduler`` or ``DASK_SCHEDULER_ADDRESS``, if either is set) answers as one; return the
    :class:`sim.experiment.results.Store`. Raises :class:`InputError` otherwise."""
    from sim.experiment.results import Store

    store = Store(out)
    store.check(p)
    store.refuse_if_locked()
    given = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if given:
        handshake(_scheduler_address(given))
    return store


def run_batch(p: Plan, out: str | Path, workers: int | None = None, scheduler: str | None = None,
              progress: bool = True, announce=None) -> dict:
    """Run the plan's runs that the store under ``out`` does not hold yet; write each as it finishes.

    The store is checked (:meth:`sim.experiment.results.Store.check`: the same batch, the same scenario
    versions) and locked against a second batch; its finished runs are read back, and any that do
    not read are run again (``counts["damaged"]``, said on stderr). Short runs are grouped into tasks
    of about a second (:func:`chunk_size`); at most two tasks per worker are in flight, and each
    run's result is written (atomically) and dropped as soon as its task returns, so memory stays
    flat however many runs the batch has. ``announce`` (if given) is called once the store is locked.
    Returns counts: ``planned``, ``skipped`` (already done), ``damaged``, ``ok``, ``failed``.
    """
    from dask.distributed import as_completed
    from tqdm.auto import tqdm

    store = check_target(p, out, scheduler)  # before anything is started or written
    with store.locked():
        store.check(p)  # again, under the lock
        if announce is not None:
            announce()
        done, bad = store.verified()
        if bad:
            print(f"sim batch: {len(bad)} finished runs did not read back (e.g. {bad[0]}); running them again",
                  file=sys.stderr)
        todo = [r for r in p.runs if r.run_id not in done]
        counts = {"planned": len(p.runs), "skipped": len(p.runs) - len(todo), "damaged": len(bad), "ok": 0,
                  "failed": 0}
        if not todo:
            return counts
        client, cluster = connect(workers, scheduler)
        try:
            store.open(p)
            _run_todo(client, p, store, todo, counts, workers, progress, as_completed, tqdm)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    return counts


def _run_todo(client, p: Plan, store, todo: list, counts: dict, workers: int | None, progress: bool,
              as_completed, tqdm) -> None:
    """Submit ``todo`` in chunks, at most two tasks per worker in flight; write each result on arrival."""
    n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
    # runs that draw the same random numbers (a replication across scenarios and sample points, under common
    # seeds) side by side in one task: a worker then steps their shared burn-in once (fast_engine._burnt_in)
    todo = sorted(todo, key=lambda r: r.spawn_key)
    size = chunk_size(p, len(todo), n_workers)
    chunks = (todo[i:i + size] for i in range(0, len(todo), size))
    seed, engine = p.batch.seed, p.batch.engine
    bar = tqdm(total=len(todo), desc=f"{p.batch.name} ({n_workers} workers)", unit="run", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    first = [client.submit(run_many, c, seed, engine, pure=False) for c in itertools.islice(chunks, 2 * n_workers)]
    ac = as_completed(first)
    t0 = time.perf_counter()
    for fut in ac:
        result = fut.result()
        fut.release()
        store.write(result)
        for row in result["rows"]:
            counts["ok" if row["status"] == "ok" else "failed"] += 1
        bar.update(len(result["rows"]))
        bar.set_postfix(failed=counts["failed"], left=len(todo) - counts["ok"] - counts["failed"], refresh=False)
        nxt = next(chunks, None)
        if nxt is not None:
            ac.add(client.submit(run_many, nxt, seed, engine, pure=False))
    bar.close()
    counts["seconds"] = round(time.perf_counter() - t0, 2)
