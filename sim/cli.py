"""Command line: ``sim run``, ``validate``, ``summary``, ``report``, ``notebook`` (also ``python -m sim``).

Bad input never shows a traceback: each problem is one line on stderr naming
the source, the field, the value and what is allowed, and the exit code is 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from sim.errors import InputError, Problem, SimError

__all__ = ["main"]

EXIT_BAD_INPUT = 2

def _table_metrics() -> tuple[str, ...]:
    """The metrics ``sim run`` prints: those the registry marks ``table`` (:data:`sim.model.metrics.METRICS`)."""
    from sim.model.metrics import METRICS

    return tuple(m.name for m in METRICS if m.table)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line and exits 2."""

    def error(self, message: str) -> None:  # noqa: D102
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _whole(lo: int, hi: int, what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r}: {what} must be a whole number from {lo} to {hi}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text!r}: {what} must be a whole number from {lo} to {hi}")
        return value
    return parse


def _parser() -> argparse.ArgumentParser:
    from sim.model.engines import AUTO_FAST_ABOVE, CHOICES

    p = _Parser(prog="sim", description="Credit policy lab: simulate credit-based commercial supervision.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser("run", help="run a scenario with replications and write its results")
    r.add_argument("scenario", help="scenario YAML file")
    r.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                   help="override one parameter, e.g. policy.tiers.A=92 (repeatable)")
    r.add_argument("--without", action="append", default=[], metavar="MECHANISM",
                   help="switch one of the plan's mechanisms off, e.g. commitments (repeatable; the names are "
                        "those of sim.model.mechanisms, as in scenarios/ablations/no_NAME.yaml)")
    r.add_argument("--reps", type=_whole(1, 100_000, "reps"), default=10, help="replications (default 10)")
    r.add_argument("--seed", type=_whole(0, 2**63 - 1, "seed"), default=0, help="base seed (default 0)")
    r.add_argument("--engine", default="auto",
                   help=f"engine: {', '.join(CHOICES)} (default auto: mesa up to {AUTO_FAST_ABOVE:,} merchants, "
                        "fast above)")
    r.add_argument("--out", default=None, help="output folder (default reports/runs/<scenario name>)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--against", default=None, metavar="BASELINE",
                   help="a baseline scenario file: also decompose the effect on compliance against it into more "
                        "checks, targeting, lists and incentives, other instruments (runs three counterfactuals; "
                        "the same --set applies to it)")

    v = sub.add_parser("validate", help="check scenario files; exit 2 with one line per problem")
    v.add_argument("scenarios", nargs="+", help="scenario YAML files")
    v.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE")

    s = sub.add_parser("summary", help="print the summaries of run folders side by side")
    s.add_argument("runs", nargs="+", help="folders written by 'sim run'")

    rp = sub.add_parser("report", help="write a meeting report (notebook, HTML, PDF, figures, CSV) comparing scenarios")
    rp.add_argument("--scenarios", nargs="+", required=True, metavar="YAML", help="scenario files to compare")
    rp.add_argument("--baseline", default="", metavar="YAML", help="the baseline's file (default: the first)")
    rp.add_argument("--reps", type=_whole(2, 100_000, "reps"), default=10,
                    help="replications per scenario, the same seeds for each (default 10)")
    rp.add_argument("--seed", type=_whole(0, 2**63 - 1, "seed"), default=0, help="base seed (default 0)")
    rp.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                    help="override one parameter in every scenario (repeatable)")
    rp.add_argument("--merchants", type=_whole(0, 10**9, "merchants"), default=0,
                    help="merchants in every scenario (default: each file's own)")
    rp.add_argument("--months", type=_whole(0, 10**4, "months"), default=0,
                    help="months simulated (default: each file's own)")
    rp.add_argument("--engine", default="auto", help="engine: auto, mesa or fast (default auto)")
    rp.add_argument("--lang", default="zh", help="report language: zh or en (default zh)")
    rp.add_argument("--out", default=None, help="output folder (default reports/<scenarios>-<lang>)")
    rp.add_argument("--appendix", action="append", default=[], metavar="NAME",
                    help="add an appendix: validation (the Allingham-Sandmo limit, docking, policy directions, "
                         "parameter recovery and the fit to the public evidence; notebook 06_validation, minutes)")
    rp.add_argument("--quiet", action="store_true", help="no progress")

    b = sub.add_parser("batch", help="run scenarios x sweep points x replications on Dask into a results store")
    b.add_argument("batch", help="batch YAML file")
    where = b.add_mutually_exclusive_group()
    where.add_argument("--workers", type=_whole(1, 1024, "workers"), default=None,
                       help="worker processes of the embedded cluster (default: one per core)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 (or DASK_SCHEDULER_ADDRESS)")
    b.add_argument("--out", default=None, help="results store (default reports/batches/<batch name>)")
    b.add_argument("--quiet", action="store_true", help="no progress bar")

    c = sub.add_parser("compare", help="paired differences of a batch's scenarios against a baseline")
    c.add_argument("store", help="folder written by 'sim batch'")
    c.add_argument("--baseline", required=True, help="baseline scenario name")
    c.add_argument("--metrics", nargs="+", default=None, help="metrics to show (default: the main ones)")
    c.add_argument("--sample", type=_whole(0, 10**9, "sample"), default=None,
                   help="one sample point of a sweep (default: pooled over all)")
    c.add_argument("--csv", default=None, help="also write the full comparison to this CSV file")

    rc = sub.add_parser("records", help="write the model's inspection records (the bureau's view) as a CSV file")
    rc.add_argument("scenario", help="scenario YAML file")
    rc.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                    help="override one parameter, e.g. behaviour.learning.rate=0.2 (repeatable)")
    rc.add_argument("--out", required=True, help="the CSV file to write (a new file, or one 'sim records' wrote)")
    rc.add_argument("--form", default="aggregates",
                    help="aggregates (one row per period x sector or tier; default) or checks (one row per check, "
                         "from the Mesa engine, whose merchants have ids)")
    rc.add_argument("--period", default="year", help="aggregates by year (default) or month")
    rc.add_argument("--start", default="2019-01", metavar="YYYY-MM", help="the month of month 0 (default 2019-01)")
    rc.add_argument("--seed", type=_whole(0, 2**63 - 1, "seed"), default=0, help="seed (default 0)")
    rc.add_argument("--engine", default="fast", help="engine of aggregates: fast (default) or mesa")
    rc.add_argument("--quiet", action="store_true", help="no progress bar")

    cal = sub.add_parser("calibrate", help="fit the behavioural uncertainties to inspection records (simulated "
                                           "moments, CMA-ES)")
    cal.add_argument("records", help="records CSV: one row per check or aggregates (docs/RECORDS.md)")
    cal.add_argument("--scenario", required=True, metavar="BASE.yaml", help="the scenario the records were kept "
                     "under (its policy; pre_plan rows: its pre_plan)")
    cal.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                     help="override one parameter of the base scenario (repeatable)")
    cal.add_argument("--parameters", nargs="+", default=None, metavar="P",
                     help="parameters to fit, PATH or PATH=LO:HI (default: gain_scale, population.type_mix."
                          "strategic, population.type_mix.defiant, behaviour.learning.rate, "
                          "behaviour.capability.unintended_rate)")
    cal.add_argument("--budget", type=_whole(50, 10**7, "budget"), default=3000,
                     help="model runs for the search (default 3000; intervals and slices take 11 candidates per "
                          "parameter more)")
    cal.add_argument("--reps", type=_whole(2, 1000, "reps"), default=8,
                     help="replications per candidate, the same seeds for every candidate (default 8)")
    cal.add_argument("--seed", type=_whole(0, 2**31 - 3, "seed"), default=0, help="base seed (default 0)")
    cal_where = cal.add_mutually_exclusive_group()
    cal_where.add_argument("--workers", type=_whole(1, 1024, "workers"), default=None,
                           help="run candidates on an embedded Dask cluster of this many processes (default: here, "
                                "replications side by side in threads)")
    cal_where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                           help="run candidates on an existing Dask scheduler (as sim batch)")
    cal.add_argument("--out", default=None, help="output folder (default reports/calibrations/<scenario name>)")
    cal.add_argument("--lang", default="en", help="chart language: en (default) or zh")
    cal.add_argument("--quiet", action="store_true", help="no progress bar")

    nb = sub.add_parser("notebook", help="run one of the notebooks with parameters (papermill)")
    nb.add_argument("name", help="notebook name or path, e.g. 02_run_scenario")
    nb.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="set a notebook parameter: text as given for a text parameter, otherwise read as YAML "
                         "(repeatable)")
    nb.add_argument("--out", default=None, help="executed notebook (default reports/notebooks/<name>.ipynb)")
    nb.add_argument("--quiet", action="store_true", help="no progress")
    return p


