"""Reports and notebooks: checked parameters, the blocks a report is made of, and ``sim report``.

The notebooks in ``notebooks/`` call :func:`prepare` on their parameters first (so a bad value
stops them with one line naming the field), then :func:`run_all`, then the blocks below. ``sim
report`` runs ``notebooks/04_meeting_report.ipynb`` through papermill into a temporary folder,
turns it into HTML without code and into a PDF (weasyprint, with the CJK font embedded), and
renames the folder into place only when every step has succeeded.
"""

from __future__ import annotations

import hashlib
import html
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sim.errors import InputError, Problem, SimError
from sim.experiment.statistics import UNITS, compare, describe, rep_table
from sim.present.i18n import check_lang, t
from sim.present.narrative import format_value, metric_label, summary_claims, target_table

__all__ = ["NOTEBOOKS", "REPORT_NOTEBOOK", "Setup", "prepare", "run_all", "notebook_setup", "show", "heading",
           "title_html", "summary_html", "table_html", "targets_html", "differences_frame", "provenance_html",
           "summary_frame", "settings_html", "from_store", "export_html", "export_pdf", "run_notebook", "build_report",
           "NotebookFailed", "REPORT_CSS", "REPORT_METRICS", "REPORT_FILES", "report_folder", "resolve_notebook",
           "notebook_parameters", "PATH_PARAMETERS"]

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
"""The notebooks folder of the source tree."""

REPORT_NOTEBOOK = NOTEBOOKS / "04_meeting_report.ipynb"
VALIDATION_NOTEBOOK = NOTEBOOKS / "06_validation.ipynb"

REPORT_METRICS = ("compliance_rate", "violations", "inspections", "hit_rate", "burden_on_compliant",
                  "inspection_cost", "consumer_harm", "red_list_share", "key_attention_share", "blacklist_share",
                  "wrongful_listings", "capacity_shortfall", "exits")
"""Metrics of a report's summary table and CSV, in this order."""

MAX_REPS = 100_000


@dataclass
class Setup:
    """Checked parameters of a notebook or report: scenarios loaded and validated.

    ``scenarios`` maps each scenario's name to ``(path, Scenario)`` in the order given, the
    baseline first; ``sets`` are the ``PATH=VALUE`` overrides applied to every scenario (including
    those made from ``merchants`` and ``months``).
    """

    scenarios: dict
    baseline: str
    reps: int
    seed: int
    engine: str
    lang: str
    sets: list[str] = field(default_factory=list)
    out_dir: str = ""

    @property
    def names(self) -> list[str]:
        """Scenario names, baseline first."""
        return list(self.scenarios)


def _whole(name: str, value: object, lo: int, hi: int, source: str, problems: list[Problem]) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
    if not ok:
        problems.append(Problem(source, name, value, f"a whole number from {lo:,} to {hi:,}"))
        return lo
    return int(value)


