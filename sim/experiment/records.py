"""A bureau's inspection records: the two forms it has, read and checked, and the model's records in them.

Two forms (documented in ``docs/RECORDS.md``), told apart by their header:

* **checks**: one row per check: ``date`` (YYYY-MM-DD), ``merchant_id`` (text), ``sector`` (a sector of
  :data:`sim.model.schema.SECTORS`), ``tier`` (A-D, the merchant's tier at the time), ``result`` (``none``,
  ``minor`` or ``serious``), ``penalty_cny`` (CNY, >= 0) and ``list_event`` (``none``, ``red``,
  ``key_attention`` or ``blacklist``: a listing that followed the check; blank = none).
* **aggregates**: one row per period x optional sector x optional tier: ``period`` (``YYYY`` for a year or
  ``YYYY-MM`` for a month), ``sector`` and ``tier`` (blank: all), ``checks`` and ``problems`` (whole numbers,
  problems <= checks), and, where published, ``serious``, ``penalties_cny`` (after checks), ``new_listings``
  and ``merchants`` (merchants
  supervised at the period's end); optional ``regime`` (``plan``: under the scenario's policy, the default;
  ``pre_plan``: under the policy before it) and ``source`` (where the figure was published).

:func:`read_records` reads either form into :class:`Records`: cells of (regime, months from the start, sector,
tier) with their counts, the same for both forms, so one set of moments (:mod:`sim.experiment.calibration`)
serves both. A bad file gets one :class:`~sim.errors.Problem` per bad value, naming the row, the column, the
value and what is allowed; nothing is read from it.

:func:`synthetic_records` writes the model's records in either form: the bureau's view only (tiers, check
results, penalties, listings; never a merchant's type).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import InputError, Problem
from sim.model.schema import SECTORS, TIERS

__all__ = ["CHECK_COLUMNS", "AGGREGATE_COLUMNS", "RESULTS", "LIST_EVENTS", "REGIMES", "Records", "read_records",
           "synthetic_records", "write_records", "MAX_ROWS"]

RESULTS = ("none", "minor", "serious")
"""A check's result: no problem, a minor one, a serious one (severe violation)."""

LIST_EVENTS = ("none", "red", "key_attention", "blacklist")
"""A listing that followed a check (blank means none)."""

REGIMES = ("plan", "pre_plan", "plan_uniform")
"""Which policy a row of aggregates was recorded under: the scenario's, the one before it (its ``pre_plan``), or
the scenario's with its checks drawn uniformly at random at the same volume (a study of random against targeted
checks)."""

CHECK_COLUMNS = {
    "date": "the check's date, YYYY-MM-DD",
    "merchant_id": "the merchant's id in the bureau's register (text, 1-64 characters)",
    "sector": f"one of {', '.join(SECTORS)}",
    "tier": f"the merchant's credit tier at the time of the check: {', '.join(TIERS)}",
    "result": f"one of {', '.join(RESULTS)}",
    "penalty_cny": "the penalty imposed, CNY >= 0 (0 when none)",
    "list_event": f"a listing that followed the check: {', '.join(LIST_EVENTS)} (blank: none)",
}
"""Columns of the checks form, with what each holds (all required; ``list_event`` may be blank)."""

AGGREGATE_COLUMNS = {
    "period": "YYYY (a year) or YYYY-MM (a month); all rows of a file the same kind",
    "sector": f"blank (all sectors) or one of {', '.join(SECTORS)}",
    "tier": f"blank (all tiers) or one of {', '.join(TIERS)}",
    "checks": "checks made in the period, a whole number >= 0 (blank with problems on a row of merchants only)",
    "problems": "checks that found a problem, a whole number from 0 to checks",
    "serious": "checks that found a serious problem, a whole number from 0 to problems (optional)",
    "penalties_cny": "penalties imposed after the period's checks, CNY >= 0 (optional)",
    "new_listings": "merchants newly put on the key-attention list or blacklist, a whole number >= 0 (optional)",
    "merchants": "merchants supervised at the period's end, a whole number >= 0 (optional)",
    "regime": "plan (under the scenario's policy; the default), pre_plan (under the policy before it) or "
              "plan_uniform (the scenario's policy, checks drawn uniformly at the same volume)",
    "series": "blank, or a name (letters, digits, '_', '-') for the city or study the row comes from: each series "
              "is compared with the model on its own (optional)",
    "measure": "blank (the figures are counts) or relative (only the series' changes and ratios are meant: its "
               "tier shares against its first year, plan_uniform hit rates against plan ones) (optional)",
    "source": "where the figures were published (optional text)",
}
"""Columns of the aggregates form: ``period``, ``checks`` and ``problems`` required; the rest optional."""

