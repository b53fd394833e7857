#!/usr/bin/env python3
"""Writes the hand-made seed corpora under fuzz/corpus/<target>/.

Frames are the examples of RFC 6455 §5.7; handshakes are those of §1.2.
Connection inputs start with a flags byte and four chunk-size bytes (see
fuzz_targets/connection_server.rs); handshake inputs with a limit byte and
four chunk-size bytes; utf8 inputs with four chunk-size bytes.
"""
import os, struct

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes([0x37, 0xFA, 0x21, 0x3D])

def mask(payload, key=KEY):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))

def frame(opcode, payload, fin=True, key=None):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    m = 0x80 if key else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, m | 127]) + struct.pack(">Q", n)
    return head + (key + mask(payload, key) if key else payload)

def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def streams(key):
    return {
        "hello": frame(0x1, b"Hello", key=key),
        "fragmented_hello": frame(0x1, b"Hel", fin=False, key=key) + frame(0x0, b"lo", key=key),
        "ping_hello": frame(0x9, b"Hello", key=key),
        "pong_hello": frame(0xA, b"Hello", key=key),
        "binary_256": frame(0x2, bytes(range(256)), key=key),
        "ping_between_fragments": frame(0x1, "h\u00e9".encode()[:2], fin=False, key=key)
            + frame(0x9, b"", key=key) + frame(0x0, "h\u00e9".encode()[2:], key=key),
        "close_1000": frame(0x8, struct.pack(">H", 1000) + b"bye", key=key),
        "bad_utf8": frame(0x1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", key=key),
    }

# RFC 6455 §5.7, byte for byte.
RFC_FRAMES = {
    "unmasked_hello": bytes.fromhex("810548656c6c6f"),
    "masked_hello": bytes.fromhex("818537fa213d7f9f4d5158"),
    "fragmented_1": bytes.fromhex("010348656c"),
    "fragmented_2": bytes.fromhex("80026c6f"),
    "ping": bytes.fromhex("890548656c6c6f"),
    "masked_pong": bytes.fromhex("8a8537fa213d7f9f4d5158"),
    "binary_256": bytes.fromhex("827e0100"),
    "binary_64k": bytes.fromhex("827f0000000000010000"),
}

REQUEST = (b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
RESPONSE = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n")

for name, data in RFC_FRAMES.items():
    write("frame_header", name, data)
for role, key in (("connection_server", KEY), ("connection_client", None)):
    for name, data in streams(key).items():
        write(role, name + "_whole", bytes([0, 0, 0, 0, 0]) + data)
        write(role, name + "_bytewise", bytes([0x11, 1, 1, 1, 1]) + data)
    write(role, "rfc_frames_fragments_on", bytes([0x01, 3, 7, 0, 0]) + b"".join(
        v for k, v in RFC_FRAMES.items()
        if (("masked" in k and "unmasked" not in k) if key else k in ("unmasked_hello", "fragmented_1", "fragmented_2", "ping"))))
for name, req in (("rfc_request", REQUEST), ("rfc_request_then_frame", REQUEST + RFC_FRAMES["masked_hello"])):
    write("handshake_server", name + "_whole", bytes([0, 0, 0, 0, 0]) + req)
    write("handshake_server", name + "_chunks", bytes([0, 1, 13, 40, 0]) + req)
write("handshake_server", "rfc_request_small_limit", bytes([8, 17, 0, 0, 0]) + REQUEST)
for name, resp in (("rfc_response", RESPONSE), ("rfc_response_then_frame", RESPONSE + RFC_FRAMES["unmasked_hello"])):
    write("handshake_client", name + "_whole", bytes([0, 0, 0, 0, 0]) + resp)
    write("handshake_client", name + "_chunks", bytes([0, 1, 13, 40, 0]) + resp)
write("handshake_client", "not_101", bytes([0, 0, 0, 0, 0]) + b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
utf8 = {
    "ascii": b"Hello, world",
    "multibyte": "\u03ba\u1f79\u03c3\u03bc\u03b5 \U0001F600 \u00e9".encode(),
    "surrogate": b"\xed\xa0\x80",
    "overlong": b"\xc0\xaf",
    "truncated": b"\xf0\x9f\x98",
}
for name, text in utf8.items():
    write("utf8", name + "_whole", bytes([0, 0, 0, 0]) + text)
    write("utf8", name + "_bytewise", bytes([1, 1, 1, 1]) + text)
# pair: arbitrary-derived commands; these bytes are just a start.
write("pair", "empty", b"")
write("pair", "some_commands", bytes(range(0, 256, 3)) * 2)
write("pair", "text", b"\x01\x00" + b"\x07" * 32 + b"\x00\x00\x05Hello\x08\x00\xff\xff\x08\x01\xff\xff")
# connection_server_deflate: arbitrary-derived too (settings, then pieces
# that a real compressor turns into frames); any bytes decode to a valid
# start, and these vary the first choices.
write("connection_server_deflate", "empty", b"")
write("connection_server_deflate", "ramp", bytes(range(256)))
write("connection_server_deflate", "sevens", b"\x07" * 96)
write("connection_server_deflate", "descending", bytes(range(255, -1, -5)) * 3)
