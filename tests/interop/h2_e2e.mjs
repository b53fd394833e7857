#!/usr/bin/env node
// End-to-end test of WebSockets over HTTP/2 (RFC 8441) with a real browser:
// headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against `examples/h2_echo ADDR --tls CERT KEY`.
//
// Usage: node h2_e2e.mjs https://127.0.0.1:PORT/ SPKI_SHA256_BASE64 SERVER_LOG
//
// SPKI_SHA256_BASE64 is the hash of the server certificate's public key, for
// --ignore-certificate-errors-spki-list; SERVER_LOG is the file the server's
// stdout and stderr go to.
//
// Chromium sends a WebSocket over HTTP/2 only on an HTTP/2 connection it
// already has with the origin, and only after that server's SETTINGS enabled
// extended CONNECT; otherwise it opens an HTTP/1.1 connection for it. So:
// 1. The page at / must load over HTTP/2 (nextHopProtocol "h2").
// 2. The page's own echo console opens wss://…/echo; the test types a line,
//    sends it and waits for its echo.
// 3. A second WebSocket (wss://…/e2e), opened from the page's context, sends
//    text (with multi-byte UTF-8) and binary messages of up to 1 MiB, several
//    larger than HTTP/2's initial 64 KiB flow-control window, one at a time
//    and then all at once; every echo must come back with the same type and
//    the same bytes. It closes with 1000: the page must see a clean 1000.
// 4. The console's Close button closes the first WebSocket the same way.
// 5. The server side, from SERVER_LOG: both WebSockets arrived as extended
//    CONNECT streams on the very HTTP/2 connection that served the page, and
//    the server saw both close frames (code 1000, the reasons the page sent)
//    after echoing exactly the messages the page sent. This part runs even
//    when the browser side failed, so a fallback to HTTP/1.1 is named as such.
// Prints one result line; exits non-zero on any failure.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [BASE, SPKI, SERVER_LOG] = process.argv.slice(2);
if (!BASE || !SPKI || !SERVER_LOG) {
  console.error('usage: node h2_e2e.mjs https://127.0.0.1:PORT/ SPKI_SHA256_BASE64 SERVER_LOG');
  process.exit(2);
}
const EXECUTABLE = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  `--ignore-certificate-errors-spki-list=${SPKI}`,
];
const STEP_TIMEOUT_MS = 20000;
const OVERALL_TIMEOUT_MS = Number(process.env.H2_E2E_TIMEOUT ?? 120) * 1000;
const CONSOLE_TEXT = 'hello over HTTP/2 ✓';
const CONSOLE_REASON = 'page closed'; // what the page's Close button sends
const TEST_REASON = 'h2 e2e done';

