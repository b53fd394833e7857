#!/usr/bin/env node
// End-to-end test of examples/chat with two headless Chromium pages (Debian's
// /usr/bin/chromium driven by playwright-core).
//
// Usage: node chat_e2e.mjs http://127.0.0.1:PORT/
//
// 1. Two pages load the chat page from the server and connect to /ws; each
//    sends a line; each must see both lines (its own and the other's).
// 2. A page served from another origin (a second HTTP server on another port)
//    tries `new WebSocket('ws://…/ws')`: it must never open.
// 3. Without a browser: the same upgrade with a foreign Origin header gets
//    403, and one with the chat's own origin gets 101.
// Prints one result line; exits non-zero on any failure.
import http from 'node:http';
import { chromium } from 'playwright-core';

const BASE = process.argv[2];
if (!BASE) {
  console.error('usage: node chat_e2e.mjs http://127.0.0.1:PORT/');
  process.exit(2);
}
const EXECUTABLE = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const TIMEOUT_MS = 20000;
const base = new URL(BASE);
const wsUrl = `ws://${base.host}/ws`;

function rawUpgrade(origin) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: base.hostname, port: base.port, path: '/ws',
      headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', Origin: origin,
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13',
      },
    });
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode); });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode); });
    req.on('error', reject);
    req.end();
  });
}

async function seeLine(page, text) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll('#log li')].some((li) => li.textContent.endsWith(t)),
    text, { timeout: TIMEOUT_MS });
}

async function say(page, text) {
  await page.fill('#text', text);
  await page.click('#send');
}

async function main() {
  // Step 3 first: cheap and says whether the server is up at all.
  const foreign = await rawUpgrade('http://evil.example');
  if (foreign !== 403) throw new Error(`foreign Origin got ${foreign}, want 403`);
  const own = await rawUpgrade(`http://${base.host}`);
  if (own !== 101) throw new Error(`own Origin got ${own}, want 101`);

  // A page of another origin (same host, another port).
  const other = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><script>
      window.result = new Promise((resolve) => {
        const ws = new WebSocket(${JSON.stringify(wsUrl)});
        ws.onopen = () => resolve('open');
        ws.onclose = (ev) => resolve('closed ' + ev.code);
      });
    </script>`);
  });
  await new Promise((resolve, reject) => other.listen(0, '127.0.0.1', resolve).once('error', reject));

  const browser = await chromium.launch({ executablePath: EXECUTABLE, headless: true, args: FLAGS, timeout: 60000 });
  try {
    const alice = await browser.newPage();
    const bob = await browser.newPage();
    for (const page of [alice, bob]) {
      await page.goto(BASE);
      await page.waitForFunction(() => document.getElementById('status').textContent === 'connected',
        null, { timeout: TIMEOUT_MS });
    }
    await say(alice, 'hello from alice');
    await say(bob, 'hi alice, bob here');
    for (const page of [alice, bob]) {
      await seeLine(page, ': hello from alice');
      await seeLine(page, ': hi alice, bob here');
    }

    const intruder = await browser.newPage();
    await intruder.goto(`http://127.0.0.1:${other.address().port}/`);
    const outcome = await intruder.evaluate(() => window.result);
    if (outcome === 'open') throw new Error('a cross-origin page opened a WebSocket');
    // Nothing the intruder did reached the room.
    const aliceLines = await alice.$$eval('#log li', (lis) => lis.map((li) => li.textContent));
    console.log(`chat e2e: OK (two pages exchanged messages; cross-origin page: ${outcome}; ` +
      `raw upgrade: foreign 403, own 101; alice saw ${aliceLines.length} lines)`);
  } finally {
    await browser.close();
    other.close();
  }
}

main().catch((e) => {
  console.error(`chat e2e: FAILED: ${e.message}`);
  process.exit(1);
});