def prepare(scenarios: str | list | tuple, baseline: str = "", reps: int = 10, seed: int = 0, merchants: int = 0,
            months: int = 0, engine: str = "auto", lang: str = "zh", sets: list | tuple = (), out_dir: str = "",
            source: str = "parameter", min_reps: int = 2, field: str = "scenarios") -> Setup:
    """Check a notebook's or report's parameters and load its scenarios.

    Parameters
    ----------
    scenarios : str or list of str
        Scenario YAML files (relative paths are read from the working directory).
    baseline : str
        The baseline's file (one of ``scenarios``, or another file, which is then put first);
        empty: the first scenario.
    reps : int
        Replications per scenario (``min_reps`` to 100,000); the same seeds for every scenario.
    seed : int
        Base seed (>= 0).
    merchants, months : int
        Population size and months for every scenario; 0 keeps each file's own.
    engine : str
        ``auto``, ``mesa`` or ``fast``.
    lang : str
        ``zh`` or ``en``.
    sets : list of str
        ``PATH=VALUE`` overrides applied to every scenario.
    out_dir : str
        Folder for figures and the summary CSV; empty: none written.
    field : str
        The parameter that holds ``scenarios``, as problems name it (``scenario`` in the notebooks
        that take one file).

    Raises
    ------
    InputError
        One problem per bad parameter, each naming the parameter, its value and what is allowed.
    """
    from sim.model.engines import CHOICES
    from sim.model.schema import load_scenario

    problems: list[Problem] = []
    if isinstance(scenarios, str):
        scenarios = [scenarios]
    if not isinstance(scenarios, (list, tuple)) or not scenarios or not all(isinstance(s, str) for s in scenarios):
        raise InputError([Problem(source, field, scenarios, "one or more scenario file paths")])
    files = list(scenarios)
    if baseline:
        if not isinstance(baseline, str):
            problems.append(Problem(source, "baseline", baseline, "a scenario file path"))
        else:
            files = [baseline] + [f for f in files if Path(f).resolve() != Path(baseline).resolve()]
    reps = _whole("reps", reps, min_reps, MAX_REPS, source, problems)
    seed = _whole("seed", seed, 0, 2**63 - 1, source, problems)
    merchants = _whole("merchants", merchants, 0, 10**9, source, problems)
    months = _whole("months", months, 0, 10**4, source, problems)
    if engine not in CHOICES:
        problems.append(Problem(source, "engine", engine, f"one of: {', '.join(CHOICES)}"))
    try:
        lang = check_lang(lang, source)
    except InputError as exc:
        problems.extend(exc.problems)
    if isinstance(sets, str):
        sets = [sets]
    if not isinstance(sets, (list, tuple)) or not all(isinstance(s, str) for s in sets):
        problems.append(Problem(source, "sets", sets, "a list of PATH=VALUE strings"))
        sets = []
    if not isinstance(out_dir, str) or (out_dir and Path(out_dir).exists() and not Path(out_dir).is_dir()):
        problems.append(Problem(source, "out_dir", out_dir, "a folder path (or empty for none)"))
    overrides = list(sets)
    if merchants:
        overrides.append(f"population.merchants={merchants}")
    if months:
        overrides.append(f"population.months={months}")
    loaded: dict = {}
    for f in files:
        if not Path(f).is_file():
            problems.append(Problem(source, field, f, "an existing scenario file"))
            continue
        try:
            scn = load_scenario(f, overrides)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if scn.name in loaded:
            problems.append(Problem(source, field, f, f"scenarios with distinct names ({scn.name!r} twice)"))
            continue
        loaded[scn.name] = (str(f), scn)
    if problems:
        raise InputError(problems)
    return Setup(loaded, next(iter(loaded)), reps, seed, engine, lang, overrides, out_dir)


def run_all(setup: Setup, progress: bool = False) -> dict:
    """Run every scenario with the same seed and replications (common random numbers): name -> RunResult."""
    from sim.experiment.runner import run_scenario

    return {name: run_scenario(scn, reps=setup.reps, seed=setup.seed, engine=setup.engine, progress=progress)
            for name, (_, scn) in setup.scenarios.items()}


def from_store(store: str, baseline: str = "") -> tuple[dict, str, dict]:
    """A batch store's runs as the compare notebook uses them: (tables, baseline name, series).

    ``tables`` maps each scenario to its runs' 12-month averages (plus the derived indicators),
    indexed by (sample point, replication), so differences pair runs with common random numbers;
    ``series`` holds each scenario's time series at the first sample point. ``baseline`` is a
    scenario name (default: the store's first scenario).
    """
    from sim.experiment.results import load, load_timeseries, manifest
    from sim.experiment.statistics import add_derived
    from sim.model.metrics import METRICS

    if not isinstance(store, str) or not Path(store, "manifest.json").is_file():
        raise InputError([Problem("parameter", "store", store, "a folder written by 'sim batch'")])
    runs = load(store)
    ok = runs[runs["status"] == "ok"]
    names = list(manifest(store)["scenarios"])  # the batch file's order
    base = baseline or names[0]
    if base not in names:
        raise InputError([Problem("parameter", "baseline", base, f"a scenario of the store: {', '.join(names)}")])
    cols = [m.name for m in METRICS]
    groups = ok.groupby("scenario", sort=False)
    tables = {n: add_derived(g.set_index(["sample", "rep"])[cols].copy()) for n, g in groups}
    tables = {n: tables[n] for n in [base] + [n for n in names if n != base] if n in tables}
    series = {n: load_timeseries(store, scenario=n, sample=0) for n in tables}
    return tables, base, series


