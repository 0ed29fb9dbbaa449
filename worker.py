"""RQ worker for the ``high``, ``default`` and ``low`` queues, with RQ's scheduler.

``python worker.py`` serves all three queues in priority order: ``high`` (payments, event
delivery, every SMS and email, hold expiry), then ``default`` (trip generation), then ``low``
(housekeeping), so messages never wait behind slow work. Run one per core to start with;
``--queues high`` dedicates one to payments and messages. Each job runs inside a fresh app
context; ``app.core.jobs.job`` commits or rolls it back. RQ's scheduler, in every worker, starts
delayed jobs (notification retries) when they fall due.

``python worker.py --cron`` runs the periodic-job scheduler instead: exactly one per deployment.
It only enqueues the jobs in ``PERIODIC`` on time; the workers run them. docs/operations.md has
the table of periodic jobs.
"""

from __future__ import annotations

import argparse

from rq import SimpleWorker
from rq.cron import CronScheduler

from app import create_app
from app.booking.jobs import release_expired_holds
from app.extensions import QUEUE_NAMES
from app.fleet.jobs import generate_upcoming_trips
from app.notifications.jobs import send_boarding_reminders, send_due
from app.payments.jobs import purge_idempotency_keys, reconcile
from app.tracking.jobs import flush_positions

# (job, queue, cron expression in UTC). Every periodic job is idempotent: a late or doubled run
# changes nothing that a single run would not.
PERIODIC = [
    (generate_upcoming_trips, "default", "15 * * * *"),
    (release_expired_holds, "high", "* * * * *"),
    (reconcile, "high", "* * * * *"),
    (send_due, "high", "* * * * *"),
    (send_boarding_reminders, "high", "*/5 * * * *"),
    (flush_positions, "default", "* * * * *"),
    (purge_idempotency_keys, "low", "30 3 * * *"),
]


class AppWorker(SimpleWorker):
    """Runs jobs in this process (no fork: database pools survive) inside an app context."""

    flask_app = None

    def perform_job(self, job, queue):
        with self.flask_app.app_context():
            return super().perform_job(job, queue)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--queues", nargs="+", default=list(QUEUE_NAMES), choices=QUEUE_NAMES)
    parser.add_argument("--cron", action="store_true", help="run the periodic-job scheduler instead of a worker")
    args = parser.parse_args()

    app = create_app()
    if app.config["JOBS_INLINE"]:
        raise SystemExit("REDIS_URL is not set: jobs run inline in the web process; no worker is needed.")
    if args.cron:
        cron_scheduler(app.extensions["redis"]).start()
        return
    AppWorker.flask_app = app
    queues = [app.extensions["queues"][name] for name in args.queues]
    worker = AppWorker(queues, connection=app.extensions["redis"])
    worker.work(burst=args.burst, with_scheduler=True)


def cron_scheduler(connection) -> CronScheduler:
    scheduler = CronScheduler(connection=connection)
    for func, queue, cron in PERIODIC:
        scheduler.register(func, queue, cron=cron)
    return scheduler


if __name__ == "__main__":
    main()
