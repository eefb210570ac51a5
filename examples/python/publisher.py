"""Publishes one address for a service until Ctrl-C (or for ``--seconds``).

    python examples/python/publisher.py --endpoint 127.0.0.1:9600 \
        --data-id com.example.OrderService:1.0 --data bolt://127.0.0.1:12200?weight=100
"""

import argparse
import sys
import time

import roster


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", default="127.0.0.1:9600")
    p.add_argument("--data-id", default="com.example.OrderService:1.0")
    p.add_argument("--data", default="bolt://127.0.0.1:12200?weight=100")
    p.add_argument("--seconds", type=float, default=None)
    args = p.parse_args()

    with roster.Client(args.endpoint, app_name="python-publisher") as client:
        client.wait_connected()
        pub = client.publish(args.data_id, args.data)
        print(f"published {args.data} under {pub.data_info_id}", flush=True)
        try:
            time.sleep(args.seconds if args.seconds is not None else 1e9)
        except KeyboardInterrupt:
            pass
    return 0  # leaving the block closed the client: the publisher is unregistered


if __name__ == "__main__":
    sys.exit(main())