def _fmt(v: float | None) -> str:
    if v is None or v != v:
        return "-"
    a = abs(v)
    if a == 0:
        return "0"
    if a < 1:
        return f"{v:.3f}"
    if a < 1000:
        return f"{v:.1f}"
    return f"{v:,.0f}"


def format_table(columns: dict[str, dict]) -> str:
    """A plain-text table: one row per metric, one column per run (mean [lo, hi])."""
    names = list(columns)
    rows = [["metric (last 12 months)"] + names]
    for m in _table_metrics():
        row = [m]
        for n in names:
            cell = columns[n].get(m)
            if not cell or cell.get("mean") is None:
                row.append("-")
            else:
                row.append(f"{_fmt(cell['mean'])} [{_fmt(cell['lo'])}, {_fmt(cell['hi'])}]")
        rows.append(row)
    return _text_table(rows)


def _text_table(rows: list[list[str]]) -> str:
    """Left-aligned columns, the first row a header underlined with dashes."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.model.schema import load_scenario

    problems: list[Problem] = []
    for path in args.scenarios:
        try:
            load_scenario(path, args.sets)
            print(f"{path}: ok")
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from sim.experiment.runner import run_folder, run_scenario, write_outputs
    from sim.model.engines import CHOICES, check_fits, resolve_engine
    from sim.model.schema import load_scenario

    if args.engine not in CHOICES:
        raise InputError([Problem("--engine", "--engine", args.engine, f"one of: {', '.join(CHOICES)}")])
    scn = load_scenario(args.scenario, args.sets, args.without)
    base = load_scenario(args.against, args.sets) if args.against else None
    pop = scn.population
    check_fits(resolve_engine(args.engine, pop.merchants), pop.merchants, pop.months, pop.entry_rate_per_month,
               pop.exit_rate_per_month, scn.name)
    out = Path(args.out) if args.out else Path("reports") / "runs" / scn.name
    with run_folder(out).claim() as folder:  # refused before the simulation if it may not be written
        result = run_scenario(scn, reps=args.reps, seed=args.seed, engine=args.engine, progress=not args.quiet)
        dec = None
        if base is not None:  # the counterfactuals, paired with this run; written with it, or not at all
            from sim.experiment.decompose import decompose
            from sim.present.decomposition import to_csv

            dec = decompose(scn, base, reps=args.reps, seed=args.seed, engine=args.engine,
                            runs={"scenario": result}, progress=not args.quiet)
            to_csv({scn.name: dec}, folder.tmp / "decomposition.csv")
        write_outputs(result, folder, source=args.scenario)
    print(f"{scn.name}: {scn.population.merchants:,} merchants x {scn.population.months} months x "
          f"{args.reps} reps, engine {result.engine}, seed {args.seed}, {result.seconds:.1f} s -> {out}")
    print(format_table({scn.name: result.summary}))
    _warn_capacity({scn.name: result.summary})
    if dec is not None:
        print(format_decomposition(dec, base.name))
    return 0


def format_decomposition(dec, baseline: str) -> str:
    """The decomposition of a scenario's effect (:class:`sim.experiment.decompose.Decomposition`) as text:
    one line per component, the total, and the first year's total, in percentage points of compliance with
    paired 95% intervals."""
    from sim.present.decomposition import decomposition_frame

    df = decomposition_frame({"s": dec}, "en")
    lines = [f"where the effect on {dec.metric} against {baseline} comes from (last 12 months; percentage points, "
             f"paired 95% interval; {dec.volume:.2f} checks per merchant a year):"]
    width = max(len(x) for x in df["label"])
    for r in df.itertuples():
        share = "" if r.share != r.share or r.component == "total" else f"  {r.share:>4.0%} of the total"
        lines.append(f"  {r.label:<{width}}  {r.diff_pp:+6.2f} [{r.lo_pp:+6.2f}, {r.hi_pp:+6.2f}]{share}")
    return "\n".join(lines)


def _warn_capacity(columns: dict[str, dict]) -> None:
    """A line for each run whose requested checks exceed what its capacity allowed by more than 5%."""
    from sim.experiment.statistics import capacity_excess

    for name, summary in columns.items():
        try:
            excess = capacity_excess(summary)
        except (KeyError, TypeError, ValueError):
            continue  # a summary without the two metrics: nothing to say
        if excess is not None:
            asked, made = summary["inspections_requested"]["mean"], summary["inspections"]["mean"]
            more = "none of which" if excess == float("inf") else f"{excess:.0%} more than the {_fmt(made)}"
            print(f"warning: {name}: the sampling ratios ask for {_fmt(asked)} checks a month, {more} its capacity "
                  "allows: the plan's ratios are not carried out (policy.inspection.capacity_per_1000_merchants)")


def _read_summary(folder: str) -> tuple[str, dict]:
    """(scenario name, summary) of a ``sim run`` folder; InputError unless its summary.json is one."""
    from sim.model.metrics import METRICS

    path = Path(folder) / "summary.json"
    if not path.is_file():
        raise InputError([Problem("sim summary", "RUN", folder, "a folder written by 'sim run' (no summary.json)")])
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        doc = None
    known = {m.name for m in METRICS}

    def cell(v: object) -> bool:
        return isinstance(v, dict) and set(v) == {"mean", "lo", "hi"} and all(
            x is None or (isinstance(x, (int, float)) and not isinstance(x, bool)) for x in v.values())

    if not isinstance(doc, dict) or not set(doc) & known or not all(cell(v) for v in doc.values()):
        raise InputError([Problem("sim summary", "RUN", str(path),
                                  "a summary.json written by 'sim run' (metric -> {mean, lo, hi})")])
    name = Path(folder).name
    try:
        name = str(json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))["scenario"])
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        pass
    return name, doc


def _cmd_summary(args: argparse.Namespace) -> int:
    read = [(d, *_read_summary(d)) for d in args.runs]
    names = [n for _, n, _ in read]
    columns = {}
    for folder, name, doc in read:
        label = name if names.count(name) == 1 else f"{name} ({folder})"  # two runs of one scenario
        while label in columns:  # the same folder twice
            label += "'"
        columns[label] = doc
    print(format_table(columns))
    _warn_capacity(columns)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from sim.present.report import build_report, prepare

    for name in args.appendix:
        _choice("--appendix", name, ("validation",))
    setup = prepare(args.scenarios, args.baseline, args.reps, args.seed, args.merchants, args.months, args.engine,
                    args.lang, args.sets, source="sim report")
    out = Path(args.out) if args.out else Path("reports") / default_report_folder(setup.names, setup.lang)
    t0 = time.perf_counter()
    written = build_report(setup, out, progress=not args.quiet, appendix="validation" in args.appendix)
    print(f"report ({setup.lang}, {len(setup.names)} scenarios x {setup.reps} replications) in "
          f"{time.perf_counter() - t0:.0f} s -> {out}")
    for name in ("report.pdf", "report.html", "report.ipynb", "summary.csv", "validation.pdf"):
        if name in written:
            print(f"  {out / name}")
    figures = sorted(n for n in written if n.startswith("figures/") and n.endswith(".png"))
    print(f"  {out / 'figures'}/ ({len(figures)} figures, PNG + SVG)")
    return 0


def default_report_folder(names: list[str], lang: str) -> str:
    """``<a>-vs-<b>-<lang>`` from the scenario names (slugs), shortened with a hash past 120 bytes."""
    import hashlib

    name = f"{'-vs-'.join(names)}-{lang}"
    if len(name.encode("utf-8")) > 120:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
        name = f"{names[0][:40]}-vs-{len(names) - 1}-more-{digest}-{lang}"
    return name


def _cmd_notebook(args: argparse.Namespace) -> int:
    from sim.present.report import notebook_parameters, resolve_notebook, run_notebook

    path = resolve_notebook(args.name)
    params = notebook_parameters(path, args.parameter)
    out = Path(args.out) if args.out else Path("reports") / "notebooks" / path.name
    with notebook_output(out) as tmp:
        run_notebook(path, tmp, params, progress=not args.quiet)
    print(f"{path.stem} -> {out}")
    return 0


@contextmanager
def notebook_output(out: Path):
    """A temporary file next to ``out`` (a new ``.ipynb`` file or one to overwrite), renamed to ``out`` on success.

    Checked before the notebook runs: ``out`` must end in ``.ipynb`` and not be a folder; its
    folder is created if missing (and removed again on failure).
    """
    import tempfile

    if out.suffix != ".ipynb":
        raise InputError([Problem("sim notebook", "--out", str(out), "a file name ending in .ipynb")])
    if out.is_dir() or out.is_symlink():
        raise InputError([Problem("sim notebook", "--out", str(out), "a notebook file path (this is a folder)")])
    if out.exists() and not _executed_notebook(out):
        raise InputError([Problem("sim notebook", "--out", str(out),
                                  "a new file, or a notebook executed by sim notebook (this one is not: "
                                  "choose another name)")])
    created = []
    p = out.parent
    while not p.exists():
        created.append(p)
        p = p.parent
    tmp = None
    try:
        if not p.is_dir():
            raise InputError([Problem("sim notebook", "--out", str(out), f"a file path ({p} is a file)")])
        for d in reversed(created):
            d.mkdir()
        _clean_stale_notebooks(out)
        fd, name = tempfile.mkstemp(prefix=f".{out.stem}.tmp-{os.getpid()}-", suffix=".ipynb", dir=out.parent)
        os.close(fd)
        tmp = Path(name)
        tmp.chmod(0o666 & ~_umask())
        yield tmp
        os.replace(tmp, out)
        tmp = None
    except OSError as exc:
        raise InputError([Problem("sim notebook", "--out", str(out),
                                  f"a file that can be written ({exc.strerror or exc})")]) from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
            for d in created:
                try:
                    d.rmdir()
                except OSError:
                    break


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _executed_notebook(path: Path) -> bool:
    """True if ``path`` is a notebook that papermill executed (its metadata has a ``papermill`` section)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("metadata"), dict) and "papermill" in doc["metadata"]


