// uWebSockets.js fan-out server: `node fanout.mjs [127.0.0.1:PORT | PORT]
// [MAX_BACKPRESSURE]`. A connection to /produce is the producer: each of its
// messages is published on one topic. Every other connection subscribes to
// that topic when it opens and only receives. This is uWS's own broadcast
// path (a topic tree; publishes are batched per receiver).
//
// Slow receivers: uWS skips a receiver while more than maxBackpressure bytes
// (default here 64 KiB, uWS's own default) are queued for it, so a receiver
// that stops reading loses messages and holds at most about that much plus
// one message in the server.
import { uWS, listenAddress, listen } from './uws.mjs';

const TOPIC = 'fanout';
const maxBackpressure = Number(process.argv[3] ?? 64 * 1024);
const common = {
  compression: uWS.DISABLED,
  maxPayloadLength: 64 << 20,
  idleTimeout: 0,
};

const app = uWS.App();
app.ws('/produce', {
  ...common,
  message: (ws, message, isBinary) => {
    app.publish(TOPIC, message, isBinary);
  },
});
app.ws('/*', {
  ...common,
  maxBackpressure,
  open: (ws) => {
    ws.subscribe(TOPIC);
  },
});
listen(app, `fanout_uws (maxBackpressure ${maxBackpressure})`, listenAddress(process.argv[2]));
