"""The Roster client for asyncio: the same API as ``roster`` with ``async``/``await``.

Every call runs as a task on the core's runtime (no thread per call) and resolves an
asyncio future of the running loop.

    import roster.aio

    async with roster.aio.Client("127.0.0.1:9600", app_name="orders") as client:
        await client.publish("com.example.OrderService:1.0", "bolt://10.0.0.1:12200")
        sub = await client.subscribe("com.example.StockService:1.0", scope="global")
        async for data in sub:
            print(data.zones)
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Callable, Union

from . import _roster
from ._roster import SubscriberData

__all__ = ["Client", "Publisher", "Subscriber", "SubscriberData"]

Data = Union[str, Sequence[str]]


def _resolve(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    """Called on the event loop by the core when an operation ends."""
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class Publisher:
    """One publisher: ``await republish(data)``, ``await unregister()``."""

    def __init__(self, inner: _roster.Publisher):
        self._inner = inner

    @property
    def regist_id(self) -> str:
        return self._inner.regist_id

    @property
    def data_info_id(self) -> str:
        return self._inner.data_info_id

    @property
    def current(self) -> tuple[int, list[str]] | None:
        return self._inner.current

    async def republish(self, data: Data) -> None:
        await self._inner.republish_async(data)

    async def unregister(self) -> None:
        await self._inner.unregister_async()

    def __repr__(self) -> str:
        return repr(self._inner)


class Subscriber:
    """One subscriber: ``peek()``, ``async for data in subscriber``, ``await wait_for(...)``."""

    def __init__(self, inner: _roster.Subscriber):
        self._inner = inner

    @property
    def regist_id(self) -> str:
        return self._inner.regist_id

    @property
    def data_info_id(self) -> str:
        return self._inner.data_info_id

    def peek(self) -> SubscriberData | None:
        return self._inner.peek()

    def __aiter__(self) -> _Updates:
        return _Updates(iter(self._inner))

    async def wait_for(
        self,
        predicate: Callable[[SubscriberData], bool] | None = None,
        timeout: float = 10.0,
    ) -> SubscriberData:
        """The first data (current or newer) that satisfies ``predicate``; raises
        ``RequestTimeoutError`` after ``timeout`` seconds."""

        waiting = self._inner.wait(timeout)
        while True:
            data: SubscriberData = await waiting.next_async()
            if predicate is None or predicate(data):
                return data

    @property
    def mode(self) -> str:
        return self._inner.mode

    @property
    def migration_status(self) -> dict[str, str | int]:
        return self._inner.migration_status

    async def set_mode(self, mode: str | None) -> None:
        await self._inner.set_mode_async(mode)

    async def unsubscribe(self) -> None:
        await self._inner.unsubscribe_async()

    def __repr__(self) -> str:
        return repr(self._inner)


class _Updates:
    def __init__(self, inner: _roster.Updates):
        self._inner = inner

    def __aiter__(self) -> _Updates:
        return self

    async def __anext__(self) -> SubscriberData:
        data: SubscriberData | None = await self._inner.next_async()
        if data is None:
            raise StopAsyncIteration
        return data


class Client:
    """The asyncio client; takes the same arguments as ``roster.Client``."""

    def __init__(self, endpoints: Data, **options: Any):
        self._inner = _roster.Client(endpoints, **options)

    @property
    def client_id(self) -> str:
        return self._inner.client_id

    @property
    def protocol(self) -> str:
        return self._inner.protocol

    @property
    def is_connected(self) -> bool:
        return self._inner.is_connected

    @property
    def publish_mode(self) -> str:
        return self._inner.publish_mode

    @property
    def subscribe_mode(self) -> str:
        return self._inner.subscribe_mode

    def members(self) -> list[str]:
        return self._inner.members()

    async def wait_connected(self, timeout: float = 10.0) -> None:
        await self._inner.wait_connected_async(timeout)

    async def set_publish_mode(self, mode: str) -> None:
        await self._inner.set_publish_mode_async(mode)

    async def set_subscribe_mode(self, mode: str) -> None:
        await self._inner.set_subscribe_mode_async(mode)

    async def publish(
        self,
        data_id: str,
        data: Data,
        *,
        group: str | None = None,
        instance_id: str | None = None,
    ) -> Publisher:
        inner = await self._inner.publish_async(data_id, data, group=group, instance_id=instance_id)
        return Publisher(inner)

    async def subscribe(
        self,
        data_id: str,
        callback: Callable[[SubscriberData], None] | None = None,
        *,
        scope: str = "zone",
        group: str | None = None,
        instance_id: str | None = None,
        mode: str | None = None,
    ) -> Subscriber:
        inner = await self._inner.subscribe_async(
            data_id, callback, scope=scope, group=group, instance_id=instance_id, mode=mode
        )
        return Subscriber(inner)

    async def close(self) -> None:
        await self._inner.close_async()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def __repr__(self) -> str:
        return repr(self._inner)