def _clean_stale_notebooks(out: Path) -> None:
    """Remove temporary notebooks of ``out`` left by processes that no longer run (a killed ``sim notebook``)."""
    prefix = f".{out.stem}.tmp-"
    for f in out.parent.iterdir():
        pid, sep, _ = f.name[len(prefix):].partition("-")
        if f.name.startswith(prefix) and f.name.endswith(".ipynb") and pid.isdigit() and sep and f.is_file():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                f.unlink(missing_ok=True)
            except PermissionError:
                pass


def _cmd_batch(args: argparse.Namespace) -> int:
    from sim.experiment.batch import check_target, plan, run_batch

    p = plan(args.batch)
    out = Path(args.out) if args.out else Path("reports") / "batches" / p.batch.name
    check_target(p, out, args.scheduler)
    n_scn = len(p.scenario_hashes)

    def announce() -> None:  # once the store is locked: every refusal comes before this line
        print(f"{p.batch.name}: {n_scn} scenarios x {len(p.points)} sample points x {p.batch.replications} "
              f"replications = {len(p.runs):,} runs -> {out}", file=sys.stderr)

    counts = run_batch(p, out, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet,
                       announce=announce)
    secs = counts.get("seconds")
    rate = f", {60 * (counts['ok'] + counts['failed']) / secs:,.0f} runs/min" if secs else ""
    print(f"{p.batch.name}: {counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} already in the store "
          f"(of {counts['planned']}){rate} -> {out}")
    if counts["failed"]:
        print(f"sim batch: {counts['failed']} runs failed; their errors are in the store "
              f"(sim.experiment.results.load('{out}').query(\"status == 'failed'\")); rerun to retry them",
              file=sys.stderr)
        return 1
    return 0


