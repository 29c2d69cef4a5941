"""What an uploaded PDF may hold. A proposal's documents are opened by staff, reviewers
and the other side's agency, so a PDF is refused, with the reason, when it holds content
that acts by itself or on a click (JavaScript, launch and other active actions, actions
run on opening, embedded files, XFA forms, multimedia and 3D), when a compressed part
expands hugely (a decompression bomb), and when pypdf's own limits stop the reading (a
page tree too deep or too wide, too many objects). Nothing is repaired: the applicant
saves the file again (printing it to a new PDF removes all of it) and uploads it again.
"""
from __future__ import annotations

import io
import warnings

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pypdf import PdfReader
from pypdf.errors import DependencyError, LimitReachedError, PyPdfError
from pypdf.filters import ASCII85Decode, ASCIIHexDecode, FlateDecode, LZWDecode, RunLengthDecode
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from cfp.core.errors import DomainError

# Decoded bytes a document may hold: per stream (an A4 page scanned in colour at 300 dpi
# is 26 MB; pypdf itself stops at 75 MB), and all streams together.
MAX_INFLATED_STREAM = 64 * 1024 * 1024
MAX_INFLATED_TOTAL = 512 * 1024 * 1024
MAX_OBJECTS = 500_000  # objects visited, direct and indirect

# Filters that only undo an encoding (and may expand a lot); image codecs are left to
# the viewer (their output is pixels, not PDF objects).
_DECODERS = {
    "/FlateDecode": FlateDecode.decode, "/Fl": FlateDecode.decode,
    "/LZWDecode": LZWDecode.decode, "/LZW": LZWDecode.decode,
    "/RunLengthDecode": RunLengthDecode.decode, "/RL": RunLengthDecode.decode,
    "/ASCIIHexDecode": ASCIIHexDecode.decode, "/AHx": ASCIIHexDecode.decode,
    "/ASCII85Decode": ASCII85Decode.decode, "/A85": ASCII85Decode.decode,
}

JAVASCRIPT = _l("JavaScript")
LAUNCH = _l("an action that starts a program or opens another file")
FORM_DATA = _l("an action that sends or imports form data")
MEDIA = _l("multimedia or 3D content")
AUTOMATIC = _l("an action that runs by itself when the document is opened or viewed")
EMBEDDED_FILE = _l("an embedded file")
XFA = _l("an XFA form")

_ACTIONS = {  # /S of an action dictionary → what it is
    "/JavaScript": JAVASCRIPT, "/Launch": LAUNCH, "/GoToR": LAUNCH, "/GoToE": LAUNCH,
    "/SubmitForm": FORM_DATA, "/ImportData": FORM_DATA, "/Rendition": MEDIA, "/Movie": MEDIA,
    "/Sound": MEDIA, "/RichMediaExecute": MEDIA,
}
_HARMLESS_ON_OPEN = {"/GoTo"}  # an opening action may show a page; nothing else
_MEDIA_ANNOTATIONS = {"/RichMedia", "/3D", "/Movie", "/Sound", "/Screen"}


class ActivePdfContent(DomainError):
    def __init__(self, what):
        super().__init__(_("This PDF contains %(what)s, which a viewer could run. Save it again "
                           "without it (printing it to a new PDF removes it) and upload it again.",
                           what=what))


def _too_complex() -> DomainError:
    return DomainError(_("This PDF is built in a way that cannot be read safely (its page tree "
                         "is too deep or too wide, or it has too many parts). Save it again as "
                         "PDF (for example by printing it to a new PDF) and retry."))


def _unreadable() -> DomainError:
    return DomainError(_("This PDF could not be read; save it again as PDF and retry."))


def read_pdf(data: bytes) -> int:
    """The number of pages of a PDF that may be kept, or DomainError with the reason."""
    if not data.startswith(b"%PDF-"):
        raise DomainError(_("Only PDF files are accepted, and this file is not a PDF "
                            "(whatever its name says)."))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pypdf warns about every repair of a sloppy file
        try:
            reader = PdfReader(io.BytesIO(data), strict=False)
            _decrypt(reader)
            pages = len(reader.pages)
            _inspect(reader)
        except DomainError:
            raise
        except (LimitReachedError, RecursionError):
            raise _too_complex() from None
        except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
                NotImplementedError, OSError):
            raise _unreadable() from None
    return pages


