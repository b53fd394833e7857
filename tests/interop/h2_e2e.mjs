#!/usr/bin/env node
// End-to-end test of WebSockets over HTTP/2 (RFC 8441) with a real browser:
// headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against `examples/h2_echo ADDR --tls CERT KEY`.
//
// Usage: node h2_e2e.mjs https://127.0.0.1:PORT/ SPKI_SHA256_BASE64 NETLOG
//
// SPKI_SHA256_BASE64 is the hash of the server certificate's public key, for
// --ignore-certificate-errors-spki-list; NETLOG is where Chromium writes its
// net log (--log-net-log): its own record of every HTTP/2 session, stream
// and WebSocket frame, read after the browser has closed. The server is a
// black box: nothing here reads its output.
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
//    the same bytes, and nothing else before the close. It closes with 1000
//    and a reason: the page must see a clean close with the same code and
//    reason (the server echoes the close frame whole, so it got both).
// 4. The console's Close button closes the first WebSocket the same way; the
//    page shows "closed 1000: page closed" and exactly one echo.
// 5. From the net log: the server enabled extended CONNECT on the HTTP/2
//    session (one TLS connection) that served the page; exactly two
//    WebSockets were opened, both as extended CONNECT streams (:protocol
//    websocket) on that session, each answered 200; on each, the server sent
//    back as many data messages as the page sent and a close frame as long
//    as the page's (code and reason); no WebSocket went over anything else.
//    This part runs even when the browser side failed, so a fallback to
//    HTTP/1.1 is named as such.
// Prints one result line; exits non-zero on any failure.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [BASE, SPKI, NETLOG] = process.argv.slice(2);
if (!BASE || !SPKI || !NETLOG) {
  console.error('usage: node h2_e2e.mjs https://127.0.0.1:PORT/ SPKI_SHA256_BASE64 NETLOG');
  process.exit(2);
}
const EXECUTABLE = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  `--ignore-certificate-errors-spki-list=${SPKI}`,
  `--log-net-log=${NETLOG}`,
];
const STEP_TIMEOUT_MS = 20000;
const OVERALL_TIMEOUT_MS = Number(process.env.H2_E2E_TIMEOUT ?? 120) * 1000;
const CONSOLE_TEXT = 'hello over HTTP/2 ✓';
const CONSOLE_REASON = 'page closed'; // what the page's Close button sends
const CONSOLE_CLOSED = `closed 1000: ${CONSOLE_REASON}`; // the page's status after it
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
  if (received.length) throw new Error(`${received.length} messages more than sent came back before the close`);
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
    if (r.code !== 1000 || r.reason !== TEST_REASON || !r.wasClean) {
      throw new Error(`the /e2e WebSocket closed with ${r.code} ${JSON.stringify(r.reason)} ` +
        `(clean: ${r.wasClean}), want a clean 1000 ${JSON.stringify(TEST_REASON)}`);
    }

    await page.click('#close');
    await page.waitForFunction(
      () => document.getElementById('status').textContent.startsWith('closed'), null,
      { timeout: STEP_TIMEOUT_MS });
    if ((await status()) !== CONSOLE_CLOSED) {
      throw new Error(`the page's WebSocket: ${await status()}, want ${CONSOLE_CLOSED}`);
    }
    const echoes = await page.$$eval('#log li', (items) => items.map((li) => li.textContent));
    if (echoes.length !== 1) throw new Error(`the page's log has ${echoes.length} lines, want 1: ${echoes}`);
    return { ...r, protocol };
  } catch (e) {
    const last = consoleLines.length ? ` [browser console: ${consoleLines.slice(-3).join(' | ')}]` : '';
    throw new Error(`${String(e.message ?? e).split('\n')[0]}${last}`);
  }
}

// Chromium's net log: JSON, whose closing "]}" may be missing if the browser
// did not shut down cleanly.
function readNetLog() {
  let text;
  try {
    text = readFileSync(NETLOG, 'utf8');
  } catch (e) {
    return { error: `no net log: ${e.message}` };
  }
  for (const candidate of [text, text.replace(/,?\s*$/, ']}')]) {
    try {
      return { log: JSON.parse(candidate) };
    } catch {
      // the repaired text next
    }
  }
  return { error: `the net log at ${NETLOG} is not JSON` };
}