_REQUIRED_AGGREGATE = ("period", "checks", "problems")
MAX_ROWS = 5_000_000
"""Most rows read from one records file (a large city's decade of checks is well under it)."""
MAX_BYTES = 1 << 30
"""Largest records file read (bytes)."""

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass
class Records:
    """Records read by :func:`read_records`, in one shape for both forms.

    ``cells``: one row per (regime, month0, months, sector, tier) with ``relative``, ``checks``, ``problems``,
    ``serious``, ``penalties_cny``, ``new_listings`` and ``merchants`` (float; NaN where the records do not
    say). ``regime`` is ``plan``, ``pre_plan`` or ``plan_uniform``, written ``SERIES/REGIME`` for the rows of a
    named series; ``relative`` marks a series whose figures are meant only as changes and ratios. ``month0``
    is the cell's first month counted from its regime's (a relative series': its own) earliest period in the
    file (month 0 of that regime's run; ``start`` is the plan's), ``months`` its length (1 or 12); ``sector``
    and ``tier`` are ``""`` for all. A checks file gives cells by month for each sector, each tier and all, and
    ``merchant_checks``: one row per check (``merchant``, ``month``, ``sector``, ``tier``, ``problems``,
    ``serious``, ``penalties_cny``, ``new_listings``: 0/1 and CNY) for the
    bootstrap over merchants.
    """

    form: str
    source: str
    start: str
    cells: pd.DataFrame
    merchant_checks: pd.DataFrame | None = None
    sources: list[str] = field(default_factory=list)

    @property
    def months(self) -> int:
        """Months the records span from their start (plan regime and pre-plan alike)."""
        return int((self.cells["month0"] + self.cells["months"]).max()) if len(self.cells) else 0


def _bad(source: str, row: int, column: str, value: object, allowed: str) -> Problem:
    return Problem(f"{source}: row {row}", column, value, allowed)


def _read_text(path: str | Path, source: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise InputError([Problem(source, "RECORDS", str(path), "an existing CSV file of records")])
    if p.stat().st_size > MAX_BYTES:
        raise InputError([Problem(source, "RECORDS", f"{p.stat().st_size:,} bytes", f"a file of at most "
                                  f"{MAX_BYTES:,} bytes")])
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(source, "(encoding)", f"byte 0x{raw[exc.start]:02x} at offset {exc.start}",
                                  "UTF-8 text (save the file as CSV UTF-8)")]) from None
    if not text.strip():
        raise InputError([Problem(source, "(file)", "(empty)", "a header row and at least one row of records")])
    return text


def read_records(path: str | Path) -> Records:
    """Read and check a records file of either form (see the module docstring).

    Raises
    ------
    InputError
        One problem per bad value (``FILE: row N: COLUMN: VALUE: what is allowed``; rows counted from the
        header, row 1), or one for a file that is missing, empty, not UTF-8 or of neither form.
    """
    source = str(path)
    text = _read_text(path, source)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = next(reader)
        rows = []
        for row in reader:
            if len(rows) >= MAX_ROWS:
                raise InputError([Problem(source, "(file)", f"more than {MAX_ROWS:,} rows",
                                          f"at most {MAX_ROWS:,} rows: split the records by year")])
            rows.append(row)
    except csv.Error as exc:
        raise InputError([Problem(f"{source}: row {reader.line_num}", "(csv)", str(exc),
                                  "comma-separated values, quotes closed")]) from None
    header = [h.strip() for h in header]
    if "merchant_id" in header:
        form, columns, required = "checks", CHECK_COLUMNS, tuple(CHECK_COLUMNS)
    elif "period" in header:
        form, columns, required = "aggregates", AGGREGATE_COLUMNS, _REQUIRED_AGGREGATE
    else:
        raise InputError([Problem(source, "(header)", ",".join(header)[:120],
                                  "a header with merchant_id (one row per check: "
                                  f"{', '.join(CHECK_COLUMNS)}) or with period (aggregates: "
                                  f"{', '.join(AGGREGATE_COLUMNS)})")])
    problems = [Problem(source, "(header)", h or "''", f"a column of the {form} form: {', '.join(columns)}")
                for h in header if h not in columns]
    problems += [Problem(source, c, "(missing)", f"a column of the {form} form ({columns[c]})")
                 for c in required if c not in header]
    dupes = sorted({h for h in header if header.count(h) > 1})
    problems += [Problem(source, "(header)", h, "each column once") for h in dupes]
    if problems:
        raise InputError(problems)
    if not rows or all(not any(c.strip() for c in r) for r in rows):
        raise InputError([Problem(source, "(file)", "(a header only)", "at least one row of records")])
    reader_rows = []
    for i, r in enumerate(rows, start=2):
        if not any(c.strip() for c in r):
            continue  # blank lines are allowed
        if len(r) != len(header):
            problems.append(_bad(source, i, "(row)", f"{len(r)} fields", f"{len(header)} fields, as the header"))
            continue
        reader_rows.append((i, dict(zip(header, (c.strip() for c in r)))))
    if problems:
        raise InputError(problems)
    if form == "checks":
        return _checks(reader_rows, source, problems)
    return _aggregates(reader_rows, header, source, problems)


