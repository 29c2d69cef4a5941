"""Every list that staff, the secretariat and co-chairs work from downloads as CSV and
XLSX (issue 14): the page's permissions, the page's filters, typed cells, no query per
row, and a background job with its file for the creator alone beyond the threshold."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from cfp.core.audit import log_action
from cfp.core.jobs import Job, JobStatus
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from cfp.reviews.models import Assignment
from cfp.reviews.operations import save_review
from tests import factories as f
from tests.test_committee_scope import _committee_b
from tests.test_query_counts import _grow, _world, count_queries

# (who, export url, the page it belongs to, headers the file starts with)
EXPORTS = [
    ("staff", "/proposals/staff/export", "/proposals/staff", ["Reference", "Call", "Acronym", "Title", "Status"]),
    ("staff", "/reviews/pool/{cn}/export", "/reviews/pool/{cn}", ["Reviewer", "Email", "Institution"]),
    ("staff", "/reviews/dashboard/{call}/{cn}/assignments", "/reviews/dashboard/{call}/{cn}",
     ["Proposal", "Title", "Reviewer", "Email", "Status", "How assigned"]),
    ("staff", "/reviews/dashboard/{call}/{cn}/reviews", "/reviews/dashboard/{call}/{cn}",
     ["Proposal", "Title", "Reviewer", "Submitted (Asia/Shanghai)", "Weighted score"]),
    ("staff", "/reviews/ranking/{call}/export", "/reviews/ranking/{call}",
     ["Rank", "Proposal", "Title", "Reviews", "Mean score", "Passes thresholds"]),
    ("secretariat", "/selection/joint/{call}/export", "/selection/joint/{call}", ["Place", "Proposal", "Acronym"]),
    ("secretariat", "/selection/lists/{plist}/export", "/selection/lists/{plist}", ["Proposal", "Title", "List"]),
    ("secretariat", "/selection/calls/{call}/scenarios/export", "/selection/calls/{call}/scenarios",
     ["Version", "State"]),
    ("staff", "/projects/dashboard/export", "/projects/dashboard", ["Code", "Call", "Title", "Status", "Start"]),
    ("secretariat", "/audit/export", "/audit", ["When (UTC)", "Who", "Actor (account number)", "Action"]),
]


def _url(w: dict, url: str) -> str:
    return url.format(call=w["call"].id, cn=w["cn"].id, be=w["be"].id, plist=w.get("plist", 0))


def _with_list(w: dict) -> None:
    """The world's call gets a project list of its proposals, as the funding plan drafts one."""
    from cfp.selection.funding import plan_funding

    plist = plan_funding(w["users"]["secretariat"], w["call"])
    plist.version = 1000  # out of the way of the versions _grow adds
    db.session.commit()
    w["plist"] = plist.id


def _csv(response) -> list[list[str]]:
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would misread Chinese"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _xlsx(response):
    return load_workbook(io.BytesIO(response.get_data())).active


@pytest.mark.parametrize("who, url, page, headers", EXPORTS)
def test_each_list_downloads_as_csv_and_xlsx_without_a_query_per_row(client, who, url, page, headers):
    w = _world()
    f.login(client, w["users"][who])
    counts = {}
    for n in (2, 6):
        _grow(w, n)
        if "plist" not in w and "{plist}" in url:
            _with_list(w)
        for fmt in ("csv", "xlsx"):
            with count_queries() as counter:
                response = client.get(_url(w, url) + "." + fmt)
            assert response.status_code == 200, (url, fmt, response.status_code)
            counts.setdefault(fmt, []).append(counter["n"])
    assert counts["csv"][0] == counts["csv"][1], f"{url}.csv: {counts['csv']} queries with 2 and 8 rows"
    assert counts["xlsx"][0] == counts["xlsx"][1], f"{url}.xlsx: {counts['xlsx']}"
    rows = _csv(client.get(_url(w, url) + ".csv"))
    assert rows[0][:len(headers)] == headers
    assert len(rows) > 1
    sheet = _xlsx(client.get(_url(w, url) + ".xlsx"))
    assert [c.value for c in sheet[1]][:len(headers)] == headers
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref.startswith("A1:")
    assert all(sheet.column_dimensions[letter].width >= 8 for letter in "ABC")
    assert sheet.max_row == len(rows)
    # The page offers both downloads, with its filters.
    html = client.get(_url(w, page)).get_data(as_text=True)
    assert f'href="{_url(w, url)}.csv' in html and f'href="{_url(w, url)}.xlsx' in html
    assert "Download" in html


