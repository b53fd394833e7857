// uWebSockets.js echo server: `node echo.mjs [127.0.0.1:PORT | PORT]`.
// Every text or binary message goes back as the same type. No compression,
// no idle timeout, messages up to 64 MiB; the backpressure limit is set as
// high so that a large echo is never dropped (uWS drops a send made while
// more than maxBackpressure bytes are still queued).
import { uWS, listenAddress, listen } from './uws.mjs';

const app = uWS.App().ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 64 << 20,
  maxBackpressure: 64 << 20,
  idleTimeout: 0,
  message: (ws, message, isBinary) => {
    ws.send(message, isBinary);
  },
});
listen(app, 'echo_uws', listenAddress(process.argv[2]));
