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
// The second connection keeps ws's default limits (maxPayload 100 MiB) and also
// carries two 20 MB messages, binary (pseudo-random, so that permessage-deflate
// cannot shrink it) and text (random 1- to 4-byte UTF-8 characters), each echoed
// intact. They are larger than 16 MiB, both ways:
// - ws sends a message as one frame: the binary one goes as one 20 MB frame (the
//   echo server's max_frame_size is the message limit, 64 MiB, by default); the
//   text one as four 5 MB fragments (ws's `fin: false`) cut inside UTF-8
//   characters, for the server's reassembly and incremental UTF-8 checks.
// - the echo server sends a message longer than its max_send_frame_size (16 MiB)
//   as several frames (with permessage-deflate: the compressed message, RSV1 on the
//   first frame only). ws hands out whole messages, so the frames of each echo are
//   counted off the socket and reported; INTEROP_MAX_SEND_FRAME=N requires every
//   data frame of an echo to be at most N bytes and an echo longer than N (on the
//   wire) to come in several frames.
//
// INTEROP_EXPECT_DEFLATE=1 requires permessage-deflate to be negotiated,
// INTEROP_EXPECT_DEFLATE=0 requires it not to be; unset only reports it.
import WebSocket from 'ws';

const PEER = 'node-ws';
const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20];
const PATTERN = ['a', 'é', '€', '😀']; // 1 + 2 + 3 + 4 bytes of UTF-8
const CLOSE_REASON = 'interop bye ✓';
const RECV_TIMEOUT_MS = Number(process.env.INTEROP_RECV_TIMEOUT ?? 30) * 1000;
const LARGE = 20_000_000;
const LARGE_FRAGMENT = 5_000_000;
// The echo servers' max_send_frame_size (the crate's default, 16 MiB): where a plain
// text echo is cut, placed inside a character by randomText.
const SERVER_FRAME = 16 * 1024 * 1024;
const MAX_SEND_FRAME = process.env.INTEROP_MAX_SEND_FRAME ? Number(process.env.INTEROP_MAX_SEND_FRAME) : null;

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

// xorshift32: reproducible bytes that deflate cannot compress.
function prng(seed) {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function randomBinary(n, seed) {
  const next = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) {
    const r = next();
    for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = r >>> (8 * k);
  }
  return b;
}

// n bytes of valid UTF-8: random characters of 1 to 4 bytes (printable ASCII, U+0080-U+07FF,
// U+0800-U+FFFF without surrogates, U+10000-U+10FFFF). Deflate keeps about 90% of it or more
// (zlib: 17.98 MB of 20 MB), so a compressed 20 MB echo is still longer than 16 MiB. No
// character ends exactly at byte `cut`, so a frame boundary there falls inside one.
function randomText(n, seed, cut) {
  const next = prng(seed);
  const b = Buffer.alloc(n);
  let i = 0;
  while (i < n) {
    let w = (next() & 3) + 1;
    if (i + w === cut) w = w < 4 ? w + 1 : w - 1;
    w = Math.min(w, n - i);
    const r = next();
    if (w === 1) {
      b[i] = 0x20 + (r % 95);
    } else if (w === 2) {
      const c = 0x80 + (r % 0x780);
      b[i] = 0xc0 | (c >> 6);
      b[i + 1] = 0x80 | (c & 0x3f);
    } else if (w === 3) {
      let c = 0x800 + (r % 0xf000);
      if (c >= 0xd800) c += 0x800;
      b[i] = 0xe0 | (c >> 12);
      b[i + 1] = 0x80 | ((c >> 6) & 0x3f);
      b[i + 2] = 0x80 | (c & 0x3f);
    } else {
      const c = 0x10000 + (r % 0x100000);
      b[i] = 0xf0 | (c >> 18);
      b[i + 1] = 0x80 | ((c >> 12) & 0x3f);
      b[i + 2] = 0x80 | ((c >> 6) & 0x3f);
      b[i + 3] = 0x80 | (c & 0x3f);
    }
    i += w;
  }
  return b;
}

const isContinuation = (b, i) => (b[i] & 0xc0) === 0x80;

// Where a message of n bytes is cut into fragments of about `size`; in text, each cut is
// moved forward into the next character's continuation bytes.
function fragmentCuts(buf, size, text) {
  const cuts = [];
  for (let at = size; at < buf.length; at += size) {
    let c = at;
    while (text && c < buf.length && !isContinuation(buf, c)) c++;
    if (c < buf.length) cuts.push(c);
  }
  return cuts;
}