def _month_index(y: int, m: int) -> int:
    return y * 12 + m - 1


def _whole(source: str, i: int, col: str, text: str, problems: list, lo: int = 0) -> int | None:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not (v == v and v >= lo and v == int(v) and v < 1e12):
        problems.append(_bad(source, i, col, text, f"a whole number >= {lo}"))
        return None
    return int(v)


def _money(source: str, i: int, col: str, text: str, problems: list) -> float | None:
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not (v == v and 0 <= v < 1e15):
        problems.append(_bad(source, i, col, text, "an amount in CNY >= 0"))
        return None
    return v


def _checks(rows: list, source: str, problems: list) -> Records:
    out = []
    for i, r in rows:
        d = _DATE.match(r["date"])
        month = None
        if d:
            y, m, day = (int(x) for x in d.groups())
            try:
                pd.Timestamp(year=y, month=m, day=day)
                month = _month_index(y, m) if 1990 <= y <= 2100 else None
            except ValueError:
                month = None
        if month is None:
            problems.append(_bad(source, i, "date", r["date"], "a date YYYY-MM-DD from 1990 to 2100"))
        mid = r["merchant_id"]
        if not 1 <= len(mid) <= 64 or not mid.isprintable():
            problems.append(_bad(source, i, "merchant_id", mid, "an id of 1-64 printable characters"))
        for col, allowed in (("sector", SECTORS), ("tier", TIERS), ("result", RESULTS)):
            if r[col] not in allowed:
                problems.append(_bad(source, i, col, r[col], f"one of {', '.join(allowed)}"))
        penalty = _money(source, i, "penalty_cny", r["penalty_cny"], problems)
        event = r["list_event"] or "none"
        if event not in LIST_EVENTS:
            problems.append(_bad(source, i, "list_event", r["list_event"], f"blank or one of {', '.join(LIST_EVENTS)}"))
        if r["result"] == "none" and event in ("key_attention", "blacklist"):
            problems.append(_bad(source, i, "list_event", event, "none or red after a check that found no problem"))
        out.append((month, mid, r["sector"], r["tier"], r["result"], penalty, event))
    if problems:
        raise InputError(problems)
    df = pd.DataFrame(out, columns=["month", "merchant", "sector", "tier", "result", "penalty", "event"])
    first = int(df["month"].min())
    df["month"] -= first
    df["problems"] = (df["result"] != "none").astype(np.int64)
    df["serious"] = (df["result"] == "serious").astype(np.int64)
    df["new_listings"] = df["event"].isin(("key_attention", "blacklist")).astype(np.int64)
    df["penalties_cny"] = df["penalty"]
    cells = []
    for by in ("sector", "tier", None):
        keys = ["month"] + ([by] if by else [])
        g = df.groupby(keys, sort=True).agg(checks=("problems", "size"), problems=("problems", "sum"),
                                            serious=("serious", "sum"), penalties_cny=("penalty", "sum"),
                                            new_listings=("new_listings", "sum"))
        g = g.reset_index()
        if by == "tier":  # a tier without checks in a month had none: its zero is data (the share of checks)
            full = pd.MultiIndex.from_product([sorted(df["month"].unique()), list(TIERS)], names=["month", "tier"])
            g = g.set_index(["month", "tier"]).reindex(full, fill_value=0).reset_index()
        g["sector"] = g["sector"] if by == "sector" else ""
        g["tier"] = g["tier"] if by == "tier" else ""
        cells.append(g)
    cells = pd.concat(cells, ignore_index=True)
    cells = cells.rename(columns={"month": "month0"})
    cells["months"] = 1
    cells["regime"] = "plan"
    cells["merchants"] = np.nan
    cells = _order(cells)
    mc = df[["merchant", "month", "sector", "tier", "problems", "serious", "penalties_cny", "new_listings"]].copy()
    y, m = divmod(first, 12)
    return Records("checks", source, f"{y:04d}-{m + 1:02d}", cells, mc)


