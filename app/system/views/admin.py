"""Background jobs for the super admin: what waits, runs and failed on each RQ queue, and the
failed jobs with their tracebacks, to queue again or delete."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, url_for
from flask_babel import gettext as _

from app.core.htmx import render
from app.extensions import QUEUE_NAMES, get_queue
from app.system import queries, services

blueprint = Blueprint("system", __name__)


@blueprint.get("/jobs")
def job_list():
    failed = {name: queries.failed_jobs(get_queue(name)) for name in QUEUE_NAMES}
    return render("system/admin/jobs.html", states=queries.queue_states(), failed=failed, shown=queries.SHOWN_PER_QUEUE)


@blueprint.post("/jobs/<queue_name>/<job_id>/requeue")
def job_requeue(queue_name: str, job_id: str):
    job = services.requeue(g.user, queries.queue_named(queue_name), job_id)
    flash(_("%(job)s is queued again on %(queue)s.", job=job.function, queue=queue_name), "success")
    return redirect(url_for(".job_list"), 303)


@blueprint.post("/jobs/<queue_name>/<job_id>/delete")
def job_delete(queue_name: str, job_id: str):
    job = services.delete(g.user, queries.queue_named(queue_name), job_id)
    flash(_("The failed %(job)s job is deleted.", job=job.function), "success")
    return redirect(url_for(".job_list"), 303)