# --- notebook helpers -----------------------------------------------------------------------------------------------


def notebook_setup() -> str:
    """Prepare a notebook kernel: figures in the report style with the CJK font; bad input as one line.

    In IPython, an :class:`InputError` is shown as its message alone (no traceback), still as an
    error, so papermill stops and names it. Returns the font's name.
    """
    import warnings

    from sim.present.figures import style

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        get_ipython = None
    shell = get_ipython() if get_ipython else None
    if shell is not None:
        def one_line(shell, etype, value, tb, tb_offset=None):
            shell.showtraceback((etype, value, tb), exception_only=True)

        shell.set_custom_exc((InputError,), one_line)
    return style()


def show(fig, name: str, setup: Setup) -> None:
    """Save a figure as PNG and SVG into ``setup.out_dir/figures`` (if set), display it, and close it."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    from sim.present.figures import save

    save(fig, name, Path(setup.out_dir) / "figures" if setup.out_dir else None)
    display(fig)
    plt.close(fig)


def heading(key: str, lang: str, level: int = 2) -> None:
    """Display a translated heading."""
    from IPython.display import HTML, display

    display(HTML(f"<h{level}>{html.escape(t(key, lang))}</h{level}>"))


def _file_hash(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _description(scn, lang: str) -> str:
    """The scenario's description in ``lang`` (the Chinese one when given, else the file's description)."""
    return (scn.description_zh if lang == "zh" and scn.description_zh else scn.description) or ""


def title_html(setup: Setup, lang: str) -> str:
    """The title page: title, the scenarios with their files and descriptions, date and code version."""
    from sim.experiment.runner import code_version

    rows = "".join(
        f"<tr><td>{html.escape(name)}{' (' + t('label.baseline', lang) + ')' if name == setup.baseline else ''}</td>"
        f"<td><code>{html.escape(Path(path).name)}</code></td><td>{html.escape(_description(scn, lang))}</td></tr>"
        for name, (path, scn) in setup.scenarios.items())
    first = next(iter(setup.scenarios.values()))[1].population
    facts = [(t("label.date", lang), time.strftime("%Y-%m-%d")), (t("label.code_version", lang), code_version()),
             (t("label.reps", lang), str(setup.reps)), (t("label.seed", lang), str(setup.seed)),
             (t("label.merchants", lang), f"{first.merchants:,}"), (t("label.months", lang), str(first.months))]
    fact_html = " · ".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in facts)
    return (f'<div class="title-page"><h1>{html.escape(t("report.title", lang))}</h1>'
            f'<p class="subtitle">{html.escape(t("report.subtitle", lang))}</p>'
            f'<h3>{html.escape(t("head.scenarios", lang))}</h3>'
            f'<table class="scenarios"><thead><tr><th>{t("label.scenario", lang)}</th><th>{t("label.file", lang)}</th>'
            f'<th>{t("label.description", lang)}</th></tr></thead><tbody>{rows}</tbody></table>'
            f'<p class="facts">{fact_html}</p>'
            f'<p class="note">{html.escape(t("note.calibration", lang))}</p></div>')


def summary_html(tables: dict, baseline: str, lang: str) -> str:
    """The generated plain-language summary as a list, with the notes on how to read it."""
    items = "".join(f"<li>{html.escape(c.text)}</li>" for c in summary_claims(tables, baseline, lang))
    notes = " ".join(html.escape(t(k, lang)) for k in ("note.window", "note.crn"))
    return f'<ul class="summary">{items}</ul><p class="note">{notes}</p>'


def targets_html(tables: dict, baseline: str, lang: str) -> str:
    """The table of the 2022-target indicators (:func:`sim.analysis.target_table`) as HTML, with its note."""
    arrows = t("note.arrows", lang)
    return table_html(target_table(tables, baseline, lang)) + f'<p class="note">{html.escape(arrows)}</p>'


def differences_frame(diffs: pd.DataFrame, metrics: tuple[str, ...], lang: str) -> pd.DataFrame:
    """Paired differences from the baseline as text: difference [95% interval], relative change, effect size."""
    rows = []
    for (scn, name), r in diffs.iterrows():
        if name not in metrics:
            continue
        share = UNITS[name] == "share"
        fmt = (lambda v: f"{100 * v:+.1f}") if share else (lambda v: format_value(name, v, lang, signed=True))
        unit = ("个百分点" if lang == "zh" else "points") if share else t(f"unit.{UNITS[name]}", lang)
        rows.append({t("label.scenario", lang): scn, t("label.metric", lang): metric_label(name, lang),
                     t("label.difference", lang): f"{fmt(r['diff'])} {unit}",
                     t("label.interval", lang): f"[{fmt(r['lo'])}, {fmt(r['hi'])}]"
                     + ("" if r["sign"] else f" ({t('label.not_distinguishable', lang)})"),
                     t("label.relative", lang): "-" if pd.isna(r["rel"]) else f"{100 * r['rel']:+.0f}%",
                     t("label.effect", lang): "-" if pd.isna(r["effect"]) else f"{r['effect']:+.2f}"})
    return pd.DataFrame(rows)


def table_html(df: pd.DataFrame) -> str:
    """A plain HTML table of a frame of text, without its index."""
    return df.to_html(index=False, escape=True, border=0, classes="report-table")


def summary_frame(results: dict, baseline: str, lang: str | None = None) -> pd.DataFrame:
    """Every report metric per scenario: mean and 95% interval, and the paired difference from the baseline.

    With ``lang`` None the frame is numeric, with code names (the CSV); with ``lang`` it is text for a
    reader: one row per metric, one column per scenario holding ``mean [lo, hi]``.
    """
    tables = {n: rep_table(r.timeseries) for n, r in results.items()}
    diffs = compare(tables, baseline)
    rows = []
    for name, tab in tables.items():
        d = describe(tab[list(REPORT_METRICS)])
        for m in REPORT_METRICS:
            row = {"scenario": name, "metric": m, "unit": UNITS[m], "mean": d.loc[m, "mean"],
                   "lo": d.loc[m, "lo"], "hi": d.loc[m, "hi"]}
            if name != baseline:
                p = diffs.loc[(name, m)]
                row |= {"diff": p["diff"], "diff_lo": p["lo"], "diff_hi": p["hi"], "rel": p["rel"],
                        "effect": p["effect"]}
            rows.append(row)
    frame = pd.DataFrame(rows)
    if lang is None:
        return frame
    out = pd.DataFrame({t("label.metric", lang): [metric_label(m, lang) for m in REPORT_METRICS],
                        t("label.unit", lang): [t(f"unit.{UNITS[m]}", lang) for m in REPORT_METRICS]})
    for name in tables:
        sub = frame[frame["scenario"] == name].set_index("metric")
        out[name] = [f"{format_value(m, sub.loc[m, 'mean'], lang)} [{format_value(m, sub.loc[m, 'lo'], lang)}, "
                     f"{format_value(m, sub.loc[m, 'hi'], lang)}]" for m in REPORT_METRICS]
    return out


def provenance_html(setup: Setup, results: dict, lang: str) -> str:
    """Where the numbers come from: each scenario file's hash, the resolved scenario's hash, seeds, engine, versions."""
    import numpy as np

    from sim.experiment.runner import code_version
    from sim.model.schema import scenario_hash

    try:
        from importlib.metadata import version
        mesa_version = version("mesa")
    except Exception:  # pragma: no cover
        mesa_version = "?"
    head = [t("label.scenario", lang), t("label.file", lang), "SHA-256 (" + t("label.file", lang) + ")",
            "SHA-256 (resolved)", t("label.engine", lang), t("label.run_seconds", lang)]
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td><code>{html.escape(str(path))}</code></td>"
        f"<td><code>{_file_hash(path)}</code></td><td><code>{scenario_hash(scn)}</code></td>"
        f"<td>{results[name].engine}</td><td>{results[name].seconds:.1f}</td></tr>"
        for name, (path, scn) in setup.scenarios.items())
    facts = [
        (t("label.seed", lang), f"{setup.seed} (SeedSequence({setup.seed}).spawn({setup.reps}))"),
        (t("label.reps", lang), str(setup.reps)),
        (t("label.overrides", lang), ", ".join(setup.sets) or t("label.none", lang)),
        (t("label.code_version", lang), code_version()),
        (t("label.created", lang), time.strftime("%Y-%m-%d %H:%M:%S %z")),
        ("Python / numpy / mesa", f"{platform.python_version()} / {np.__version__} / {mesa_version}"),
    ]
    fact_rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
    return (f'<table class="report-table"><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>'
            f'<tbody>{rows}</tbody></table><table class="facts">{fact_rows}</table>')


def settings_html(rows: list[tuple[str, object, object]], lang: str) -> str:
    """A table of lever settings: (path, current value, value in the scenario file); changed ones marked."""
    body = "".join(
        f"<tr{' class=changed' if cur != orig else ''}><td><code>{html.escape(p)}</code></td>"
        f"<td>{html.escape(str(cur))}</td><td>{html.escape(str(orig))}</td>"
        f"<td>{html.escape(t('label.changed', lang)) if cur != orig else ''}</td></tr>"
        for p, cur, orig in rows)
    return (f'<table class="report-table"><thead><tr><th>{t("label.parameter", lang)}</th>'
            f'<th>{t("label.current", lang)}</th><th>{t("label.in_file", lang)}</th><th></th></tr></thead>'
            f'<tbody>{body}</tbody></table>')


# --- HTML and PDF ---------------------------------------------------------------------------------------------------

REPORT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm;
        @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; color: #666; } }
body { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", "DejaVu Sans", sans-serif; font-size: 10.5pt;
       line-height: 1.5; color: #222; max-width: 1000px; margin: 0 auto; padding: 0 12px; }
h1 { font-size: 22pt; margin: 30mm 0 4mm 0; }
h2 { font-size: 14pt; border-bottom: 1px solid #999; padding-bottom: 2px; margin-top: 8mm; break-after: avoid; }
h3 { font-size: 12pt; }
.title-page { break-after: page; }
.subtitle { font-size: 13pt; color: #444; }
.note { color: #555; font-size: 9pt; }
table { border-collapse: collapse; margin: 3mm 0; font-size: 9pt; break-inside: avoid; }
th, td { border-bottom: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }
thead th { border-bottom: 1.5px solid #555; }
tr.changed td { background: #fff3cd; }
img { max-width: 100%; height: auto; break-inside: avoid; }
ul.summary li { margin-bottom: 2mm; }
code { font-size: 8.5pt; }
pre { white-space: pre-wrap; }
"""
"""Print style shared by the HTML and the PDF (A4, page numbers, the CJK font first)."""


