"""Chinese labels render with a real font: a missing glyph fails the test."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib import rc_context  # noqa: E402

from sim.errors import SimError  # noqa: E402
from sim.present.fonts import cjk_font_path, use_cjk_font  # noqa: E402

LABELS = ("合规率", "双随机抽查", "红名单", "重点关注名单", "黑名单", "信用修复", "市场主体")


def _glyph_warnings(fmt: str) -> list[str]:
    """Draw the glossary terms as title, axis labels, ticks and legend; return missing-glyph warnings."""
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label=LABELS[2])
    ax.set_title(" / ".join(LABELS))
    ax.set_xlabel("月份 (month)")
    ax.set_ylabel(LABELS[0])
    ax.set_xticks([0, 1], [LABELS[4], LABELS[5]])
    ax.legend()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format=fmt)
    plt.close(fig)
    return [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_chinese_glossary_terms_render_without_missing_glyphs(fmt):
    with rc_context():
        name = use_cjk_font()
        assert "WenQuanYi" in name or cjk_font_path().is_file()
        assert _glyph_warnings(fmt) == []


def test_without_the_cjk_font_the_check_does_fail():
    """Control: with only DejaVu Sans the same figure logs missing glyphs, so the test above can fail."""
    with rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        assert _glyph_warnings("png")


def test_a_bad_font_path_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SIM_CJK_FONT", str(tmp_path / "none.ttc"))
    with pytest.raises(SimError, match="SIM_CJK_FONT=.*no such font file"):
        cjk_font_path()
