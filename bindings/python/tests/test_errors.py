"""Bad input raises the right exception, naming what was wrong."""

import pytest
import roster

SVC = "com.example.PyErrors:1.0"


def test_every_error_is_a_roster_error_with_a_stable_code():
    classes = {
        roster.InvalidArgumentError: "INVALID_ARGUMENT",
        roster.NotConnectedError: "NOT_CONNECTED",
        roster.RequestTimeoutError: "TIMEOUT",
        roster.RefusedError: "REFUSED",
        roster.NotLeaderError: "NOT_LEADER",
        roster.NotFoundError: "NOT_FOUND",
        roster.ShutDownError: "SHUT_DOWN",
        roster.CacheIOError: "IO",
        roster.UnauthenticatedError: "UNAUTHENTICATED",
        roster.PermissionDeniedError: "PERMISSION_DENIED",
        roster.InternalError: "INTERNAL",
    }
    for cls, code in classes.items():
        assert issubclass(cls, roster.RosterError)
        assert cls.code == code


def test_empty_data_id(connect):
    with pytest.raises(roster.InvalidArgumentError, match="dataId must not be empty"):
        connect().publish("", "x")
    with pytest.raises(roster.InvalidArgumentError, match="dataId"):
        connect().subscribe("")


def test_wrong_types(connect):
    c = connect()
    with pytest.raises(TypeError, match="data must be a str or a sequence of str, not int"):
        c.publish(SVC, 42)
    with pytest.raises(TypeError):
        c.publish(42, "x")
    with pytest.raises(TypeError, match="callback must be callable"):
        c.subscribe(SVC, "not a function")
    with pytest.raises(TypeError, match="endpoints must be a str or a sequence of str"):
        roster.Client(None)


def test_unknown_names_list_the_valid_ones(connect, server):
    with pytest.raises(
        roster.InvalidArgumentError,
        match='scope "planet" is not one of "zone", "dataCenter", "global"',
    ):
        connect().subscribe(SVC, scope="planet")
    with pytest.raises(roster.InvalidArgumentError, match="publish mode"):
        roster.Client(server.endpoint, publish_mode="sideways")
    with pytest.raises(
        roster.InvalidArgumentError,
        match="request_timeout must be a non-negative number",
    ):
        roster.Client(server.endpoint, request_timeout=-1)
    with pytest.raises(roster.InvalidArgumentError, match="endpoint"):
        roster.Client("no-port-here")


def test_no_registry_reachable():
    c = roster.Client("127.0.0.1:1", connect_timeout=0.2)
    with pytest.raises(roster.NotConnectedError, match="127.0.0.1:1"):
        c.wait_connected(0.5)
    c.close()
