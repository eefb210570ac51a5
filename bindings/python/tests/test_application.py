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
