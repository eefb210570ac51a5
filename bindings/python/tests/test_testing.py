"""roster.testing: the in-process server and the pytest fixture users get."""

import roster
from roster.testing import Server


def test_the_roster_server_fixture_is_a_fresh_server(roster_server):
    assert isinstance(roster_server, Server)
    with roster.Client(roster_server.endpoint) as c:
        c.wait_connected()
        c.publish("com.example.Fixture:1.0", "x")
        assert roster_server.counts() == (1, 1, 0)


def test_a_server_on_a_chosen_port_and_its_http_endpoint():
    with Server() as first:
        port = first.port
        assert first.http_address and first.http_address.startswith("127.0.0.1:")
    with Server(port) as again:
        assert again.endpoint == f"127.0.0.1:{port}"
