"""Command-line tools: ``flask demo load``, ``flask accounts create-superadmin|disable|enable``,
``flask fleet generate-trips``."""

from __future__ import annotations

import logging
from contextlib import contextmanager

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.core import tx

demo = AppGroup("demo", help="Demo data for trying TMS out.")
accounts = AppGroup("accounts", help="Account administration.")
fleet = AppGroup("fleet", help="Fleet operations.")


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


def init_app(app: Flask) -> None:
    app.cli.add_command(demo)
    app.cli.add_command(accounts)
    app.cli.add_command(fleet)
