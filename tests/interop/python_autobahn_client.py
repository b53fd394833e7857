#!/usr/bin/env python3
"""Reference Autobahn client (Python `websockets`), used to self-test
scripts/autobahn.sh's fuzzingserver path when the Rust examples are not available.

Usage: python_autobahn_client.py BASE_URL AGENT
"""
import asyncio
import os
import sys
from urllib.parse import quote

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake


async def main(base, agent):
    async with connect(base + "/getCaseCount") as ws:
        count = int(await ws.recv())
    print("%d cases" % count, flush=True)
    # Offer permessage-deflate only for the compression sections (12.*, 13.*).
    compression = "deflate" if os.environ.get("AUTOBAHN_DEFLATE") == "1" else None
    # Harness self-test only: pretend to crash after N cases.
    stop_after = int(os.environ.get("SELFTEST_CLIENT_CRASH_AFTER", "0"))
    for case in range(1, count + 1):
        if stop_after and case > stop_after:
            sys.exit("simulated crash after %d cases" % stop_after)
        url = "%s/runCase?case=%d&agent=%s" % (base, case, quote(agent))
        try:
            async with connect(url, max_size=None, compression=compression, open_timeout=30) as ws:
                async for message in ws:
                    await ws.send(message)
        except (ConnectionClosed, InvalidHandshake, OSError, asyncio.TimeoutError):
            pass
    async with connect("%s/updateReports?agent=%s" % (base, quote(agent))) as ws:
        pass
    print("done", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python_autobahn_client.py BASE_URL AGENT")
    asyncio.run(main(sys.argv[1], sys.argv[2]))