// Runs inside the page: one WebSocket, every message echoed, a clean close.
async function exchange({ reason, stepTimeoutMs }) {
  const enc = new TextEncoder();
  const makeText = (n) => {
    // ASCII, 2-, 3- and 4-byte UTF-8 sequences, padded with ASCII to n bytes.
    const pattern = ['a', 'é', '€', '😀'];
    let s = '';
    let size = 0;
    for (let i = 0; size + enc.encode(pattern[i % 4]).length <= n; i++) {
      s += pattern[i % 4];
      size += enc.encode(pattern[i % 4]).length;
    }
    return s + 'x'.repeat(n - size);
  };
  const makeBinary = (n) => {
    const b = new Uint8Array(n);
    let x = 0x9e3779b9 ^ n;
    for (let i = 0; i < n; i++) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      b[i] = x & 0xff;
    }
    return b;
  };
  const every = new Uint8Array(256).map((_, i) => i);
  const messages = [
    'hello', 'héllo wörld € 😀', makeText(70000), makeText(1 << 20),
    new Uint8Array(0), every, makeBinary(65537), makeBinary(1 << 20),
  ];
  const describe = (m) => (typeof m === 'string'
    ? `text/${enc.encode(m).length}` : `binary/${m.byteLength}`);
  const check = (sent, got, i) => {
    const where = `message ${i} (${describe(sent)})`;
    if (typeof sent === 'string') {
      if (typeof got !== 'string') throw new Error(`${where}: echo came back as ${describe(got)}`);
      // Byte for byte: compare the UTF-8 encodings.
      const [a, b] = [enc.encode(sent), enc.encode(got)];
      if (a.length !== b.length || a.some((v, k) => v !== b[k])) {
        throw new Error(`${where}: echo differs (${describe(got)})`);
      }
      return;
    }
    if (!(got instanceof ArrayBuffer)) throw new Error(`${where}: echo came back as ${describe(got)}`);
    const g = new Uint8Array(got);
    if (g.length !== sent.length) throw new Error(`${where}: echo is ${g.length} bytes`);
    const k = g.findIndex((v, j) => v !== sent[j]);
    if (k >= 0) throw new Error(`${where}: echo differs at byte ${k}`);
  };
  const within = (promise, what) => {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), stepTimeoutMs);
    });
    return Promise.race([promise, late]).finally(() => clearTimeout(timer));
  };

  const ws = new WebSocket(`wss://${location.host}/e2e`);
  ws.binaryType = 'arraybuffer';
  const received = [];
  const waiting = [];
  let failure = null;
  const closed = new Promise((resolve) => ws.addEventListener('close', (ev) => {
    failure ??= new Error(`the WebSocket closed (${ev.code}) while an echo was due`);
    for (const w of waiting.splice(0)) w.reject(failure);
    resolve({ code: ev.code, reason: ev.reason, wasClean: ev.wasClean });
  }));
  ws.addEventListener('message', (ev) => {
    const w = waiting.shift();
    if (w) w.resolve(ev.data); else received.push(ev.data);
  });
  const next = () => {
    if (received.length) return Promise.resolve(received.shift());
    if (failure) return Promise.reject(failure);
    return within(new Promise((resolve, reject) => waiting.push({ resolve, reject })), 'an echo');
  };
  await within(new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error('wss:// /e2e did not open')), { once: true });
  }), 'the WebSocket to open');

  for (const [i, m] of messages.entries()) {
    ws.send(m);
    check(m, await next(), i);
  }
  for (const m of messages) ws.send(m);
  for (const [i, m] of messages.entries()) check(m, await next(), i);

  ws.close(1000, reason);
  const ev = await within(closed, 'the close handshake');
  const bytes = messages.reduce((sum, m) => sum + (typeof m === 'string' ? enc.encode(m).length : m.length), 0);
  return { ...ev, sent: messages.length * 2, bytes: bytes * 2, sizes: messages.map(describe) };
}

async function browserSide(context) {
  const page = context.pages()[0] ?? await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  page.on('pageerror', (e) => consoleLines.push(`page error: ${e.message}`));
  const status = () => page.$eval('#status', (el) => el.textContent);
  try {
    const response = await page.goto(BASE, { timeout: STEP_TIMEOUT_MS });
    if (response?.status() !== 200) throw new Error(`GET ${BASE}: status ${response?.status()}`);
    const protocol = await page.evaluate(
      () => performance.getEntriesByType('navigation')[0]?.nextHopProtocol);
    if (protocol !== 'h2') throw new Error(`the page came over ${protocol}, want h2`);

    // The console's WebSocket.
    await page.waitForFunction(
      () => document.getElementById('status').textContent !== 'connecting', null,
      { timeout: STEP_TIMEOUT_MS });
    if ((await status()) !== 'open') throw new Error(`the page's WebSocket: ${await status()}`);
    await page.fill('#text', CONSOLE_TEXT);
    await page.click('#send');
    await page.waitForFunction(
      (line) => [...document.querySelectorAll('#log li')].some((li) => li.textContent === line),
      `echo: ${CONSOLE_TEXT}`, { timeout: STEP_TIMEOUT_MS });

    // The test's WebSocket.
    const r = await page.evaluate(exchange, { reason: TEST_REASON, stepTimeoutMs: STEP_TIMEOUT_MS });
    if (r.code !== 1000 || !r.wasClean) {
      throw new Error(`the /e2e WebSocket closed with ${r.code} (clean: ${r.wasClean}), want a clean 1000`);
    }

    await page.click('#close');
    await page.waitForFunction(
      () => document.getElementById('status').textContent.startsWith('closed'), null,
      { timeout: STEP_TIMEOUT_MS });
    if ((await status()) !== 'closed 1000') throw new Error(`the page's WebSocket: ${await status()}, want closed 1000`);
    return { ...r, protocol };
  } catch (e) {
    const last = consoleLines.length ? ` [browser console: ${consoleLines.slice(-3).join(' | ')}]` : '';
    throw new Error(`${String(e.message ?? e).split('\n')[0]}${last}`);
  }
}

