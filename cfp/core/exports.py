"""Lists out as CSV and XLSX, with the page's permissions and filters.

A list page that can be downloaded declares a *table*: its columns (a header in the
viewer's language, a getter of the value from a row, a type) and its rows, read from
the same query-building function the page uses (so the same filters and the same
scope). `register(name, authorize=..., build=...)` names it; the page's export route
calls `respond(name, fmt, **view_args)`:

- `authorize(**view_args)` runs the page's own checks as the current user (404 outside
  their scope, 403 without the right), the same code the page runs;
- `build(user, query, **view_args)` gives the `Table`, for `user` (never the request's
  user: a worker builds it too) and the page's query string `query` (a MultiDict);
- up to EXPORT_INLINE_ROWS rows (CFP_EXPORT_INLINE_ROWS, 5,000) the file is the answer;
  beyond, a background job builds it (task `exports.build_export`, progress on the job's
  page) into the instance folder, and only the user who asked (still allowed to see
  the page) downloads it (`/jobs/<id>/download`).

Types: text, int, decimal, money (with the column's currency: an XLSX currency number
format; CSV keeps the plain amount, the header names the currency), date, datetime (in
the viewer's time zone, which the header names), bool (yes / no in the viewer's language).
CSV is UTF-8 with a BOM (Excel then reads Chinese right), a header row, and text that a
spreadsheet would run as a formula (= + - @ first) is quoted with an apostrophe. XLSX has
typed cells, a bold frozen header row, column widths from the content and an autofilter.
Rows are read in batches of BATCH (with their relations loaded per batch), never one
query per row.
"""
from __future__ import annotations

import csv
import functools
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from babel import Locale
from babel.numbers import get_currency_symbol
from flask import Response, abort, current_app, redirect, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from cfp.core.timezones import to_zone
from cfp.core.types import utcnow
from cfp.extensions import db

BATCH = 1000
FORMATS = ("csv", "xlsx")
JOB_KIND = "export"
KINDS = ("text", "int", "decimal", "money", "date", "datetime", "bool")
# Query-string arguments that choose a page of the list, not what is in it.
PAGING_ARGS = ("page", "after", "before", "per_page")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass(frozen=True)
class Column:
    """One column: `value(row)` gives the cell (None for empty)."""

    header: str
    value: Callable
    kind: str = "text"
    # money: the ISO code of the whole column, or a function of the row for a column whose
    # rows differ (then the table has a column naming each row's currency)
    currency: str | Callable | None = None
    decimals: int = 2  # decimal: digits after the point

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown column type {self.kind!r}")


@dataclass
class Table:
    """A list to download: `source` is an ordered query of rows (read in batches, each
    batch through `prepare`, which may load what the batch's rows need in one query) or
    a list already in memory."""

    name: str  # what the list is, in the file name: "proposals"
    columns: list[Column]
    source: sa.Select | list
    prefix: str = ""  # whose list: a call's reference, an agency's short name
    prepare: Callable[[list], list] | None = None
    zone: str = "UTC"  # the viewer's, for datetimes
    title: str = ""  # the sheet's name

    def count(self) -> int:
        if isinstance(self.source, list):
            return len(self.source)
        return db.session.scalar(sa.select(sa.func.count()).select_from(
            self.source.order_by(None).subquery())) or 0

    def batches(self) -> Iterator[list]:
        if isinstance(self.source, list):
            chunks: Iterable = (self.source[i:i + BATCH] for i in range(0, len(self.source), BATCH))
        else:
            chunks = _chunks(db.session.scalars(self.source).unique())
        for chunk in chunks:
            yield self.prepare(chunk) if self.prepare else chunk

    def headers(self) -> list[str]:
        out = []
        for c in self.columns:
            header = str(c.header)
            if c.kind == "money" and isinstance(c.currency, str):
                header = f"{header} ({c.currency})"
            elif c.kind == "datetime":
                header = f"{header} ({self.zone})"
            out.append(header)
        return out

    def values(self, row) -> list:
        """The row's typed values: instants in the viewer's zone (naive), booleans as words."""
        out = []
        for c in self.columns:
            value = c.value(row)
            if value is None:
                out.append(None)
            elif c.kind == "datetime":
                out.append(to_zone(value, self.zone).replace(tzinfo=None, microsecond=0))
            elif c.kind == "bool":
                out.append(_("yes") if value else _("no"))
            elif c.kind in ("decimal", "money"):
                out.append(Decimal(value))
            elif c.kind == "int":
                out.append(int(value))
            elif c.kind == "date":
                out.append(value.date() if isinstance(value, datetime) else value)
            else:
                out.append(str(value))
        return out

    def filename(self, fmt: str, today: date | None = None) -> str:
        """`cn-be-2023-proposals-2026-11-30.xlsx`."""
        parts = [p for p in (self.prefix, self.name) if p]
        return f"{slug('-'.join(parts)) or 'export'}-{(today or utcnow().date()).isoformat()}.{fmt}"


