#!/usr/bin/env node
// Reference echo server (Node `ws`), used to self-test the interop harness when
// the Rust examples are not available.
//
// Usage: node node_echo_server.mjs [HOST:PORT]   (default 127.0.0.1:9001)
import { WebSocketServer } from 'ws';

const addr = process.argv[2] ?? '127.0.0.1:9001';
const i = addr.lastIndexOf(':');
const host = addr.slice(0, i) || '127.0.0.1';
const port = Number(addr.slice(i + 1));

const wss = new WebSocketServer({ host, port, perMessageDeflate: true, maxPayload: 64 * 1024 * 1024 });
wss.on('error', (e) => { console.error(`server error: ${e.message}`); process.exit(1); });
wss.on('listening', () => console.log(`node echo server listening on ${host}:${port}`));
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(0));
