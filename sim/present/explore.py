"""Interactive exploration of a scenario's levers (the ``01_explore`` notebook).

:class:`Explorer` holds a scenario, the levers a planner moves (sampling ratio and campaigns per
year per tier, inspection capacity, tier cut-offs, list thresholds and duration, incentives and
joint punishment, and the plan's other instruments: switches and their main numbers), and reruns
the scenario when one moves: each lever's range is the scenario schema's, settings that break a
cross-field rule are reported and not run. :meth:`Explorer.ui` builds the ipywidgets; the same
:meth:`Explorer.update` serves tests and scripts.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from sim.errors import InputError
from sim.experiment.statistics import bands, bands_many
from sim.model.mechanisms import instrument_levers
from sim.model.schema import TIERS, parameter_table, validate_dict
from sim.present.figures import COLORS, axis_label, percent_axis
from sim.present.i18n import t
from sim.present.report import Setup, settings_html

__all__ = ["Lever", "LEVERS", "Explorer"]

LEVERS: tuple[tuple[str, str], ...] = tuple(
    [(f"policy.inspection.sampling_ratio.{k}", "checks") for k in TIERS]
    + [(f"policy.inspection.campaigns_per_year.{k}", "checks") for k in TIERS]
    + [("policy.inspection.capacity_per_1000_merchants", "checks")]
    + [(f"policy.tiers.{k}", "tiers") for k in TIERS[:-1]]
    + [("policy.lists.red.min_score", "lists"), ("policy.lists.key_attention.max_score", "lists"),
       ("policy.lists.blacklist.max_score", "lists"), ("policy.lists.blacklist.duration_months", "lists"),
       ("policy.incentives.red_list_monthly_value", "incentives"),
       ("policy.incentives.joint_punishment_multiplier", "incentives")]
    + [(path, "instruments") for path in instrument_levers()])
"""The levers the explorer offers: (parameter path, tab); the instruments' from :mod:`sim.model.mechanisms`."""

TABS = ("checks", "tiers", "lists", "incentives", "instruments")
"""Tabs of the explorer, in order (titles: ``tab.<name>`` in :mod:`sim.present.i18n`)."""


@dataclass(frozen=True)
class Lever:
    """One lever: parameter path, unit, the schema's range [lo, hi] (None for a switch), a step, and its tab."""

    path: str
    unit: str
    lo: float | None
    hi: float | None
    step: float
    whole: bool
    tab: str

    @property
    def switch(self) -> bool:
        """An on/off lever (a checkbox)."""
        return self.unit == "switch"


def _levers() -> list[Lever]:
    table = {r["path"]: r for r in parameter_table()}
    out = []
    for path, tab in LEVERS:
        r = table[path]
        whole = isinstance(r["default"], int) and not isinstance(r["default"], bool)
        if r["unit"] == "switch":
            step = 1
        else:
            step = 1 if whole else (0.01 if r["hi"] <= 1 else 0.5 if r["hi"] <= 100 else 100.0)
        out.append(Lever(path, r["unit"], r["lo"], r["hi"], step, whole, tab))
    return out


def _get(data: dict, path: str):
    for p in path.split("."):
        data = data[p]
    return data


def _put(data: dict, path: str, value) -> None:
    *head, last = path.split(".")
    for p in head:
        data = data[p]
    data[last] = value


