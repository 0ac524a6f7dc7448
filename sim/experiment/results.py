"""The batch results store: one Parquet file per run, written atomically; loaders and paired comparisons.

Layout of a store folder ``DIR``::

    DIR/manifest.json                   batch file hash, code version, engine, seeds, scenarios, sample points
    DIR/batch.yaml                      the batch file as given
    DIR/runs/<run_id>.ok.parquet        one row: key, sample point, status, error, metrics (12-month averages)
    DIR/runs/<run_id>.failed.parquet    the same for a run that raised (retried by the next invocation)
    DIR/timeseries/<run_id>.parquet     the run's long time series (as ``sim run`` writes, plus ``run_id``)

A run is written under a temporary name of its own process and renamed into place (time series
first, then its summary row), so a run is in the store completely or not at all: a batch killed at
any moment resumes by running the runs without an ``.ok`` file, and none is lost or run twice. A
resumed batch first reads every finished run's files back; one that does not read (a truncated
file, say) is removed, run again, and said so. Run files hold no timestamps, so the runs of an
interrupted and resumed batch equal those of an uninterrupted one; only ``manifest.json`` records
when the store was created.

The manifest records the resolved hash of every scenario: a batch whose scenario files now resolve
to something else is refused (its runs would mix two versions). A lock file (``DIR/.lock``, held
with ``flock`` while a batch writes) keeps a second ``sim batch`` out of a store in use.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from sim.errors import InputError, Problem

__all__ = ["Store", "load", "load_timeseries", "manifest", "compare"]


def _read_manifest(root: Path, source: str, field: str) -> dict | None:
    """The store's manifest, None if there is none; InputError if it is unreadable or not a batch store's."""
    m = root / "manifest.json"
    if not m.is_file():
        return None
    try:
        doc = json.loads(m.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        raise InputError([Problem(source, field, str(root), "a batch store whose manifest.json reads as JSON "
                                  "(this one does not: restore it, or choose another folder)")]) from None
    if not isinstance(doc, dict) or "batch_hash" not in doc or not isinstance(doc.get("scenarios"), dict):
        writer = doc.get("written_by") if isinstance(doc, dict) else None
        seen = f"written by '{writer}'" if isinstance(writer, str) else "not a batch store's"
        raise InputError([Problem(source, field, str(root), f"a folder written by 'sim batch' (its manifest is "
                                  f"{seen})")])
    return doc


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

    def verified(self) -> tuple[set[str], list[str]]:
        """Run ids whose files read back, and the ids of those that did not (their files are removed).

        A finished run is its ``runs/<id>.ok.parquet`` (one row, read whole) and its time series, whose
        SHA-256 must be the one the row records (``timeseries_sha256``). A run that fails the check is
        removed so that the batch runs it again.
        Called under :meth:`locked`, so every temporary file still there was left by a process that
        died: those are removed too.
        """
        import pyarrow.parquet as pq

        for folder in (self.runs, self.ts):
            for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
                tmp.unlink(missing_ok=True)
        good, bad = set(), []
        for rid in sorted(self.completed()):
            row, ts = self.runs / f"{rid}.ok.parquet", self.ts / f"{rid}.parquet"
            try:
                table = pq.read_table(row)
                digest = table.column("timeseries_sha256")[0].as_py() if "timeseries_sha256" in \
                    table.column_names else None
                if digest is None:  # a store written before the digest: its footer must read
                    ok = table.num_rows == 1 and pq.read_metadata(ts).num_rows > 0
                else:
                    ok = table.num_rows == 1 and hashlib.sha256(ts.read_bytes()).hexdigest() == digest
            except Exception:  # noqa: BLE001  (pyarrow raises several kinds for a damaged file)
                ok = False
            if ok:
                good.add(rid)
            else:
                bad.append(rid)
                row.unlink(missing_ok=True)
                ts.unlink(missing_ok=True)
        return good, bad

    def check(self, plan) -> None:
        """Raise :class:`InputError` if the folder holds something other than this batch's store.

        Refused: a file; a folder that is neither empty nor a batch store; the store of another
        batch file; a store whose scenarios had other contents (resolved hashes) when it was made.
        """
        root = self.root
        inside = (self.runs, self.ts, root / ".lock", root / "manifest.json")
        if root.is_symlink() or any(p.is_symlink() for p in inside):
            raise InputError([Problem("sim batch", "--out", str(root), "a store folder without symbolic links")])
        if root.exists() and not root.is_dir():
            raise InputError([Problem("sim batch", "--out", str(root), "a folder (this is a file)")])
        p = root
        while not p.exists():
            p = p.parent
        if not p.is_dir():
            raise InputError([Problem("sim batch", "--out", str(root), f"a folder path ({p} is a file)")])
        old = _read_manifest(root, "sim batch", "--out")
        if old is not None:
            if old.get("batch_hash") != plan.batch_hash:
                raise InputError([Problem("sim batch", "--out", str(self.root),
                                          f"the store of this batch; it holds batch {old.get('batch_file')} "
                                          f"(hash {old.get('batch_hash')}, this one {plan.batch_hash}): "
                                          "choose another --out")])
            for name, digest in plan.scenario_hashes.items():
                was = old["scenarios"].get(name)
                if was != digest:
                    raise InputError([Problem("sim batch", f"scenario {name}", f"hash {digest}",
                                              f"the version the store at {self.root} holds (hash {was}): the "
                                              "scenario file changed since; restore it, or choose another --out")])
        elif root.is_dir() and any(p.name != ".lock" or not _our_lock(p) for p in root.iterdir()):
            raise InputError([Problem("sim batch", "--out", str(self.root),
                                      "an empty or new folder, or a batch store")])

    def refuse_if_locked(self) -> None:
        """Raise :class:`InputError` if another process holds the store's lock now (a probe; nothing is created)."""
        lock = self.root / ".lock"
        if not lock.is_file():
            return
        try:
            fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise self._in_use(fd) from None
        finally:
            os.close(fd)

    def _in_use(self, fd: int) -> InputError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "another process"
        return InputError([Problem("sim batch", "--out", str(self.root),
                                   f"a store no other 'sim batch' is writing (process {holder} is): "
                                   "wait for it, or choose another --out")])

    @contextmanager
    def locked(self):
        """Hold the store's lock (``DIR/.lock``) for a batch's writes; refuse if another process holds it.

        The lock file is opened without following a symbolic link (a link planted there is refused).
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
        except OSError as exc:
            raise InputError([Problem("sim batch", "--out", str(self.root),
                                      f"a folder that can be written ({exc.strerror or exc})")]) from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise self._in_use(fd) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield self
        finally:
            os.close(fd)  # closing releases the lock (so does the process's death)

    def open(self, plan) -> None:
        """Create the folders and write the manifest (once: a resumed batch keeps the first one)."""
        from sim.experiment.runner import code_version

        self.check(plan)
        self.runs.mkdir(parents=True, exist_ok=True)
        self.ts.mkdir(parents=True, exist_ok=True)
        m = self.root / "manifest.json"
        if not m.is_file():
            b = plan.batch
            doc = {"written_by": "sim batch", "name": b.name, "batch_file": plan.source, "batch_hash": plan.batch_hash,
                   "code_version": code_version(), "engine": b.engine, "seed": b.seed, "seeds": b.seeds,
                   "replications": b.replications, "overrides": b.set, "scenarios": plan.scenario_hashes,
                   "sweep": b.sweep.model_dump(mode="json") if b.sweep else None, "points": plan.points,
                   "runs": len(plan.runs), "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
            _atomic_text(m, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
            _atomic_bytes(self.root / "batch.yaml", Path(plan.source).read_bytes())

    def write(self, result: dict) -> None:
        """Write one run's result atomically: its time series (if any), then its summary row.

        ``result`` is :func:`sim.experiment.batch.run_one` output: the row (``summary``) and both tables already
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