def _decrypt(reader: PdfReader) -> None:
    """An encrypted PDF is accepted only when it opens without a password."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except (DependencyError, NotImplementedError):
        opened = 0
    if not opened:
        raise DomainError(_("This PDF is protected by a password; save it again without the "
                            "protection and upload it again."))


def _inspect(reader: PdfReader) -> None:
    """Every object reachable from the trailer, once: refuse active content and bombs."""
    seen: set[tuple[int, int]] = set()
    stack: list = [reader.trailer]
    visited = inflated = 0
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            obj = obj.get_object()
        visited += 1
        if visited > MAX_OBJECTS:
            raise _too_complex()
        if isinstance(obj, DictionaryObject):
            _check_dictionary(obj)
            if isinstance(obj, StreamObject):
                inflated += _inflated_size(obj)
                if inflated > MAX_INFLATED_TOTAL:
                    raise _bomb(MAX_INFLATED_TOTAL)
            stack.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)


def _check_dictionary(d: DictionaryObject) -> None:
    if "/JS" in d or "/JavaScript" in d:  # an action's script, or the document's scripts
        raise ActivePdfContent(JAVASCRIPT)
    if "/XFA" in d:
        raise ActivePdfContent(XFA)
    if "/EmbeddedFiles" in d or "/EF" in d or d.get("/Type") == "/EmbeddedFile" \
            or d.get("/Subtype") == "/FileAttachment":
        raise ActivePdfContent(EMBEDDED_FILE)
    if d.get("/Type") == "/Annot" and d.get("/Subtype") in _MEDIA_ANNOTATIONS:
        raise ActivePdfContent(MEDIA)
    if d.get("/Type") == "/Action":
        _check_action(d, automatic=False)
    # Actions are judged where they are used: on a click (/A, /Next), or by themselves
    # (/OpenAction when the document opens, /AA on events such as showing a page).
    for action in _dictionaries(d.get("/A")) + _dictionaries(d.get("/Next")):
        _check_action(action, automatic=False)
    for action in _dictionaries(d.get("/OpenAction")):  # a destination array holds a page
        _check_action(action, automatic=True)
    additional = _resolve(d.get("/AA"))
    if isinstance(additional, DictionaryObject):
        for action in _dictionaries(list(additional.values())):
            _check_action(action, automatic=True)


def _resolve(value):
    return value.get_object() if isinstance(value, IndirectObject) else value


def _dictionaries(value) -> list[DictionaryObject]:
    """The dictionaries of a value: itself, or those of a list or array."""
    value = _resolve(value)
    items = value if isinstance(value, list) else [value]
    return [item for item in map(_resolve, items) if isinstance(item, DictionaryObject)]


def _check_action(action: DictionaryObject, *, automatic: bool) -> None:
    kind = action.get("/S")
    if kind in _ACTIONS:
        raise ActivePdfContent(_ACTIONS[kind])
    if automatic and kind is not None and kind not in _HARMLESS_ON_OPEN:
        raise ActivePdfContent(AUTOMATIC)


def _bomb(limit: int) -> DomainError:
    return DomainError(_("This PDF contains compressed data that expands to more than %(size)s MB "
                         "(a “decompression bomb”); it is refused. Save it again as PDF and retry.",
                         size=limit // (1024 * 1024)))


def _inflated_size(stream: StreamObject) -> int:
    """The size of the stream once its encodings are undone (image codecs are not)."""
    filters = stream.get("/Filter")
    filters = filters.get_object() if isinstance(filters, IndirectObject) else filters
    if filters is None:
        return 0
    names = list(filters) if isinstance(filters, ArrayObject) else [filters]
    data = stream._data  # the raw bytes: pypdf has no public accessor for them
    for name in names[:16]:
        decode = _DECODERS.get(name)
        if decode is None:
            break
        try:
            data = decode(data)
        except LimitReachedError:
            raise _bomb(MAX_INFLATED_STREAM) from None
        except Exception:  # noqa: BLE001  (a damaged stream: the viewer shows what it can)
            break
        if len(data) > MAX_INFLATED_STREAM:
            raise _bomb(MAX_INFLATED_STREAM)
    return len(data)