class Explorer:
    """Rerun one scenario as its levers move.

    Parameters
    ----------
    setup : Setup
        Checked parameters (:func:`sim.present.report.prepare`) holding one scenario.
    """

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.lang = setup.lang
        self.path, self.scenario = next(iter(setup.scenarios.values()))
        self.data = self.scenario.model_dump(mode="json")
        self.levers = _levers()
        self.original = {lv.path: _get(self.data, lv.path) for lv in self.levers}
        self.values = dict(self.original)
        self._reference = None

    def _run(self, scn) -> pd.DataFrame:
        from sim.experiment.runner import run_scenario

        s = self.setup
        return run_scenario(scn, reps=s.reps, seed=s.seed, engine=s.engine, progress=False).timeseries

    @property
    def reference(self) -> pd.DataFrame:
        """Time series of the scenario as in its file (run once, then kept)."""
        if self._reference is None:
            self._reference = self._run(self.scenario)
        return self._reference

    def scenario_with(self, values: dict):
        """The scenario with ``values`` (path -> value) set; raises :class:`InputError` if they break a rule."""
        data = self.scenario.model_dump(mode="json")
        for path, v in values.items():
            _put(data, path, v)
        return validate_dict(data, "explore")

    def update(self, **changes) -> tuple[pd.DataFrame, float]:
        """Set levers (``path=value``, with dots as ``__``) and rerun: the time series and seconds taken.

        Raises :class:`InputError` (and keeps the previous values) when the settings break a rule.
        """
        values = dict(self.values)
        values.update({k.replace("__", "."): v for k, v in changes.items()})
        scn = self.scenario_with(values)
        t0 = time.perf_counter()
        ts = self._run(scn)
        self.values = values
        return ts, time.perf_counter() - t0

    SINGLE = ("compliance_rate", "inspections", "hit_rate", "burden_on_compliant", "consumer_satisfaction",
              "integrity_awareness", "consumer_harm")
    GROUPS = (("label.list_shares", ("red_list_share", "key_attention_share", "blacklist_share")),
              ("by.tier", tuple(f"tier_share_{k}" for k in TIERS)))

    def _build(self) -> None:
        """Make the figure once: axes, the scenario file's lines (grey, dashed) and empty current lines."""
        lang = self.lang
        fig = Figure(figsize=(14, 9.6))  # not managed by pyplot: redraws never pile up figures
        axes = fig.subplots(3, 3)
        fig.subplots_adjust(left=0.06, right=0.99, top=0.96, bottom=0.06, wspace=0.2, hspace=0.42)
        self._lines: dict[str, tuple] = {}
        ref = self.reference
        for ax, name in zip(axes.flat, self.SINGLE):
            self._add(ax, name, ref, COLORS[1], t("label.current", lang), band=True)
            ax.set_title(axis_label(name, lang))
            percent_axis(ax, name)
        for ax, (title, names) in zip(axes.flat[len(self.SINGLE):], self.GROUPS):
            for i, name in enumerate(names):
                label = name.split("_")[-1] if "tier" in name else t(f"metric.{name}", lang)
                self._add(ax, name, ref, COLORS[(i + 1) % len(COLORS)], label, band=False)
            ax.set_title(t(title, lang))
            ax.legend(fontsize=8, loc="upper left")
            percent_axis(ax, names[0])
        axes.flat[0].legend(loc="lower right")
        for ax in axes.flat:
            ax.set_xlabel(t("label.month", lang))
        self._fig = fig

    def _add(self, ax, name: str, ref: pd.DataFrame, color: str, label: str, band: bool) -> None:
        b = bands(ref, name)
        # numpy arrays, not pandas columns: matplotlib indexes its data at every draw, and a pandas index costs
        # a third of a redraw
        ax.plot(b["month"].to_numpy() + 1, b["mean"].to_numpy(), color="#888888", ls="--", lw=1.2,
                label=t("label.in_file", self.lang) if band else None)
        (line,) = ax.plot([], [], color=color, lw=1.6, label=label)
        self._lines[name] = (ax, line, color, band, [None])

    def figure(self, ts: pd.DataFrame) -> Figure:
        """Nine panels, current settings (colour, 95% band) against the scenario file (grey, dashed).

        Compliance, spot checks, hit rate, checks of compliant merchants, consumer satisfaction,
        integrity awareness, consumer harm, list shares and tier shares. The figure is made once and
        its current lines are replaced on each call, so a redraw costs one rendering.
        """
        if getattr(self, "_fig", None) is None:
            self._build()
        every = bands_many(ts, tuple(self._lines))
        for name, (ax, line, color, band, fill) in self._lines.items():
            b = every[name]
            month = b["month"].to_numpy() + 1
            line.set_data(month, b["mean"].to_numpy())
            if band:
                if fill[0] is not None:
                    fill[0].remove()
                fill[0] = ax.fill_between(month, b["lo"].to_numpy(), b["hi"].to_numpy(), color=color, alpha=0.2,
                                          lw=0)
        for ax in self._fig.axes:
            ax.relim()
            ax.autoscale_view()
        return self._fig

    def png(self, ts: pd.DataFrame, dpi: int = 100) -> bytes:
        """The figure for ``ts`` rendered once to PNG (what a redraw shows)."""
        buf = io.BytesIO()
        # light compression: a third of the encoding time, for a PNG shown once
        self.figure(ts).savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
        return buf.getvalue()

    def settings(self) -> str:
        """HTML table of the current lever values against the scenario file's (changed ones highlighted)."""
        return settings_html([(lv.path, self.values[lv.path], self.original[lv.path]) for lv in self.levers],
                             self.lang)

    def ui(self):
        """The widgets: one tab of levers per instrument, the nine panels and the settings table below.

        Each lever redraws on release. Returns the top-level widget (displayed when it is a cell's last value).
        """
        import ipywidgets as w

        lang = self.lang
        # the figure and the table are widgets whose value is replaced (no Output widget: capturing display
        # messages into one races with a headless client such as papermill's, which then waits forever)
        fig_view, table_view = w.Image(format="png"), w.HTML()
        status = w.HTML()
        controls: dict[str, w.Widget] = {}
        for lv in self.levers:
            value = self.values[lv.path]
            style = {"description_width": "260px"}
            layout = w.Layout(width="520px")
            desc = lv.path.replace("policy.", "")
            if lv.switch:
                ctl = w.Checkbox(value=bool(value), description=desc, style=style, layout=layout, indent=False)
            elif lv.hi > 1000:   # money or capacity: a bounded number field
                cls = w.BoundedIntText if lv.whole else w.BoundedFloatText
                ctl = cls(value=value, min=lv.lo, max=lv.hi, step=lv.step, description=desc, style=style,
                          layout=layout)
            else:
                cls = w.IntSlider if lv.whole else w.FloatSlider
                ctl = cls(value=value, min=lv.lo, max=lv.hi, step=lv.step, description=desc, style=style,
                          layout=layout, continuous_update=False, readout_format=".2f" if lv.step < 1 else ".1f")
            controls[lv.path] = ctl

        def redraw(_=None) -> None:
            status.value = t("explore.running", lang)
            try:
                ts, seconds = self.update(**{p.replace(".", "__"): c.value for p, c in controls.items()})
            except InputError as exc:
                status.value = (f"<b style='color:#c0392b'>{t('explore.invalid', lang)}</b>: "
                                + "<br>".join(str(p) for p in exc.problems))
                return
            fig_view.value = self.png(ts)
            table_view.value = self.settings()
            status.value = t("explore.seconds", lang, seconds=seconds)

        for c in controls.values():
            c.observe(redraw, names="value")
        tabs = w.Tab(children=[w.VBox([c for lv, c in zip(self.levers, controls.values()) if lv.tab == tab])
                               for tab in TABS])
        for i, tab in enumerate(TABS):
            tabs.set_title(i, t(f"tab.{tab}", lang))
        self.controls = controls
        redraw()
        return w.VBox([tabs, status, fig_view, w.HTML(f"<h3>{t('head.settings', lang)}</h3>"), table_view])
