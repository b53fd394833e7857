#!/usr/bin/env python3
"""Reference echo server (Python `websockets`), used to self-test the interop and
Autobahn harnesses when the Rust examples are not available.

Usage: python_echo_server.py [HOST:PORT]   (default 127.0.0.1:9001)
"""
import asyncio
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    try:
        async for message in ws:
            await ws.send(message)  # str -> text frame, bytes -> binary frame
    except Exception:
        pass


async def main():
    addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:9001"
    host, _, port = addr.rpartition(":")
    async with serve(echo, host or "127.0.0.1", int(port), max_size=None, max_queue=None):
        print("python echo server listening on %s" % addr, flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
