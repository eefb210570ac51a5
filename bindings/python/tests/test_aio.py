"""The asyncio API against a real server."""

import asyncio

import pytest
import roster
import roster.aio

SVC = "com.example.PyAio:1.0"


def run(coro):
    return asyncio.run(coro)


def test_async_publish_subscribe_iterate(server):
    async def main():
        async with roster.aio.Client(server.endpoint, app_name="aio") as provider:
            async with roster.aio.Client(server.endpoint, app_name="aio2") as consumer:
                await provider.wait_connected()
                await consumer.wait_connected()
                sub = await consumer.subscribe(SVC, scope="global")
                pub = await provider.publish(SVC, "v1")
                seen = []
                async for data in sub:
                    seen.append(data.items())
                    if data.items() == ["v1"]:
                        await pub.republish(["v2", "v3"])
                    if len(data) == 2:
                        break
                assert seen[-1] == ["v2", "v3"]
                await pub.unregister()
                empty = await sub.wait_for(lambda d: len(d) == 0)
                assert empty.items() == []
                await sub.unsubscribe()
        assert server.counts()[1:] == (0, 0)

    run(main())


def test_many_concurrent_operations_share_the_runtime(server):
    async def main():
        async with roster.aio.Client(server.endpoint) as c:
            await c.wait_connected()
            pubs = await asyncio.gather(*(c.publish(f"{SVC}.{i}", f"x{i}") for i in range(200)))
            subs = await asyncio.gather(*(c.subscribe(f"{SVC}.{i}") for i in range(200)))
            datas = await asyncio.gather(*(s.wait_for(lambda d: len(d) == 1) for s in subs))
            assert [d.items() for d in datas] == [[f"x{i}"] for i in range(200)]
            assert len(pubs) == 200

    run(main())


def test_async_errors_are_the_same_exceptions(server):
    async def main():
        async with roster.aio.Client(server.endpoint) as c:
            with pytest.raises(roster.InvalidArgumentError, match="dataId must not be empty"):
                await c.publish("", "x")
            sub = await c.subscribe(SVC)
            with pytest.raises(
                roster.RequestTimeoutError, match="^TIMEOUT: no data of .* matched within 200 ms; "
            ):
                await sub.wait_for(lambda d: len(d) == 3, timeout=0.2)

    run(main())
