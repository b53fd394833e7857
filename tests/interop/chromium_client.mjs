#!/usr/bin/env node
// Interop client: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) running `new WebSocket(URL)` in a page, against an rfc6455 echo server.
//
// Usage: node chromium_client.mjs URL
//
// Same plan as python_client.py / node_client.mjs: text (with multi-byte UTF-8) and
// binary messages of 0, 1, 125, 126, 65535, 65536, 1 MiB and 4 MiB bytes, one at a
// time and then pipelined, each echo must be identical and of the same type; close
// with 4000 + a reason, then a second connection closed with 1000; both closes must
// be clean (CloseEvent.wasClean) with the code echoed back. Prints one result line;
// exits non-zero on any mismatch.
//
// The second connection also carries two 20 MB messages, binary (pseudo-random, so
// that permessage-deflate cannot shrink it) and text (random 1- to 4-byte UTF-8
// characters), each echoed intact; the browser has no message size limit. Chromium
// sends a large message as many frames of about 130 KB (131000 bytes from Chromium 148:
// the chunks it moves from the page to the network service), so the echo server, on
// its default 16 MiB max_frame_size, accepts them as they are. Its echoes are longer than its
// max_send_frame_size (16 MiB) and go out as several frames (compressed, with
// permessage-deflate); the page only sees whole messages (node_client.mjs counts the
// frames).
//
// INTEROP_EXPECT_DEFLATE=1 requires ws.extensions to contain permessage-deflate,
// INTEROP_EXPECT_DEFLATE=0 requires it not to; unset only reports it.
// CHROMIUM (default /usr/bin/chromium) selects the browser binary.
import http from 'node:http';
import { chromium } from 'playwright-core';

const PEER = 'chromium';
const EXECUTABLE = process.env.CHROMIUM ?? '/usr/bin/chromium';
const RECV_TIMEOUT_MS = Number(process.env.INTEROP_RECV_TIMEOUT ?? 30) * 1000;
const LARGE = 20_000_000; // as in pageTest
const OVERALL_TIMEOUT_MS = Number(process.env.INTEROP_PEER_TIMEOUT ?? 180) * 1000;
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// Runs inside the page.
async function pageTest({ url, recvTimeoutMs }) {
  const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20];
  const PATTERN = ['a', 'é', '€', '😀'];
  const enc = new TextEncoder();
  const makeText = (n) => {
    const parts = [];
    let size = 0;
    for (let i = 0; ; i++) {
      const ch = PATTERN[i % PATTERN.length];
      const w = enc.encode(ch).length;
      if (size + w > n) break;
      parts.push(ch);
      size += w;
    }
    const s = parts.join('') + 'x'.repeat(n - size);
    if (enc.encode(s).length !== n) throw new Error(`makeText(${n}) is wrong`);
    return s;
  };
  const makeBinary = (n) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = (i * 31 + 7 + (i >> 8)) & 0xff;
    return b;
  };
  const describe = (m) => (typeof m === 'string' ? `text/${enc.encode(m).length}` : `binary/${m.byteLength}`);
  // The generators of node_client.mjs (see there): xorshift32 bytes, and random UTF-8
  // characters of 1 to 4 bytes with none ending at byte `cut` (the echo server's
  // default max_send_frame_size, where a plain echo is split).
  const LARGE = 20_000_000;
  const SERVER_FRAME = 16 * 1024 * 1024;
  const prng = (seed) => {
    let x = seed | 0 || 1;
    return () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
  };
  const randomBinary = (n, seed) => {
    const next = prng(seed);
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const r = next();
      for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = r >>> (8 * k);
    }
    return b;
  };
  const randomText = (n, seed, cut) => {
    const next = prng(seed);
    const b = new Uint8Array(n);
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
    if ((b[cut] & 0xc0) !== 0x80) throw new Error('randomText: no character across the cut');
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  };
  const checkEcho = (sent, got) => {
    if (typeof sent === 'string') {
      if (typeof got !== 'string') throw new Error(`sent ${describe(sent)}, echo came back as ${describe(got)}`);
      if (sent !== got) throw new Error(`echo of ${describe(sent)} differs (got ${describe(got)})`);
      return;
    }
    if (!(got instanceof ArrayBuffer)) throw new Error(`sent ${describe(sent)}, echo came back as ${describe(got)}`);
    const g = new Uint8Array(got);
    if (g.length !== sent.length) throw new Error(`echo of ${describe(sent)} differs (got ${describe(got)})`);
    for (let i = 0; i < g.length; i++) {
      if (g[i] !== sent[i]) throw new Error(`echo of ${describe(sent)} differs at byte ${i}`);
    }
  };
  const withTimeout = (p, what) => {
    let t;
    return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), recvTimeoutMs); })])
      .finally(() => clearTimeout(t));
  };
  const connect = async () => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const queue = [];
    const waiters = [];
    let error = null;
    const closed = new Promise((resolve) => ws.addEventListener('close', (ev) => {
      resolve({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
      error ??= new Error(`connection closed (code ${ev.code}) while waiting for a message`);
      for (const w of waiters.splice(0)) w.reject(error);
    }));
    ws.addEventListener('message', (ev) => {
      const w = waiters.shift();
      if (w) w.resolve(ev.data); else queue.push(ev.data);
    });
    await withTimeout(new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('error', () => reject(new Error('WebSocket error during the opening handshake')), { once: true });
    }), 'the opening handshake');
    return {
      ws,
      recv: () => {
        if (queue.length) return Promise.resolve(queue.shift());
        if (error) return Promise.reject(error);
        return withTimeout(new Promise((resolve, reject) => waiters.push({ resolve, reject })), 'an echo');
      },
      close: async (code, reason) => {
        ws.close(code, reason);
        const ev = await withTimeout(closed, `the close handshake (${code})`);
        if (!ev.wasClean) throw new Error(`close ${code}: not clean (code ${ev.code})`);
        if (ev.code !== code) throw new Error(`close ${code}: server answered with close code ${ev.code} (${JSON.stringify(ev.reason)})`);
        return ev.reason;
      },
    };
  };

  const messages = [];
  for (const n of SIZES) messages.push(makeText(n), makeBinary(n));
  const c = await connect();
  const extensions = c.ws.extensions;
  for (const m of messages) {
    c.ws.send(m);
    checkEcho(m, await c.recv());
  }
  for (const m of messages) c.ws.send(m);
  for (const m of messages) checkEcho(m, await c.recv());
  const reason = await c.close(4000, 'interop bye ✓');

  const c2 = await connect();
  const m = makeText(20);
  c2.ws.send(m);
  checkEcho(m, await c2.recv());
  for (const big of [randomBinary(LARGE, 0x6455), randomText(LARGE, 0x7692, SERVER_FRAME)]) {
    c2.ws.send(big);
    checkEcho(big, await c2.recv());
  }
  await c2.close(1000);
  return { extensions, count: messages.length * 2 + 3, reason, userAgent: navigator.userAgent };
}

