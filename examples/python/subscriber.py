"""Subscribes to a service and prints every push.

    python examples/python/subscriber.py --endpoint 127.0.0.1:9600[,HOST:PORT...] \
        --data-id com.example.OrderService:1.0 [--until-empty] [--scope global]

With ``--until-empty`` it exits once the service had providers and then has none (the demo
uses that); otherwise it runs until Ctrl-C.
"""

import argparse
import sys

import roster


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", default="127.0.0.1:9600")
    p.add_argument("--data-id", default="com.example.OrderService:1.0")
    p.add_argument("--scope", default="global")
    p.add_argument("--until-empty", action="store_true")
    args = p.parse_args()

    endpoints = args.endpoint.split(",")
    with roster.Client(endpoints, app_name="python-subscriber") as client:
        client.wait_connected()
        sub = client.subscribe(args.data_id, scope=args.scope)
        print(f"python subscriber: subscribed to {sub.data_info_id}", flush=True)
        had_providers = False
        for data in sub:
            print(f"python subscriber: v{data.version} {data.zones}", flush=True)
            had_providers |= len(data) > 0
            if args.until_empty and had_providers and len(data) == 0:
                return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