def _order(cells: pd.DataFrame) -> pd.DataFrame:
    cols = ["regime", "relative", "month0", "months", "sector", "tier", "checks", "problems", "serious",
            "penalties_cny", "new_listings", "merchants"]
    if "relative" not in cells:
        cells["relative"] = False
    for c in cols:
        if c not in cells:
            cells[c] = np.nan
    cells = cells[cols].copy()
    for c in ("checks", "problems", "serious", "penalties_cny", "new_listings", "merchants"):
        cells[c] = cells[c].astype(np.float64)
    return cells.sort_values(["regime", "month0", "sector", "tier"], kind="stable").reset_index(drop=True)


def _aggregates(rows: list, header: list, source: str, problems: list) -> Records:
    out = []
    kinds = set()
    measures: dict[str, str] = {}
    seen: dict[tuple, int] = {}
    sources: list[str] = []
    for i, r in rows:
        p = r["period"]
        month = months = None
        if (m := _YEAR.match(p)) and 1990 <= int(m.group(1)) <= 2100:
            month, months = _month_index(int(m.group(1)), 1), 12
        elif (m := _MONTH.match(p)) and 1990 <= int(m.group(1)) <= 2100 and 1 <= int(m.group(2)) <= 12:
            month, months = _month_index(int(m.group(1)), int(m.group(2))), 1
        if month is None:
            problems.append(_bad(source, i, "period", p, "a year YYYY or a month YYYY-MM, from 1990 to 2100"))
        else:
            kinds.add(months)
            if len(kinds) > 1:
                problems.append(_bad(source, i, "period", p, "periods of one kind in a file: all YYYY or all YYYY-MM"))
        sector = r.get("sector", "")
        tier = r.get("tier", "")
        if sector and sector not in SECTORS:
            problems.append(_bad(source, i, "sector", sector, f"blank (all) or one of {', '.join(SECTORS)}"))
        if tier and tier not in TIERS:
            problems.append(_bad(source, i, "tier", tier, f"blank (all) or one of {', '.join(TIERS)}"))
        if sector and tier:
            problems.append(_bad(source, i, "tier", tier, "blank on a sector's row (rows are by sector or by tier)"))
        regime = r.get("regime", "") or "plan"
        if regime not in REGIMES:
            problems.append(_bad(source, i, "regime", regime, f"blank or one of {', '.join(REGIMES)}"))
        series = r.get("series", "")
        if series and not (len(series) <= 40 and re.fullmatch(r"[A-Za-z0-9_-]+", series)):
            problems.append(_bad(source, i, "series", series, "blank or 1-40 letters, digits, '_' or '-'"))
        measure = r.get("measure", "")
        if measure not in ("", "relative"):
            problems.append(_bad(source, i, "measure", measure, "blank or relative"))
        elif measures.setdefault(series, measure) != measure:
            problems.append(_bad(source, i, "measure", measure or "''", f"the same for every row of series "
                                 f"{series!r} ({measures[series] or 'blank'})"))
        if regime == "plan_uniform" and measure != "relative":
            problems.append(_bad(source, i, "measure", measure or "''", "relative on a plan_uniform row (a study's "
                                 "random checks are compared with its targeted ones)"))
        if not r["checks"] and not r["problems"] and r.get("merchants"):  # a tier-mix row: merchants only
            checks = found = np.nan
        else:
            checks = _whole(source, i, "checks", r["checks"], problems)
            found = _whole(source, i, "problems", r["problems"], problems)
        if checks is not None and found is not None and found > checks:
            problems.append(_bad(source, i, "problems", r["problems"], f"at most checks ({checks})"))
        opt = {}
        for col in ("serious", "penalties_cny", "new_listings", "merchants"):
            text = r.get(col, "")
            if not text:
                opt[col] = np.nan
            elif col == "penalties_cny":
                opt[col] = _money(source, i, col, text, problems)
            else:
                opt[col] = _whole(source, i, col, text, problems)
        if opt["serious"] is not None and opt["serious"] == opt["serious"] and found is not None and \
                found == found and opt["serious"] > found:
            problems.append(_bad(source, i, "serious", r["serious"], f"at most problems ({found})"))
        if r.get("source"):
            sources.append(r["source"])
        key = (series, regime, month, sector, tier)
        if month is not None and key in seen:
            problems.append(_bad(source, i, "period", p, f"one row per series, period, sector, tier and regime (row "
                                 f"{seen[key]} has the same)"))
        seen.setdefault(key, i)
        out.append({"regime": f"{series}/{regime}" if series else regime, "relative": measure == "relative",
                    "month0": month, "months": months, "sector": sector, "tier": tier,
                    "checks": checks, "problems": found, **opt})
    if problems:
        raise InputError(problems)
    cells = pd.DataFrame(out)
    # months count from each series' and regime's first period; a relative series' regimes share theirs
    series = cells["regime"].str.rpartition("/")[0]
    firsts = cells.groupby(np.where(cells["relative"], series, cells["regime"]))["month0"].transform("min")
    first = int(cells.loc[cells["regime"] == "plan", "month0"].min()) if (cells["regime"] == "plan").any() \
        else int(cells["month0"].min())
    cells["month0"] -= firsts
    y, m = divmod(first, 12)
    return Records("aggregates", source, f"{y:04d}-{m + 1:02d}", _order(cells), None,
                   list(dict.fromkeys(sources)))


