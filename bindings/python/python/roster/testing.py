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
    A ``secure`` one speaks TLS only, with a certificate of a CA made for it
    (``ca_file``), and requires an access key: ``access_key``/``secret_key`` may do
    anything, ``read_only_key`` (a pair) may only subscribe::

        with Server(secure=True) as srv:
            client = roster.Client(srv.endpoint, tls_ca_file=srv.ca_file,
                                   access_key=srv.access_key, secret_key=srv.secret_key)
    """

    def __init__(
        self,
        port: int = 0,
        *,
        grace_period: float = 2.0,
        keepalive_interval: float = 1.0,
        secure: bool = False,
    ):
        self._inner: _TestServer | None = _TestServer(
            port,
            grace_period=grace_period,
            keepalive_interval=keepalive_interval,
            secure=secure,
        )
        self.endpoint: str = self._inner.endpoint
        self.http_address: str | None = self._inner.http_address
        self.ca_file: str | None = self._inner.ca_file
        keys = self._inner.keys
        self.access_key: str | None = keys[0][0] if keys else None
        self.secret_key: str | None = keys[0][1] if keys else None
        self.read_only_key: tuple[str, str] | None = keys[1] if keys else None

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