COMPARE_METRICS = ("compliance_rate", "violations", "inspections", "hit_rate", "burden_on_compliant",
                   "inspection_cost", "consumer_harm", "blacklist_share", "wrongful_listings")


def _cmd_compare(args: argparse.Namespace) -> int:
    from sim.experiment.results import compare

    metrics = args.metrics or list(COMPARE_METRICS)
    csv = Path(args.csv) if args.csv else None
    if csv is not None and (csv.is_dir() or not csv.parent.is_dir() or csv.name in ("", ".", "..")):
        raise InputError([Problem("sim compare", "--csv", args.csv, "a file path in an existing folder")])
    diffs = compare(args.store, args.baseline, metrics, sample=args.sample)
    if csv is not None:
        try:
            diffs.to_csv(csv)
        except OSError as exc:
            raise InputError([Problem("sim compare", "--csv", args.csv,
                                      f"a file that can be written ({exc.strerror or exc})")]) from None
    rows = [["scenario", "metric", args.baseline, "scenario mean", "difference [95% interval]", "relative", "d", "n"]]
    for (scn, m), r in diffs.iterrows():
        mark = "" if r["sign"] else "  (includes 0)"
        rows.append([scn, m, _fmt(r["base"]), _fmt(r["alt"]),
                     f"{_fmt(r['diff'])} [{_fmt(r['lo'])}, {_fmt(r['hi'])}]{mark}",
                     "-" if r["rel"] != r["rel"] else f"{100 * r['rel']:+.1f}%",
                     "-" if r["effect"] != r["effect"] else f"{r['effect']:+.2f}", str(int(r["n"]))])
    print(_text_table(rows))
    print("paired by (sample point, replication) over common random numbers; 95% t-interval of the mean difference;"
          " d = difference / pooled SD")
    return 0


