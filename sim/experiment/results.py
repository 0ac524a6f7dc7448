"""The batch results store: runs written a task at a time, atomically, as Parquet parts; loaders and paired
comparisons.

Layout of a store folder ``DIR``::

    DIR/manifest.json                   batch file hash, code version, engine, seeds, scenarios, sample points
    DIR/batch.yaml                      the batch file as given
    DIR/runs/part-<hash>.parquet        a task's runs, a row each: key, sample point, status, error, metrics
                                        (12-month averages), the time-series part and its SHA-256
    DIR/timeseries/part-<hash>.parquet  the same runs' long time series (as ``sim run`` writes, plus ``run_id``)

A part is named by a hash of its runs' ids (:func:`sim.experiment.batch.part_name`). It is written under a
temporary name of its own process and renamed into place (time series first, then its summary rows), so a
run is in the store completely or not at all: a batch killed at any moment resumes by running the runs
without an ``ok`` row, and none is lost or run twice. A resumed batch first reads every part back; one
that does not read (a truncated file, or a time series whose digest is not the one its rows record) is
removed, its runs run again, and said so; a time-series part no summary part names (a task killed between
its two renames) is removed. A failed run's row stays where it was written; when a later invocation runs it
again, :func:`load` shows its ``ok`` row only. Run files hold no timestamps, so the runs of an interrupted
and resumed batch equal those of an uninterrupted one (row for row; how runs are grouped into parts depends
on the number of workers); only ``manifest.json`` records when the store was created. Stores written one
file per run (``runs/<run_id>.ok.parquet``, ``timeseries/<run_id>.parquet``) read as before.

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
        """Run ids with a successful result in the store (the parts' run ids and statuses)."""
        if not self.runs.is_dir():
            return set()
        import pyarrow.parquet as pq

        done = set()
        for p in self.runs.iterdir():
            if p.name.endswith(".ok.parquet"):  # a store written one file per run
                done.add(p.name[: -len(".ok.parquet")])
            elif p.name.startswith("part-") and p.name.endswith(".parquet"):
                try:
                    t = pq.read_table(p, columns=["run_id", "status"])
                except Exception:  # noqa: BLE001  (a damaged part holds nothing finished)
                    continue
                done.update(r for r, st in zip(t.column("run_id").to_pylist(), t.column("status").to_pylist())
                            if st == "ok")
        return done

    def verified(self) -> tuple[set[str], list[str]]:
        """Run ids whose files read back, and the ids of those that did not (their files are removed).

        A part is its summary rows (read whole) and its time series, whose SHA-256 must be the one the rows
        record (``timeseries_sha256``); a run written one file per run is checked the same way. A part that
        fails the check is removed, so that the batch runs its runs again; a time-series part that no summary
        part names is removed too. Called under :meth:`locked`, so every temporary file still there was left
        by a process that died: those are removed as well.
        """
        import pyarrow.parquet as pq

        for folder in (self.runs, self.ts):
            for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
                tmp.unlink(missing_ok=True)
        good, bad, named = set(), [], set()
        for row in sorted(self.runs.glob("part-*.parquet")) if self.runs.is_dir() else ():
            ts = self.ts / row.name
            try:
                table = pq.read_table(row)
                ids, status = table.column("run_id").to_pylist(), table.column("status").to_pylist()
                digests = {d for d, f in zip(table.column("timeseries_sha256").to_pylist(),
                                             table.column("timeseries_file").to_pylist()) if f}
                ok = len(digests) <= 1 and all(hashlib.sha256(ts.read_bytes()).hexdigest() == d for d in digests)
            except Exception:  # noqa: BLE001  (pyarrow raises several kinds for a damaged file)
                ok, ids, status = False, [], []
            if ok:
                good.update(r for r, st in zip(ids, status) if st == "ok")
                named.add(row.name)
            else:
                bad.extend([r for r, st in zip(ids, status) if st == "ok"] or [row.name])
                row.unlink(missing_ok=True)
                ts.unlink(missing_ok=True)
        for orphan in self.ts.glob("part-*.parquet") if self.ts.is_dir() else ():
            if orphan.name not in named:
                orphan.unlink(missing_ok=True)
        for rid in sorted(r.name[: -len(".ok.parquet")] for r in self.runs.glob("*.ok.parquet")) \
                if self.runs.is_dir() else ():
            row, ts = self.runs / f"{rid}.ok.parquet", self.ts / f"{rid}.parquet"
            try:
                table = pq.read_table(row)
                digest = table.column("timeseries_sha256")[0].as_py() if "timeseries_sha256" in \
                    table.column_names else None
                if digest is None:  # a store written before the digest: its footer must read
                    ok = table.num_rows == 1 and pq.read_metadata(ts).num_rows > 0
                else:
                    ok = table.num_rows == 1 and hashlib.sha256(ts.read_bytes()).hexdigest() == digest
            except Exception:  # noqa: BLE001
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
        """Write one task's part atomically: its time series (if any run succeeded), then its summary rows.

        ``result`` is :func:`sim.experiment.batch.run_many` output: the part's name, its rows and both tables
        already encoded as Parquet (``summary_parquet``, ``timeseries_parquet``).
        """
        part = result["part"]
        if result["timeseries_parquet"] is not None:
            _atomic_bytes(self.ts / part, result["timeseries_parquet"])
        _atomic_bytes(self.runs / part, result["summary_parquet"])
        for row in result["rows"]:  # a store written one file per run: its failed record is superseded
            if row["status"] == "ok":
                (self.runs / f"{row['run_id']}.failed.parquet").unlink(missing_ok=True)


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
    # a run failed once and then succeeded has two rows: its ok row stands
    df = df.sort_values("status", key=lambda s: s != "ok", kind="stable").drop_duplicates("run_id")
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
    if runs.empty:
        return pd.DataFrame()
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    root = Path(root)
    part = runs["timeseries_file"].fillna("") if "timeseries_file" in runs.columns else pd.Series("", runs.index)
    legacy = [str(root / "timeseries" / f"{rid}.parquet") for rid, f in zip(runs["run_id"], part) if not f]
    tables = [_read_table(legacy, root)] if legacy else []
    wanted = set(runs["run_id"])
    for f in sorted(set(part) - {""}):
        path = root / "timeseries" / f
        try:
            t = pq.read_table(path)
        except (pa.ArrowException, OSError):
            raise InputError([Problem("results", str(path.relative_to(root)), "unreadable",
                                      f"a run file written by 'sim batch': rerun 'sim batch' on {root} "
                                      "to recompute it")]) from None
        tables.append(t.filter(pc.is_in(t.column("run_id"), value_set=pa.array(sorted(wanted)))))
    df = pa.concat_tables(tables, promote_options="default").to_pandas()
    order = {rid: i for i, rid in enumerate(runs["run_id"])}
    return df.sort_values("run_id", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


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