def test_the_file_is_named_for_the_list_and_the_day(client):
    w = _world()
    _grow(w, 2)
    f.login(client, w["users"]["staff"])
    response = client.get(f"/reviews/ranking/{w['call'].id}/export.xlsx")
    disposition = response.headers["Content-Disposition"]
    name = unquote(disposition.split("filename*=UTF-8''")[1])
    reference = w["call"].reference.lower()
    assert re.fullmatch(rf"{reference}-{w['cn'].short_name.lower()}-ranking-\d{{4}}-\d\d-\d\d\.xlsx", name), name
    assert disposition.startswith("attachment; filename=")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["Cache-Control"] == "private, no-store"


def test_xlsx_cells_are_typed_money_in_its_currency_dates_as_dates(client):
    w = _world()
    _grow(w, 2)
    f.login(client, w["users"]["secretariat"])
    sheet = _xlsx(client.get("/projects/dashboard/export.xlsx"))
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert row["Currency"].value == "CNY"
    amount = row["Year 1"]
    assert amount.data_type == "n" and amount.value == 1000
    assert amount.number_format == "[$CN¥]#,##0.00"  # the symbol as English writes it
    assert row["Total"].value == 1000 and row["Total"].number_format == "[$CN¥]#,##0.00"
    # the audit log: instants as dates and times, in the viewer's zone (the header names it)
    sheet = _xlsx(client.get("/audit/export.xlsx"))
    when = sheet["A2"]
    assert isinstance(when.value, datetime) and when.is_date and "yyyy-mm-dd" in when.number_format
    # the side ranking: numbers are numbers, with their decimals
    staff = client.application.test_client()
    f.login(staff, w["users"]["staff"])
    sheet = _xlsx(staff.get(f"/reviews/ranking/{w['call'].id}/export.xlsx"))
    assert sheet["A2"].value == 1 and sheet["A2"].data_type == "n"
    assert sheet["E2"].value == pytest.approx(4.0) and sheet["E2"].number_format == "0.000"
    assert sheet["F2"].value == "yes"


def test_money_of_a_side_carries_the_sides_currency_in_the_header(client):
    w = _world()
    _grow(w, 2)
    _with_list(w)
    f.login(client, w["users"]["secretariat"])
    sheet = _xlsx(client.get(f"/selection/lists/{w['plist']}/export.xlsx"))
    header = [c.value for c in sheet[1]]
    cn = w["cn"].short_name
    assert f"{cn} year 1 (CNY)" in header and f"{cn} total (CNY)" in header
    rows = _csv(client.get(f"/selection/lists/{w['plist']}/export.csv"))
    assert rows[0] == header
    assert any(r[header.index("Funding plan")] for r in rows[1:])


def test_dates_follow_the_viewers_zone(client):
    w = _world()
    _grow(w, 2)
    secretariat = w["users"]["secretariat"]
    secretariat.timezone = "Asia/Shanghai"
    db.session.commit()
    f.login(client, secretariat)
    rows = _csv(client.get("/audit/export.csv"))
    assert rows[0][0] == "When (Asia/Shanghai)"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[1][0])


def test_the_export_speaks_the_viewers_language(client):
    w = _world()
    _grow(w, 2)
    staff = w["users"]["staff"]
    staff.locale = "fr"
    db.session.commit()
    f.login(client, staff)
    rows = _csv(client.get(f"/reviews/ranking/{w['call'].id}/export.csv"))
    assert rows[0][:2] == ["Rang", "Proposition"]
    sheet = _xlsx(client.get(f"/reviews/ranking/{w['call'].id}/export.xlsx"))
    assert sheet["A1"].value == rows[0][0]


def test_text_that_looks_like_a_formula_stays_text(client):
    w = _world()
    _grow(w, 1)
    p = f.proposal(w["call"], w["users"]["researcher"], f.user(Role.researcher, agency=w["be"]),
                   state=ProposalState.submitted, title="=HYPERLINK(\"http://evil\",\"x\")")
    p.acronym = "中文缩写"
    db.session.commit()
    f.login(client, w["users"]["staff"])
    rows = _csv(client.get("/proposals/staff/export.csv"))
    titles = [r[3] for r in rows[1:]]
    assert "'=HYPERLINK(\"http://evil\",\"x\")" in titles
    assert "中文缩写" in [r[2] for r in rows[1:]]
    sheet = _xlsx(client.get("/proposals/staff/export.xlsx"))
    cells = [row[3] for row in sheet.iter_rows(min_row=2)]
    evil = next(c for c in cells if "HYPERLINK" in str(c.value))
    assert evil.data_type == "s" and evil.value.startswith("=")