const consoleLines = [];

async function main(url) {
  // The page must come from loopback too: Chromium's Local Network Access checks block
  // a WebSocket from about:blank or data: to 127.0.0.1 (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS).
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><meta charset="utf-8"><title>rfc6455 interop</title>');
  });
  await new Promise((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
  const browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: FLAGS, timeout: 60000 });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => consoleLines.push(m.text()));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const r = await page.evaluate(pageTest, { url, recvTimeoutMs: RECV_TIMEOUT_MS });
    const want = process.env.INTEROP_EXPECT_DEFLATE;
    const has = r.extensions.includes('permessage-deflate');
    if (want === '1' && !has) throw new Error(`permessage-deflate was not negotiated (extensions=${JSON.stringify(r.extensions)})`);
    if (want === '0' && has) throw new Error(`permessage-deflate was negotiated unexpectedly (extensions=${JSON.stringify(r.extensions)})`);
    return { ...r, version: browser.version() };
  } finally {
    await browser.close().catch(() => {});
    server.close();
  }
}

const url = process.argv[2];
if (!url) {
  console.error('usage: node chromium_client.mjs URL');
  process.exit(2);
}
const t0 = Date.now();
const overall = setTimeout(() => {
  console.log(`FAIL ${PEER} ${url}: no result within ${OVERALL_TIMEOUT_MS / 1000}s`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
main(url).then(
  ({ extensions, count, reason, version }) => {
    clearTimeout(overall);
    console.log(`PASS ${PEER} ${url} browser=${version} messages=${count} large=binary/${LARGE},text/${LARGE} close=4000,1000 close_reason_echo=${JSON.stringify(reason)} extensions=${JSON.stringify(extensions)} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
    process.exit(0);
  },
  (e) => {
    clearTimeout(overall);
    const last = consoleLines.length ? ` [browser console: ${consoleLines.slice(-3).join(' | ')}]` : '';
    console.log(`FAIL ${PEER} ${url}: ${String(e.message ?? e).split('\n')[0]}${last}`);
    process.exit(1);
  },
);
