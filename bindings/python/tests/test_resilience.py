"""Reconnect and redo after a server restart, the failover snapshot, fork, and exit."""

import os
import subprocess
import sys
import textwrap
import time

import roster
from roster.testing import Server

SVC = "com.example.PyResilience:1.0"


def test_a_server_restart_is_redone_and_handles_keep_working():
    srv = Server()
    port = srv.port
    with (
        roster.Client(srv.endpoint, app_name="redo") as provider,
        roster.Client(srv.endpoint, app_name="watch") as consumer,
    ):
        provider.wait_connected()
        consumer.wait_connected()
        pub = provider.publish(SVC, "before")
        sub = consumer.subscribe(SVC)
        sub.wait_for(lambda d: d.items() == ["before"])
        srv.stop()
        srv = Server(port)  # empty: the clients redo everything they hold
        provider.wait_connected(10)
        consumer.wait_connected(10)
        deadline = time.monotonic() + 10
        while srv.counts()[1:] != (1, 1):
            assert time.monotonic() < deadline, f"redo incomplete: {srv.counts()}"
            time.sleep(0.01)
        sub.wait_for(lambda d: d.items() == ["before"])
        pub.republish("after")
        assert sub.wait_for(lambda d: d.items() == ["after"]).from_cache is False
    srv.stop()


def test_the_failover_snapshot_serves_cached_data_while_the_registry_is_down(tmp_path):
    srv = Server()
    endpoint = srv.endpoint
    with roster.Client(endpoint) as provider:
        provider.publish(SVC, "bolt://cached:1")
        with roster.Client(endpoint, cache_dir=tmp_path) as first:
            sub = first.subscribe(SVC, scope="global")
            live = sub.wait_for(lambda d: len(d) == 1)
    srv.stop()

    second = roster.Client(endpoint, cache_dir=tmp_path, connect_timeout=0.2)
    cached = second.subscribe(SVC, scope="global").peek()
    assert cached is not None and cached.from_cache
    assert (cached.version, cached.items()) == (live.version, ["bolt://cached:1"])
    assert not second.is_connected
    second.close()


def test_a_forked_child_gets_its_own_runtime(server):
    with roster.Client(server.endpoint, app_name="parent") as parent:
        parent.wait_connected()
        parent.publish(SVC, "from-parent")
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: a fresh client on a fresh runtime
            code = 1
            try:
                with roster.Client(server.endpoint, app_name="child") as child:
                    child.wait_connected(10)
                    child.publish(SVC, "from-child")
                    data = child.subscribe(SVC).wait_for(lambda d: len(d) == 2, timeout=10)
                    os.write(w, ",".join(sorted(data.items())).encode())
                    code = 0
            finally:
                os._exit(code)
        os.close(w)
        _, status = os.waitpid(pid, 0)
        got = os.read(r, 1024).decode()
        assert os.waitstatus_to_exitcode(status) == 0
        assert got == "from-child,from-parent"
        # The parent's client still works after the fork.
        parent.publish(SVC + ".after", "x")


def test_the_interpreter_exits_cleanly_with_clients_left_open(server):
    script = textwrap.dedent(
        f"""
        import roster
        c = roster.Client({server.endpoint!r})
        c.wait_connected()
        c.publish({SVC!r}, "left-open")
        sub = c.subscribe({SVC!r}, lambda d: None)
        print("done")
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done"


def test_rust_logs_reach_python_logging(caplog, server):
    with caplog.at_level("INFO"):
        roster.reset_logging()  # the bridge caches levels: re-read them
        with roster.Client(server.endpoint) as c:
            c.wait_connected()
    assert any(r.name.startswith("roster_core") for r in caplog.records), [
        r.name for r in caplog.records
    ]
