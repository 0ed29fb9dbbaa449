"""The transaction boundary, the error table and page-or-fragment rendering, seen from outside."""

from __future__ import annotations

import pytest
from flask import Blueprint, jsonify
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import select

from app import create_app
from app.companies.models import Company
from app.core import tx
from app.core.errors import DomainError
from app.core.htmx import render
from app.core.jobs import enqueue
from app.extensions import db, get_queue
from app.web.surface import public
from tests import factories


class TripNotEditable(DomainError):
    message = "This trip has departed and can no longer be changed."


probe = Blueprint("probe", __name__, url_prefix="/probe")
side_effects: list[str] = []


def note_side_effect(label: str) -> None:
    side_effects.append(label)


@probe.post("/create/<outcome>")
@public
def create(outcome: str):
    db.session.add(Company(code="probe-co", name="Probe Co"))
    db.session.flush()
    tx.after_commit(lambda: note_side_effect("committed"))
    if outcome == "conflict":
        raise TripNotEditable()
    if outcome == "crash":
        raise RuntimeError("boom")
    return jsonify(ok=True)


@probe.get("/page")
@public
def page():
    return render("probe.html", "content", name="Huye")


@pytest.fixture(scope="module")
def app(app):
    """An app of its own with a throwaway blueprint that uses the boundary as real views do."""
    app = create_app(dict(app.config))
    app.register_blueprint(probe)
    template = '{% extends "layouts/base.html" %}{% block content %}<p id="greeting">Hello {{ name }}</p>{% endblock %}'
    app.jinja_env.loader = ChoiceLoader([DictLoader({"probe.html": template}), app.jinja_env.loader])
    yield app
    with app.app_context():
        db.engine.dispose()


def company_saved() -> bool:
    return db.session.scalar(select(Company).where(Company.code == "probe-co")) is not None


@pytest.fixture(autouse=True)
def _reset_side_effects():
    side_effects.clear()


def test_a_successful_request_commits_once_then_runs_side_effects(client):
    response = client.post("/probe/create/ok", headers={"X-CSRFToken": client.csrf_token()})
    assert response.status_code == 200
    assert company_saved()
    assert side_effects == ["committed"]


def test_a_domain_error_rolls_back_and_drops_side_effects(client):
    response = client.post("/probe/create/conflict", headers={"X-CSRFToken": client.csrf_token()})
    assert response.status_code == 409
    assert "This trip has departed" in response.get_data(as_text=True)
    assert not company_saved()
    assert side_effects == []


def test_a_crash_rolls_back_and_shows_a_generic_message(client, caplog):
    response = client.post("/probe/create/crash", headers={"X-CSRFToken": client.csrf_token()})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "boom" not in page
    assert not company_saved()
    assert side_effects == []


def test_htmx_errors_arrive_as_a_toast(client):
    response = client.htmx("post", "/probe/create/conflict")
    assert response.status_code == 409
    assert response.headers["HX-Retarget"] == "#toasts"
    assert response.headers["HX-Reswap"] == "beforeend"
    assert 'class="toast toast-error"' in response.get_data(as_text=True)


def test_json_clients_get_the_json_error_body(client):
    response = client.post(
        "/probe/create/conflict", headers={"X-CSRFToken": client.csrf_token(), "Accept": "application/json"}
    )
    assert response.status_code == 409
    assert response.json == {"error": {"code": "conflict", "message": TripNotEditable.message, "fields": {}}}


def test_same_url_gives_the_page_or_just_the_fragment(client):
    full = client.get("/probe/page")
    fragment = client.htmx("get", "/probe/page")
    boosted = client.htmx("get", "/probe/page", headers={"HX-Boosted": "true"})
    restore = client.htmx("get", "/probe/page", headers={"HX-History-Restore-Request": "true"})
    assert "<html" in full.get_data(as_text=True)
    assert fragment.get_data(as_text=True).strip() == '<p id="greeting">Hello Huye</p>'
    assert "<html" in boosted.get_data(as_text=True) and "<html" in restore.get_data(as_text=True)
    for response in (full, fragment, boosted, restore):
        assert "HX-Request" in response.headers["Vary"]


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "We could not find that page." in response.get_data(as_text=True)


def test_jobs_are_enqueued_only_after_commit(app):
    app.config["JOBS_INLINE"] = False
    from app.extensions import redis_binding

    redis_binding.init_app(app)  # queues that hand jobs to Redis instead of running them
    try:
        queue = get_queue("default")
        enqueue("default", note_side_effect, "from a job")
        assert queue.count == 0
        tx.rollback()
        assert queue.count == 0  # rolled back: never enqueued

        factories.company()
        enqueue("default", note_side_effect, "from a job")
        assert queue.count == 0
        tx.commit()
        assert queue.count == 1
        assert queue.jobs[0].func_name.endswith("note_side_effect")
    finally:
        app.config["JOBS_INLINE"] = True
        redis_binding.init_app(app)