def _choice(flag: str, value: str, allowed: tuple) -> str:
    if value not in allowed:
        raise InputError([Problem(flag, flag, value, f"one of: {', '.join(allowed)}")])
    return value


def _records_target(path: str) -> Path:
    """The file ``sim records`` may write: a .csv path, new or a records file it wrote (by its header)."""
    from sim.experiment.records import AGGREGATE_COLUMNS, CHECK_COLUMNS

    out = Path(path)
    if out.suffix.lower() != ".csv":
        raise InputError([Problem("sim records", "--out", path, "a file name ending in .csv")])
    if out.is_symlink() or out.is_dir():
        raise InputError([Problem("sim records", "--out", path, "a file path (not a folder or a symbolic link)")])
    if out.exists():
        try:
            with out.open(encoding="utf-8") as f:
                head = f.readline().strip()
        except (OSError, UnicodeDecodeError):
            head = ""
        if head not in (",".join(CHECK_COLUMNS), ",".join(AGGREGATE_COLUMNS)):
            raise InputError([Problem("sim records", "--out", path, "a new file or one 'sim records' wrote (this one "
                                      "is not: choose another name)")])
    if not out.parent.is_dir():
        raise InputError([Problem("sim records", "--out", path, "a file in an existing folder")])
    return out


def _cmd_records(args: argparse.Namespace) -> int:
    import re

    from sim.experiment.records import synthetic_records, write_records
    from sim.model.engines import check_fits
    from sim.model.schema import load_scenario

    form = _choice("--form", args.form, ("aggregates", "checks"))
    period = _choice("--period", args.period, ("year", "month"))
    engine = _choice("--engine", args.engine, ("fast", "mesa"))
    m = re.fullmatch(r"(\d{4})-(\d{2})", args.start)
    if not m or not 1990 <= int(m.group(1)) <= 2100 or not 1 <= int(m.group(2)) <= 12:
        raise InputError([Problem("--start", "--start", args.start, "a month YYYY-MM from 1990-01 to 2100-12")])
    scn = load_scenario(args.scenario, args.sets)
    pop = scn.population
    check_fits("mesa" if form == "checks" else engine, pop.merchants, pop.months, pop.entry_rate_per_month,
               pop.exit_rate_per_month, scn.name)
    out = _records_target(args.out)
    t0 = time.perf_counter()
    df = synthetic_records(scn, form, seed=args.seed, start=args.start, yearly=period == "year",
                           engine="mesa" if form == "checks" else engine, progress=not args.quiet)
    write_records(df, out)
    print(f"{scn.name}: {len(df):,} rows of {form} ({pop.merchants:,} merchants x {pop.months} months from "
          f"{args.start}, seed {args.seed}, {time.perf_counter() - t0:.1f} s) -> {out}")
    return 0


