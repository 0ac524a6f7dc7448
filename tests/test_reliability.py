"""Reliability and security (issue 12): every class of bad input is one line and exit 2 with nothing written;
names never become paths, notebook parameters never become code, folders sim did not write are never replaced,
stores never mix scenario versions or writers, and damaged files are noticed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
import yaml

from sim.cli import main

from .conftest import ROOT

SCN = ROOT / "scenarios"
TINY = ["--set", "population.merchants=60", "--set", "population.months=3", "--reps", "1", "--quiet"]


def _one_line(capsys, code, *named):
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1, lines
    assert "Traceback" not in err
    for n in named:
        assert n in lines[0], (n, lines[0])
    return lines[0]


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _scenario(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


# --- 1, 14: names are slugs ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["/some/folder", "", "..", ".", "../../escaped", "a/b", "$x^2$", "-flag", ".hidden",
                                  "a b", "x" * 65, "tab\there"])
def test_a_name_that_is_not_a_slug_is_refused_before_anything_is_written(tmp_path, monkeypatch, capsys, name):
    monkeypatch.chdir(tmp_path)
    victim = tmp_path / "some" / "folder"
    victim.mkdir(parents=True)
    (victim / "keep.txt").write_text("mine")
    scn = _scenario(tmp_path, yaml.safe_dump({"extends": str(SCN / "baseline.yaml"), "name": name}))
    before = _tree(tmp_path)
    _one_line(capsys, main(["run", str(scn), *TINY]), "name", "letters, digits")
    assert _tree(tmp_path) == before
    # the same through --set
    _one_line(capsys, main(["run", str(SCN / "baseline.yaml"), "--set", f"name={json.dumps(name)}", *TINY]), "name")
    assert _tree(tmp_path) == before


def test_a_chinese_name_is_a_slug_and_its_default_folder_is_under_reports(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    scn = _scenario(tmp_path, yaml.safe_dump({"extends": str(SCN / "baseline.yaml"), "name": "沙河_方案-2"},
                                             allow_unicode=True))
    assert main(["run", str(scn), *TINY]) == 0
    assert (tmp_path / "reports" / "runs" / "沙河_方案-2" / "summary.json").is_file()


@pytest.mark.parametrize("bad", ["../../escaped", "..", "a.b"])
def test_batch_and_batch_scenario_names_are_slugs(tmp_path, capsys, bad):
    scn = _scenario(tmp_path, yaml.safe_dump({"extends": str(SCN / "baseline.yaml"), "name": bad}))
    batch = _scenario(tmp_path, yaml.safe_dump({"name": "ok", "scenarios": [str(scn)], "replications": 1}), "b.yaml")
    _one_line(capsys, main(["batch", str(batch), "--out", str(tmp_path / "st"), "--quiet"]), "name")
    batch.write_text(yaml.safe_dump({"name": bad, "scenarios": [str(SCN / "baseline.yaml")]}))
    _one_line(capsys, main(["batch", str(batch), "--quiet"]), "name")
    assert not (tmp_path / "st").exists() and not (tmp_path.parent / "escaped").exists()


# --- 2: notebook parameters never become code ----------------------------------------------------------------------

def _payload(canary: Path) -> str:
    import base64

    code = f'", __import__("os").system("touch {canary}"), "'
    return "!!binary " + base64.b64encode(code.encode()).decode()


def test_yaml_tagged_notebook_parameters_are_refused_and_run_nothing(tmp_path, capsys):
    canary = tmp_path / "CANARY"
    for name, value in (("reps", _payload(canary)), ("sets", f"[{_payload(canary)}]"), ("seed", "2024-01-01"),
                        ("sets", "!!set {a, b}"), ("merchants", "1e999"), ("reps", "[1, [2]]")):
        code = main(["notebook", "02_run_scenario", "-p", name, value, "--quiet", "--out", str(tmp_path / "o.ipynb")])
        _one_line(capsys, code, name)
    assert not canary.exists() and not list(tmp_path.iterdir())


def test_text_parameters_reach_the_notebook_exactly_as_given(tmp_path):
    from papermill.translators import PythonTranslator

    from sim.present.report import notebook_parameters, resolve_notebook

    nb = resolve_notebook("03_compare_scenarios")
    tricky = ['a"b\\c', "x'); import os #", "line\nbreak", "\\u0041", "中文 ok", '"""']
    assert notebook_parameters(nb, [("engine", "\udcff")])["engine"] == "\udcff"  # undecodable argv bytes
    for text in tricky:
        got = notebook_parameters(nb, [("engine", text), ("sets", json.dumps([text]))])
        assert got["engine"] == text and got["sets"] == [text]
        import ast
        assert ast.literal_eval(PythonTranslator.translate(got["engine"])) == text