def export_html(notebook: str | Path, target: str | Path) -> Path:
    """Write a notebook's outputs (no code, no prompts) as one self-contained HTML file with :data:`REPORT_CSS`.

    Images are embedded; the page loads nothing from elsewhere.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    lang = nb.metadata.get("papermill", {}).get("parameters", {}).get("lang", "en")
    title = html.escape(t("report.title", lang if lang in ("zh", "en") else "en"))
    page = (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f"<title>{title}</title><style>{REPORT_CSS}{_font_face()}</style></head><body>{body}</body></html>\n")
    Path(target).write_text(page, encoding="utf-8")
    return Path(target)


def _font_face() -> str:
    """An @font-face for a CJK font named by ``SIM_CJK_FONT`` (the system font is found by fontconfig)."""
    env = os.environ.get("SIM_CJK_FONT")
    if env and Path(env).is_file():
        return f'@font-face {{ font-family: "WenQuanYi Micro Hei"; src: url("{Path(env).resolve().as_uri()}"); }}'
    return ""


def export_pdf(html_file: str | Path, target: str | Path) -> Path:
    """Render the report HTML to PDF with weasyprint; fonts are embedded (subset)."""
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    from weasyprint.urls import URLFetcher

    # only data: and file: URLs: nothing is downloaded, and a missing image is an error, not a blank
    fetcher = URLFetcher(allowed_protocols={"data", "file"}, fail_on_errors=True)
    weasyprint.HTML(filename=str(html_file), url_fetcher=fetcher).write_pdf(str(target))
    return Path(target)


# --- running notebooks ----------------------------------------------------------------------------------------------


class NotebookFailed(SimError):
    """A notebook cell raised: ``cell`` (execution count), ``ename`` and ``evalue`` say which and what."""

    def __init__(self, notebook: str, cell: int | None, ename: str, evalue: str) -> None:
        self.notebook, self.cell, self.ename, self.evalue = notebook, cell, ename, evalue
        super().__init__(f"{notebook}: cell {cell} failed: {ename}: {evalue}")


PATH_PARAMETERS = ("scenario", "scenarios", "baseline", "store", "out_dir")
"""Notebook parameters that hold paths: a relative path given on the command line is read from the
working folder (the notebooks themselves run in ``notebooks/``). ``baseline`` is a path only when it
names a ``.yaml`` file (with ``store`` it is a scenario name)."""


def resolve_notebook(name: str) -> Path:
    """The notebook ``sim notebook NAME`` runs: a shipped notebook's name, or the path of an ``.ipynb`` file.

    Raises :class:`InputError` for anything else (a name is never turned into a path).
    """
    import nbformat

    shipped = {p.stem: p for p in NOTEBOOKS.glob("*.ipynb")}
    if name in shipped:
        return shipped[name]
    allowed = f"a notebook: {', '.join(sorted(shipped))}, or the path of an .ipynb file"
    path = Path(name)
    if path.suffix != ".ipynb" or not path.is_file():
        raise InputError([Problem("sim notebook", "name", name, allowed)])
    try:
        nbformat.validate(nbformat.read(str(path), as_version=4))
    except Exception:  # noqa: BLE001  (any reason a file is not a notebook)
        raise InputError([Problem("sim notebook", "name", name, "a valid Jupyter notebook (.ipynb)")]) from None
    return path


def _plain(value: object) -> bool:
    """A value papermill may write into a notebook: a plain scalar or a list of plain strings."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return abs(value) < 2**63
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    if isinstance(value, str):
        return True
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def notebook_parameters(notebook: Path, pairs: list) -> dict:
    """Check ``-p NAME VALUE`` pairs against a notebook's parameters cell; return name -> value.

    A parameter declared ``str`` takes the text as given; any other VALUE is read as YAML
    (:func:`sim.model.safeyaml.load_yaml`). Only plain scalars (text, whole numbers, finite numbers, true/false) and
    lists of text are accepted, and each must come back unchanged from the Python source papermill
    writes for it: so no value can become code. Relative paths in :data:`PATH_PARAMETERS` are made
    absolute from the working folder.

    Raises
    ------
    InputError
        One problem per bad parameter, naming it, its value and what is allowed.
    """
    import ast

    import papermill as pm
    from papermill.translators import PythonTranslator

    from sim.model.safeyaml import load_yaml

    try:
        known = pm.inspect_notebook(str(notebook))
    except Exception:  # noqa: BLE001
        raise InputError([Problem("sim notebook", "name", str(notebook),
                                  "a notebook with a parameters cell")]) from None
    params: dict = {}
    problems: list[Problem] = []
    for name, raw in pairs:
        if name not in known:
            problems.append(Problem("sim notebook", "-p", name, f"a parameter of {notebook.stem}: {', '.join(known)}"))
            continue
        declared = known[name]["inferred_type_name"]
        if declared == "str":
            value = raw
        else:
            try:
                value = load_yaml(raw, f"-p {name}")
            except InputError:
                value = _Unreadable
        kind = "text" if declared == "str" else "a list of text" if declared == "list" else \
            "a whole number" if declared == "int" else "a plain value (number, true/false, text, list of text)"
        if value is _Unreadable or not _plain(value):
            problems.append(Problem("sim notebook", name, raw, kind))
            continue
        source = PythonTranslator.translate(value)
        try:
            same = ast.literal_eval(source) == value and type(ast.literal_eval(source)) is type(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            same = False
        if not same:
            problems.append(Problem("sim notebook", name, raw, kind + " that papermill can write as it is"))
            continue
        if name in PATH_PARAMETERS and value and (name != "baseline" or str(value).endswith((".yaml", ".yml"))):
            value = [os.path.abspath(v) for v in value] if isinstance(value, list) else os.path.abspath(value)
        params[name] = value
    if problems:
        raise InputError(problems)
    return params


_Unreadable = object()


def _quiet_kernel_manager():
    """A kernel manager whose kernel process writes its own log (shutdown notices) nowhere near our stderr.

    ipykernel logs ``KeyboardInterrupt caught in kernel`` when jupyter_client interrupts a kernel slow
    to shut down; that is kernel housekeeping, not the product's output. ``SIM_KERNEL_LOG`` names a
    file to keep it in (for debugging a kernel); by default it is dropped.
    """
    import subprocess

    from jupyter_client.manager import AsyncKernelManager

    class QuietKernelManager(AsyncKernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            target = os.environ.get("SIM_KERNEL_LOG")
            kw["stderr"] = open(target, "ab") if target else subprocess.DEVNULL  # noqa: SIM115
            kw.setdefault("stdout", subprocess.DEVNULL)
            try:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            finally:
                if target:
                    kw["stderr"].close()

    return QuietKernelManager


def run_notebook(notebook: str | Path, output: str | Path, parameters: dict, progress: bool = True) -> Path:
    """Execute a notebook with papermill (kernel ``python3``, working directory: the notebook's folder).

    Raises :class:`InputError` when the notebook rejected a parameter (its :func:`prepare` raised),
    and :class:`NotebookFailed` naming the cell and the error for any other failure. The output
    notebook is written either way (papermill writes the failing state for inspection). The kernel
    process's own log goes to ``SIM_KERNEL_LOG`` or nowhere, never to this process's stderr.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    notebook = Path(notebook)
    try:
        pm.execute_notebook(str(notebook), str(output), parameters=parameters, kernel_name="python3",
                            cwd=str(notebook.parent), progress_bar=progress, log_output=False,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            kernel_manager_class=_quiet_kernel_manager())
    except PapermillExecutionError as exc:
        if exc.ename == "InputError":
            raise InputError([_parse_problem(line) for line in exc.evalue.splitlines() if line.strip()]) from None
        raise NotebookFailed(notebook.name, exc.exec_count, exc.ename, exc.evalue) from None
    return Path(output)


def _parse_problem(line: str) -> Problem:
    source, _, rest = line.partition(": ")
    path, _, rest = rest.partition(": ")
    value, _, allowed = rest.rpartition(": ")
    return Problem(source, path, value, allowed)


REPORT_FILES = frozenset({"report.pdf", "report.html", "report.ipynb", "summary.csv", "report.json",
                          "validation.ipynb", "validation.html", "validation.pdf"})
"""The files of a report folder besides ``figures/*.png`` and ``figures/*.svg``."""


def _report_file(name: str) -> bool:
    return name in REPORT_FILES or (name.startswith("figures/") and name.count("/") == 1
                                    and name.endswith((".png", ".svg")))


def report_folder(out: str | Path, field: str = "--out"):
    """The :class:`~sim.experiment.outdir.OutputFolder` of a report (replaces only a folder ``sim report`` wrote)."""
    from sim.experiment.outdir import OutputFolder

    legacy = (_report_file, frozenset({"scenarios", "baseline", "reps", "seed", "lang"}))
    return OutputFolder(out, "sim report", "report.json", legacy=legacy, field=field)


def build_report(setup: Setup, out: str | Path, progress: bool = True, appendix: bool = False) -> dict:
    """Write a report into ``out``: executed notebook, HTML, PDF, figures (PNG + SVG), summary CSV; with
    ``appendix``, also the validation appendix (notebook ``06_validation`` run with the report's seed, language
    and replications: ``validation.ipynb``, ``.html``, ``.pdf``).

    The folder is claimed first (refused in one line if it holds anything ``sim report`` did not
    write), built under a temporary name next to ``out`` and renamed into place at the end, so a
    failure leaves no folder that looks like a report. Returns the paths written (name -> Path).
    """
    out = Path(out)

    steps = 5 if appendix else 4

    def step(i: int, text: str) -> None:
        if progress:
            print(f"[{i}/{steps}] {text}", file=sys.stderr, flush=True)

    with report_folder(out) as folder:
        tmp = folder.tmp
        step(1, f"running {REPORT_NOTEBOOK.name} ({len(setup.scenarios)} scenarios x {setup.reps} replications)")
        params = {"scenarios": [str(Path(p).resolve()) for p, _ in setup.scenarios.values()],
                  "baseline": str(Path(setup.scenarios[setup.baseline][0]).resolve()), "reps": setup.reps,
                  "seed": setup.seed, "engine": setup.engine, "lang": setup.lang, "sets": list(setup.sets),
                  "out_dir": str(tmp)}
        nb_path = tmp / "report.ipynb"
        try:
            run_notebook(REPORT_NOTEBOOK, nb_path, params, progress=progress)
        except NotebookFailed:
            if nb_path.exists():
                os.replace(nb_path, out.parent / f"{out.name}.failed.ipynb")
            raise
        step(2, "HTML (no code)")
        export_html(nb_path, tmp / "report.html")
        step(3, "PDF")
        export_pdf(tmp / "report.html", tmp / "report.pdf")
        if appendix:
            step(4, f"appendix: running {VALIDATION_NOTEBOOK.name} (limit, docking, directions, recovery, fit to "
                    "the public evidence)")
            engine = setup.engine if setup.engine in ("fast", "mesa") else "fast"
            run_notebook(VALIDATION_NOTEBOOK, tmp / "validation.ipynb",
                         {"reps": setup.reps, "seed": setup.seed, "lang": setup.lang, "engine": engine},
                         progress=progress)
            export_html(tmp / "validation.ipynb", tmp / "validation.html")
            export_pdf(tmp / "validation.html", tmp / "validation.pdf")
        step(steps, f"moving into {out}")
        folder.manifest = {"scenarios": setup.names, "baseline": setup.baseline, "reps": setup.reps,
                           "seed": setup.seed, "lang": setup.lang, "sets": setup.sets,
                           "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    return {str(p.relative_to(folder.out)): p for p in sorted(folder.out.rglob("*")) if p.is_file()}