def _calibration_folder(out: Path):
    from sim.experiment.outdir import OutputFolder

    return OutputFolder(out, "sim calibrate", "calibration.json")


def _cmd_calibrate(args: argparse.Namespace) -> int:
    import os

    from sim.experiment.calibration import calibrate, parse_parameters
    from sim.experiment.records import read_records
    from sim.model.schema import load_scenario, validate_dict
    from sim.present.i18n import check_lang

    lang = check_lang(args.lang, "--lang")
    params = parse_parameters(args.parameters)
    records = read_records(args.records)
    base = load_scenario(args.scenario, args.sets)
    out = Path(args.out) if args.out else Path("reports") / "calibrations" / base.name
    folder = _calibration_folder(out).claim()  # refused before any run if it may not be written
    state = out.parent / f".{out.name}.calibrate-state.jsonl"
    client = cluster = None
    try:
        if args.workers or args.scheduler:
            from sim.experiment.batch import connect

            client, cluster = connect(args.workers, args.scheduler)
        n_rows = len(records.merchant_checks) if records.merchant_checks is not None else len(records.cells)
        print(f"calibrating {len(params)} parameters of {base.name} to {args.records} ({records.form}, {n_rows:,} "
              f"rows from {records.start}, {records.months} months); a budget of {args.budget:,} model runs, "
              f"{args.reps} replications a candidate", file=sys.stderr)
        res = calibrate(records, base, params, budget=args.budget, reps=args.reps, seed=args.seed, state=state,
                        client=client, progress=not args.quiet)
        _write_calibration(res, records, base, args, folder, lang)
        folder.commit()
    except KeyboardInterrupt:
        folder.abort()
        if state.is_file():
            print(f"sim calibrate: interrupted; the candidates evaluated so far are kept ({state.name}): rerun the "
                  "same command to go on", file=sys.stderr)
        raise SystemExit(130) from None
    except BaseException:
        folder.abort()
        raise
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    state.unlink(missing_ok=True)
    # the calibrated scenario must load as it is written
    validate_dict(load_raw_checked(out / "calibrated.yaml"), str(out / "calibrated.yaml"))
    w = max(len(p.path) for p in res.params)
    print(f"{base.name}: {res.candidates} candidates ({res.resumed} from the saved state), {res.runs:,} model runs, "
          f"{res.seconds:.0f} s -> {out}")
    for j, p in enumerate(res.params):
        traded = f"; traded off with {res.traded_off[j]}" if res.traded_off[j] else ""
        print(f"  {p.path:<{w}}  {res.estimate[j]:.4g} [{res.lo[j]:.4g}, {res.hi[j]:.4g}]  {res.status[j]}"
              f"  (base {res.base_values[j]:.4g}{traded})")
    print(f"fit: J = {res.J:.1f} on {res.df} degrees of freedom, p = {res.p_value:.3g} "
          f"({'the model fits the records' if res.p_value >= 0.05 else 'the records reject the model at 5%'})")
    del os
    return 0


