"""Meeting reports: parameters checked up front, both languages end to end, failures leave no report."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pandas as pd
import pytest
from pypdf import PdfReader

from sim.errors import InputError
from sim.present import report
from sim.present.report import NotebookFailed, build_report, prepare

from .conftest import ROOT

BASE = str(ROOT / "scenarios" / "baseline.yaml")
PLAN = str(ROOT / "scenarios" / "shahe_plan.yaml")
SMALL = ["--merchants", "300", "--months", "24", "--reps", "3", "--engine", "fast",
         "--set", "population.burn_in_months=12"]

HEADINGS = {
    "zh": ("商务领域信用监管政策模拟报告", "摘要", "2022年工作目标指标", "与基准情景的差异", "主要指标随时间变化",
           "2022年目标指标随时间变化", "分行业消费者损害随时间变化", "合规与监管成本的权衡", "指标汇总表",
           "数据来源与可复现信息", "红名单占比", "实施方案前", "全过程信用监管覆盖率", "诚信意识", "效应从何而来",
           "分级分类抽查", "名单与激励"),
    "en": ("Credit-based commercial supervision", "Summary", "Indicators of the 2022 targets",
           "Differences from the baseline", "Main indicators over time", "Indicators of the 2022 targets over time",
           "Consumer harm by sector over time", "Compliance against inspection effort", "Summary table",
           "Provenance", "Red list share", "Before the plan", "full-process credit supervision",
           "Integrity awareness", "Where the effect comes from", "Targeting them", "Lists and incentives"),
}


def _sim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module", params=["zh", "en"])
def built(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"report_{request.param}") / "r"
    proc = _sim("report", "--scenarios", BASE, PLAN, *SMALL, "--lang", request.param, "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return request.param, out, proc


def test_report_writes_every_part(built):
    lang, out, proc = built
    for name in ("report.pdf", "report.html", "report.ipynb", "summary.csv", "report.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    for fig in ("differences", "decomposition", "timeseries", "targets_time", "harm_by_sector", "breakdowns",
                "tradeoff"):
        assert (out / "figures" / f"{fig}.png").stat().st_size > 10_000
        assert (out / "figures" / f"{fig}.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    csv = pd.read_csv(out / "summary.csv")
    assert set(csv["scenario"]) == {"baseline", "shahe_plan"} and len(csv) == 2 * len(report.REPORT_METRICS)
    assert csv[csv["scenario"] == "baseline"]["diff"].isna().all()
    # where the plan's effect comes from: four components that add up to the total, and the first year's
    dec = pd.read_csv(out / "decomposition.csv").set_index("component")
    parts = dec.loc[["volume", "targeting", "lists_incentives", "other"], "diff_pp"]
    assert parts.sum() == pytest.approx(dec.loc["total", "diff_pp"], abs=1e-9)
    assert "total_first_year" in dec.index
    assert "[1/4]" in proc.stderr and "[3/4] PDF" in proc.stderr
    assert not list(out.parent.glob(".r.tmp-*"))


def test_pdf_text_has_the_headings_and_embeds_the_font(built):
    lang, out, _ = built
    reader = PdfReader(out / "report.pdf")
    text = "".join(p.extract_text() for p in reader.pages)
    flat = re.sub(r"\s+", "", text)  # lines wrap anywhere in the PDF: compare without whitespace
    for heading in HEADINGS[lang]:
        assert re.sub(r"\s+", "", heading) in flat, heading
    fonts = set()
    for page in reader.pages:
        for f in page["/Resources"]["/Font"].values():
            f = f.get_object()
            descendant = f.get("/DescendantFonts")
            desc = (descendant[0].get_object() if descendant else f).get("/FontDescriptor")
            if desc is not None and any(k in desc.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                fonts.add(str(f["/BaseFont"]))
    if lang == "zh":
        assert any("WenQuanYi" in f for f in fonts), fonts  # the CJK font is embedded (subset)


def test_notebook_and_html_hold_no_warning_traceback_or_code(built):
    lang, out, _ = built
    nb = nbformat.read(out / "report.ipynb", as_version=4)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o.output_type != "error", o
            assert not (o.output_type == "stream" and o.name == "stderr"), o.text  # incl. missing-glyph warnings
    page = (out / "report.html").read_text(encoding="utf-8")
    for bad in ("Traceback", "Warning", "warnings.warn", "missing from font", "report.prepare(", "import "):
        assert bad not in page, bad
    assert not re.search(r"""(src|href)=["']https?:""", page)  # self-contained
    assert page.count("data:image/png;base64") == 7  # one per figure (decomposition included), inline


