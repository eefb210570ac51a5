"""Publish and subscribe from Python against a real reference server over loopback."""

import re
import threading
import time

import pytest
import roster

SVC = "com.example.PyService:1.0"


def test_publish_republish_unregister_are_pushed(connect, server):
    provider, consumer = connect(), connect()
    sub = consumer.subscribe(SVC, scope="global")
    pub = provider.publish(SVC, "bolt://10.0.0.1:12200")
    assert sub.wait_for(lambda d: d.items() == ["bolt://10.0.0.1:12200"]).data_id == SVC
    pub.republish(["bolt://10.0.0.1:12200", "bolt://10.0.0.2:12200"])
    two = sub.wait_for(lambda d: len(d) == 2)
    assert two.zones == {"DEFAULT_ZONE": ["bolt://10.0.0.1:12200", "bolt://10.0.0.2:12200"]}
    assert (two.added, two.removed) == (["bolt://10.0.0.2:12200"], [])
    assert pub.current == (2, ["bolt://10.0.0.1:12200", "bolt://10.0.0.2:12200"])
    pub.unregister()
    empty = sub.wait_for(lambda d: len(d) == 0)
    assert empty.version > two.version
    assert (empty.added, sorted(empty.removed)) == (
        [],
        ["bolt://10.0.0.1:12200", "bolt://10.0.0.2:12200"],
    )
    assert server.counts()[1] == 0
    with pytest.raises(roster.ShutDownError):
        pub.republish("bolt://10.0.0.3:12200")


def test_iteration_yields_each_newer_version(connect):
    provider, consumer = connect(), connect()
    pub = provider.publish(SVC, "a")
    sub = consumer.subscribe(SVC)
    versions = []
    for data in sub:
        versions.append(data.version)
        if data.items() == ["c"]:
            break
        pub.republish("b" if data.items() == ["a"] else "c")
    assert versions == sorted(versions) and len(versions) == 3


def test_zone_scope_sees_only_its_zone(connect):
    a = connect(zone="zone-a")
    b = connect(zone="zone-b")
    a.publish(SVC, "in-a")
    b.publish(SVC, "in-b")
    zone_only = a.subscribe(SVC, scope="zone")
    everyone = a.subscribe(SVC, scope="global")
    assert everyone.wait_for(lambda d: len(d) == 2).zones == {
        "zone-a": ["in-a"],
        "zone-b": ["in-b"],
    }
    assert zone_only.wait_for(lambda d: len(d) == 1).zones == {"zone-a": ["in-a"]}


def test_a_callback_that_raises_is_logged_and_later_pushes_still_come(connect, caplog):
    provider, consumer = connect(), connect()
    pub = provider.publish(SVC, "v1")
    seen = []
    done = threading.Event()

    def callback(data):
        seen.append(data.items())
        if data.items() == ["v1"]:
            raise ValueError("boom")
        done.set()

    with caplog.at_level("ERROR", logger="roster"):
        consumer.subscribe(SVC, callback)
        deadline = time.monotonic() + 10
        while not any("boom" in str(r.exc_info) for r in caplog.records):
            assert time.monotonic() < deadline, "the raising callback was not logged"
            time.sleep(0.01)
        pub.republish("v2")
        assert done.wait(10)
    assert seen == [["v1"], ["v2"]]


def test_many_subscribers_each_get_the_data(connect):
    provider, consumer = connect(), connect()
    subs = [consumer.subscribe(f"{SVC}.{i % 100}") for i in range(1000)]
    for i in range(100):
        provider.publish(f"{SVC}.{i}", f"bolt://10.0.{i}.1:1")
    for i, s in enumerate(subs):
        assert s.wait_for(lambda d: len(d) == 1).items() == [f"bolt://10.0.{i % 100}.1:1"]


def test_closing_the_client_unregisters_everything(server):
    with roster.Client(server.endpoint, app_name="ctx") as c:
        c.wait_connected()
        c.publish(SVC, "x")
        c.subscribe(SVC)
        assert server.counts()[1:] == (1, 1)
    assert server.counts()[1:] == (0, 0)  # unregistered before close() returned
    with pytest.raises(roster.ShutDownError):
        c.publish(SVC, "again")


def test_wait_for_times_out_with_a_sentence_naming_the_data(connect):
    sub = connect().subscribe(SVC)
    with pytest.raises(roster.RequestTimeoutError) as e:
        sub.wait_for(lambda d: len(d) == 5, timeout=0.3)
    assert re.fullmatch(
        r"TIMEOUT: no data of com\.example\.PyService:1\.0#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP"
        r" matched within 300 ms; (the latest is version \d+ with 0 items|none has arrived yet)",
        str(e.value),
    ), str(e.value)


def test_a_wait_ends_when_its_subscriber_is_unsubscribed(connect):
    sub = connect().subscribe(SVC)
    waiting = sub.wait(timeout=5.0)
    sub.unsubscribe()
    with pytest.raises(roster.ShutDownError, match=r"^SHUT_DOWN: subscriber \S+ is unsubscribed$"):
        while True:
            waiting.next()


def test_members_and_identity(connect, server):
    c = connect()
    assert server.endpoint in c.members()
    assert c.client_id and c.is_connected
    assert c.publish_mode == "interface" and c.subscribe_mode == "force-interface"
