"""Roster: publish the addresses of the services you expose, subscribe to the ones you call.

The client is the Rust core (``roster-core``) behind a thin pyo3 layer: one runtime per
process, the GIL released during every blocking call, callbacks on a dispatcher thread.

    import roster

    with roster.Client("127.0.0.1:9600", app_name="orders") as client:
        client.publish("com.example.OrderService:1.0", "bolt://10.0.0.1:12200")
        sub = client.subscribe("com.example.StockService:1.0", scope="global")
        print(sub.wait_for(lambda d: len(d) > 0).zones)

``roster.aio`` has the same API with ``async``/``await``; ``roster.testing`` starts a
reference server in-process for your tests.
"""

from ._roster import (
    CacheIOError,
    Client,
    InternalError,
    InvalidArgumentError,
    NotConnectedError,
    NotFoundError,
    NotLeaderError,
    PermissionDeniedError,
    Publisher,
    RefusedError,
    RequestTimeoutError,
    RosterError,
    ShutDownError,
    Subscriber,
    SubscriberData,
    UnauthenticatedError,
    Updates,
    Wait,
    reset_logging,
)

__all__ = [
    "CacheIOError",
    "Client",
    "InternalError",
    "InvalidArgumentError",
    "NotConnectedError",
    "NotFoundError",
    "NotLeaderError",
    "PermissionDeniedError",
    "Publisher",
    "RefusedError",
    "RequestTimeoutError",
    "RosterError",
    "ShutDownError",
    "Subscriber",
    "SubscriberData",
    "UnauthenticatedError",
    "Updates",
    "Wait",
    "reset_logging",
]
