"""Application-level discovery: every publish mode against every subscribe mode."""

import time

import pytest

ORDERS = "com.example.PyOrders:1.0"
URL = "bolt://10.0.0.{}:12200?timeout=3000&weight=100"

PUBLISH = ["interface", "application", "all"]
SUBSCRIBE = ["force-interface", "application-first", "force-application"]


@pytest.mark.parametrize("publish_mode", PUBLISH)
@pytest.mark.parametrize("subscribe_mode", SUBSCRIBE)
def test_mode_pair(connect, publish_mode, subscribe_mode):
    provider = connect(app_name="orders-" + publish_mode, publish_mode=publish_mode)
    provider.publish(ORDERS, URL.format(1))
    consumer = connect(app_name="consumer", subscribe_mode=subscribe_mode)
    sub = consumer.subscribe(ORDERS)
    # Every pair sees the provider once: force-application stays on the interface level
    # while the application level holds less than the threshold share (here: nothing).
    data = sub.wait_for(lambda d: len(d) > 0)
    assert data.items() == [URL.format(1)]
    assert sub.mode == subscribe_mode
    if publish_mode == "interface" and subscribe_mode == "force-application":
        assert sub.migration_status == {"status": "pending", "application": 0, "interface": 1}
    else:
        assert sub.migration_status == {"status": subscribe_mode}


def test_switching_modes_at_run_time(connect):
    provider = connect(app_name="orders-migrating", publish_mode="interface")
    provider.publish(ORDERS, URL.format(2))
    consumer = connect(app_name="consumer", subscribe_mode="application-first")
    sub = consumer.subscribe(ORDERS)
    sub.wait_for(lambda d: d.items() == [URL.format(2)])
    for mode in ["all", "application"]:
        provider.set_publish_mode(mode)
        assert provider.publish_mode == mode
        assert sub.wait_for(lambda d: d.items() == [URL.format(2)]).items() == [URL.format(2)]
    consumer.set_subscribe_mode("force-application")
    assert consumer.subscribe_mode == "force-application"
    assert sub.wait_for(lambda d: len(d) == 1).items() == [URL.format(2)]
    deadline = time.monotonic() + 10
    while sub.migration_status != {"status": "force-application"}:
        assert time.monotonic() < deadline, sub.migration_status
        time.sleep(0.01)
    # One subscription back to merging both levels, the client's mode unchanged.
    sub.set_mode("application-first")
    assert sub.mode == "application-first" and consumer.subscribe_mode == "force-application"
    assert sub.wait_for(lambda d: len(d) == 1).items() == [URL.format(2)]
    sub.set_mode(None)
    assert sub.mode == "force-application"


# The promises of a migration under run-time switches (each broke before it was fixed).


def test_a_publish_mode_switch_never_empties_a_consumer(connect):
    """The interface publisher was withdrawn before the application publisher came."""
    provider = connect(app_name="orders-switching", publish_mode="interface")
    provider.publish(ORDERS, URL.format(3))
    seen: list[list[str]] = []
    consumers = []
    for mode in ["force-interface", "application-first"]:
        consumer = connect(app_name="consumer", subscribe_mode=mode)
        sub = consumer.subscribe(ORDERS, lambda d: seen.append(d.items()), scope="global")
        sub.wait_for(lambda d: d.items() == [URL.format(3)])
        consumers.append(sub)
    # 40 switches: a callback is handed the newest data only, so it may miss a short gap.
    for _ in range(20):
        for mode in ["application", "interface"]:
            provider.set_publish_mode(mode)
            time.sleep(0.1)
    time.sleep(0.3)
    assert seen, "the consumers were handed data"
    assert all(items == [URL.format(3)] for items in seen), seen


def test_one_version_names_one_list(connect):
    """A change at application level gave the interface list no new version while nobody
    converted it, so a later subscriber got the new list under the old version."""
    new = connect(app_name="orders-new", publish_mode="application")
    old = connect(app_name="orders-old", publish_mode="interface")
    a = new.publish(ORDERS, URL.format(4))
    old.publish(ORDERS, URL.format(5))
    consumer = connect(app_name="consumer")
    first = consumer.subscribe(ORDERS, scope="global")
    before = first.wait_for(lambda d: len(d) == 2)
    first.unsubscribe()
    changed = URL.format(4).replace("timeout=3000", "timeout=5000")
    a.republish(changed)
    later = consumer.subscribe(ORDERS, scope="global")
    after = later.wait_for(lambda d: changed in d.items())
    assert after.version > before.version, (before.version, after.version)


def test_a_mode_switch_never_goes_back_to_an_older_version(connect):
    new = connect(app_name="orders-new", publish_mode="application")
    old = connect(app_name="orders-old", publish_mode="interface")
    new.publish(ORDERS, URL.format(6))
    old.publish(ORDERS, URL.format(7))
    consumer = connect(app_name="consumer", subscribe_mode="application-first")
    versions: list[int] = []
    sub = consumer.subscribe(ORDERS, lambda d: versions.append(d.version), scope="global")
    sub.wait_for(lambda d: len(d) == 2)
    for mode in ["force-application", "force-interface", "application-first", "force-interface"]:
        before = sub.peek()
        assert before is not None
        consumer.set_subscribe_mode(mode)
        sub.wait_for(lambda d, last=before.version: d.version > last)
    time.sleep(0.3)
    assert versions == sorted(set(versions)), versions


def test_a_second_force_application_subscription_reports_the_migration(connect):
    provider = connect(app_name="orders-new", publish_mode="application")
    provider.publish(ORDERS, URL.format(8))
    consumer = connect(app_name="consumer", subscribe_mode="force-application")
    subs = []
    for _ in range(2):
        sub = consumer.subscribe(ORDERS)
        sub.wait_for(lambda d: len(d) == 1)
        deadline = time.monotonic() + 10
        while sub.migration_status != {"status": "force-application"}:
            assert time.monotonic() < deadline, sub.migration_status
            time.sleep(0.01)
        subs.append(sub)
