"""Matplotlib animations as self-contained HTML that works offline.

``FuncAnimation.to_jshtml()`` links Font Awesome from a CDN for its player buttons. In the
static site the theme bundles Font Awesome; in JupyterLab nothing does, and the page then
asks the internet for it. :func:`animation_html` removes the link and draws the buttons
with plain Unicode symbols instead, so the player looks the same everywhere and loads
nothing from outside.
"""
from __future__ import annotations

import re

from IPython.display import HTML

_CDN_LINK = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']https?://[^>]*>", re.IGNORECASE)
_SYMBOLS = {
    "fa-minus": "−", "fa-plus": "+", "fa-fast-backward": "⏮", "fa-step-backward": "◀︎|",
    "fa-play fa-flip-horizontal": "◀︎", "fa-pause": "⏸", "fa-play": "▶︎", "fa-step-forward": "|▶︎",
    "fa-fast-forward": "⏭",
}


def offline_jshtml(html: str) -> str:
    """``to_jshtml()`` output without links to the internet, its icons as Unicode symbols."""
    html = _CDN_LINK.sub("", html)
    for cls, symbol in _SYMBOLS.items():  # longest class lists first (dict order above)
        html = re.sub(rf'<i class="fa {cls}"></i>', symbol, html)
    return html


def animation_html(anim, **kwargs) -> HTML:
    """An ``IPython.display.HTML`` player of ``anim`` (``kwargs`` go to ``to_jshtml``: fps,
    default_mode, ...) that works offline."""
    return HTML(offline_jshtml(anim.to_jshtml(**kwargs)))
