"""The asyncio API: a provider and a consumer in one event loop.

    python examples/python/asyncio_demo.py [--endpoint 127.0.0.1:9600]

Without ``--endpoint`` it starts a reference server in-process (``roster.testing``).
"""

import argparse
import asyncio
import sys

import roster.aio
from roster.testing import Server

SERVICE = "com.example.AsyncService:1.0"


async def demo(endpoint: str) -> None:
    async with (
        roster.aio.Client(endpoint, app_name="aio-provider", zone="zone-a") as provider,
        roster.aio.Client(endpoint, app_name="aio-consumer") as consumer,
    ):
        await provider.wait_connected()
        await consumer.wait_connected()
        sub = await consumer.subscribe(SERVICE, scope="global")
        pub = await provider.publish(SERVICE, "bolt://10.1.2.3:12200?weight=100")
        async for data in sub:
            print(f"consumer: v{data.version} {data.zones}")
            if len(data) == 1:
                await pub.republish(["bolt://10.1.2.3:12200", "bolt://10.1.2.4:12200"])
            elif len(data) == 2:
                await pub.unregister()
            elif len(data) == 0 and data.version > 0:
                break
    print("done")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", default=None)
    args = p.parse_args()
    if args.endpoint:
        asyncio.run(demo(args.endpoint))
    else:
        with Server() as srv:
            asyncio.run(demo(srv.endpoint))
    return 0


if __name__ == "__main__":
    sys.exit(main())