# ---------------------------------------------------------------------------------------------------------
# the model's records
# ---------------------------------------------------------------------------------------------------------

def month_cells(months) -> dict[str, np.ndarray]:
    """A run's bureau-view counts per month (:class:`sim.model.metrics.Months`): arrays of shape (months,
    groups) for ``checks``, ``problems`` (checks that found a problem, true or false: the bureau cannot tell
    them apart), ``serious`` (checks that found a severe violation), ``penalties_cny`` (fines of checked
    merchants with a record) and ``merchants``; the groups are ``""`` (all), then each sector, then each
    tier (:data:`GROUPS`). ``new_listings`` (months,): merchants newly on the key-attention list or blacklist."""
    from sim.model.metrics import GROUP_OFFSETS, TALLY_COLUMNS

    t = months.tallies
    col = {n: j for j, n in enumerate(TALLY_COLUMNS)}
    so, to = GROUP_OFFSETS["sector"], GROUP_OFFSETS["tier"]
    rows = list(range(so, so + len(SECTORS))) + list(range(to, to + len(TIERS)))

    def counts(name: str) -> np.ndarray:
        by = t[:, rows, col[name]]
        return np.concatenate([by[:, :len(SECTORS)].sum(axis=1, keepdims=True), by], axis=1)

    c = months.counters
    return {"checks": counts("inspections"), "problems": counts("detections") + counts("false_positives"),
            "serious": counts("serious_findings"), "penalties_cny": counts("check_fines"),
            "merchants": counts("merchants"),
            "new_listings": np.asarray(c["new_blacklistings"]) + np.asarray(c["new_key_listings"])}


GROUPS = tuple([("", "")] + [(s, "") for s in SECTORS] + [("", t) for t in TIERS])
"""The (sector, tier) of each column of :func:`month_cells`: all, each sector, each tier."""


def _period(start: int, month: int, yearly: bool) -> str:
    y, m = divmod(start + month, 12)
    return f"{y:04d}" if yearly else f"{y:04d}-{m + 1:02d}"


