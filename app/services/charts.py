"""Charts drawn on the server as SVG (pygal), light enough for a phone, with no script.

pygal writes a script into every chart (its tooltips' settings) and, by default, loads
another from the internet: both go, so a chart works with JavaScript off and under the
app's `script-src 'self'`. What is left says what it shows to a screen reader: `role="img"`,
its `<title>` and a `<desc>` written from the numbers. The page puts the table of the same
numbers beside it.
"""

import math
import re
from collections.abc import Callable

import pygal
from lxml import etree  # type: ignore[import-untyped]
from markupsafe import Markup
from pygal.style import Style

from app.services.followup_stats import Figure

SVG = "{http://www.w3.org/2000/svg}"
# Open, done, dropped (and a chart of one series takes the first): told apart by more than
# hue, each with at least 3:1 contrast on white.
COLOURS = ("#0b5cad", "#1a7f37", "#6b6b6b", "#a3400b", "#6f3fb0")
STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#595959",
    font_family="system-ui, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    title_font_size=16,
    value_font_size=12,
    colors=COLOURS,
    opacity="0.85",
    opacity_hover="0.85",
    transition="none",
)
WIDTH = 480
# A bar chart grows with its rows, so 30 sessions stay readable on a phone.
ROW_HEIGHT = 26
MAX_ROWS = 30
# Labels longer than this end in "…" (the table beside the chart has them whole).
LABEL_MAX = 24
ROUNDED = {"x", "y", "width", "height", "d", "transform", "points", "cx", "cy", "r"}
_TENTHS = re.compile(r"(\d+\.\d)\d+")


def describe(figure: Figure) -> str:
    """The chart's numbers in a sentence or two, for a screen reader."""
    shown = figure.rows[-1:] if figure.kind == "time" else figure.rows
    parts = [
        f"{label}: "
        + ", ".join(
            f"{value} {column.lower()}" if len(figure.columns) > 1 else str(value)
            for column, value in zip(figure.columns, values, strict=True)
        )
        for label, values in shown
    ]
    return f"{figure.title}. {figure.summary} " + "; ".join(parts) + "."


def draw(figure: Figure) -> Markup:
    """The figure as an SVG to put in a page (no XML declaration, no script)."""
    rows = figure.rows[:MAX_ROWS]
    config = {
        "js": [],
        "disable_xml_declaration": True,
        "style": STYLE,
        "width": WIDTH,
        "explicit_size": False,
        "title": None,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": len(figure.columns),
        "show_legend": len(figure.columns) > 1,
        "truncate_legend": 20,
        "margin": 8,
        "spacing": 8,
    }
    chart: pygal.graph.graph.Graph
    if figure.kind == "time":
        chart = pygal.StackedLine(
            fill=True,
            show_dots=False,
            height=300,
            x_label_rotation=30,
            show_minor_x_labels=False,
            x_labels_major_count=6,
            **config,
        )
        chart.x_labels = [_short(label) for label, _values in rows]
    else:
        drawing = pygal.HorizontalBar if figure.kind == "grouped" else pygal.HorizontalStackedBar
        chart = drawing(height=max(160, 90 + ROW_HEIGHT * len(rows)), print_values=False, **config)
        rows = rows[::-1]  # pygal draws the first row at the bottom; the table has it on top
        chart.x_labels = [_short(label) for label, _values in rows]
    chart.y_labels = _whole_numbers(rows, figure.kind == "grouped")
    for n, column in enumerate(figure.columns):
        chart.add(column, [values[n] for _label, values in rows])
    chart.add_xml_filter(_accessible(figure))
    return Markup(chart.render(is_unicode=True))


def _whole_numbers(rows: list[tuple[str, list[int]]], grouped: bool = False) -> list[int]:
    """The value axis's marks: counts are whole, so no mark falls between two."""
    each = (max(values, default=0) if grouped else sum(values) for _label, values in rows)
    top = max(each, default=0)
    step = max(1, math.ceil(top / 5))
    return list(range(0, top + step, step)) if top else [0, 1]


def _classes(element: etree._Element) -> list[str]:
    return (element.get("class") or "").split()


def _short(label: str) -> str:
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1].rstrip() + "…"


def _accessible(figure: Figure) -> Callable[[etree._Element], etree._Element]:
    """An xml filter: no script, no comments, no tooltips, coordinates to a tenth of a
    pixel, and the chart named for a screen reader."""

    def apply(root: etree._Element) -> etree._Element:
        drawn_as = root.get("id", "")
        key = f"chart-{figure.key}"
        for element in list(root.iter()):
            name = etree.QName(element).localname if isinstance(element.tag, str) else ""
            nested_title = name == "title" and element.getparent() is not root
            if name in ("", "script", "desc") or nested_title or "tooltip" in _classes(element):
                element.getparent().remove(element)
                continue
            if name == "style" and element.text:
                element.text = element.text.replace(f"#{drawn_as}", f"#{key}")
            for attribute, value in element.attrib.items():
                if attribute in ROUNDED:
                    element.set(attribute, _TENTHS.sub(r"\1", value))
        root.set("id", key)
        root.set("role", "img")
        root.set("aria-labelledby", f"{key}-title {key}-desc")
        title = next((c for c in root if isinstance(c.tag, str) and c.tag.endswith("title")), None)
        if title is None:
            title = etree.SubElement(root, "title")
        title.text = figure.title
        title.set("id", f"{key}-title")
        desc = etree.Element("desc", id=f"{key}-desc")
        desc.text = describe(figure)
        title.addnext(desc)
        return root

    return apply
