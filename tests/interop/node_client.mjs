#!/usr/bin/env node
// Interop client (Node `ws`) for an rfc6455 echo server.
//
// Usage: node node_client.mjs URL
//
// Sends text (with multi-byte UTF-8) and binary messages of 0, 1, 125, 126, 65535,
// 65536, 1 MiB and 4 MiB bytes, one at a time and then all pipelined, checks every
// echo is identical and of the same type, closes with 4000 + a reason, then opens a
// second connection and closes it with 1000; both closes must complete cleanly with
// the code echoed back. Prints one result line; exits non-zero on any mismatch.
//
// INTEROP_EXPECT_DEFLATE=1 requires permessage-deflate to be negotiated,
// INTEROP_EXPECT_DEFLATE=0 requires it not to be; unset only reports it.
import WebSocket from 'ws';

const PEER = 'node-ws';
const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20];
const PATTERN = ['a', 'é', '€', '😀']; // 1 + 2 + 3 + 4 bytes of UTF-8
const CLOSE_REASON = 'interop bye ✓';
const RECV_TIMEOUT_MS = Number(process.env.INTEROP_RECV_TIMEOUT ?? 30) * 1000;

function makeText(n) {
  const parts = [];
  let size = 0;
  for (let i = 0; ; i++) {
    const ch = PATTERN[i % PATTERN.length];
    const w = Buffer.byteLength(ch);
    if (size + w > n) break;
    parts.push(ch);
    size += w;
  }
  const s = parts.join('') + 'x'.repeat(n - size);
  if (Buffer.byteLength(s) !== n) throw new Error(`makeText(${n}) is wrong`);
  return s;
}

function makeBinary(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7 + (i >> 8)) & 0xff;
  return b;
}

const describe = (m) => (typeof m === 'string' ? `text/${Buffer.byteLength(m)}` : `binary/${m.length}`);

function expectDeflate(extensions) {
  const want = process.env.INTEROP_EXPECT_DEFLATE;
  const has = extensions.includes('permessage-deflate');
  if (want === '1' && !has) throw new Error(`permessage-deflate was not negotiated (extensions=${JSON.stringify(extensions)})`);
  if (want === '0' && has) throw new Error(`permessage-deflate was negotiated unexpectedly (extensions=${JSON.stringify(extensions)})`);
}

function withTimeout(promise, what) {
  let t;
  return Promise.race([
    promise,
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), RECV_TIMEOUT_MS); }),
  ]).finally(() => clearTimeout(t));
}

// A connection wrapper with a receive queue.
class Conn {
  constructor(url, opts) {
    this.ws = new WebSocket(url, { maxPayload: 0, ...opts });
    this.queue = [];
    this.waiters = [];
    this.error = null;
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.fail(new Error(`connection closed (code ${code}) while waiting for a message`));
      });
    });
    this.ws.on('message', (data, isBinary) => {
      const m = isBinary ? data : data.toString('utf8');
      const w = this.waiters.shift();
      if (w) w.resolve(m); else this.queue.push(m);
    });
    this.ws.on('error', (e) => this.fail(e));
  }
  fail(e) {
    this.error ??= e;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }
  open() {
    return withTimeout(new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    }), 'the opening handshake');
  }
  send(m) {
    return new Promise((resolve, reject) =>
      this.ws.send(m, { binary: typeof m !== 'string' }, (e) => (e ? reject(e) : resolve())));
  }
  recv() {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.error) return Promise.reject(this.error);
    return withTimeout(new Promise((resolve, reject) => this.waiters.push({ resolve, reject })), 'an echo');
  }
  async close(code, reason) {
    this.ws.close(code, reason);
    const { code: got, reason: gotReason } = await withTimeout(this.closed, `the close handshake (${code})`);
    // ws reports 1005 when the close frame had no code and 1006 when there was no close frame.
    if (got !== code) throw new Error(`close ${code}: server answered with close code ${got} (${JSON.stringify(gotReason)})`);
    return gotReason;
  }
}

function checkEcho(sent, got) {
  if (typeof sent !== typeof got) throw new Error(`sent ${describe(sent)}, echo came back as ${describe(got)}`);
  const same = typeof sent === 'string' ? sent === got : Buffer.compare(sent, got) === 0;
  if (!same) throw new Error(`echo of ${describe(sent)} differs (got ${describe(got)})`);
}

async function run(url) {
  const messages = [];
  for (const n of SIZES) messages.push(makeText(n), makeBinary(n));

  const c = new Conn(url, {});
  await c.open();
  const extensions = c.ws.extensions;
  expectDeflate(extensions);
  for (const m of messages) {
    await c.send(m);
    checkEcho(m, await c.recv());
  }
  await Promise.all(messages.map((m) => c.send(m)));
  for (const m of messages) checkEcho(m, await c.recv());
  const reason = await c.close(4000, CLOSE_REASON);

  const c2 = new Conn(url, {});
  await c2.open();
  const m = makeText(20);
  await c2.send(m);
  checkEcho(m, await c2.recv());
  await c2.close(1000);
  return { extensions, count: messages.length * 2 + 1, reason };
}

const url = process.argv[2];
if (!url) {
  console.error('usage: node node_client.mjs URL');
  process.exit(2);
}
const t0 = Date.now();
run(url).then(
  ({ extensions, count, reason }) => {
    console.log(`PASS ${PEER} ${url} messages=${count} close=4000,1000 close_reason_echo=${JSON.stringify(reason)} extensions=${JSON.stringify(extensions)} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    process.exit(0);
  },
  (e) => {
    console.log(`FAIL ${PEER} ${url}: ${e.message}`);
    process.exit(1);
  },
);
