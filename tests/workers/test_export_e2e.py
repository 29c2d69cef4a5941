"""A list longer than the inline threshold is exported by a real worker (issue 14): the
web answers at once with the job's page, the worker writes the file with its progress,
and its creator downloads it; nobody else does."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cfp.core.jobs import Job, JobStatus
from cfp.core.roles import Role
from cfp.extensions import db
from cfp.proposals.models import ProposalState
from tests import factories as f
from tests.workers.test_worker_e2e import enqueuing_to, succeeded, wait_for

pytestmark = pytest.mark.real_commits


def test_a_long_export_is_built_by_the_worker_and_downloaded_by_its_creator(app, web, worker, monkeypatch,
                                                                             instance_dir):
    monkeypatch.setitem(web.config, "EXPORT_INLINE_ROWS", 3)
    cn, be, committee = f.world()
    call = f.call(committee)
    staff = f.user(Role.staff, agency=cn)
    colleague = f.user(Role.staff, agency=cn)
    for i in range(7):
        f.proposal(call, f.user(Role.researcher, agency=cn), f.user(Role.researcher, agency=be),
                   state=ProposalState.submitted, title=f"Long list {i}")
    db.session.commit()
    log_start = len(worker.output())

    client = web.test_client()
    f.login(client, staff)
    with enqueuing_to(web, app):
        response = client.get(f"/proposals/staff/export.xlsx?call={call.id}")
    assert response.status_code == 302
    job_url = response.headers["Location"]
    job_id = int(job_url.rsplit("/", 1)[1])
    # the page follows the job while it runs (its bar, polled as JSON)
    page = client.get(job_url).get_data(as_text=True)
    assert 'id="job-progress"' in page or 'id="job-download"' in page

    job = wait_for(worker, "the export job", lambda: (
        j if (j := db.session.get(Job, job_id)) and j.status in (JobStatus.done, JobStatus.failed) else None))
    assert job.status == JobStatus.done, job.message
    assert job.progress == 100 and job.result["rows"] == 7
    assert succeeded(worker, "exports.build_export", log_start, 1) == [repr(job.result["file"])]
    stored = Path(web.config["EXPORT_FOLDER"]) / job.result["file"]
    assert stored.is_file() and stored.parent == Path(instance_dir) / "exports"
    state = client.get(job_url, headers={"Accept": "application/json"}).get_json()
    assert state["status"] == "done" and state["progress"] == 100

    page = client.get(job_url).get_data(as_text=True)
    assert f'href="/jobs/{job_id}/download"' in page
    download = client.get(f"/jobs/{job_id}/download")
    assert download.status_code == 200
    assert call.reference.lower() in download.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(download.get_data())).active
    assert sheet.max_row == 8 and sheet.freeze_panes == "A2"
    assert sorted(c.value for c in sheet["D"][1:]) == [f"Long list {i}" for i in range(7)]

    other = web.test_client()
    f.login(other, colleague)
    assert other.get(f"/jobs/{job_id}/download").status_code == 404
