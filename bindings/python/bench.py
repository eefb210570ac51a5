"""The Python binding's benchmark: the Rust bench's (h) and (i) from Python, plus memory.

    make bench-python        # = pip install ./bindings/python; python3 bindings/python/bench.py

The registry runs in a child process (``roster.testing.Server`` there), like the Rust bench's.
Compare with ``cargo run --release -p roster-bench -- --only h,i``.
"""

import argparse
import os
import subprocess
import sys
import threading
import time

import roster

SERVE = """
import sys, time
from roster.testing import Server
srv = Server(grace_period=30.0)
print(srv.endpoint, flush=True)
sys.stdin.read()
"""


def item(tag: int) -> str:
    s = f"bolt://10.1.2.3:12200?weight=100&timeout=3000&app=bench&zone=z#{tag}"
    return s.replace("#", "_" * max(0, 100 - len(s)) + "#")


def tag(data) -> int:
    return int(data.items()[0].rsplit("#", 1)[1])


def rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def callbacks(endpoint: str, s: int, changes: int) -> None:
    consumer = roster.Client(endpoint, app_name="bench-consumer")
    provider = roster.Client(endpoint, app_name="bench-provider")
    consumer.wait_connected()
    provider.wait_connected()
    pub = provider.publish("bench.Callbacks", item(0))
    state = {"current": 0, "remaining": s, "calls": 0}
    lock = threading.Lock()
    done = threading.Event()

    def callback(data):
        with lock:
            state["calls"] += 1
            if tag(data) == state["current"]:
                state["remaining"] -= 1
                if state["remaining"] == 0:
                    done.set()

    before = rss()
    subs = [consumer.subscribe("bench.Callbacks", callback) for _ in range(s)]
    assert done.wait(60), "every callback saw the initial data"
    per_sub = (rss() - before) / s
    latencies = []
    calls0, t0 = state["calls"], time.perf_counter()
    for i in range(1, changes + 1):
        with lock:
            state["current"], state["remaining"] = i, s
            done.clear()
        sent = time.perf_counter()
        pub.republish(item(i))
        assert done.wait(60), "every callback ran"
        latencies.append(time.perf_counter() - sent)
    rate = (state["calls"] - calls0) / (time.perf_counter() - t0)
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    print(
        f"(h) callbacks from Python: {s} subscribers of one dataId on one client, {changes} "
        f"changes: {rate:.0f} callbacks/s; republish to last callback p50 {p(0.5):.2f} ms "
        f"p99 {p(0.99):.2f} ms"
    )
    print(
        f"(e) Python process memory per subscription (RSS growth over {s} subscriptions with "
        f"one 100-byte item and a callback): {per_sub:.0f} bytes"
    )
    del subs
    consumer.close()
    provider.close()


def calls(endpoint: str, n: int) -> None:
    with roster.Client(endpoint, app_name="bench-calls") as client:
        client.wait_connected()
        t0 = time.perf_counter()
        held = [client.publish(f"bench.Calls.{i}", item(i)) for i in range(n)]
        publish = (time.perf_counter() - t0) / n * 1e6
        t0 = time.perf_counter()
        for i in range(n):
            held[0].republish(item(i))
        republish = (time.perf_counter() - t0) / n * 1e6
    print(
        f"(i) sequential calls from Python, {n} each: publish {publish:.1f} us/call, "
        f"republish {republish:.1f} us/call"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    args = p.parse_args()
    print(f"python {sys.version.split()[0]} on {os.cpu_count()} cores")
    for scenario in ("h", "i"):
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        endpoint = server.stdout.readline().strip()
        try:
            if scenario == "h":
                callbacks(endpoint, 1_000 if args.quick else 10_000, 5 if args.quick else 50)
            else:
                calls(endpoint, 200 if args.quick else 5_000)
        finally:
            server.stdin.close()
            server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
