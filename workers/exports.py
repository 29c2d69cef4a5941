"""Exports too long to answer at once: the file is built here, as a job with progress."""
from celery import shared_task


@shared_task(name="exports.build_export", acks_late=True)
def build_export(job_id: int) -> str:
    """Write the CSV or XLSX file of export job `job_id` into the instance folder.
    Idempotent: a job already done or failed is left alone."""
    from cfp.core.exports import run_export_job

    return run_export_job(job_id) or "skipped"


@shared_task(name="exports.purge_old_exports")
def purge_old_exports() -> int:
    """Beat, hourly: export files past CFP_EXPORT_KEEP_HOURS, and dead jobs' pieces."""
    from cfp.core.exports import purge_old_exports as purge
    from cfp.extensions import db

    removed = purge()
    db.session.commit()
    return removed
