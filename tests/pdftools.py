"""Reading a PDF as its reader would, with poppler's tools (installed by tests/run.sh)."""
from __future__ import annotations

import subprocess
import tempfile


def fonts(data: bytes) -> dict[str, bool]:
    """{font name without its subset prefix: embedded?}, as `pdffonts` lists them."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf:
        pdf.write(data)
        pdf.flush()
        out = subprocess.run(["pdffonts", pdf.name], capture_output=True, text=True, check=True).stdout
    result = {}
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name type encoding emb sub uni object ID; the type may be two words ("Type 1", "CID TrueType")
        emb = parts[-5]
        result[parts[0].split("+", 1)[-1]] = emb == "yes"
    return result


def text(data: bytes) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as pdf:
        pdf.write(data)
        pdf.flush()
        return subprocess.run(["pdftotext", "-layout", pdf.name, "-"], capture_output=True, text=True,
                              check=True).stdout


STANDARD_14 = ("Helvetica", "Times", "Courier", "Symbol", "ZapfDingbats")


def non_standard_fonts(data: bytes) -> dict[str, bool]:
    """The fonts a reader may lack (all but the 14 every PDF reader has): {name: embedded?}."""
    return {name: emb for name, emb in fonts(data).items() if not name.startswith(STANDARD_14)}
