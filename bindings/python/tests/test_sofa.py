"""The same Python API against a real SOFARegistry 6.3.0: only the endpoint differs.

Runs when ROSTER_SOFA_ENDPOINT names one (``make sofa-test`` starts it with
scripts/sofa-registry.sh and sets it); otherwise every test here is skipped with that reason.
"""

import asyncio
import os
import uuid

import pytest
import roster
import roster.aio

ENDPOINT = os.environ.get("ROSTER_SOFA_ENDPOINT")
pytestmark = pytest.mark.skipif(
    not ENDPOINT, reason="needs a real SOFARegistry: run `make sofa-test`"
)
WAIT = 30.0  # a push takes about 2 s with SOFARegistry's default debouncing


def fresh(name: str) -> str:
    """A dataId no earlier run used (the registry keeps data between runs)."""
    return f"roster.pytest.{name}.{uuid.uuid4().hex}:1.0"


@pytest.fixture
def sofa():
    made = []

    def make(zone: str = "DEFAULT_ZONE") -> roster.Client:
        c = roster.Client([ENDPOINT], app_name="pytest-sofa", zone=zone, request_timeout=10.0)
        c.wait_connected(WAIT)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def test_publish_then_subscribe_and_subscribe_then_publish(sofa):
    provider, consumer = sofa(), sofa()
    first = fresh("pubfirst")
    provider.publish(first, "bolt://10.11.0.1:12200")
    sub = consumer.subscribe(first, scope="global")
    data = sub.wait_for(lambda d: len(d) == 1, timeout=WAIT)
    assert data.zones == {"DEFAULT_ZONE": ["bolt://10.11.0.1:12200"]}
    assert not data.from_cache

    second = fresh("subfirst")
    later = consumer.subscribe(second, scope="global")
    empty = later.wait_for(lambda d: True, timeout=WAIT)
    assert len(empty) == 0
    provider.publish(second, "bolt://10.11.0.2:12200")
    assert later.wait_for(lambda d: len(d) == 1, timeout=WAIT).version > empty.version


def test_republish_and_unregister_reach_an_empty_list(sofa):
    provider, consumer = sofa(), sofa()
    data_id = fresh("changes")
    pub = provider.publish(data_id, "bolt://10.11.1.1:1")
    sub = consumer.subscribe(data_id, scope="global")
    one = sub.wait_for(lambda d: len(d) == 1, timeout=WAIT)
    pub.republish(["bolt://10.11.1.1:1", "bolt://10.11.1.2:1"])
    two = sub.wait_for(lambda d: len(d) == 2, timeout=WAIT)
    pub.unregister()
    empty = sub.wait_for(lambda d: len(d) == 0, timeout=WAIT)
    assert one.version < two.version < empty.version


def test_zone_scope_is_the_session_servers_zone(sofa):
    home, away = sofa(), sofa(zone="zone-b")
    data_id = fresh("scopes")
    home.publish(data_id, "in-home")
    away.publish(data_id, "in-b")
    watcher = sofa(zone="zone-b")
    everyone = watcher.subscribe(data_id, scope="global")
    assert everyone.wait_for(lambda d: len(d) == 2, timeout=WAIT).zones == {
        "DEFAULT_ZONE": ["in-home"],
        "zone-b": ["in-b"],
    }
    zone_only = watcher.subscribe(data_id, scope="zone")
    assert zone_only.wait_for(lambda d: len(d) > 0, timeout=WAIT).items() == ["in-home"]


def test_application_modes_are_refused_with_the_reason():
    with pytest.raises(roster.InvalidArgumentError, match="application-level discovery"):
        roster.Client([ENDPOINT], publish_mode="all")


def test_asyncio_on_sofa():
    async def main() -> None:
        async with roster.aio.Client([ENDPOINT], app_name="pytest-sofa-aio") as c:
            data_id = fresh("aio")
            await c.publish(data_id, "bolt://10.11.2.1:1")
            sub = await c.subscribe(data_id, scope="global")
            data = await sub.wait_for(lambda d: len(d) == 1, timeout=WAIT)
            assert data.items() == ["bolt://10.11.2.1:1"]

    asyncio.run(main())
