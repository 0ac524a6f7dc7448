"""Every generated file, rewritten from the code: ``python -m sim.present.generated`` (or ``make generated``).

* ``scenarios/ablations/no_NAME.yaml`` and ``scenarios/batches/ablations.yaml``, from the mechanism
  registry (:func:`sim.model.mechanisms.write_ablations`);
* the clause table of ``README.md`` (:func:`sim.model.mechanisms.clause_table`) and the registry table of
  ``docs/ODD.md`` §4 (:func:`sim.model.mechanisms.mechanisms_table`), replaced in place;
* ``docs/PARAMETERS.md``, from the schema (:func:`sim.present.paramdoc.parameters_markdown`).

The tests that keep these files in step name this command.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sim.model import mechanisms as M
from sim.present.paramdoc import parameters_markdown

__all__ = ["replace_table", "write_all"]


def replace_table(text: str, table: str) -> str:
    """``text`` with the Markdown table that starts with ``table``'s header row replaced by ``table``."""
    header = table.splitlines()[0]
    start = text.index(header)
    end = start
    lines = text[start:].splitlines(keepends=True)
    for line in lines:
        if not line.startswith("|"):
            break
        end += len(line)
    return text[:start] + table + text[end:]


def write_all(root: Path) -> list[Path]:
    """Rewrite every generated file under the project folder ``root``; returns the paths written."""
    out = M.write_ablations(root / "scenarios")
    for path, table in ((root / "README.md", M.clause_table()), (root / "docs" / "ODD.md", M.mechanisms_table())):
        path.write_text(replace_table(path.read_text(encoding="utf-8"), table), encoding="utf-8")
        out.append(path)
    path = root / "docs" / "PARAMETERS.md"
    path.write_text(parameters_markdown(), encoding="utf-8")
    return out + [path]


if __name__ == "__main__":  # pragma: no cover
    ROOT = Path(__file__).resolve().parents[2]
    for p in write_all(ROOT):
        print(p.relative_to(ROOT), file=sys.stderr)