// What the browser recorded of the HTTP/2 sessions and the WebSockets,
// against what the page did. `sent` maps each WebSocket path to the number
// of data messages the page sent on it and the length of its close frame's
// payload. Returns the problems found; none means the transport was what it
// should be and the server answered every frame.
function netLogProblems(sent) {
  const { log, error } = readNetLog();
  if (error) return [error];
  const types = log.constants.logEventTypes;
  const is = (e, name) => e.type === types[name];
  const pseudo = (headers, name) => headers?.find((h) => h.startsWith(`:${name}: `))?.slice(name.length + 3);
  const problems = [];

  // Each HTTP/2 session's requests (SEND_HEADERS) and their answers.
  const requests = [];
  const statuses = new Map(); // `${session} ${stream}` -> :status
  const connectEnabled = new Set(); // sessions whose server sent ENABLE_CONNECT_PROTOCOL = 1
  for (const e of log.events) {
    const session = e.source.id;
    if (is(e, 'HTTP2_SESSION_SEND_HEADERS')) {
      const h = e.params.headers;
      requests.push({
        session, stream: e.params.stream_id, method: pseudo(h, 'method'), path: pseudo(h, 'path'),
        protocol: pseudo(h, 'protocol'), request: e.params.source_dependency?.id,
      });
    } else if (is(e, 'HTTP2_SESSION_RECV_HEADERS')) {
      statuses.set(`${session} ${e.params.stream_id}`, pseudo(e.params.headers, 'status'));
    } else if (is(e, 'HTTP2_SESSION_RECV_SETTING') && /^8 /.test(e.params.id) && e.params.value === 1) {
      connectEnabled.add(session);
    }
  }
  const status = (r) => statuses.get(`${r.session} ${r.stream}`);
  const pages = requests.filter((r) => r.method === 'GET' && r.path === '/');
  if (pages.length !== 1 || status(pages[0]) !== '200') {
    problems.push(`the net log has ${pages.length} GET / over HTTP/2 (answered ${pages.map(status)}), want one answered 200`);
    return problems;
  }
  const page = pages[0].session;
  if (!connectEnabled.has(page)) {
    problems.push('the server did not enable extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL) on the page\'s connection');
  }

  // The WebSocket frames, by the request (net log source) that carried them.
  const frames = new Map();
  for (const e of log.events) {
    const dir = is(e, 'WEBSOCKET_SENT_FRAME_HEADER') ? 'sent' : is(e, 'WEBSOCKET_RECV_FRAME_HEADER') ? 'recv' : null;
    if (!dir) continue;
    if (!frames.has(e.source.id)) frames.set(e.source.id, { sent: [], recv: [] });
    frames.get(e.source.id)[dir].push(e.params);
  }
  const summary = (list) => ({
    // Data messages: their last frames (text, binary or continuation).
    messages: list.filter((f) => f.final && [0, 1, 2].includes(f.opcode)).length,
    close: list.find((f) => f.opcode === 8)?.payload_length,
  });

  const sockets = requests.filter((r) => r.method === 'CONNECT' && r.protocol === 'websocket');
  if (sockets.length !== Object.keys(sent).length) {
    problems.push(`${sockets.length} WebSockets went as extended CONNECT streams, want ${Object.keys(sent).length}` +
      ' (Chromium falls back to HTTP/1.1 when the server does not enable extended CONNECT)');
  }
  for (const [p, want] of Object.entries(sent)) {
    const s = sockets.find((r) => r.path === p);
    if (!s) {
      problems.push(`no extended CONNECT for ${p}`);
      continue;
    }
    if (s.session !== page) problems.push(`the ${p} WebSocket went on another HTTP/2 session than the page`);
    if (status(s) !== '200') problems.push(`the CONNECT for ${p} was answered ${status(s)}, want 200`);
    const f = frames.get(s.request) ?? { sent: [], recv: [] };
    const [out, back] = [summary(f.sent), summary(f.recv)];
    if (out.messages !== want.messages || back.messages !== want.messages) {
      problems.push(`${p}: ${out.messages} data messages sent and ${back.messages} received, want ${want.messages} each`);
    }
    if (out.close !== want.close || back.close !== want.close) {
      problems.push(`${p}: close frames of ${out.close} bytes sent and ${back.close} received, want ${want.close} each`);
    }
  }
  const h2Requests = new Set(sockets.map((r) => r.request));
  const others = [...frames.keys()].filter((id) => !h2Requests.has(id));
  if (others.length) problems.push(`${others.length} WebSockets carried frames outside HTTP/2 extended CONNECT`);
  return problems;
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
  // The close frames' payloads: a 2-byte code and the reason.
  const close = (reason) => 2 + Buffer.byteLength(reason);
  const problems = netLogProblems({
    '/echo': { messages: 1, close: close(CONSOLE_REASON) },
    '/e2e': { messages: browser?.sent ?? 16, close: close(TEST_REASON) },
  });
  if (browserError || problems.length) {
    if (browserError) console.error(`h2 e2e: browser side: ${browserError}`);
    for (const p of problems) console.error(`h2 e2e: net log: ${p}`);
    console.error(`h2 e2e: FAILED (net log: ${NETLOG})`);
    process.exit(1);
  }
  console.log(`h2 e2e: OK (page over ${browser.protocol}; two WebSockets as extended CONNECT ` +
    `streams on the page's HTTP/2 connection; ${browser.sent} messages echoed ` +
    `(${browser.sizes.join(',')}, one at a time, then pipelined), ${(browser.bytes / 1048576).toFixed(1)} MiB; ` +
    `close frames echoed whole, clean 1000 closes with their reasons; ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
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
