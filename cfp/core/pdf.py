"""What every PDF of cfp shares: Chinese text set in a font embedded in the file (so
that it shows on a computer without Chinese fonts), paragraph markup that switches to
that font for runs of CJK characters, and page numbers "page N of M"."""
from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import escape

from flask import current_app, has_app_context
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+")
EMBEDDED_CJK = "CJK"  # a TrueType font with Chinese glyphs, subset into each PDF
FALLBACK_CJK = "STSong-Light"  # reportlab's CID font: named, not embedded
# TrueType (not CFF) fonts with Chinese glyphs, as Debian installs them.
CANDIDATES = ["/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
              "/usr/share/fonts/truetype/arphic/uming.ttc", "/usr/share/fonts/truetype/arphic/ukai.ttc"]


def cjk_font_file() -> Path | None:
    """The font file Chinese text is embedded from: CFP_CJK_FONT, or one Debian installs."""
    configured = current_app.config.get("CJK_FONT_PATH") if has_app_context() else None
    for path in ([configured] if configured else []) + CANDIDATES:
        if Path(path).is_file():
            return Path(path)
    return None


def cjk_font() -> str:
    """The registered font name for CJK runs: embedded when a font file is there,
    else the CID font, which shows only where the reader has Chinese fonts."""
    registered = pdfmetrics.getRegisteredFontNames()
    if EMBEDDED_CJK in registered:
        return EMBEDDED_CJK
    path = cjk_font_file()
    if path is not None:
        pdfmetrics.registerFont(TTFont(EMBEDDED_CJK, str(path), subfontIndex=0))
        return EMBEDDED_CJK
    if FALLBACK_CJK not in registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CJK))
    return FALLBACK_CJK


def markup(value) -> str:
    """Escaped paragraph markup of `value`; runs of CJK characters in the CJK font."""
    text, out, last = str(value or ""), [], 0
    font = None
    for m in CJK.finditer(text):
        font = font or cjk_font()
        out.append(escape(text[last:m.start()]))
        out.append(f'<font name="{font}">{escape(m.group(0))}</font>')
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out).replace("\n", "<br/>")


def numbered_canvas(label: str):
    """A canvas class that writes `label % (n, total)` at the foot of each page
    (e.g. "Page %s of %s"), once it knows how many pages there are."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):  # reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                text = label % (self._pageNumber, total)
                self.setFont(cjk_font() if CJK.search(text) else "Helvetica", 8)  # 第 1 页
                self.drawRightString(self._pagesize[0] - 40, 20, text)
                super().showPage()
            super().save()

    return NumberedCanvas