def _our_lock(path: Path) -> bool:
    """True if ``path`` is a lock file as :meth:`Store.locked` leaves it: a small regular file holding a pid."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 32:
            return False
        return path.read_text(encoding="ascii").strip().isdigit() or path.stat().st_size == 0
    except (OSError, UnicodeDecodeError):
        return False


def _atomic_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file of this process next to ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_text(path: Path, text: str) -> None:
    _atomic_bytes(path, text.encode("utf-8"))


def _require(root: Path, source: str = "results", field: str = "DIR") -> dict:
    doc = _read_manifest(root, source, field)
    if doc is None:
        raise InputError([Problem(source, field, str(root), "a folder written by 'sim batch'")])
    return doc


def manifest(root: str | Path) -> dict:
    """The store's manifest (batch hash, code version, engine, seeds, scenarios, sample points)."""
    return _require(Path(root))


def _read_table(files: list[str], root: Path):
    """The rows of ``files`` as one Arrow table; InputError naming the first file that does not read."""
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    try:
        return ds.dataset(files, format="parquet").to_table()
    except (pa.ArrowException, OSError):
        for f in files:
            try:
                pq.read_table(f)
            except (pa.ArrowException, OSError):
                raise InputError([Problem("results", str(Path(f).relative_to(root)), "unreadable",
                                          f"a run file written by 'sim batch': rerun 'sim batch' on {root} "
                                          "to recompute it")]) from None
        raise InputError([Problem("results", str(root), "runs of different layouts",
                                  "runs written by one version of 'sim batch'")]) from None