def load_raw_checked(path: Path) -> dict:
    """The raw mapping of a scenario file, ``extends`` resolved."""
    from sim.model.schema import load_raw

    return load_raw(path)


def _write_calibration(res, records, base, args, folder, lang: str) -> None:
    import os

    from sim.experiment.calibration import calibrated_yaml
    from sim.experiment.runner import code_version
    from sim.present.calibration import fit_chart, slices_chart
    from sim.present.figures import save

    tmp = folder.tmp
    base_dict = base.model_dump(mode="json")
    extends = os.path.relpath(os.path.abspath(args.scenario), os.path.abspath(folder.out))
    header = [f"{base.name} calibrated by sim calibrate to {Path(args.records).name} ({records.form}, from "
              f"{records.start}, {records.months} months)",
              f"fit: J = {res.J:.1f} on {res.df} degrees of freedom, p = {res.p_value:.3g}; {res.runs:,} model runs",
              "each fitted value carries its 95% interval; an unidentified value is the records' best guess, not a "
              "finding"]
    name = f"{base.name[:53]}-calibrated"
    from sim.model.schema import parse_set

    sets = {".".join(path): value for path, value in (parse_set(s) for s in args.sets)}
    text = calibrated_yaml(res, base_dict, extends, name, header, sets)
    (tmp / "calibrated.yaml").write_text(text, encoding="utf-8")
    res.fit.to_csv(tmp / "fit.csv", index=False)
    res.estimates().to_csv(tmp / "estimates.csv", index=False)
    res.evaluations.to_csv(tmp / "evaluations.csv", index=False)
    save(fit_chart(res, lang), "fit", tmp)
    save(slices_chart(res, lang), "slices", tmp)
    folder.manifest = {"records": Path(args.records).name, "form": records.form, "start": records.start,
                       "scenario": base.name, "parameters": [p.path for p in res.params],
                       "J": res.J, "df": res.df, "p_value": res.p_value, "runs": res.runs,
                       "candidates": res.candidates, "seconds": round(res.seconds, 1), "seed": args.seed,
                       "reps": args.reps, "budget": args.budget, "code_version": code_version()}