def _chunks(result) -> Iterator[list]:
    while chunk := result.fetchmany(BATCH):
        yield chunk


def slug(text: str) -> str:
    """Lower-case words joined by hyphens; letters of any script kept (`中文` stays)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return re.sub(r"[^\w]+", "-", text).strip("-_")


# ------------------------------------------------------------------------------ writers


def write_csv(table: Table, out: io.BufferedIOBase, progress: Callable[[int], None] | None = None) -> int:
    """The table as CSV into the binary file `out`; the number of rows."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(table.headers())
    n = 0
    kinds = [c.kind for c in table.columns]
    for batch in table.batches():
        writer.writerows([_csv_cell(v, k) for v, k in zip(table.values(row), kinds, strict=True)] for row in batch)
        n += len(batch)
        if progress:
            progress(n)
    text.flush()
    text.detach()
    return n


def _csv_cell(value, kind: str):
    if value is None:
        return ""
    if kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M")
    if kind == "date":
        return value.isoformat()
    if kind == "money":
        return f"{value:.2f}"
    if kind == "text" and value.startswith(FORMULA_START):
        return "'" + value  # never run as a formula by the spreadsheet that opens it
    return value


def money_format(currency: str | None) -> str:
    """An XLSX number format for amounts in `currency` (an ISO 4217 code): its symbol as the
    reader's language writes it (€, CN¥ in English, ¥ in Chinese), before or after the
    amount as that language places it; the code itself where the language has no symbol."""
    if not currency:
        return "#,##0.00"
    return _money_format(currency, str(get_locale() or "en"))  # a table in several currencies asks per row


@functools.cache
def _money_format(currency: str, locale_name: str) -> str:
    locale = Locale.parse(locale_name)
    symbol = get_currency_symbol(currency, locale=locale).replace("]", "").replace("-", "") or currency
    before = locale.currency_formats["standard"].pattern.lstrip().startswith("¤")
    return f"[${symbol}]#,##0.00" if before else f"#,##0.00 [${symbol}]"


def _number_formats(table: Table) -> list[str | Callable | None]:
    """Each column's number format, or a function of the row (money in the row's currency)."""
    formats = []
    for c in table.columns:
        if c.kind == "money" and callable(c.currency):
            formats.append(lambda row, c=c: money_format(c.currency(row)))
        elif c.kind == "money":
            formats.append(money_format(c.currency))
        elif c.kind == "decimal":
            formats.append("0." + "0" * c.decimals if c.decimals else "0")
        elif c.kind == "int":
            formats.append("0")
        elif c.kind == "date":
            formats.append("yyyy-mm-dd")
        elif c.kind == "datetime":
            formats.append("yyyy-mm-dd hh:mm")
        else:
            formats.append(None)
    return formats


def _width(value) -> int:
    """About how many characters wide a value shows (East Asian characters count two)."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, date):
        return 10
    if isinstance(value, Decimal | int | float):
        return len(f"{value:,.2f}") + 5
    text = str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def write_xlsx(table: Table, out, progress: Callable[[int], None] | None = None) -> int:
    """The table as an XLSX workbook into `out` (a path or a binary file); the rows."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    headers = table.headers()
    formats = _number_formats(table)
    # Widths from the header and the first batch; then every row streams to the file.
    batches = table.batches()
    first = next(batches, [])
    first_values = [(row, table.values(row)) for row in first]
    widths = [max([_width(h) + 2] + [_width(v[i]) + 1 for _row, v in first_values[:500]])
              for i, h in enumerate(headers)]
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_sheet_title(table.title or table.name))
    sheet.freeze_panes = "A2"
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = min(max(width, 8), 60)
    bold = Font(bold=True)

    def cell(value, number_format):
        c = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # text is text, even when it starts with "="
        elif number_format and value is not None:
            c.number_format = number_format
        return c

    header_cells = []
    for h in headers:
        c = WriteOnlyCell(sheet, value=h)
        c.data_type, c.font = "s", bold
        header_cells.append(c)
    sheet.append(header_cells)
    n = 0

    def append(rows):
        nonlocal n
        for row, values in rows:
            sheet.append([cell(v, f(row) if callable(f) else f) for v, f in zip(values, formats, strict=True)])
        n += len(rows)
        if progress:
            progress(n)

    append(first_values)
    for batch in batches:
        append([(row, table.values(row)) for row in batch])
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(len(headers), 1))}{n + 1}"
    book.save(out)
    return n


