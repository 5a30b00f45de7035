"""Charts embedded in a report's Word document, drawn with matplotlib.

Drawn off screen with the Agg backend through the object interface (a
``Figure`` and its own canvas, never ``pyplot``), so that charts can be
drawn from several workers at once without matplotlib's global figure
state. Each function returns PNG bytes sized for the text width of an A4
page. Text is Vietnamese: the font is the first installed of Times New
Roman, Liberation Serif and DejaVu Serif that draws every Vietnamese letter
(matplotlib ships DejaVu, so one always does).
"""

import io
import textwrap
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager, ft2font  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

FONT_PREFERENCE = ("Times New Roman", "Liberation Serif", "DejaVu Serif", "DejaVu Sans")
WIDTH_INCHES = 6.3
DPI = 150
# Bars shown at most; the rest are summed into one "other" bar.
MAX_BARS = 12
OTHER = "Khác"

COLOURS = {
    "primary": "#1f4e79",
    "secondary": "#9dc3e6",
    "good": "#2e7d32",
    "warn": "#f9a825",
    "bad": "#c62828",
    "neutral": "#9e9e9e",
}


# Letters a font must draw to be used: Vietnamese needs precomposed vowels
# with two marks, which some serif fonts (Liberation Serif) lack.
VIETNAMESE_SAMPLE = "ĐđƯưƠơệộữằẫỡ"


def _draws_vietnamese(family):
    try:
        path = font_manager.findfont(
            font_manager.FontProperties(family=family), fallback_to_default=False
        )
        charmap = ft2font.FT2Font(path).get_charmap()
    except (ValueError, OSError, RuntimeError):
        return False
    return all(ord(char) in charmap for char in VIETNAMESE_SAMPLE)


@lru_cache(maxsize=1)
def font_family():
    """The first preferred font that is installed and draws Vietnamese."""
    for name in FONT_PREFERENCE:
        if _draws_vietnamese(name):
            return name
    return "DejaVu Sans"


def _figure(height):
    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure):
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _wrap(label, width=38):
    return "\n".join(textwrap.wrap(str(label), width)) or str(label)


def _style(axes, title):
    family = font_family()
    axes.set_title(title, fontfamily=family, fontsize=11, fontweight="bold")
    for label in axes.get_xticklabels() + axes.get_yticklabels():
        label.set_fontfamily(family)
        label.set_fontsize(9)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _top(items, limit=MAX_BARS):
    items = [(label, value) for label, value in items if value]
    items.sort(key=lambda item: -item[1])
    if len(items) <= limit:
        return items
    rest = sum(value for _, value in items[limit - 1 :])
    return items[: limit - 1] + [(OTHER, rest)]


def horizontal_bars(title, items, colour="primary"):
    """A bar per ``(label, value)``, largest first; None when all are zero."""
    items = _top(items)
    if not items:
        return None
    items.reverse()
    figure = _figure(max(2.2, 0.42 * len(items) + 1.0))
    axes = figure.add_subplot()
    labels = [_wrap(label) for label, _ in items]
    values = [value for _, value in items]
    bars = axes.barh(labels, values, color=COLOURS[colour])
    axes.bar_label(bars, padding=3, fontsize=8, fontfamily=font_family())
    axes.set_xlim(0, max(values) * 1.15)
    axes.xaxis.get_major_locator().set_params(integer=True)
    _style(axes, title)

    return _png(figure)


def stacked_bars(title, categories, series):
    """Stacked horizontal bars: ``series`` is ``[(name, colour, values)]``
    with one value per category; None when everything is zero."""
    if not categories or not any(any(values) for _, _, values in series):
        return None
    figure = _figure(max(2.4, 0.5 * len(categories) + 1.4))
    axes = figure.add_subplot()
    labels = [_wrap(label, 30) for label in categories][::-1]
    left = [0] * len(categories)
    for name, colour, values in series:
        values = list(values)[::-1]
        axes.barh(labels, values, left=left, color=COLOURS[colour], label=name)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.xaxis.get_major_locator().set_params(integer=True)
    legend = axes.legend(loc="lower right", fontsize=8, frameon=False)
    for text in legend.get_texts():
        text.set_fontfamily(font_family())
    _style(axes, title)

    return _png(figure)
