"""Numbers and tables formatted for a reader.

- :func:`fmt_number`: three significant digits (``0.0731``, ``2.67``, ``1.2e+04``).
- :func:`fmt_interval`: ``2.67 [2.61, 2.74]`` in one cell.
- :func:`fmt_p`: p-values in scientific notation (``3.1e-05``; ``< 1e-300``).
- :func:`fmt_percent`: ``14.8 %``.
- :func:`fmt_value`: a parameter's value as a reader reads it (``2, 3``; ``mnist: 100, cifar10: 16``).
- :func:`html_table`: a DataFrame as an HTML table that scrolls inside its own box when it
  is wider than the page (class ``dmm-table``, styled by ``book/_static/tables.css``).
- :func:`summary_and_details`: a short summary table, then the long one folded in a dropdown.
"""
from __future__ import annotations

import math

from IPython.display import HTML


def fmt_number(x, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits; integers stay integers; nan as ``—``."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int):
        return f"{x:,}" if abs(x) >= 10_000 else str(x)
    x = float(x)
    if not math.isfinite(x):
        return "—" if math.isnan(x) else ("∞" if x > 0 else "−∞")
    if x == 0:
        return "0"
    if 10 ** (digits - 1) <= abs(x) < 1e6:  # 1234.5 -> "1,230": digits significant, no exponent
        return f"{float(f'{x:.{digits}g}'):,.0f}"
    if 1e-3 <= abs(x) < 10 ** (digits - 1):
        return f"{x:#.{digits}g}".rstrip(".")
    return f"{x:.{digits - 1}e}"


def fmt_interval(value, lo, hi, digits: int = 3) -> str:
    """``value [lo, hi]`` with ``digits`` significant digits each."""
    return f"{fmt_number(value, digits)} [{fmt_number(lo, digits)}, {fmt_number(hi, digits)}]"


def fmt_percent(fraction, digits: int = 3) -> str:
    """A fraction in [0, 1] (or beyond) as ``14.8 %``."""
    return f"{fmt_number(100 * float(fraction), digits)} %"


def fmt_value(value) -> str:
    """A parameter's value for a reader, never a Python repr: a list as ``2, 3``, a dict as
    ``mnist: 100, cifar10: 16`` (``sgd: [0.01, 0.1]; adam: [0.001]`` when its entries are lists;
    a list inside a list in brackets), a float with at most 6 significant digits and no trailing
    zeros (``0.02``, ``1e-05``, ``2000``), a boolean as ``True``/``False``, an empty string,
    list or None as ``—``. Integers are written in full (``60000``), as the command line takes them."""
    if value is None or (isinstance(value, (str, list, tuple, dict)) and not value):
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else fmt_number(value)
    nested = lambda v: f"[{fmt_value(v)}]" if isinstance(v, (list, tuple)) and v else fmt_value(v)  # noqa: E731
    if isinstance(value, (list, tuple)):
        return ", ".join(nested(v) for v in value)
    if isinstance(value, dict):
        sep = "; " if any(isinstance(v, (list, tuple, dict)) for v in value.values()) else ", "
        return sep.join(f"{k}: {nested(v)}" for k, v in value.items())
    return str(value)


def fmt_p(p) -> str:
    """A p-value: scientific notation with two digits, ``< 1e-300`` for underflow, ``—`` for nan."""
    p = float(p)
    if math.isnan(p):
        return "—"
    if p == 0:
        return "< 1e-300"
    return f"{p:.1e}" if p < 0.01 else f"{p:.2f}"


def format_frame(df, digits: int = 3):
    """A copy of ``df`` with every float cell formatted by :func:`fmt_number`."""
    out = df.copy()
    for col in out.columns:
        out[col] = [fmt_number(v, digits) if isinstance(v, float) else v for v in out[col]]
    return out


def html_table(df, *, caption: str = "", digits: int = 3, index: bool = False) -> HTML:
    """``df`` as a formatted HTML table in a horizontally scrolling box."""
    body = format_frame(df, digits).to_html(index=index, escape=True, border=0, classes="dmm-table-inner")
    cap = f'<p class="dmm-table-caption">{caption}</p>' if caption else ""
    return HTML(f'{cap}<div class="dmm-table">{body}</div>')


def summary_and_details(summary, details, *, caption: str = "", details_title: str = "All values",
                        digits: int = 3) -> HTML:
    """The ``summary`` table, then ``details`` folded in a ``<details>`` dropdown."""
    top = html_table(summary, caption=caption, digits=digits).data
    folded = html_table(details, digits=digits).data
    return HTML(f"{top}<details class=\"dmm-details\"><summary>{details_title}</summary>{folded}</details>")
