"""The parameter reference (docs/PARAMETERS.md), generated from the scenario schema.

``python -m sim.present.paramdoc > docs/PARAMETERS.md`` rewrites it; a test keeps it in step.
"""

from __future__ import annotations

from sim.model.schema import TEXT_FIELDS, parameter_table

__all__ = ["parameters_markdown"]


def parameters_markdown() -> str:
    """Markdown table of every scenario parameter: path, role, default, unit, allowed range, meaning."""
    lines = [
        "# Scenario parameters",
        "",
        "Generated from `sim/model/schema.py` by `python -m sim.present.paramdoc` (do not edit by hand).",
        "Role: `lever`, what the bureau sets (`policy.*`); `uncertainty`, how merchants respond",
        "(`behaviour.*`); `population`, who is supervised (`population.*`). Analyses and the EMA Workbench",
        "adapter (`sim.experiment.interface`) read the roles. Ranges are inclusive.",
        "",
        "| path | role | default | unit | range | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for r in parameter_table():
        if r["path"] in TEXT_FIELDS:
            continue
        if r["unit"] == "switch":
            rng = "true / false"
        elif r["unit"] == "sector":
            rng = "a sector name"
        else:
            rng = f"{r['lo']:g} – {r['hi']:g}"
        d = r["default"]
        default = ("—" if d is None else str(d).lower() if isinstance(d, bool)
                   else d if isinstance(d, str) else f"{d:g}")
        lines.append(f"| `{r['path']}` | {r['role']} | {default} | {r['unit']} | {rng} | {r['meaning']} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(parameters_markdown(), end="")