// Follows the frames coming from the server on the raw socket (ws shows whole messages
// only) and records, per data message, the payload length and RSV1 bit of each frame.
class FrameTap {
  constructor() {
    this.header = [];
    this.left = 0;
    this.current = null;
    this.messages = [];
  }
  feed(chunk) {
    let i = 0;
    while (i < chunk.length) {
      if (this.left > 0) {
        const k = Math.min(this.left, chunk.length - i);
        this.left -= k;
        i += k;
        continue;
      }
      const h = this.header;
      h.push(chunk[i++]);
      if (h.length < 2) continue;
      const len7 = h[1] & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (h[1] & 0x80 ? 4 : 0);
      if (h.length < need) continue;
      let len = len7;
      if (len7 === 126) len = h[2] * 256 + h[3];
      else if (len7 === 127) len = Number(Buffer.from(h.slice(2, 10)).readBigUInt64BE());
      this.frame(h[0] & 0x0f, (h[0] & 0x80) !== 0, (h[0] & 0x40) !== 0, len);
      this.header = [];
      this.left = len;
    }
  }
  frame(opcode, fin, rsv1, len) {
    if (opcode >= 8) return; // control frames may come between fragments
    if (opcode !== 0) this.current = { frames: [], rsv1: [] };
    this.current.frames.push(len);
    this.current.rsv1.push(rsv1);
    if (fin) this.messages.push(this.current);
  }
}

// Checks the frames an echo came in against INTEROP_MAX_SEND_FRAME; returns a summary.
function checkFrames(m, frames) {
  if (!frames) throw new Error(`no frames of the echo of ${describe(m)} seen on the socket`);
  const wire = frames.frames.reduce((a, b) => a + b, 0);
  if (frames.rsv1.slice(1).some((r) => r)) throw new Error(`echo of ${describe(m)}: RSV1 on a continuation frame`);
  if (MAX_SEND_FRAME !== null) {
    const big = frames.frames.find((n) => n > MAX_SEND_FRAME);
    if (big !== undefined) throw new Error(`echo of ${describe(m)}: a ${big}-byte frame, over INTEROP_MAX_SEND_FRAME=${MAX_SEND_FRAME}`);
    if (wire > MAX_SEND_FRAME && frames.frames.length < 2) throw new Error(`echo of ${describe(m)}: ${wire} bytes in one frame`);
  }
  return `${describe(m)}:${frames.frames.join('+')}${frames.rsv1[0] ? ',rsv1' : ''}`;
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
    this.ws = new WebSocket(url, opts);
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
  send(m, opts = { binary: typeof m !== 'string' }) {
    return new Promise((resolve, reject) =>
      this.ws.send(m, opts, (e) => (e ? reject(e) : resolve())));
  }
  // One message as several frames: `buf` cut at `cuts`.
  async sendFragments(buf, binary, cuts) {
    const bounds = [0, ...cuts, buf.length];
    for (let k = 0; k + 1 < bounds.length; k++) {
      await this.send(buf.subarray(bounds[k], bounds[k + 1]), { binary, fin: k + 2 === bounds.length });
    }
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

  // No receive limit (maxPayload 0) on this connection; its messages (4 MiB at most)
  // would pass ws's default as well.
  const c = new Conn(url, { maxPayload: 0 });
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

  // ws's defaults (maxPayload 100 MiB).
  const c2 = new Conn(url, {});
  const tap = new FrameTap();
  // Nothing comes with the 101 response (the server speaks only when spoken to), so
  // every frame after it reaches this listener.
  c2.ws.on('upgrade', (res) => res.socket.on('data', (chunk) => tap.feed(chunk)));
  await c2.open();
  const m = makeText(20);
  await c2.send(m);
  checkEcho(m, await c2.recv());
  const bin = randomBinary(LARGE, 0x6455);
  const textBytes = randomText(LARGE, 0x7692, SERVER_FRAME);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(textBytes);
  if (!isContinuation(textBytes, SERVER_FRAME)) throw new Error('randomText: no character across the cut');
  const large = [];
  for (const [sent, buf, binary] of [[bin, bin, true], [text, textBytes, false]]) {
    if (binary) await c2.send(buf, { binary: true });
    else await c2.sendFragments(buf, binary, fragmentCuts(buf, LARGE_FRAGMENT, !binary));
    checkEcho(sent, await c2.recv());
    large.push(checkFrames(sent, tap.messages[tap.messages.length - 1]));
  }
  await c2.close(1000);
  return { extensions, count: messages.length * 2 + 3, reason, large };
}

const url = process.argv[2];
if (!url) {
  console.error('usage: node node_client.mjs URL');
  process.exit(2);
}
const t0 = Date.now();
run(url).then(
  ({ extensions, count, reason, large }) => {
    console.log(`PASS ${PEER} ${url} messages=${count} large_echo_frames=${large.join(',')} close=4000,1000 close_reason_echo=${JSON.stringify(reason)} extensions=${JSON.stringify(extensions)} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    process.exit(0);
  },
  (e) => {
    console.log(`FAIL ${PEER} ${url}: ${e.message}`);
    process.exit(1);
  },
);