# ---------------------------------------------------------------- filters


def test_the_export_applies_the_pages_filters(client):
    w = _world()
    _grow(w, 3)
    other = f.call(w["committee"], state=w["call"].state)
    f.proposal(other, w["users"]["researcher"], f.user(Role.researcher, agency=w["be"]),
               state=ProposalState.submitted, title="In the other call")
    db.session.commit()
    f.login(client, w["users"]["staff"])
    everything = _csv(client.get("/proposals/staff/export.csv"))
    assert {r[1] for r in everything[1:]} == {w["call"].reference, other.reference}
    only = _csv(client.get(f"/proposals/staff/export.csv?call={other.id}&after=xyz&page=3"))
    assert [r[3] for r in only[1:]] == ["In the other call"]
    response = client.get(f"/proposals/staff/export.xlsx?call={other.id}")
    assert other.reference.lower() in response.headers["Content-Disposition"]
    # the page's links carry its filter, not its paging
    html = client.get(f"/proposals/staff?call={other.id}").get_data(as_text=True)
    assert f'href="/proposals/staff/export.csv?call={other.id}"' in html
    # the audit log's filters
    client = client.application.test_client()
    f.login(client, w["users"]["secretariat"])
    log_action(w["users"]["secretariat"], "export.test_marker", w["call"])
    db.session.commit()
    marked = _csv(client.get("/audit/export.csv?action=export.test"))
    assert [r[3] for r in marked[1:]] == ["export.test_marker"]
    html = client.get("/audit?action=export.test").get_data(as_text=True)
    assert 'href="/audit/export.xlsx?action=export.test"' in html


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize("who, url, page, headers", EXPORTS)
def test_who_cannot_see_the_page_cannot_download_it(app, client, who, url, page, headers):
    w = _world()
    _grow(w, 1)
    if "{plist}" in url:
        _with_list(w)
    outsiders = {
        "researcher": w["users"]["researcher"],
        "reviewer": w["users"]["reviewer"],
    }
    if who == "staff":
        outsiders["secretariat_only"] = f.user(Role.secretariat)
    else:
        outsiders["staff"] = w["users"]["staff"]
    db.session.commit()
    refused = 0
    for name, user in outsiders.items():
        c = app.test_client()
        f.login(c, user)
        page_answer = c.get(_url(w, page)).status_code
        for fmt in ("csv", "xlsx"):
            got = c.get(_url(w, url) + "." + fmt).status_code
            if page_answer == 200:  # (the projects dashboard is the secretariat's too)
                assert got == 200, (name, url, fmt, got)
            else:
                assert got in (403, 404), (name, url, fmt, got)
                refused += 1
    assert refused >= 4  # researchers and reviewers at least
    anonymous = app.test_client().get(_url(w, url) + ".csv")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


def test_a_sides_staff_never_download_the_other_sides_reviews(app, client):
    w = _world()
    _grow(w, 2)
    cn, be = w["cn"], w["be"]
    staff_be = f.user(Role.staff, agency=be, name="Staff of BE")
    # a BE review with confidential comments, and a CN one
    p = db.session.get(Assignment, db.session.query(Assignment.id).filter_by(agency_id=be.id).first()[0]).proposal
    rev_be = f.reviewer(be, name="Reviewer Belgian")
    save_review(rev_be, f.assignment(p, rev_be), {c.id: 3 for c in w["call"].criteria}, "To applicants BE.",
                "CONFIDENTIAL-BE", None, submit=True)
    db.session.commit()
    f.login(client, w["users"]["staff"])  # CN staff
    rows = _csv(client.get(f"/reviews/dashboard/{w['call'].id}/{cn.id}/reviews.csv"))
    text = "\n".join(",".join(r) for r in rows)
    assert "CONFIDENTIAL-BE" not in text and "Reviewer Belgian" not in text
    assert client.get(f"/reviews/dashboard/{w['call'].id}/{be.id}/reviews.csv").status_code == 403
    assert client.get(f"/reviews/dashboard/{w['call'].id}/{be.id}/assignments.xlsx").status_code == 403
    assert client.get(f"/reviews/pool/{be.id}/export.csv").status_code == 403
    other = app.test_client()
    f.login(other, staff_be)
    rows = _csv(other.get(f"/reviews/dashboard/{w['call'].id}/{be.id}/reviews.csv"))
    header = rows[0]
    assert "Confidential comments" in header
    assert "CONFIDENTIAL-BE" in [r[header.index("Confidential comments")] for r in rows[1:]]
    # the ranking a side's staff download is their own side's
    ranking = _csv(other.get(f"/reviews/ranking/{w['call'].id}/export.csv"))
    assert be.short_name.lower() in other.get(f"/reviews/ranking/{w['call'].id}/export.csv").headers[
        "Content-Disposition"].lower()
    assert len(ranking) > 1