COMMANDS = {"validate": _cmd_validate, "run": _cmd_run, "summary": _cmd_summary, "report": _cmd_report,
            "notebook": _cmd_notebook, "batch": _cmd_batch, "compare": _cmd_compare, "records": _cmd_records,
            "calibrate": _cmd_calibrate}
"""Subcommand name -> its function (argparse has already checked the name)."""


def threading_main() -> bool:
    """True in the main thread (only there can signal handlers be set)."""
    import threading

    return threading.current_thread() is threading.main_thread()


MAX_PROBLEM_LINES = 50
"""Most problem lines printed for one command (the rest are counted)."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sim`` command; returns the exit code.

    0: done. 2: bad input, one line per problem (at most :data:`MAX_PROBLEM_LINES`), nothing written.
    1: a step failed (a notebook cell, failed batch runs), or an error in ``sim`` itself, said in one
    line (``SIM_DEBUG=1`` shows its traceback). 130: interrupted. Never a traceback otherwise.
    """
    import signal

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    for a in sys.argv[1:] if argv is None else argv:
        try:
            a.encode("utf-8")
        except UnicodeEncodeError:  # bytes of another encoding: they could name no file we would find again
            print(f"sim: {a.encode('utf-8', 'backslashreplace').decode('ascii', 'backslashreplace')}: "
                  "arguments must be UTF-8 text", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad flag (2, already reported in one line)
        return int(exc.code or 0)
    def terminated(signum, frame):  # kill/SIGTERM: leave as on Ctrl-C, cleaning up temporary folders
        raise KeyboardInterrupt

    if threading_main():
        signal.signal(signal.SIGTERM, terminated)
    try:
        return COMMANDS[args.command](args)
    except InputError as exc:
        for pr in exc.problems[:MAX_PROBLEM_LINES]:
            print(pr, file=sys.stderr)
        if len(exc.problems) > MAX_PROBLEM_LINES:
            print(f"sim {args.command}: {len(exc.problems) - MAX_PROBLEM_LINES} more problems not shown",
                  file=sys.stderr)
        return EXIT_BAD_INPUT
    except SimError as exc:  # a step failed (a notebook cell, a missing font): one line, exit 1
        print(f"sim {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.command == "batch":
            print("sim batch: interrupted; the runs finished so far are in the store: rerun to go on", file=sys.stderr)
        else:
            print(f"sim {args.command}: interrupted; no output written", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"sim {args.command}: out of memory: try fewer merchants or replications", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001  (a bug in sim: one line, never a traceback)
        if os.environ.get("SIM_DEBUG"):
            raise
        text = " ".join(str(exc).split())[:200]
        print(f"sim {args.command}: internal error {type(exc).__name__}: {text} (a bug in sim; "
              "SIM_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
