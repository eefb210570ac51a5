"""The Python examples run as processes against a real server."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "python"
SVC = "com.example.PyExamples:1.0"


def run(*args, **kwargs):
    return subprocess.Popen(
        [sys.executable, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_publisher_and_subscriber_processes_talk_through_the_server(server):
    sub = run(
        EXAMPLES / "subscriber.py", "--endpoint", server.endpoint, "--data-id", SVC, "--until-empty"
    )
    assert "subscribed" in sub.stdout.readline()
    pub = run(
        EXAMPLES / "publisher.py",
        "--endpoint",
        server.endpoint,
        "--data-id",
        SVC,
        "--data",
        "bolt://10.7.7.7:1",
        "--seconds",
        "1",
    )
    assert pub.wait(30) == 0, pub.stderr.read()
    out, err = sub.communicate(timeout=30)
    assert sub.returncode == 0, err
    assert "bolt://10.7.7.7:1" in out  # the publisher's address, then the empty list
    assert out.strip().splitlines()[-1].endswith("{}")


def test_the_asyncio_example_runs_to_the_end():
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / "asyncio_demo.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "bolt://10.1.2.4:12200" in out.stdout and out.stdout.strip().endswith("done")
