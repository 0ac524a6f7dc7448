"""The package is layered: lower layers never import higher ones.

``sim.errors`` (the one exceptions module) < ``sim.model`` < ``sim.experiment`` < ``sim.present`` <
``sim.cli``. Every import in every module counts, also one inside a function: a lazy import is still a
dependency. An AST check of our own, so it needs no tool and names the offending line.
"""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parent.parent / "sim"

LAYERS = ("sim.errors", "sim.model", "sim.experiment", "sim.present", "sim.cli")
"""Lowest first."""


def layer(module: str) -> int | None:
    """Index in :data:`LAYERS` of a ``sim`` module (None for the package root and ``__main__``)."""
    for i, name in enumerate(LAYERS):
        if module == name or module.startswith(name + "."):
            return i
    return None


def module_name(path: Path, root: Path = SIM) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path, root: Path = SIM) -> list[tuple[int, str]]:
    """(line, absolute module) of every ``sim`` import in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "sim"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] != "sim":
                continue
            if mod == "sim":  # from sim import model: the submodules themselves
                out += [(node.lineno, f"sim.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, mod))
    return out


def violations(root: Path = SIM) -> list[str]:
    """Every import of a higher layer, as ``file:line (layer) imports module (layer)``."""
    bad = []
    for path in sorted(root.rglob("*.py")):
        me = layer(module_name(path, root))
        if me is None:
            continue
        for line, mod in imports(path, root):
            other = layer(mod)
            if other is not None and other > me:
                bad.append(f"{path.relative_to(root.parent)}:{line} ({LAYERS[me]}) imports {mod} ({LAYERS[other]})")
    return bad


def test_lower_layers_never_import_higher_ones():
    bad = violations()
    assert not bad, "\n".join(bad)


def test_every_module_belongs_to_a_layer():
    """A new module at the top of sim/ must be placed in a layer (or be the package root or __main__)."""
    loose = [module_name(p) for p in SIM.rglob("*.py")
             if layer(module_name(p)) is None and module_name(p) not in ("sim", "sim.__main__")]
    assert not loose, loose


def test_the_check_sees_a_violation(tmp_path):
    """The check itself: a model module importing the experiment layer, lazily, and the present layer
    relatively, is reported twice; the reverse direction is allowed."""
    pkg = tmp_path / "sim"
    (pkg / "model").mkdir(parents=True)
    (pkg / "present").mkdir()
    (pkg / "model" / "bad.py").write_text(
        "def f():\n    from sim.experiment import runner\n    from ..present import x\n")
    (pkg / "present" / "fine.py").write_text("from sim.model import bad\nfrom sim import errors\n")
    found = violations(pkg)
    assert len(found) == 2 and "imports sim.experiment" in found[0] and "sim.present" in found[1]
