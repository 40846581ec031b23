// The fault proxy in a `delay` mode, in a process of its own: the benchmarks
// time nx with spawnSync, which blocks their own event loop, so a proxy inside
// them would stall every request for the whole run (as s3rver would; see
// tools/s3/server.mjs). Prints {"endpoint": ...} once listening; runs until killed.
//
//   node tools/bench/latency-proxy.mjs <target port> <delay ms>
import { startFaultProxy } from '../s3/fault-proxy.mjs';

const [targetPort, delayMs] = process.argv.slice(2).map(Number);
const proxy = await startFaultProxy({ targetPort });
proxy.setMode({ kind: 'delay', ms: delayMs });
process.stdout.write(`${JSON.stringify({ endpoint: proxy.endpoint })}\n`);
process.on('SIGTERM', () => proxy.stop().then(() => process.exit(0)));