def aggregate_rows(months, start: str, yearly: bool = True) -> pd.DataFrame:
    """A run's published aggregates (:data:`AGGREGATE_COLUMNS`, regime ``plan``): one row per period for all
    merchants, each sector and each tier. ``start`` (YYYY-MM) is month 0; ``yearly`` rows add up twelve months
    (a last partial year adds up what there is; merchants are those at the period's last month)."""
    c = month_cells(months)
    y0, m0 = (int(x) for x in start.split("-"))
    s = _month_index(y0, m0)
    n = c["checks"].shape[0]
    size = 12 if yearly else 1
    out = []
    for k in range(0, n, size):
        sl = slice(k, min(k + size, n))
        for j, (sector, tier) in enumerate(GROUPS):
            out.append({"period": _period(s, k, yearly), "sector": sector, "tier": tier,
                        "checks": int(round(c["checks"][sl, j].sum())),
                        "problems": int(round(c["problems"][sl, j].sum())),
                        "serious": int(round(c["serious"][sl, j].sum())),
                        "penalties_cny": round(float(c["penalties_cny"][sl, j].sum()), 2),
                        "new_listings": int(c["new_listings"][sl].sum()) if j == 0 else "",
                        "merchants": int(round(c["merchants"][sl.stop - 1, j])),
                        "regime": "plan", "source": "sim records (synthetic)"})
    return pd.DataFrame(out, columns=list(AGGREGATE_COLUMNS))


class _CheckLog:
    """Collects one row per check from the Mesa engine's months (its ``observer``)."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.rows: list[tuple] = []
        self.lists: dict[int, int] = {}
        self.rng = np.random.default_rng(0)  # days within a month: the bureau's dates, never the model's draws

    def __call__(self, month: int, a: dict, ids: list) -> None:
        from sim.model.rules import BLACK, KEY, RED

        y, m = divmod(self.start + month, 12)
        days = pd.Timestamp(year=y, month=m + 1, day=1).days_in_month
        names = {RED: "red", KEY: "key_attention", BLACK: "blacklist"}
        for i in np.flatnonzero(a["checked"]):
            uid = ids[i]
            ls = int(a["list_state"][i])
            event = names.get(ls, "none") if ls != self.lists.get(uid, 0) else "none"
            problem = bool(a["detected"][i] or a["false_positive"][i])
            result = ("serious" if a["severe"][i] and a["detected"][i] else "minor") if problem else "none"
            if result == "none" and event in ("key_attention", "blacklist"):
                event = "none"  # listed for another record this month, not for this check
            day = int(self.rng.integers(1, days + 1))
            self.rows.append((f"{y:04d}-{m + 1:02d}-{day:02d}", f"M{uid:07d}", SECTORS[a["sector"][i]],
                              TIERS[a["tier"][i]], result, round(float(a["fine"][i]), 2) if problem else 0.0,
                              event))
        self.lists = dict(zip(ids, (int(x) for x in a["list_state"])))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(CHECK_COLUMNS))


def synthetic_records(scn, form: str = "aggregates", seed: int = 0, start: str = "2019-01", yearly: bool = True,
                      engine: str = "fast", progress: bool = False) -> pd.DataFrame:
    """The model's records of one replication of ``scn`` (drawn from ``seed``'s first replication stream) in
    ``form`` ``aggregates`` (:func:`aggregate_rows`; ``engine`` fast or mesa) or ``checks`` (one row per check,
    :data:`CHECK_COLUMNS`, from the Mesa engine, whose merchants are agents with ids). The bureau's view
    only: tiers, results, penalties and listings, never a merchant's type. ``start`` (YYYY-MM) is month 0."""
    from tqdm.auto import tqdm

    from sim.experiment.runner import rep_generators
    from sim.model.engines import get_engine
    from sim.model.params import compile_scenario

    rng = rep_generators(seed, 1)[0]
    params = compile_scenario(scn)
    bar = tqdm(total=params.months, desc=f"records of {scn.name}", unit="month", disable=not progress, delay=2.0,
               leave=False)
    try:
        if form == "checks":
            from sim.model.engines import mesa_engine

            y0, m0 = (int(x) for x in start.split("-"))
            log = _CheckLog(_month_index(y0, m0))
            mesa_engine.run(params, rng, on_month=lambda: bar.update(1), observer=log)
            return log.frame()
        months = get_engine(engine)(params, rng, on_month=lambda: bar.update(1))
    finally:
        bar.close()
    return aggregate_rows(months, start, yearly)


def write_records(df: pd.DataFrame, out: str | Path) -> Path:
    """Write records as UTF-8 CSV atomically (a temporary file next to ``out``, renamed into place)."""
    import os
    import tempfile

    out = Path(out)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.tmp-", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            df.to_csv(f, index=False, lineterminator="\n")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
