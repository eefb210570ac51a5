"""Roster from Python and SOFARegistry's own Java client, exchanging addresses through a
real SOFARegistry.

    python examples/python/sofa_demo.py [--endpoint sofa://127.0.0.1:9603]

`make demo-sofa` starts the registry (scripts/sofa-registry.sh) and runs this. A Java
process (tests/sofa-java, on SOFARegistry's client 6.5.6) publishes OrderService; this
Python process subscribes to it, publishes PaymentService, and the Java process sees that;
then both take their addresses down and each side sees the list empty.
"""

import argparse
import os
import queue
import subprocess
import sys
import threading
import time

import roster

ORDERS = "com.example.OrderService:1.0"
PAYMENTS = "com.example.PaymentService:1.0"
WAIT = 30.0  # a push takes about 2 s with SOFARegistry's default debouncing


class JavaPeer:
    """tests/sofa-java/run.sh, driven line by line."""

    def __init__(self, host: str, port: str) -> None:
        root = os.path.dirname(
            os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        )
        script = os.path.join(root, "tests", "sofa-java", "run.sh")
        self.proc = subprocess.Popen(
            ["bash", script, host, port],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.expect(lambda line: line == "ready", 120)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def expect(self, pred, timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the Java client said nothing expected")
            line = self.lines.get(timeout=left)
            if line.startswith("error"):
                raise RuntimeError(f"java: {line}")
            if pred(line):
                print(f"java client:   {line}", flush=True)
                return line

    def quit(self) -> None:
        self.say("quit")
        self.proc.wait(timeout=30)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", default="sofa://127.0.0.1:9603")
    args = p.parse_args()
    hostport = args.endpoint.removeprefix("sofa://")
    host, _, port = hostport.partition(":")

    java = JavaPeer(host, port or "9603")
    with roster.Client([args.endpoint], app_name="python-demo") as client:
        client.wait_connected(WAIT)
        print(
            f"python client: connected to SOFARegistry at {client.members()}",
            flush=True,
        )

        java.say(f"publish {ORDERS} bolt://10.0.0.1:12200?lang=java")
        java.expect(lambda line: line == f"published {ORDERS}")
        orders = client.subscribe(ORDERS, scope="global")
        seen = orders.wait_for(lambda d: len(d) > 0, timeout=WAIT)
        print(f"python client: {ORDERS} v{seen.version} {seen.zones}", flush=True)

        java.say(f"subscribe {PAYMENTS} global")
        payments = client.publish(PAYMENTS, "bolt://10.0.0.2:12200?lang=python")
        print(f"python client: published {PAYMENTS}", flush=True)
        java.expect(
            lambda line: line.startswith(f"push {PAYMENTS} ") and "lang=python" in line
        )

        java.say(f"unpublish {ORDERS}")
        gone = orders.wait_for(lambda d: len(d) == 0, timeout=WAIT)
        print(f"python client: {ORDERS} v{gone.version} is empty again", flush=True)
        payments.unregister()
        java.expect(lambda line: line == f"push {PAYMENTS} ")
    java.quit()
    print("sofa demo: done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
