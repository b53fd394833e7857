// Shared by echo.mjs and fanout.mjs: loads the native uWebSockets.js addon
// and parses the listen address.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// The package's own entry point silently falls back to a pure-JS server
// (on `ws`) when the native addon does not load; a benchmark must not
// measure that by accident, so the addon is loaded directly and a failure
// is fatal.
const addon = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
export const uWS = require(`@trufflesuite/uws-js-unofficial/binaries/${addon}`);

// `ADDR` as the Rust servers take it (127.0.0.1:PORT), or a bare PORT.
// Loopback only: any other host is refused.
export function listenAddress(arg) {
  const text = arg ?? '127.0.0.1:9001';
  const [host, port] = text.includes(':') ? text.split(':') : ['127.0.0.1', text];
  if (host !== '127.0.0.1' || !/^\d+$/.test(port)) {
    console.error(`usage: node ${process.argv[1]} [127.0.0.1:PORT | PORT]`);
    process.exit(2);
  }
  return { host, port: Number(port) };
}

export function listen(app, name, { host, port }) {
  app.listen(host, port, (socket) => {
    if (!socket) {
      console.error(`${name}: cannot listen on ${host}:${port}`);
      process.exit(1);
    }
    console.log(`${name} listening on ${host}:${port} (uWS ${addon})`);
  });
}