def test_another_committees_staff_get_404(app, client):
    w = _world()
    _grow(w, 1)
    _with_list(w)
    committee2 = _committee_b(w["cn"])
    staff2 = f.user(agency=w["cn"])
    staff2.grant(Role.staff, w["cn"], committee2)
    secretariat2 = f.user()
    secretariat2.grant(Role.secretariat, None, committee2)
    db.session.commit()
    f.login(client, staff2)
    for url in ("/reviews/dashboard/{call}/{cn}/reviews.csv", "/reviews/ranking/{call}/export.csv"):
        assert client.get(_url(w, url)).status_code == 404, url
    rows = _csv(client.get("/proposals/staff/export.csv"))
    assert rows[1:] == []
    other = app.test_client()
    f.login(other, secretariat2)
    for url in ("/selection/joint/{call}/export.xlsx", "/selection/lists/{plist}/export.csv",
                "/selection/calls/{call}/scenarios/export.csv"):
        assert other.get(_url(w, url)).status_code == 404, url
    assert _csv(other.get("/projects/dashboard/export.csv"))[1:] == []


def test_odd_query_strings_do_not_break_the_links(client):
    w = _world()
    _grow(w, 1)
    f.login(client, w["users"]["staff"])
    page = client.get(f"/reviews/ranking/{w['call'].id}?call_id=99&fmt=pdf&_scheme=ftp&_external=1&x=1")
    assert page.status_code == 200
    assert f'href="/reviews/ranking/{w["call"].id}/export.csv?x=1"' in page.get_data(as_text=True)


def test_an_unknown_format_is_not_found(client):
    w = _world()
    f.login(client, w["users"]["staff"])
    assert client.get("/proposals/staff/export.pdf").status_code == 404


# ---------------------------------------------------------------- long lists: a job


def test_a_long_list_is_built_by_a_job_and_downloaded_by_its_creator_only(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_INLINE_ROWS", 3)
    w = _world()
    _grow(w, 4)
    staff = w["users"]["staff"]
    f.login(client, staff)
    response = client.get("/proposals/staff/export.xlsx")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    job_id = int(job_url.rsplit("/", 1)[1])
    job = db.session.get(Job, job_id)  # the eager task ran after the commit
    assert job.kind == "export" and job.status == JobStatus.done and job.progress == 100
    assert job.result["rows"] == 4 and job.result["filename"].endswith(".xlsx")
    page = client.get(job_url).get_data(as_text=True)
    assert f'href="/jobs/{job_id}/download"' in page and "Submitted proposals (XLSX)" in page
    download = client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200
    sheet = _xlsx(download)
    assert sheet.max_row == 5 and sheet["A1"].value == "Reference"
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]
    # another staff member with the same right: not theirs
    colleague = app.test_client()
    f.login(colleague, f.user(Role.staff, agency=w["cn"]))
    assert colleague.get(f"/jobs/{job_id}/download").status_code == 404
    assert colleague.get(job_url).status_code == 404
    # the creator who lost the right no longer downloads it
    staff.roles.clear()  # (ends their sessions too)
    db.session.commit()
    assert client.get(f"/jobs/{job_id}/download").status_code in (302, 403)


