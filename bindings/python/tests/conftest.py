import pytest
import roster
from roster.testing import Server


@pytest.fixture
def server():
    with Server(grace_period=1.0) as srv:
        yield srv


@pytest.fixture
def connect(server):
    """Clients on the test's server, closed at the end."""
    made = []

    def make(**kwargs):
        kwargs.setdefault("app_name", "pytest")
        kwargs.setdefault("request_timeout", 5.0)
        c = roster.Client(kwargs.pop("endpoints", server.endpoint), **kwargs)
        c.wait_connected(10)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