def test_summary_sentences_follow_the_numbers(built):
    lang, out, _ = built
    csv = pd.read_csv(out / "summary.csv").set_index(["scenario", "metric"])
    row = csv.loc[("shahe_plan", "compliance_rate")]
    page = (out / "report.html").read_text(encoding="utf-8")
    summary = page[page.index('<ul class="summary">'):page.index("</ul>", page.index('<ul class="summary">'))]
    label = "合规率" if lang == "zh" else "Compliance rate"
    sentence = next(s for s in summary.split("<li>") if "shahe_plan" in s and label in s)
    if row["diff_lo"] > 0:
        assert ("升至" if lang == "zh" else "higher") in sentence
        assert f"{100 * row['diff']:.1f}" in sentence
    elif row["diff_hi"] < 0:
        assert ("降至" if lang == "zh" else "lower") in sentence
    else:
        assert ("无法区分" if lang == "zh" else "cannot be told apart") in sentence


@pytest.mark.parametrize("args, field", [
    (["--scenarios", BASE, "--lang", "fr"], "lang: fr"),
    (["--scenarios", BASE, "no_such.yaml"], "scenarios: no_such.yaml"),
    (["--scenarios", BASE, "--reps", "1"], "--reps"),
    (["--scenarios", BASE, "--engine", "warp"], "engine: warp"),
    (["--scenarios", BASE, "--set", "policy.tiers.A=500"], "policy.tiers.A: 500"),
    (["--scenarios", BASE, "--set", "policy.nope=1"], "policy.nope"),
    (["--scenarios", BASE, BASE], "twice"),
    (["--scenarios", BASE, "--merchants", "-5"], "merchants"),
])
def test_bad_report_parameters_give_one_line_and_exit_2(args, field, tmp_path, capsys):
    from sim.cli import main

    out = tmp_path / "r"
    code = main(["report", *args, "--out", str(out)])  # in-process: the same code path, without a new interpreter
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) <= 2 and any(field in line for line in lines), err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_prepare_names_each_bad_parameter():
    with pytest.raises(InputError) as err:
        prepare([BASE], reps=0, seed=-1, engine="x", lang="de", sets="policy.tiers.A=1", months=-1)
    fields = [p.path for p in err.value.problems]
    assert fields == ["reps", "seed", "months", "engine", "lang"] or set(fields) >= {"reps", "seed", "engine", "lang"}
    s = prepare([PLAN, BASE], baseline=BASE, reps=2, merchants=500)
    assert s.names == ["baseline", "shahe_plan"] and s.baseline == "baseline"
    assert all(scn.population.merchants == 500 for _, scn in s.scenarios.values())


def test_a_failing_cell_is_named_and_leaves_no_report(tmp_path, monkeypatch):
    bad = nbformat.v4.new_notebook()
    bad.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("scenarios = []\nbaseline = ''\nreps = 2\nseed = 0\nengine = 'auto'\n"
                                       "lang = 'en'\nsets = []\nout_dir = ''")
    params.metadata["tags"] = ["parameters"]
    bad.cells = [params, nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")]
    path = tmp_path / "bad.ipynb"
    nbformat.write(bad, path)
    monkeypatch.setattr(report, "REPORT_NOTEBOOK", path)
    out = tmp_path / "out" / "r"
    with pytest.raises(NotebookFailed) as err:
        build_report(prepare([BASE], reps=2), out, progress=False)
    assert err.value.ename == "ZeroDivisionError" and err.value.cell is not None
    assert "ZeroDivisionError" in str(err.value)
    assert not out.exists()
    assert (out.parent / "r.failed.ipynb").is_file()  # kept for inspection, not named as a report
    assert [p.name for p in out.parent.iterdir()] == ["r.failed.ipynb"]


def test_report_json_records_what_was_asked(built):
    lang, out, _ = built
    meta = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert meta["scenarios"] == ["baseline", "shahe_plan"] and meta["lang"] == lang and meta["reps"] == 3