def _sheet_title(text: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", str(text))[:31] or "export"


def render(table: Table, fmt: str, progress=None) -> bytes:
    buffer = io.BytesIO()
    (write_csv if fmt == "csv" else write_xlsx)(table, buffer, progress)
    return buffer.getvalue()


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the UTF-8 name (RFC 6266, RFC 5987)."""
    ascii_name = filename.encode("ascii", "ignore").decode() or "export"
    ascii_name = re.sub(r'["\\\r\n]', "", ascii_name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(data: bytes, filename: str, fmt: str) -> Response:
    response = Response(data, mimetype=MEDIA_TYPES[fmt])
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# ------------------------------------------------------------------------------ registry


@dataclass(frozen=True)
class Export:
    name: str
    authorize: Callable  # (**view_args) -> None, as the current user: aborts 403/404
    build: Callable  # (user, query: MultiDict, **view_args) -> Table
    label: object = ""  # what the list is, for the job's page (lazily translated)


EXPORTS: dict[str, Export] = {}


def register(name: str, *, authorize: Callable, build: Callable, label) -> None:
    """Declare the export `name` (done once, when the package's views are imported)."""
    EXPORTS[name] = Export(name, authorize, build, label)


def require_role(*roles) -> None:
    """The page's role check (role_required), for code that runs outside the decorator."""
    if not current_user.is_authenticated or not any(current_user.has_role(r) for r in roles):
        abort(403)


def filters(args: MultiDict | None = None) -> MultiDict:
    """The page's query string without its paging: what chooses the rows."""
    args = MultiDict(args if args is not None else request.args)
    for name in list(args.keys()):
        if name in PAGING_ARGS or name.endswith("_page"):
            args.poplist(name)
    return args


def export_url(endpoint: str, fmt: str, **view_args) -> str:
    """The export link of a list page: the page's filters carried along (never a name
    that url_for or the route itself takes: those are not filters)."""
    carried = {k: v for k, v in filters().to_dict(flat=False).items()
               if k != "fmt" and k not in view_args and not k.startswith("_")}
    return url_for(endpoint, fmt=fmt, **view_args, **carried)


def build_table(name: str, user, query: MultiDict, view_args: dict) -> Table:
    table = EXPORTS[name].build(user, query, **view_args)
    table.zone = user.effective_timezone
    return table


def respond(name: str, fmt: str, **view_args):
    """The answer of an export route: the page's checks, then the file, or a job for a
    long list (the answer is then its progress page)."""
    if fmt not in FORMATS:
        abort(404)
    export = EXPORTS[name]
    export.authorize(**view_args)
    query = filters()
    table = build_table(name, current_user, query, view_args)
    if table.count() > current_app.config["EXPORT_INLINE_ROWS"]:
        job = start_export_job(current_user, name, fmt, query, view_args)
        db.session.commit()
        return redirect(url_for("core.job", job_id=job.id))
    return file_response(render(table, fmt), table.filename(fmt), fmt)


# ------------------------------------------------------------------------------ jobs


def start_export_job(actor, name: str, fmt: str, query: MultiDict, view_args: dict):
    from cfp.core.audit import log_action
    from cfp.core.jobs import Job, JobStatus
    from cfp.core.languages import language_of
    from cfp.core.tasks import queue_task

    params = {"export": name, "format": fmt, "query": query.to_dict(flat=False), "view_args": view_args,
              "locale": str(get_locale() or language_of(actor))}
    job = Job(kind=JOB_KIND, status=JobStatus.queued, progress=0, created_by_id=actor.id, params=params,
              message=_("Waiting for a worker…"))
    db.session.add(job)
    db.session.flush()
    log_action(actor, "export.start", job, after={"export": name, "format": fmt})
    queue_task("exports.build_export", job.id)
    return job


def export_folder() -> Path:
    return Path(current_app.config.get("EXPORT_FOLDER") or Path(current_app.instance_path) / "exports")


def export_path(job) -> Path | None:
    """The file a finished export job wrote, if it is still there."""
    name = (job.result or {}).get("file")
    if job.kind != JOB_KIND or not name or "/" in name or name.startswith("."):
        return None
    path = export_folder() / name
    return path if path.is_file() else None


def run_export_job(job_id: int) -> str | None:
    """Build the file of export job `job_id` (in a worker): progress as rows are written.
    Idempotent: a job already done or failed is left alone."""
    from cfp.auth.models import User
    from cfp.core.jobs import Job, JobStatus

    job = db.session.get(Job, job_id)
    if job is None or job.kind != JOB_KIND or job.status not in (JobStatus.queued, JobStatus.running):
        return None
    params = job.params or {}
    user = db.session.get(User, job.created_by_id)
    job.status, job.progress = JobStatus.running, 0
    db.session.commit()
    # Progress is committed as batches are written: the rows already read must not
    # expire (each would be read again, one query per row).
    session = db.session()
    session.expire_on_commit = False
    try:
        with force_locale(params.get("locale") or "en"):
            table = build_table(params["export"], user, MultiDict(params.get("query") or {}),
                                params.get("view_args") or {})
            total = max(table.count(), 1)
            job.message = _("Writing %(n)s rows…", n=total)
            db.session.commit()

            def progress(done: int) -> None:
                db.session.execute(sa.update(Job).where(Job.id == job_id).values(
                    progress=min(99, done * 100 // total)))
                db.session.commit()

            fmt = params["format"]
            folder = export_folder()
            folder.mkdir(parents=True, exist_ok=True)
            stored = f"{job.id}-{utcnow().strftime('%Y%m%d%H%M%S')}.{fmt}"
            partial = folder / (stored + ".part")
            with open(partial, "wb") as out:
                rows = (write_csv if fmt == "csv" else write_xlsx)(table, out, progress)
            partial.rename(folder / stored)
            job = db.session.get(Job, job_id)
            job.status, job.progress, job.finished_at = JobStatus.done, 100, utcnow()
            job.result = {"file": stored, "filename": table.filename(fmt), "format": fmt, "rows": rows}
            job.message = _("Ready: %(n)s rows.", n=rows)
            db.session.commit()
    except Exception as exc:  # the job says it failed; the worker's log has the traceback
        db.session.rollback()
        job = db.session.get(Job, job_id)
        job.status, job.finished_at = JobStatus.failed, utcnow()
        job.message = _("The export failed.")
        job.result = {"error": type(exc).__name__}
        db.session.commit()
        raise
    finally:
        session.expire_on_commit = True
    return stored


def purge_old_exports(now: datetime | None = None) -> int:
    """Beat, hourly: delete the files of export jobs that ended over EXPORT_KEEP_HOURS ago
    (they hold personal data; the job says the file is no longer kept), and the pieces
    (`.part`) a job that died left over a day ago. The number of files deleted."""
    from cfp.core.jobs import Job, JobStatus

    now = now or utcnow()
    cutoff = now - timedelta(hours=current_app.config["EXPORT_KEEP_HOURS"])
    removed = 0
    for job in db.session.scalars(sa.select(Job).where(
            Job.kind == JOB_KIND, Job.status == JobStatus.done, Job.finished_at < cutoff)):
        if not (job.result or {}).get("file"):
            continue
        path = export_path(job)
        if path is not None:
            path.unlink(missing_ok=True)
            removed += 1
        job.result = {**job.result, "file": None, "expired": True}
        job.message = _("The file is no longer kept (%(hours)s hours after it was built); download the list again.",
                        hours=current_app.config["EXPORT_KEEP_HOURS"])
    folder = export_folder()
    if folder.is_dir():
        for piece in folder.glob("*.part"):
            if piece.stat().st_mtime < (now - timedelta(days=1)).timestamp():
                piece.unlink(missing_ok=True)
                removed += 1
    return removed


def job_label(job) -> str:
    """What an export job makes, for its page: "Proposals (XLSX)"."""
    params = job.params or {}
    export = EXPORTS.get(params.get("export"))
    return _("%(list)s (%(format)s)", list=export.label if export else _("Export"),
             format=str(params.get("format", "")).upper())