def test_relative_path_parameters_are_read_from_the_working_folder(tmp_path, monkeypatch):
    from sim.present.report import notebook_parameters, resolve_notebook

    monkeypatch.chdir(tmp_path)
    got = notebook_parameters(resolve_notebook("03_compare_scenarios"),
                              [("scenarios", "[a.yaml, sub/b.yaml]"), ("baseline", "name_in_store"),
                               ("store", "st")])
    assert got["scenarios"] == [str(tmp_path / "a.yaml"), str(tmp_path / "sub" / "b.yaml")]
    assert got["baseline"] == "name_in_store" and got["store"] == str(tmp_path / "st")


@pytest.mark.parametrize("name", ["/etc/passwd", "../README", "README.md", "02_run_scenario.py", "x/../01_explore"])
def test_a_notebook_name_is_a_shipped_notebook_or_an_ipynb_file(tmp_path, capsys, name):
    _one_line(capsys, main(["notebook", name, "--quiet"]), "name")


def test_a_file_that_is_not_a_notebook_is_refused(tmp_path, capsys):
    fake = _scenario(tmp_path, "{not json", "fake.ipynb")
    _one_line(capsys, main(["notebook", str(fake), "--quiet"]), "name", "valid Jupyter notebook")


@pytest.mark.parametrize("out", ["DIR", "x.txt", "FILE/x.ipynb"])
def test_notebook_out_is_checked_before_the_notebook_runs(tmp_path, capsys, out):
    (tmp_path / "FILE").write_text("x")
    target = str(tmp_path) if out == "DIR" else str(tmp_path / out)
    t0 = time.perf_counter()
    _one_line(capsys, main(["notebook", "02_run_scenario", "--quiet", "--out", target]), "--out")
    assert time.perf_counter() - t0 < 30  # refused before a kernel starts (a kernel run takes longer)
    assert _tree(tmp_path) == {"FILE"}