def test_the_job_reads_its_rows_in_batches_not_one_query_per_row(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_INLINE_ROWS", 1)
    w = _world()
    f.login(client, w["users"]["secretariat"])
    counts = []
    for n in (2, 6):
        _grow(w, n)
        with count_queries() as counter:
            response = client.get("/audit/export.xlsx")  # the job runs in place (eager tasks)
        assert response.status_code == 302
        counts.append(counter["n"])
        job = db.session.get(Job, int(response.headers["Location"].rsplit("/", 1)[1]))
        assert job.status == JobStatus.done, job.message
    assert counts[0] == counts[1], f"{counts[0]} queries with 2 rows, {counts[1]} with 8"


def test_the_job_page_polls_while_the_export_runs(app, client):
    w = _world()
    staff = w["users"]["staff"]
    job = Job(kind="export", status=JobStatus.running, progress=40, created_by_id=staff.id,
              params={"export": "proposals.staff", "format": "csv", "query": {}, "view_args": {}},
              message="Writing 12 rows…")
    db.session.add(job)
    db.session.commit()
    f.login(client, staff)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'id="job-progress"' in page and f'data-url="/jobs/{job.id}"' in page and "40%" in page
    assert "reviews-job.js" in page and "/download" not in page
    assert client.get(f"/jobs/{job.id}/download").status_code == 404  # not built yet
    state = client.get(f"/jobs/{job.id}", headers={"Accept": "application/json"}).get_json()
    assert state["progress"] == 40 and state["status"] == "running"


def test_the_csv_writer_and_the_names(app):
    from cfp.core import exports

    table = exports.Table("proposals", [
        exports.Column("Title", lambda r: r[0]),
        exports.Column("Amount", lambda r: r[1], "money", currency="EUR"),
        exports.Column("Day", lambda r: r[2], "date"),
        exports.Column("Score", lambda r: r[3], "decimal", decimals=3),
    ], [("-1+2", Decimal("1234.5"), date(2026, 11, 30), Decimal("4.25"))], prefix="CN-BE-2023")
    out = io.BytesIO()
    assert exports.write_csv(table, out) == 1
    rows = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert rows == [["Title", "Amount (EUR)", "Day", "Score"], ["'-1+2", "1234.50", "2026-11-30", "4.25"]]
    assert table.filename("xlsx", date(2026, 11, 30)) == "cn-be-2023-proposals-2026-11-30.xlsx"
    assert exports.content_disposition("中文-2026.csv") == (
        "attachment; filename=\"-2026.csv\"; filename*=UTF-8''%E4%B8%AD%E6%96%87-2026.csv")
    sheet = load_workbook(io.BytesIO(exports.render(table, "xlsx"))).active
    assert sheet["B2"].value == 1234.5 and sheet["B2"].number_format == "[$€]#,##0.00"
    from flask_babel import force_locale

    with force_locale("fr"):  # after the amount in French; the code where French has no symbol
        assert (exports.money_format("EUR"), exports.money_format("CNY")) == ("#,##0.00 [$€]", "#,##0.00 [$CNY]")
    with force_locale("zh_Hans"):
        assert exports.money_format("CNY") == "[$¥]#,##0.00"
    assert sheet["C2"].is_date and sheet["D2"].number_format == "0.000"


def test_export_files_are_removed_once_kept_long_enough(app, client, monkeypatch, tmp_path):
    """A built file holds personal data: it is deleted EXPORT_KEEP_HOURS after the job
    ended (beat, hourly), with the pieces of jobs that died half-way; the job then says so."""
    from datetime import timedelta

    from cfp.core.exports import export_folder, purge_old_exports
    from cfp.core.types import utcnow

    monkeypatch.setitem(app.config, "EXPORT_INLINE_ROWS", 1)
    monkeypatch.setitem(app.config, "EXPORT_FOLDER", str(tmp_path / "exports"))
    w = _world()
    _grow(w, 2)
    f.login(client, w["users"]["staff"])
    old_id = int(client.get("/proposals/staff/export.csv").headers["Location"].rsplit("/", 1)[1])
    new_id = int(client.get("/proposals/staff/export.xlsx").headers["Location"].rsplit("/", 1)[1])
    old, new = db.session.get(Job, old_id), db.session.get(Job, new_id)
    old.finished_at = utcnow() - timedelta(hours=app.config["EXPORT_KEEP_HOURS"] + 1)
    stray = export_folder() / "999-20260101000000.csv.part"
    stray.write_bytes(b"half")
    old_time = (utcnow() - timedelta(days=2)).timestamp()
    import os

    os.utime(stray, (old_time, old_time))
    db.session.commit()
    old_file = export_folder() / old.result["file"]
    assert old_file.exists()
    assert purge_old_exports() == 2  # the old file and the stray piece
    db.session.commit()
    assert not old_file.exists() and not stray.exists()
    assert (export_folder() / new.result["file"]).exists()
    assert client.get(f"/jobs/{old_id}/download").status_code == 404
    assert "no longer kept" in client.get(f"/jobs/{old_id}").get_data(as_text=True)
    assert client.get(f"/jobs/{new_id}/download").status_code == 200
    assert purge_old_exports() == 0
