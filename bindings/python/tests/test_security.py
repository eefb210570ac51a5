"""TLS and access keys from Python, against a secure reference server (its own CA, keys)."""

import pytest
import roster
from roster.testing import Server

SVC = "com.example.PySecure:1.0"


@pytest.fixture
def secure():
    with Server(secure=True) as srv:
        yield srv


def client(srv, **kwargs):
    kwargs.setdefault("app_name", "pytest")
    kwargs.setdefault("connect_timeout", 2.0)
    return roster.Client(srv.endpoint, **kwargs)


def test_tls_and_the_right_key_publish_and_subscribe(secure):
    with client(
        secure,
        tls_ca_file=secure.ca_file,
        access_key=secure.access_key,
        secret_key=secure.secret_key,
    ) as c:
        c.wait_connected(10)
        c.publish(SVC, "bolt://10.0.0.1:1")
        sub = c.subscribe(SVC, scope="global")
        assert sub.wait_for(lambda d: len(d) == 1, timeout=10).items() == ["bolt://10.0.0.1:1"]


def test_missing_or_wrong_credentials_raise_unauthenticated(secure):
    with client(secure, tls_ca_file=secure.ca_file) as c:
        with pytest.raises(roster.UnauthenticatedError, match="requires authentication"):
            c.wait_connected(3)
    with client(
        secure, tls_ca_file=secure.ca_file, access_key=secure.access_key, secret_key="wrong"
    ) as c:
        with pytest.raises(roster.UnauthenticatedError, match="signature does not match"):
            c.wait_connected(3)


def test_a_read_only_key_may_not_publish(secure):
    key, secret = secure.read_only_key
    with client(secure, tls_ca_file=secure.ca_file, access_key=key, secret_key=secret) as c:
        c.wait_connected(10)
        c.subscribe(SVC)
        with pytest.raises(roster.PermissionDeniedError, match="may not publish"):
            c.publish(SVC, "bolt://10.0.0.1:1")


def test_plain_text_or_an_untrusted_ca_does_not_connect(secure, tmp_path):
    with client(secure, access_key=secure.access_key, secret_key=secure.secret_key) as c:
        with pytest.raises(roster.NotConnectedError):
            c.wait_connected(3)
    # The system's roots do not know the test CA.
    with client(secure, tls=True, access_key=secure.access_key, secret_key=secure.secret_key) as c:
        with pytest.raises(roster.NotConnectedError, match="not signed by a CA this client trusts"):
            c.wait_connected(3)


def test_a_missing_ca_file_is_refused_when_the_client_is_made(secure, tmp_path):
    with pytest.raises(roster.InvalidArgumentError, match="tls.caFile"):
        client(secure, tls_ca_file=tmp_path / "nope.pem")
    with pytest.raises(TypeError):
        client(secure, tls="yes")  # type: ignore[arg-type]