def load(root: str | Path) -> pd.DataFrame:
    """Every run's summary row (ok and failed), sorted by scenario, sample and replication.

    Columns: ``run_id, scenario, sample, rep, seed_key``, the sample point (``p:<path>``), ``status``,
    ``error`` and one column per metric (its average over the run's last 12 months; NaN if failed).
    A run retried successfully appears once, as ``ok``. A file that does not read is an
    :class:`InputError` naming it.
    """
    root = Path(root)
    _require(root)
    files = sorted(str(p) for p in (root / "runs").glob("*.parquet"))
    if not files:
        return pd.DataFrame(columns=["run_id", "scenario", "sample", "rep", "status", "error"])
    df = _read_table(files, root).to_pandas()
    df = df.sort_values(["scenario", "sample", "rep"], kind="stable").reset_index(drop=True)
    return df


def load_timeseries(root: str | Path, scenario: str | None = None, sample: int | None = None) -> pd.DataFrame:
    """The long time series of the store's successful runs, optionally of one scenario and sample point."""
    runs = load(root)
    runs = runs[runs["status"] == "ok"]
    if scenario is not None:
        runs = runs[runs["scenario"] == scenario]
    if sample is not None:
        runs = runs[runs["sample"] == sample]
    files = [str(Path(root) / "timeseries" / f"{rid}.parquet") for rid in runs["run_id"]]
    if not files:
        return pd.DataFrame()
    return _read_table(files, Path(root)).to_pandas()


def compare(root: str | Path, baseline: str, metrics: list[str] | None = None,
            sample: int | None = None) -> pd.DataFrame:
    """Paired differences of every scenario against ``baseline``, per metric, over common random numbers.

    Runs are paired by (sample point, replication): with ``seeds: common`` both members of a pair
    drew the same random numbers. Pooled over all sample points unless ``sample`` picks one.
    Returns :func:`sim.analysis.compare` output (index scenario, metric; columns base, alt, diff,
    lo, hi, rel, effect, n, sign). Each bad argument is an :class:`InputError` naming it: a folder
    that is not a store, a store without successful runs, a metric or sample point it does not hold,
    a baseline that is not one of its scenarios.
    """
    from sim.experiment.statistics import compare as paired_compare
    from sim.model.metrics import METRICS

    root = Path(root)
    doc = _require(root, "sim compare", "STORE")
    names = list(doc["scenarios"])  # the batch file's order
    runs = load(root)
    ok = runs[runs["status"] == "ok"]
    if ok.empty:
        raise InputError([Problem("sim compare", "STORE", str(root),
                                  "a store with successful runs (this one has none yet: run 'sim batch')")])
    if sample is not None:
        held = sorted(int(k) for k in ok["sample"].unique())
        if sample not in held:
            span = f"{held[0]} to {held[-1]}" if len(held) > 1 else str(held[0])
            raise InputError([Problem("sim compare", "--sample", sample,
                                      f"a sample point with successful runs in this store ({span})")])
        ok = ok[ok["sample"] == sample]
    if baseline not in names:
        raise InputError([Problem("sim compare", "--baseline", baseline,
                                  f"one of the store's scenarios: {', '.join(names)}")])
    known = [m.name for m in METRICS]
    cols = metrics or known
    unknown = [c for c in cols if c not in known or c not in runs.columns]
    if unknown:
        raise InputError([Problem("sim compare", "--metrics", unknown[0],
                                  "metric names, e.g. compliance_rate (see docs/ODD.md, outputs)")])
    order = {n: i for i, n in enumerate(names)}
    groups = sorted(ok.groupby("scenario", sort=False), key=lambda kv: order.get(kv[0], len(order)))
    tables = {n: g.set_index(["sample", "rep"])[cols] for n, g in groups}
    if baseline not in tables:
        raise InputError([Problem("sim compare", "--baseline", baseline, "a scenario with successful runs")])
    return paired_compare(tables, baseline)
