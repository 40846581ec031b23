// A TCP proxy that injects network faults between an S3 client and server.
//
// It works on raw bytes (node:net), not HTTP, so faults look to the client
// exactly like a flaky network: resets, stalls, truncated or corrupted
// streams. Only the `status` mode speaks HTTP, and only enough to answer.
//
// A mode is captured when a client connection is accepted, so setMode()
// affects new connections; open ones keep the behaviour they started with
// (except `drop`, which also kills them). Clients that pool keep-alive
// sockets must therefore open fresh connections to see a new mode.
import { createServer, connect } from 'node:net';

/** @typedef {import('./fault-proxy.d.mts').FaultMode} FaultMode */

const STATUS_TEXT = { 500: 'Internal Server Error', 503: 'Service Unavailable' };
const DEFAULT_S3_CODE = { 500: 'InternalError', 503: 'ServiceUnavailable' };
// A `status` connection is closed after this even if the client never
// finishes sending its request body.
const STATUS_LINGER_MS = 5_000;

/**
 * @param {FaultMode} mode
 * @returns {FaultMode}
 */
function validateMode(mode) {
  const isCount = (n) => Number.isInteger(n) && n >= 0;
  switch (mode?.kind) {
    case 'pass':
    case 'drop':
      return { kind: mode.kind };
    case 'delay':
      if (!isCount(mode.ms)) break;
      return { kind: 'delay', ms: mode.ms };
    case 'cut':
    case 'corrupt':
      if (!isCount(mode.afterBytes)) break;
      return { kind: mode.kind, afterBytes: mode.afterBytes };
    case 'status':
      if (!Number.isInteger(mode.code) || mode.code < 100 || mode.code > 599) break;
      return { kind: 'status', code: mode.code, s3Code: mode.s3Code };
  }
  throw new TypeError(`invalid fault mode: ${JSON.stringify(mode)}`);
}

/**
 * @param {import('./fault-proxy.d.mts').FaultProxyOptions} options
 * @returns {Promise<import('./fault-proxy.d.mts').FaultProxy>}
 */
