"""Idempotency keys on payment requests: one charge per key whatever the client repeats, even when
Redis forgets, even when twenty copies arrive at once."""

from __future__ import annotations

import re
import threading
import time

import pytest
import redis as redis_lib
from sqlalchemy import func, select

from app.extensions import db
from app.payments.models import IdempotencyKey, Payment
from app.payments.providers.momo import MoMo
from tests.conftest import REDIS_URL, Client
from tests.factories import PASSWORD

MOMO_BODY = {"provider": "momo", "phone": "0788123456"}


def requests_to_pay(momo) -> int:
    return momo.count("POST", "/collection/v1_0/requesttopay")


def test_the_same_key_and_body_five_times_charges_once_and_answers_the_same(api, momo, pending_order):
    user, order = pending_order()
    answers = [api("POST", f"/orders/{order['code']}/payments", user, json=MOMO_BODY, key="k-1") for _ in range(5)]
    assert requests_to_pay(momo) == 1
    assert {a.status_code for a in answers} == {201}
    assert len({a.get_data() for a in answers}) == 1
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None] + ["true"] * 4
    assert db.session.scalar(select(func.count(Payment.id))) == 1


def test_the_same_key_with_another_body_is_refused(api, momo, pending_order):
    user, order = pending_order()
    path = f"/orders/{order['code']}/payments"
    assert api("POST", path, user, json=MOMO_BODY, key="k-2").status_code == 201
    other = api("POST", path, user, json={**MOMO_BODY, "phone": "0788999888"}, key="k-2")
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    elsewhere = api("POST", "/orders/OTHERORDER/payments", user, json=MOMO_BODY, key="k-2")
    assert elsewhere.status_code == 422
    assert requests_to_pay(momo) == 1


def test_flushing_redis_between_attempts_still_charges_once(api, momo, pending_order):
    user, order = pending_order()
    path = f"/orders/{order['code']}/payments"
    first = api("POST", path, user, json=MOMO_BODY, key="k-3")
    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    again = api("POST", path, user, json=MOMO_BODY, key="k-3")
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    redis_lib.Redis.from_url(REDIS_URL).flushdb()
    assert api("POST", path, user, json={**MOMO_BODY, "phone": "0788999888"}, key="k-3").status_code == 422
    assert requests_to_pay(momo) == 1


def test_keys_belong_to_their_user(api, momo, pending_order):
    alice, alices = pending_order(seats=("1A",))
    bob, bobs = pending_order(seats=("1B",))
    mine = api("POST", f"/orders/{alices['code']}/payments", alice, json=MOMO_BODY, key="shared-key").get_json()
    theirs = api("POST", f"/orders/{bobs['code']}/payments", bob, json=MOMO_BODY, key="shared-key")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.get_json()["payment"]["order"] == bobs["code"] != mine["payment"]["order"]
    stolen = api("POST", f"/orders/{alices['code']}/payments", bob, json=MOMO_BODY, key="other-key")
    assert stolen.status_code == 404  # nobody pays, or learns about, another passenger's order
    assert requests_to_pay(momo) == 2


def test_a_refused_request_saves_nothing_so_the_key_can_be_sent_again(api, momo, pending_order):
    user, order = pending_order()
    path = f"/orders/{order['code']}/payments"
    assert api("POST", path, user, json={"provider": "momo", "phone": "0728123456"}, key="k-4").status_code == 422
    assert db.session.scalar(select(func.count(IdempotencyKey.id))) == 0
    assert api("POST", path, user, json=MOMO_BODY, key="k-4").status_code == 201


def test_a_double_clicked_pay_button_pays_once(client, api, pending_order):
    user, order = pending_order()
    client.login(user.email, PASSWORD)
    page = client.get(f"/orders/{order['code']}/pay").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', page).group(1)
    assert key == f"pay-{order['code']}-1"  # one key per checkout attempt, not per click
    clicks = [client.submit(f"/orders/{order['code']}/pay", {"provider": "sandbox", "idempotency_key": key})]
    clicks.append(client.submit(f"/orders/{order['code']}/pay", {"provider": "sandbox", "idempotency_key": key}))
    assert [c.status_code for c in clicks] == [303, 303]
    assert clicks[0].headers["Location"] == clicks[1].headers["Location"]
    assert db.session.scalar(select(func.count(Payment.id))) == 1


@pytest.mark.own_transactions
def test_twenty_copies_at_once_make_one_provider_call(committed, momo, monkeypatch):
    from tests import factories
    from tests.payments.conftest import make_trip

    trip = make_trip()
    user = factories.user()
    db.session.commit()
    client = committed.test_client()
    token = client.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    body = {"trip_id": trip.id, "seats": ["1A"], "passengers": [{"name": "Aline"}]}
    code = client.post("/api/v1/orders", json=body, headers=headers).get_json()["order"]["code"]

    slow_start = MoMo.start

    def start(self, charge):
        time.sleep(0.3)  # MTN takes its time: the copies arrive while the first is still running
        return slow_start(self, charge)

    monkeypatch.setattr(MoMo, "start", start)
    barrier = threading.Barrier(20)
    first_answers, final_answers = [], []

    def copy():
        with committed.app_context():
            send(Client(committed, committed.response_class))

    def send(mine):
        barrier.wait()
        answer = mine.post(
            f"/api/v1/orders/{code}/payments", json=MOMO_BODY, headers={**headers, "Idempotency-Key": "k"}
        )
        first_answers.append((answer.status_code, answer.headers.get("Retry-After")))
        while answer.status_code == 409:  # retry as the 409 says, until the first result is there
            time.sleep(0.05)
            answer = mine.post(
                f"/api/v1/orders/{code}/payments", json=MOMO_BODY, headers={**headers, "Idempotency-Key": "k"}
            )
        final_answers.append((answer.status_code, answer.get_data()))

    threads = [threading.Thread(target=copy) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert requests_to_pay(momo) == 1
    assert sorted(status for status, _ in first_answers) == [201] + [409] * 19
    assert all(retry == "1" for status, retry in first_answers if status == 409)
    assert {status for status, _ in final_answers} == {201} and len({body for _, body in final_answers}) == 1
    assert db.session.scalar(select(func.count(Payment.id))) == 1
