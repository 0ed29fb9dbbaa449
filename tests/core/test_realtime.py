"""Redis pub/sub fan-out: published after commit, delivered to every local listener."""

from __future__ import annotations

import redis as redis_lib

from app.core import realtime, tx
from app.core.realtime import Hub
from tests import factories
from tests.conftest import REDIS_URL


def test_message_published_after_commit_reaches_the_listener(app):
    with realtime.hub().subscribe("trip:42") as listener:
        factories.company()
        realtime.publish("trip:42", {"lat": -1.95, "lon": 30.06})
        assert listener.get(timeout=0.3) is None  # nothing before the commit
        tx.commit()
        assert listener.get(timeout=5) == {"lat": -1.95, "lon": 30.06}


def test_rolled_back_work_publishes_nothing(app):
    with realtime.hub().subscribe("trip:43") as listener:
        factories.company()
        realtime.publish("trip:43", {"lat": 1})
        tx.rollback()
        assert listener.get(timeout=0.5) is None


def test_one_subscription_serves_many_listeners_and_other_processes_reach_them():
    client = redis_lib.Redis.from_url(REDIS_URL)
    hub = Hub(client)
    first, second = hub.subscribe("trip:7"), hub.subscribe("trip:7")
    outsider = redis_lib.Redis.from_url(REDIS_URL)  # as another web worker or host would publish
    outsider.publish("trip:7", '{"seq": 1}')
    assert first.get(timeout=5) == {"seq": 1}
    assert second.get(timeout=5) == {"seq": 1}
    first.close()
    outsider.publish("trip:7", '{"seq": 2}')
    assert second.get(timeout=5) == {"seq": 2}
    assert first.get(timeout=0.2) is None
    second.close()


def test_a_slow_listener_keeps_only_the_newest_messages():
    hub = Hub(redis_lib.Redis.from_url(REDIS_URL))
    listener = hub.subscribe("trip:8", maxsize=2)
    for seq in range(5):
        listener.offer({"seq": seq})
    assert [listener.get(timeout=1)["seq"], listener.get(timeout=1)["seq"]] == [3, 4]
    assert listener.get(timeout=0.1) is None
    listener.close()
