"""How many sockets may be open: leases per user, share link and client address, counted across
processes in Redis, and a total per process (their refusals at the handshake are tested with the
socket views, in tests/tracking/test_sockets.py)."""

from __future__ import annotations

import threading
import time

import pytest

from app.core.sockets import LEASE_SECONDS, Cap, Leases, Slots, TooManySockets
from app.extensions import redis


def test_a_subject_gets_as_many_places_as_its_cap_and_a_freed_place_is_taken_again(app):
    cap = Cap("user", "42", 3)
    with app.app_context():
        held = [Leases([cap]) for _ in range(3)]
        for lease in held:
            lease.take()
        with pytest.raises(TooManySockets) as refused:
            Leases([cap]).take()
        assert refused.value.status == 429 and refused.value.retry_after > 0
        assert redis.zcard(Leases._key(cap)) == 3  # the refused socket left no place behind

        held.pop().give_back()
        Leases([cap]).take()
        assert redis.zcard(Leases._key(cap)) == 3


def test_a_socket_over_any_one_of_its_caps_takes_no_place_under_the_others(app):
    user, address = Cap("user", "7", 5), Cap("address", "10.0.0.9", 1)
    with app.app_context():
        Leases([address]).take()
        with pytest.raises(TooManySockets):
            Leases([user, address]).take()
        assert redis.zcard(Leases._key(user)) == 0


def test_the_places_of_a_process_that_died_lapse(app, monkeypatch):
    cap = Cap("link", "token", 1)
    with app.app_context():
        Leases([cap]).take()  # never renewed nor given back, like a killed process's
        later = time.time() + LEASE_SECONDS + 1
        monkeypatch.setattr(time, "time", lambda: later)
        Leases([cap]).take()
        assert redis.zcard(Leases._key(cap)) == 1


def test_racing_sockets_never_take_more_places_than_the_cap(app):
    cap = Cap("user", "race", 5)
    taken, barrier = [], threading.Barrier(20)

    def connect():
        with app.app_context():
            barrier.wait()
            try:
                Leases([cap]).take()
                taken.append(1)
            except TooManySockets:
                pass

    threads = [threading.Thread(target=connect) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 5
    with app.app_context():
        assert redis.zcard(Leases._key(cap)) == 5


def test_a_process_serves_no_more_sockets_than_its_places():
    slots = Slots(2)
    assert slots.take() and slots.take()
    assert not slots.take()
    slots.give_back()
    assert slots.take()