def test_the_kernel_process_log_never_reaches_our_stderr(tmp_path):
    """ipykernel logs to its process's stderr (e.g. 'KeyboardInterrupt caught in kernel' when it is interrupted
    while shutting down); a notebook that logs through the kernel app's logger shows that nothing of it reaches
    the stderr of `sim notebook`."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("from ipykernel.kernelapp import IPKernelApp\n"
                                          "IPKernelApp.instance().log.error('KERNEL-NOISE')\n"
                                          "import os; os.write(2, b'FD2-NOISE\\n')")]
    path = tmp_path / "noisy.ipynb"
    nbformat.write(nb, path)
    proc = subprocess.run([sys.executable, "-m", "sim", "notebook", str(path), "--quiet", "--out",
                           str(tmp_path / "out.ipynb")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "KERNEL-NOISE" not in proc.stderr and "FD2-NOISE" not in proc.stderr
    assert proc.stderr.strip() == ""


# --- 3, 12, 14: output folders -------------------------------------------------------------------------------------

def test_out_never_replaces_a_folder_sim_did_not_write(tmp_path, capsys):
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "chapter1.docx").write_text("years of work")
    _one_line(capsys, main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(user)]), "--out")
    assert (user / "chapter1.docx").read_text() == "years of work"
    # a folder sim run wrote is replaced; once the user has added a file to it, it is not
    ours = tmp_path / "ours"
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(ours)]) == 0
    first = json.loads((ours / "manifest.json").read_text())
    assert first["written_by"] == "sim run" and "summary.json" in first["files"]
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--seed", "3", "--out", str(ours)]) == 0
    assert json.loads((ours / "manifest.json").read_text())["seed"] == 3
    (ours / "notes.txt").write_text("mine")
    _one_line(capsys, main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(ours)]), "notes.txt")
    assert (ours / "notes.txt").read_text() == "mine"
    # a report's --out is refused the same way, before any notebook runs
    code = main(["report", "--scenarios", str(SCN / "baseline.yaml"), str(SCN / "shahe_plan.yaml"), "--reps", "2",
                 "--quiet", "--out", str(user)])
    _one_line(capsys, code, "--out", "sim report")
    assert sorted(p.name for p in user.iterdir()) == ["chapter1.docx"]


def test_a_run_folder_of_the_version_before_is_still_replaced(tmp_path, capsys):
    old = tmp_path / "old"
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(old)]) == 0
    doc = json.loads((old / "manifest.json").read_text())
    for k in ("written_by", "files"):
        doc.pop(k)
    (old / "manifest.json").write_text(json.dumps(doc))
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--seed", "4", "--out", str(old)]) == 0


@pytest.mark.parametrize("out", [".", "/", "..", "FILE/x", "/proc/forbidden/x", "LINK"])
def test_out_that_cannot_be_a_result_folder_is_refused_before_the_run(tmp_path, monkeypatch, capsys, out):
    work = tmp_path / "work"
    work.mkdir()
    (work / "FILE").write_text("x")
    (work / "target").mkdir()
    (work / "LINK").symlink_to(work / "target")
    monkeypatch.chdir(work)
    before = _tree(tmp_path)
    t0 = time.perf_counter()
    # 20,000 merchants x 60 months would take many seconds: the refusal comes before it
    code = main(["run", str(SCN / "baseline.yaml"), "--set", "population.merchants=20000", "--reps", "3", "--quiet",
                 "--out", out])
    _one_line(capsys, code, "--out")
    assert time.perf_counter() - t0 < 5
    assert _tree(tmp_path) == before
    assert not list(Path("/").glob(".*.old-*")) and not list(Path("/").glob(".*.tmp-*"))


def test_folders_follow_the_umask_and_a_killed_runs_leftovers_are_cleaned(tmp_path):
    out = tmp_path / "r"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    stale = tmp_path / f".r.tmp-{dead.pid}-abc"
    stale.mkdir()
    (stale / ".sim-partial").write_text(f"{dead.pid}\n")
    (stale / "summary.json").write_text("half")
    alien = tmp_path / f".r.tmp-{dead.pid}-xyz"  # the same pattern, but not ours: kept
    alien.mkdir()
    old = os.umask(0o027)
    try:
        assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(out)]) == 0
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == 0o750
    assert not stale.exists() and alien.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [alien.name, "r"]


# --- 4, 5, 8: stores -----------------------------------------------------------------------------------------------

def _store_batch(tmp_path: Path) -> tuple[Path, Path]:
    scn = tmp_path / "scn.yaml"
    scn.write_text(yaml.safe_dump({"extends": str(SCN / "baseline.yaml"), "name": "scn"}))
    batch = tmp_path / "b.yaml"
    batch.write_text(yaml.safe_dump({"name": "b", "scenarios": ["scn.yaml", str(SCN / "shahe_plan.yaml")],
                                     "replications": 2, "engine": "fast",
                                     "set": ["population.merchants=200", "population.months=6"]}))
    return scn, batch


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    d = tmp_path_factory.mktemp("store")
    scn, batch = _store_batch(d)
    assert main(["batch", str(batch), "--workers", "1", "--out", str(d / "st"), "--quiet"]) == 0
    return d, scn, batch, d / "st"


def _copy(store, tmp_path):
    import shutil

    d, scn, batch, st = store
    for f in (scn, batch):
        shutil.copy(f, tmp_path / f.name)
    shutil.copytree(st, tmp_path / "st")
    return tmp_path / scn.name, tmp_path / batch.name, tmp_path / "st"


def test_a_store_refuses_runs_of_an_edited_scenario(store, tmp_path, capsys):
    scn, batch, st = _copy(store, tmp_path)
    before = {p: p.read_bytes() for p in st.rglob("*") if p.is_file()}
    scn.write_text(scn.read_text() + "policy: {inspection: {capacity_per_month: 7}}\n")
    line = _one_line(capsys, main(["batch", str(batch), "--workers", "1", "--out", str(st), "--quiet"]), "scn")
    assert "changed" in line
    assert {p: p.read_bytes() for p in st.rglob("*") if p.is_file()} == before


def test_a_second_batch_on_a_store_in_use_is_refused(store, tmp_path, capsys):
    from sim.experiment.results import Store

    _, batch, st = _copy(store, tmp_path)
    with Store(st).locked():
        line = _one_line(capsys, main(["batch", str(batch), "--workers", "1", "--out", str(st), "--quiet"]),
                         "--out", "no other 'sim batch'")
        assert str(os.getpid()) in line
    assert main(["batch", str(batch), "--workers", "1", "--out", str(st), "--quiet"]) == 0  # released


def test_concurrent_writers_of_one_file_never_collide(tmp_path):
    """The stress test of the issue (about 1 write in 6 failed with one shared temporary name)."""
    from sim.experiment.results import _atomic_bytes

    target = tmp_path / "x.parquet"
    errors = []

    def writer(k):
        for i in range(200):
            try:
                _atomic_bytes(target, f"{k}-{i}".encode())
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert target.read_bytes().decode().split("-")[1] == "199"  # whole: one writer's last write
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]


def test_a_damaged_run_file_is_named_then_recomputed(store, tmp_path, capsys):
    _, batch, st = _copy(store, tmp_path)
    victim = sorted((st / "runs").glob("part-*.parquet"))[1]  # one run per part in this small store
    victim.write_bytes(victim.read_bytes()[:40])  # truncated
    _one_line(capsys, main(["compare", str(st), "--baseline", "scn"]), victim.name, "rerun 'sim batch'")
    assert main(["batch", str(batch), "--workers", "1", "--out", str(st), "--quiet"]) == 0
    cap = capsys.readouterr()
    assert "did not read back" in cap.err and "1 ok, 0 failed, 3 already in the store" in cap.out
    assert main(["compare", str(st), "--baseline", "scn"]) == 0


@pytest.mark.parametrize("content", ["{broken", "[1, 2]", "\x00\xff"])
def test_a_broken_manifest_is_one_line(store, tmp_path, capsys, content):
    _, batch, st = _copy(store, tmp_path)
    (st / "manifest.json").write_text(content, encoding="latin-1")
    _one_line(capsys, main(["batch", str(batch), "--out", str(st), "--quiet"]), "--out")
    _one_line(capsys, main(["compare", str(st), "--baseline", "scn"]), "STORE")


def test_compare_names_the_right_field(store, tmp_path, capsys):
    _, _, st = _copy(store, tmp_path)
    run = tmp_path / "run"
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(run)]) == 0
    capsys.readouterr()
    _one_line(capsys, main(["compare", str(run), "--baseline", "x"]), "STORE", "sim batch", "sim run")
    _one_line(capsys, main(["compare", str(st), "--baseline", "scn", "--metrics", "status"]), "--metrics: status")
    _one_line(capsys, main(["compare", str(st), "--baseline", "scn", "--sample", "99"]), "--sample: 99")
    _one_line(capsys, main(["compare", str(st), "--baseline", "scn", "--csv", str(tmp_path)]), "--csv")
    _one_line(capsys, main(["compare", str(st), "--baseline", "scn", "--csv", str(tmp_path / "no" / "x.csv")]),
              "--csv")
    empty = tmp_path / "empty"
    (empty / "runs").mkdir(parents=True)
    import shutil
    shutil.copy(st / "manifest.json", empty / "manifest.json")
    _one_line(capsys, main(["compare", str(empty), "--baseline", "scn"]), "STORE", "no")


# --- 6, 10: sizes and types ----------------------------------------------------------------------------------------

def _bomb(levels: int = 9) -> str:
    text = "a0: &a0 [" + ", ".join(["lol"] * 9) + "]\n"
    for i in range(1, levels):
        text += f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n"
    return text


@pytest.mark.parametrize("text, named", [
    (_bomb(), "100,000 values"),
    ("policy:\n" + "  x: 1\n" * 400_000, "1,048,576 bytes"),
    ("a: " + "[" * 200 + "]" * 200, "nesting"),
    ("a: &x [*x]", "recursive"),
    ("policy: {tiers: {A: 95}}\npolicy: {tiers: {B: 80}}\n", "line 2: policy: each key once"),
    ("", "empty"),
    ("# only a comment\n", "empty"),
    ('"TOPSECRET-CONTENT"', "a str"),
])
def test_scenario_files_are_read_within_limits(tmp_path, capsys, text, named):
    scn = _scenario(tmp_path, text)
    t0 = time.perf_counter()
    line = _one_line(capsys, main(["validate", str(scn)]), str(scn), named)
    assert time.perf_counter() - t0 < 10
    assert "TOPSECRET" not in line and "lol" not in line


def test_limits_apply_to_set_values_and_extends_loops(tmp_path, capsys):
    bomb = "[" + ", ".join(["*a"] * 9) + "]"
    _one_line(capsys, main(["validate", str(SCN / "baseline.yaml"), "--set", f"name=&a {bomb}"]), "--set")
    a = _scenario(tmp_path, "extends: b.yaml\nname: a\n", "a.yaml")
    _scenario(tmp_path, "extends: a.yaml\nname: b\n", "b.yaml")
    _one_line(capsys, main(["validate", str(a)]), "extends", "a.yaml -> b.yaml -> a.yaml")
    _scenario(tmp_path, "extends: /etc/passwd\n", "c.yaml")
    _one_line(capsys, main(["validate", str(tmp_path / "c.yaml")]), "extends", ".yaml or .yml")


def _batch_file(tmp_path: Path, **over) -> Path:
    doc = {"name": "b", "scenarios": [str(SCN / "baseline.yaml")], "replications": 1, "engine": "fast",
           "set": ["population.months=3"]} | over
    return _scenario(tmp_path, yaml.safe_dump(doc), "batch.yaml")


@pytest.mark.parametrize("over, named", [
    ({"sweep": {"method": "grid", "parameters": {f"policy.inspection.sampling_ratio.{t}": {"values": [0.1] * 100}
                                                for t in "ABCD"}}},
     "100,000,000 sample points"),
    ({"sweep": {"method": "lhs", "samples": 1_000_000, "parameters": {"policy.tiers.A": {"min": 80, "max": 95}}}},
     "sweep.samples"),
    ({"sweep": {"method": "sobol", "samples": 8192, "parameters": {f"policy.inspection.sampling_ratio.{t}":
                                                                   {"min": 0, "max": 1} for t in "ABCD"}}},
     "8192 x 6"),
    ({"replications": 100_000, "sweep": {"method": "lhs", "samples": 20,
                                         "parameters": {"policy.tiers.A": {"min": 80, "max": 95}}}},
     "1,000,000 runs"),
    ({"set": ["population.merchants=1000000000", "population.months=60"]}, "population.merchants"),
    ({"sweep": {"method": "grid", "parameters": {"policy.inspection.sampling_ratio.D": {"values": [0.5, "abc"]}}}},
     "sampling_ratio.D.values: abc"),
    ({"sweep": {"method": "grid", "parameters": {"policy.lists.red.enabled": {"values": [True, 3]}}}},
     "red.enabled.values: 3"),
    ({"replications": "3"}, "replications"),
    ({"scenarios": ["/etc/passwd"]}, ".yaml or .yml"),
])
def test_batch_sizes_and_types_are_checked_before_the_batch(tmp_path, capsys, over, named):
    batch = _batch_file(tmp_path, **over)
    t0 = time.perf_counter()
    _one_line(capsys, main(["batch", str(batch), "--out", str(tmp_path / "st"), "--quiet"]), named)
    assert time.perf_counter() - t0 < 20
    assert not (tmp_path / "st").exists()


def test_a_scenario_file_is_quoted_by_path_never_by_content(tmp_path, capsys):
    secret = _scenario(tmp_path, "password: hunter2-TOPSECRET\n", "secret.yaml")
    batch = _batch_file(tmp_path, scenarios=[str(secret)])
    line = _one_line(capsys, main(["batch", str(batch), "--quiet"]), "password")
    assert "hunter2" not in line


# --- 7: schedulers -------------------------------------------------------------------------------------------------

def _server(kind: str) -> tuple[int, socket.socket]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    held = []

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)
            if kind == "banner":
                conn.sendall(b"SSH-2.0-OpenSSH_9.2p1\r\n" + b"\xff" * 64)

    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1], srv


@pytest.mark.parametrize("address, named", [
    ("garbage", "tcp://HOST:PORT"), ("http://127.0.0.1:80", "tcp://HOST:PORT"), ("inproc://x", "tcp://HOST:PORT"),
    ("tcp://127.0.0.1:99999", "tcp://HOST:PORT"), ("BANNER", "announced a first message"), ("SILENT", "no Dask answer"),
])
def test_a_scheduler_address_that_is_not_a_dask_scheduler(tmp_path, capsys, address, named):
    srv = None
    if address in ("BANNER", "SILENT"):
        port, srv = _server(address.lower())
        address = f"127.0.0.1:{port}"
    try:
        t0 = time.perf_counter()
        code = main(["batch", str(_batch_file(tmp_path)), "--scheduler", address, "--out", str(tmp_path / "st"),
                     "--quiet"])
        _one_line(capsys, code, "--scheduler", named)
        assert time.perf_counter() - t0 < 30
    finally:
        if srv is not None:
            srv.close()
    assert not (tmp_path / "st").exists()


# --- 11, 12: sim summary -------------------------------------------------------------------------------------------

def test_summary_of_two_runs_of_one_scenario_shows_both(tmp_path, capsys):
    a, b = tmp_path / "low", tmp_path / "high"
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(a)]) == 0
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--set", "policy.inspection.sampling_ratio.A=0.9",
                 "--out", str(b)]) == 0
    capsys.readouterr()
    assert main(["summary", str(a), str(b)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert f"baseline ({a})" in header and f"baseline ({b})" in header


@pytest.mark.parametrize("content", [b"{broken", b"[1, 2]", b"42", b"\x00\xff\xfe", b'{"compliance_rate": 3}',
                                     b"{}", b'{"nope": {"mean": 1, "lo": 0, "hi": 2}}'])
def test_summary_of_a_broken_summary_json_is_one_line(tmp_path, capsys, content):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_bytes(content)
    _one_line(capsys, main(["summary", str(run)]), "summary.json")


def test_a_full_disk_while_writing_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    """The write fails as on a full disk (ENOSPC from the first file written)."""
    import errno

    real = Path.write_text

    def full(self, *a, **k):
        if self.name == "summary.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full)
    _one_line(capsys, main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(tmp_path / "r")]),
              "--out", "No space left")
    assert list(tmp_path.iterdir()) == []


# --- after review: the second round of attacks -----------------------------------------------------------------------

def test_a_planted_lock_link_or_user_lock_file_is_refused(tmp_path, capsys):
    victim = tmp_path / "victim.txt"
    victim.write_text("DATA")
    batch = _batch_file(tmp_path)
    linked = tmp_path / "st_link"
    linked.mkdir()
    (linked / ".lock").symlink_to(victim)
    _one_line(capsys, main(["batch", str(batch), "--out", str(linked), "--quiet"]), "--out", "symbolic")
    assert victim.read_text() == "DATA"
    notes = tmp_path / "st_notes"
    notes.mkdir()
    (notes / ".lock").write_text("my notes")
    _one_line(capsys, main(["batch", str(batch), "--out", str(notes), "--quiet"]), "--out", "empty or new")
    assert (notes / ".lock").read_text() == "my notes"


def test_stale_cleanup_reads_the_name_literally_and_spares_live_processes(tmp_path):
    live = tmp_path / f".a.tmp-{os.getpid()}-x"  # a run in progress (this process)
    live.mkdir()
    (live / ".sim-partial").write_text(f"{os.getpid()}\n")
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(tmp_path / "*a")]) == 0
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(tmp_path / "a")]) == 0
    assert live.is_dir()  # neither the glob-like name nor the same name removed a live process's folder
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(tmp_path / "x**")]) == 0


def test_a_user_folder_that_looks_like_an_old_run_is_kept_and_an_empty_one_keeps_its_mode(tmp_path, capsys):
    app = tmp_path / "app"
    app.mkdir()
    (app / "manifest.json").write_text('{"name": "app"}')
    (app / "summary.json").write_text("mine")
    _one_line(capsys, main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(app)]), "--out")
    assert (app / "summary.json").read_text() == "mine"
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    inode = private.stat().st_ino
    assert main(["run", str(SCN / "baseline.yaml"), *TINY, "--out", str(private)]) == 0
    assert private.stat().st_ino == inode and private.stat().st_mode & 0o777 == 0o700
    assert (private / "summary.json").is_file()


@pytest.mark.parametrize("argv, named", [
    (["run", "SCN", "--set", "population.merchants=0x" + "f" * 4000], "a YAML value"),
    (["validate", "SCN", "--set", "population.months=" + "1:" * 3000 + "1"], "--set"),
    (["run", "SCN", "--out", "LOOP/x"], "--out"),
    (["run", "SCN", "--out", "o\udcff"], "UTF-8"),
    (["validate", "SCN", "--set", "k" * 100_000 + "=1"], "unknown field"),
])
def test_more_bad_values_are_one_short_line(tmp_path, monkeypatch, capsys, argv, named):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "LOOP").symlink_to("LOOP")
    argv = [str(SCN / "baseline.yaml") if a == "SCN" else a for a in argv]
    line = _one_line(capsys, main(argv + (TINY if argv[0] == "run" else [])), named)
    assert len(line) < 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LOOP"]


def test_a_huge_or_sexagesimal_file_is_refused_without_reading_it_all(tmp_path, capsys):
    huge = tmp_path / "huge.yaml"
    with open(huge, "wb") as f:
        f.truncate(3 << 30)  # sparse: 3 GiB that read as zeros
    _one_line(capsys, main(["validate", str(huge)]), "at most 1,048,576 bytes")
    sexa = _scenario(tmp_path, "population: {months: " + "1:" * 200_000 + "1}\n")
    t0 = time.perf_counter()
    _one_line(capsys, main(["validate", str(sexa)]), "numbers of at most 100 characters")
    assert time.perf_counter() - t0 < 5


def test_merge_keys_may_be_overridden_and_problem_lists_are_capped(tmp_path, capsys):
    merged = _scenario(tmp_path, "name: m\nbase: &b {merchants: 50, months: 3}\n", "m.yaml")
    merged.write_text("name: m\npopulation:\n  <<: {merchants: 50, months: 3}\n  months: 4\n")
    assert main(["validate", str(merged)]) == 0
    many = _scenario(tmp_path, "".join(f"k{i}: 1\n" for i in range(60)), "many.yaml")
    assert main(["validate", str(many)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 51 and "10 more problems" in err[-1]


def test_batch_limits_on_scenarios_and_a_store_under_a_file(tmp_path, capsys):
    many = _batch_file(tmp_path, scenarios=[str(SCN / "baseline.yaml")] * 300)
    _one_line(capsys, main(["batch", str(many), "--quiet"]), "scenarios")
    (tmp_path / "afile").write_text("x")
    _one_line(capsys, main(["batch", str(_batch_file(tmp_path)), "--out", str(tmp_path / "afile" / "st"), "--quiet"]),
              "--out", "is a file")


def test_a_damaged_time_series_is_caught_by_its_digest(store, tmp_path, capsys):
    _, batch, st = _copy(store, tmp_path)
    victim = sorted((st / "timeseries").glob("*.parquet"))[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 3] ^= 0xFF  # a data page, not the footer
    victim.write_bytes(bytes(data))
    assert main(["batch", str(batch), "--workers", "1", "--out", str(st), "--quiet"]) == 0
    cap = capsys.readouterr()
    assert "did not read back" in cap.err and "1 ok, 0 failed, 3 already in the store" in cap.out


def test_a_nested_json_summary_and_a_long_report_name(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "summary.json").write_text("[" * 100_000 + "]" * 100_000)
    _one_line(capsys, main(["summary", str(run)]), "summary.json")
    from sim.cli import default_report_folder

    long = default_report_folder(["沙" * 64, "河" * 64], "zh")
    assert len(long.encode()) < 200 and long.endswith("-zh")
    assert default_report_folder(["baseline", "shahe_plan"], "en") == "baseline-vs-shahe_plan-en"


def test_notebook_out_never_overwrites_a_file_that_is_not_an_executed_notebook(tmp_path, capsys):
    mine = tmp_path / "mine.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), mine)
    before = mine.read_bytes()
    _one_line(capsys, main(["notebook", "02_run_scenario", "--quiet", "--out", str(mine)]), "--out")
    assert mine.read_bytes() == before


def test_sigterm_during_a_run_leaves_no_temporary_folder(tmp_path):
    import signal

    out = tmp_path / "n1" / "n2" / "r"
    proc = subprocess.Popen([sys.executable, "-m", "sim", "run", str(SCN / "shahe_plan.yaml"), "--reps", "50",
                             "--set", "population.merchants=20000", "--quiet", "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "n1" / "n2").glob(".r.tmp-*")):
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # the temporary folder and the parents it made are gone


def test_a_server_announcing_a_huge_first_message_is_refused_before_any_allocation(tmp_path, capsys):
    import struct

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve():
        try:
            conn, _ = srv.accept()
            conn.sendall(struct.pack("Q", 6 << 30) + b"\0" * 1024)
            time.sleep(10)
        except OSError:
            pass

    threading.Thread(target=serve, daemon=True).start()
    try:
        code = main(["batch", str(_batch_file(tmp_path)), "--scheduler", f"127.0.0.1:{srv.getsockname()[1]}",
                     "--quiet"])
        _one_line(capsys, code, "--scheduler", "6,442,450,944 bytes")
    finally:
        srv.close()


def test_an_in_process_batch_leaves_this_process_environment_alone(tmp_path):
    """The embedded cluster's workers get NUMBA_NUM_THREADS=1 through their own environment; setting it here
    made numba refuse a later thread count in the same process (a test-order-dependent failure)."""
    before = os.environ.get("NUMBA_NUM_THREADS")
    assert main(["batch", str(_batch_file(tmp_path)), "--workers", "1", "--out", str(tmp_path / "st"), "--quiet"]) == 0
    assert os.environ.get("NUMBA_NUM_THREADS") == before
