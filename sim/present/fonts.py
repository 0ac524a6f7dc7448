"""A CJK font for figures, registered explicitly with matplotlib.

Reports come in Chinese; matplotlib's default font (DejaVu Sans) has no Chinese glyphs and would
draw empty boxes. matplotlib caches its font list, so a font installed after that cache was built
is not seen: :func:`use_cjk_font` registers the file itself with ``fontManager.addfont``.

The font is WenQuanYi Micro Hei (Debian: ``fonts-wqy-microhei``, installed by ``make env``); set
``SIM_CJK_FONT`` to the path of another CJK font file to use that instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from sim.errors import SimError

__all__ = ["CANDIDATES", "cjk_font_path", "use_cjk_font"]

CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/local/share/fonts/wqy-microhei.ttc",
)
"""Where Debian/Ubuntu and common manual installs put WenQuanYi Micro Hei."""


def cjk_font_path() -> Path:
    """Path of the CJK font file: ``SIM_CJK_FONT`` if set, else the first of :data:`CANDIDATES` found.

    Raises :class:`sim.errors.SimError` naming what to install when there is none.
    """
    env = os.environ.get("SIM_CJK_FONT")
    if env:
        if not Path(env).is_file():
            raise SimError(f"SIM_CJK_FONT={env}: no such font file")
        return Path(env)
    for c in CANDIDATES:
        if Path(c).is_file():
            return Path(c)
    raise SimError("no CJK font found for Chinese labels: install fonts-wqy-microhei "
                   "(sudo apt-get install fonts-wqy-microhei) or set SIM_CJK_FONT to a CJK font file")


def use_cjk_font() -> str:
    """Register the CJK font with matplotlib and make it the first sans-serif font; return its name.

    Latin text keeps rendering (the CJK font has Latin glyphs; DejaVu Sans stays as fallback), and the
    minus sign is drawn as a hyphen, which the CJK font has.
    """
    from matplotlib import font_manager, rcParams

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    rcParams["font.family"] = "sans-serif"
    rcParams["font.sans-serif"] = [name] + [f for f in rcParams["font.sans-serif"] if f != name]
    rcParams["axes.unicode_minus"] = False
    return name