export async function startFaultProxy({ targetHost = '127.0.0.1', targetPort, port = 0 } = {}) {
  if (!Number.isInteger(targetPort) || targetPort <= 0) {
    throw new TypeError('startFaultProxy: targetPort is required');
  }

  /** @type {FaultMode} */
  let mode = { kind: 'pass' };
  let accepted = 0;
  /** Every live socket, client and upstream, so stop() and drop can kill them. */
  const sockets = new Set();
  /** Client sockets only: `drop` resets these. */
  const clients = new Set();

  const track = (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // Faults make errors routine (ECONNRESET, EPIPE); the 'close' handlers
    // do the cleanup, so an unhandled 'error' must not crash the process.
    socket.on('error', () => {});
    return socket;
  };

  // allowHalfOpen: an HTTP client may end its side after the request and
  // still expect the response, so FIN is forwarded, not treated as close.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    accepted += 1;
    track(client);
    clients.add(client);
    client.once('close', () => clients.delete(client));

    const current = mode;
    switch (current.kind) {
      case 'drop':
        // RST, not FIN: the client sees ECONNRESET as from a dead peer.
        client.resetAndDestroy();
        return;
      case 'status':
        answerWithStatus(client, current);
        return;
      default:
        pipeToTarget(client, current);
    }
  });

  const pipeToTarget = (client, current) => {
    const upstream = track(connect({ host: targetHost, port: targetPort, allowHalfOpen: true }));
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.once('close', () => upstream.destroy());
    // Unless a cut is flushing its last bytes: then the flush callback closes.
    let cutting = false;
    upstream.once('close', () => cutting || client.destroy());

    const delayMs = current.kind === 'delay' ? current.ms : 0;
    // Equal-duration timers fire in creation order, so delaying each chunk
    // (and the final FIN) by the same amount keeps the stream in order.
    // Pending timers die with the connection: none outlives stop().
    const timers = new Set();
    const later =
      delayMs > 0
        ? (fn) => {
            const timer = setTimeout(() => {
              timers.delete(timer);
              fn();
            }, delayMs);
            timers.add(timer);
          }
        : (fn) => fn();
    const clearTimers = () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    };
    client.once('close', clearTimers);
    upstream.once('close', clearTimers);

    const forward = (from, to, transform) => {
      let waitingForDrain = false;
      from.on('data', (chunk) => {
        const out = transform ? transform(chunk) : chunk;
        if (out === null) return;
        later(() => {
          if (!to.destroyed && !to.write(out) && !waitingForDrain) {
            // Back-pressure: stop reading until the other side drains.
            waitingForDrain = true;
            from.pause();
            to.once('drain', () => {
              waitingForDrain = false;
              from.resume();
            });
          }
        });
      });
      from.on('end', () => later(() => to.destroyed || to.end()));
    };

    let served = 0; // server->client bytes seen on this connection
    let downstream;
    if (current.kind === 'cut') {
      downstream = (chunk) => {
        if (cutting) return null;
        const room = current.afterBytes - served;
        served += chunk.length;
        if (chunk.length < room) return chunk;
        // Deliver exactly afterBytes, then close once they are flushed
        // (a FIN after the flush; destroying earlier would drop the tail).
        cutting = true;
        upstream.pause();
        if (room === 0) destroyBoth();
        else client.write(chunk.subarray(0, room), destroyBoth);
        return null;
      };
    } else if (current.kind === 'corrupt') {
      downstream = (chunk) => {
        const start = served;
        served += chunk.length;
        if (served <= current.afterBytes) return chunk;
        const out = Buffer.from(chunk); // copy: never mutate a buffer we did not allocate
        for (let i = Math.max(0, current.afterBytes - start); i < out.length; i += 1) out[i] ^= 0xff;
        return out;
      };
    }

    forward(client, upstream);
    forward(upstream, client, downstream);
  };

  const answerWithStatus = (client, { code, s3Code }) => {
    const errorCode = s3Code ?? DEFAULT_S3_CODE[code] ?? 'InternalError';
    let buffered = '';
    let answered = false;
    client.on('data', (chunk) => {
      if (answered) return; // keep reading (and discarding) the request body
      buffered += chunk.toString('latin1');
      // Wait for the end of the request headers (but not forever on garbage).
      if (!buffered.includes('\r\n\r\n') && buffered.length < 64 * 1024) return;
      answered = true;
      const requestLine = buffered.slice(0, buffered.indexOf('\r\n'));
      const isHead = requestLine.startsWith('HEAD ');
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<Error><Code>${errorCode}</Code><Message>Injected by the Stride fault proxy</Message>` +
        '<RequestId>fault-proxy</RequestId></Error>';
      const head = [
        `HTTP/1.1 ${code} ${STATUS_TEXT[code] ?? 'Injected Fault'}`,
        'Content-Type: application/xml',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'x-amz-request-id: fault-proxy',
        'Connection: close',
        '',
        '',
      ].join('\r\n');
      // Answer right after the headers (a server may respond before reading
      // the body) and half-close; the request body is still read, because
      // closing a socket with unread input makes the kernel send RST, which
      // could reach the client before it has read the response.
      client.end(isHead ? head : head + body);
      const linger = setTimeout(() => client.destroy(), STATUS_LINGER_MS);
      client.once('close', () => clearTimeout(linger));
    });
    // Our side is already ended (or never will answer); once the client
    // ends too, close fully.
    client.on('end', () => client.destroy());
  };

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = server.address().port;

  /** @type {Promise<void> | undefined} */
  let stopping;
  return {
    port: actualPort,
    endpoint: `http://127.0.0.1:${actualPort}`,
    get connections() {
      return accepted;
    },
    get mode() {
      return { ...mode };
    },
    setMode(next) {
      mode = validateMode(next);
      if (mode.kind === 'drop') {
        for (const client of clients) client.resetAndDestroy();
      }
    },
    stop() {
      stopping ??= new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return stopping;
    },
  };
}