// What the server logged, against what the page did (see examples/h2_echo.rs
// for the lines). Returns the problems found; none means the server agrees.
function serverProblems(testMessages) {
  const lines = readFileSync(SERVER_LOG, 'utf8').split('\n');
  const matching = (re) => lines.map((l) => l.match(re)).filter(Boolean);
  const problems = [];
  const pages = matching(/^conn (\d+) stream (\d+): GET \/ -> 200\b/);
  if (pages.length !== 1) {
    problems.push(`the server served GET / ${pages.length} times, want 1`);
    return problems;
  }
  const conn = pages[0][1];
  if (!lines.some((l) => l.startsWith(`conn ${conn}: HTTP/2 over TLS from `))) {
    problems.push(`connection ${conn} did not log an HTTP/2 over TLS start`);
  }
  const sockets = matching(/^conn (\d+) stream (\d+): WebSocket over HTTP\/2 \(extended CONNECT (\S+)\)$/);
  const want = [
    { path: '/echo', close: `closed by the client (1000 ${JSON.stringify(CONSOLE_REASON)}) after 1 message` },
    { path: '/e2e', close: `closed by the client (1000 ${JSON.stringify(TEST_REASON)}) after ${testMessages} messages` },
  ];
  if (sockets.length !== want.length) {
    problems.push(`${sockets.length} WebSockets arrived as extended CONNECT streams, want ${want.length}` +
      ' (Chromium falls back to HTTP/1.1 when the server does not enable extended CONNECT)');
  }
  for (const { path: p, close } of want) {
    const s = sockets.find((m) => m[3] === p);
    if (!s) {
      problems.push(`no extended CONNECT for ${p}`);
      continue;
    }
    if (s[1] !== conn) {
      problems.push(`the ${p} WebSocket came on connection ${s[1]}, the page on ${conn}`);
    }
    const ended = `conn ${s[1]} stream ${s[2]}: WebSocket `;
    const end = lines.find((l) => l.startsWith(ended) && /: WebSocket (closed|ended) /.test(l));
    if (end !== ended + close) {
      problems.push(`${p}: server logged ${JSON.stringify(end ?? 'no end')}, want ${JSON.stringify(ended + close)}`);
    }
  }
  return problems;
}

// The server logs a WebSocket's end after its close handshake, which may be a
// moment after the page's close event: wait for the log to settle.
async function serverSide(testMessages, waitMs) {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const problems = serverProblems(testMessages);
    if (!problems.length || Date.now() >= deadline) return problems;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function main() {
  const t0 = Date.now();
  const profile = mkdtempSync(path.join(tmpdir(), 'h2-e2e-profile-'));
  let context;
  let browser = null;
  let browserError = null;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: EXECUTABLE, headless: true, args: FLAGS, timeout: 60000,
    });
    browser = await browserSide(context);
  } catch (e) {
    browserError = e.message ?? String(e);
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
  // 16 messages when the exchange ran; the server check still names what it
  // saw when it did not.
  const problems = await serverSide(browser?.sent ?? 16, browser ? 10000 : 2000);
  if (browserError || problems.length) {
    if (browserError) console.error(`h2 e2e: browser side: ${browserError}`);
    for (const p of problems) console.error(`h2 e2e: server side: ${p}`);
    console.error(`h2 e2e: FAILED (server log: ${SERVER_LOG})`);
    process.exit(1);
  }
  console.log(`h2 e2e: OK (page over ${browser.protocol}; two WebSockets as extended CONNECT ` +
    `streams on the page's HTTP/2 connection; ${browser.sent} messages echoed ` +
    `(${browser.sizes.join(',')}, one at a time, then pipelined), ${(browser.bytes / 1048576).toFixed(1)} MiB; clean 1000 closes seen by page ` +
    `and server; ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

const overall = setTimeout(() => {
  console.error(`h2 e2e: FAILED (no result within ${OVERALL_TIMEOUT_MS / 1000} s)`);
  process.exit(1);
}, OVERALL_TIMEOUT_MS);
overall.unref();
main().then(() => process.exit(0), (e) => {
  console.error(`h2 e2e: FAILED: ${e.message ?? e}`);
  process.exit(1);
});
