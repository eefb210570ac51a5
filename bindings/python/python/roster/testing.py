"""A reference registry in-process, for tests of services that use Roster.

    from roster.testing import Server

    with Server() as srv:
        client = roster.Client(srv.endpoint)

With pytest, the ``roster_server`` fixture gives a fresh server per test (this module is
registered as a pytest plugin when the package is installed).
"""

from __future__ import annotations

from collections.abc import Iterator

from ._roster import TestServer as _TestServer

__all__ = ["Server", "roster_server"]


class Server:
    """A reference registry on loopback: free ports unless ``port`` is given.

    ``grace_period`` is how long a disconnected client's registrations are kept (seconds).
    """

    def __init__(
        self,
        port: int = 0,
        *,
        grace_period: float = 2.0,
        keepalive_interval: float = 1.0,
    ):
        self._inner: _TestServer | None = _TestServer(
            port, grace_period=grace_period, keepalive_interval=keepalive_interval
        )
        self.endpoint: str = self._inner.endpoint
        self.http_address: str | None = self._inner.http_address

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1])

    def counts(self) -> tuple[int, int, int]:
        """``(sessions, publishers, subscribers)`` the server holds now."""
        return self._inner.counts() if self._inner else (0, 0, 0)

    def stop(self) -> None:
        """Stops the server; its registrations are gone (clients redo them on the next)."""
        if self._inner is not None:
            self._inner.stop()
            self._inner = None

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"roster.testing.Server({self.endpoint!r})"


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is optional
    pass
else:

    @pytest.fixture
    def roster_server() -> Iterator[Server]:
        """A fresh reference server for one test."""
        with Server() as srv:
            yield srv
