"""Command-line tools: ``flask demo load``, ``flask accounts create-superadmin|disable|enable``,
``flask fleet generate-trips``, ``flask qr rotate|keys``."""

from __future__ import annotations

import logging
import secrets
import string
from contextlib import contextmanager
from datetime import UTC, datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.core import tx

demo = AppGroup("demo", help="Demo data for trying TMS out.")
accounts = AppGroup("accounts", help="Account administration.")
fleet = AppGroup("fleet", help="Fleet operations.")
qr = AppGroup("qr", help="The keys that sign ticket QR codes.")

# Six characters at most: with a four-character seat the ticket's QR stays at version 4.
KEY_ID_CHARACTERS, KEY_ID_LENGTH = string.ascii_lowercase + string.digits, 6


@demo.command("load")
def demo_load() -> None:
    """Load Rwandan demo operators, stations and one login per role (safe to run twice)."""
    from app import demo as demo_data

    if current_app.config["TMS_ENV"] == "production":
        raise click.ClickException("refusing to load demo accounts into a production database")
    with _messages_unlogged():
        logins = demo_data.load()
        tx.commit()  # jobs run inline after the commit: the passenger's ticket email
    counts = demo_data.loaded()
    click.echo(
        "Demo data loaded: {companies} operators, {stations} stations, {routes} routes, {buses} buses, "
        "{trips} trips, {tickets} tickets; {messages} SMS and emails to their passengers "
        "(not shown here).".format(**counts)
    )
    click.echo(f"Sign in at {current_app.config['BASE_URL']}/login with the password {demo_data.DEMO_PASSWORD}:")
    for email, what in logins:
        click.echo(f"  {email:<24} {what}")


@contextmanager
def _messages_unlogged():
    """The demo's sales send hundreds of tickets by SMS and email; in the embedded mode each is
    written whole to the log, which buried the logins. Messages sent later are logged as usual."""
    channels = logging.getLogger("app.notifications.channels")
    level = channels.level
    channels.setLevel(logging.ERROR)
    try:
        yield
    finally:
        channels.setLevel(level)


@accounts.command("create-superadmin")
@click.argument("email")
@click.option("--name", default="Platform admin")
@click.password_option()
def create_superadmin(email: str, name: str, password: str) -> None:
    """Create a platform super admin (the first login of a new installation)."""
    from app.accounts.models import User
    from app.accounts.queries import user_by_email
    from app.accounts.services import hash_password
    from app.core.models import utcnow
    from app.extensions import db

    if user_by_email(email):
        raise click.ClickException(f"{email} already has an account")
    db.session.add(
        User(
            email=email.lower(),
            name=name,
            password_hash=hash_password(password),
            is_super_admin=True,
            last_login_at=utcnow(),
        )
    )
    tx.commit()
    click.echo(f"Super admin {email} created.")


@accounts.command("disable")
@click.argument("email")
def disable_account(email: str) -> None:
    """Close an account: it can no longer sign in, and every session and API token ends now."""
    _set_enabled(email, False)
    click.echo(f"{email} is disabled and signed out everywhere.")


@accounts.command("enable")
@click.argument("email")
def enable_account(email: str) -> None:
    """Reopen a disabled account (its owner signs in again)."""
    _set_enabled(email, True)
    click.echo(f"{email} is enabled.")


def _set_enabled(email: str, enabled: bool) -> None:
    from app.accounts.queries import user_by_email
    from app.accounts.services import set_enabled
    from app.core.models import utcnow

    user = user_by_email(email)
    if user is None:
        raise click.ClickException(f"{email} has no account")
    set_enabled(user, enabled, now=utcnow())
    tx.commit()


@fleet.command("generate-trips")
def generate_trips() -> None:
    """Create the timetabled trips of every active company up to its planning horizon."""
    from app.fleet.jobs import generate_upcoming_trips

    click.echo(f"{generate_upcoming_trips()} trips created.")


@qr.command("rotate")
def qr_rotate() -> None:
    """Make a new signing key and print the QR_SIGNING_KEYS value that puts it first."""
    keys = current_app.config["QR_SIGNING_KEYS"]
    kid = next(kid for kid in iter(_new_key_id, None) if kid not in keys)
    secret = secrets.token_urlsafe(48)
    value = ",".join([f"{kid}:{secret}", *(f"{old}:{master.decode()}" for old, master in keys.items())])
    click.echo(f"New key {kid}:{secret}")
    click.echo("Set this value in every web and worker process and restart them; the other keys are then retired:")
    click.echo(f"QR_SIGNING_KEYS={value}")


def _new_key_id() -> str:
    return "".join(secrets.choice(KEY_ID_CHARACTERS) for _ in range(KEY_ID_LENGTH))


@qr.command("keys")
@click.option(
    "--since",
    type=datetime.fromisoformat,
    help="When the signing key was deployed (ISO 8601, UTC unless an offset is given): only tickets "
    "bought before then can carry a retired key id.",
)
def qr_keys(since: datetime | None) -> None:
    """List the key ids, which one signs, and what each retired one still vouches for."""
    from app.booking.queries import unended_trips_with_paid_tickets

    signing, *retired = current_app.config["QR_SIGNING_KEYS"]
    click.echo(f"{signing}  signs new tickets")
    if not retired:
        return
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    trips = unended_trips_with_paid_tickets(bought_before=since)
    if trips:
        bought = f" bought before {since.isoformat()}" if since else ""
        state = f"paid tickets{bought} on {trips} trip{'s' * (trips != 1)} not yet ended"
    else:
        state = "no trip not yet ended needs it: it can be removed"
    for kid in retired:
        click.echo(f"{kid}  retired: {state}")


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(accounts)
    app.cli.add_command(fleet)
    app.cli.add_command(qr)
