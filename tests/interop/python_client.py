#!/usr/bin/env python3
"""Interop client (Python `websockets`) for an rfc6455 echo server.

Usage: python_client.py URL

Sends text (with multi-byte UTF-8) and binary messages of 0, 1, 125, 126, 65535,
65536, 1 MiB and 4 MiB bytes, one at a time and then all pipelined, checks every
echo is identical and of the same type, closes with 4000 + a reason, then opens a
second connection and closes it with 1000; both closes must complete cleanly with
the code echoed back. Prints one result line; exits non-zero on any mismatch.

The second connection keeps websockets' default limits and also echoes a text and a
binary message of exactly 1 MiB, its default max_size (the largest message it accepts;
the first connection lifts it with max_size=None for the 4 MiB messages). The 20 MB
messages node_client.mjs and chromium_client.mjs exchange, larger than the echo
server's 16 MiB max_send_frame_size so that its echo is fragmented, are not sent here:
on its defaults this peer refuses anything over 1 MiB (1009).

INTEROP_EXPECT_DEFLATE=1 requires permessage-deflate to be negotiated,
INTEROP_EXPECT_DEFLATE=0 requires it not to be; unset only reports it.
"""
import asyncio
import os
import sys
import time

from websockets.asyncio.client import connect

PEER = "python-websockets"
SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20]
PATTERN = "aé€😀"  # 1 + 2 + 3 + 4 bytes of UTF-8
CLOSE_REASON = "interop bye ✓"
RECV_TIMEOUT = float(os.environ.get("INTEROP_RECV_TIMEOUT", "30"))
DEFAULT_MAX_SIZE = 1 << 20  # websockets' default max_size


def make_text(n):
    """A str whose UTF-8 encoding is exactly n bytes, mostly multi-byte characters."""
    reps = PATTERN * (n // 10 + 1)
    out, size = [], 0
    for ch in reps:
        w = len(ch.encode("utf-8"))
        if size + w > n:
            break
        out.append(ch)
        size += w
    s = "".join(out) + "x" * (n - size)
    assert len(s.encode("utf-8")) == n
    return s


def make_binary(n):
    return bytes((i * 31 + 7 + (i >> 8)) & 0xFF for i in range(n)) if n < 65536 else \
        (bytes((i * 31 + 7 + (i >> 8)) & 0xFF for i in range(65536)) * (n // 65536 + 1))[:n]


def describe(m):
    kind = "text" if isinstance(m, str) else "binary"
    size = len(m.encode("utf-8")) if isinstance(m, str) else len(m)
    return "%s/%d" % (kind, size)


def check_echo(sent, got):
    if type(sent) is not type(got):
        raise AssertionError("sent %s, echo came back as %s" % (describe(sent), describe(got)))
    if sent != got:
        raise AssertionError("echo of %s differs (got %s)" % (describe(sent), describe(got)))


def expect_deflate(extensions):
    want = os.environ.get("INTEROP_EXPECT_DEFLATE")
    has = "permessage-deflate" in (extensions or "")
    if want == "1" and not has:
        raise AssertionError("permessage-deflate was not negotiated (extensions=%r)" % extensions)
    if want == "0" and has:
        raise AssertionError("permessage-deflate was negotiated unexpectedly (extensions=%r)" % extensions)


async def recv_echo(ws, sent):
    try:
        got = await asyncio.wait_for(ws.recv(), RECV_TIMEOUT)
    except asyncio.TimeoutError:
        raise AssertionError("timed out after %gs waiting for the echo of %s" % (RECV_TIMEOUT, describe(sent)))
    check_echo(sent, got)


async def close_and_check(ws, code, reason):
    try:
        # close() itself gives up after close_timeout (RECV_TIMEOUT); this is a backstop.
        await asyncio.wait_for(ws.close(code=code, reason=reason), 2 * RECV_TIMEOUT + 5)
        await asyncio.wait_for(ws.wait_closed(), RECV_TIMEOUT)
    except asyncio.TimeoutError:
        raise AssertionError("close %d: timed out waiting for the close handshake" % code)
    rcvd = ws.protocol.close_rcvd
    if rcvd is None:
        raise AssertionError("close %d: no close frame received from the server (not a clean close)" % code)
    if rcvd.code != code:
        raise AssertionError("close %d: server answered with close code %d (%r)" % (code, rcvd.code, rcvd.reason))
    sent = ws.protocol.close_sent
    if sent is None or sent.code != code:
        raise AssertionError("close %d: our close frame was not sent" % code)
    return rcvd


async def run(url):
    messages = []
    for n in SIZES:
        messages.append(make_text(n))
        messages.append(make_binary(n))

    async with connect(url, max_size=None, max_queue=None, open_timeout=RECV_TIMEOUT,
                       close_timeout=RECV_TIMEOUT, ping_interval=None) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        expect_deflate(extensions)
        # One at a time.
        for m in messages:
            await ws.send(m)
            await recv_echo(ws, m)
        # Pipelined: everything sent before reading the echoes, order must hold.
        for m in messages:
            await ws.send(m)
        for m in messages:
            await recv_echo(ws, m)
        rcvd = await close_and_check(ws, 4000, CLOSE_REASON)

    # Default limits (max_size 1 MiB); ping_interval=None only stops keepalive pings.
    async with connect(url, open_timeout=RECV_TIMEOUT, close_timeout=RECV_TIMEOUT, ping_interval=None) as ws2:
        at_limit = [make_text(20), make_text(DEFAULT_MAX_SIZE), make_binary(DEFAULT_MAX_SIZE)]
        for m in at_limit:
            await ws2.send(m)
            await recv_echo(ws2, m)
        await close_and_check(ws2, 1000, "")

    return extensions, len(messages) * 2 + len(at_limit), rcvd.reason


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python_client.py URL")
    url = sys.argv[1]
    t0 = time.monotonic()
    try:
        extensions, count, reason = asyncio.run(run(url))
    except Exception as e:  # noqa: BLE001 - report anything as a failure
        print("FAIL %s %s: %s: %s" % (PEER, url, type(e).__name__, e), flush=True)
        return 1
    print("PASS %s %s messages=%d at_default_max_size=text/%d,binary/%d close=4000,1000 close_reason_echo=%r "
          "extensions=%r (%.1fs)" % (PEER, url, count, DEFAULT_MAX_SIZE, DEFAULT_MAX_SIZE, reason, extensions or "",
                                     time.monotonic() - t0), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
