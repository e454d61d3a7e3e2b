// One collaboration server in its own process, so its CPU and memory are measured alone.
// Usage: node --expose-gc --import tsx bench/collab/server.ts ours|y-websocket|hocuspocus
// Prints `PORT <n>`; answers `stats` on stdin with one JSON line (cpu µs, rss, heap after gc).
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';

const kind = process.argv[2];
let port = 0;

if (kind === 'ours') {
  const { startCollabServer } = await import('../../packages/orchestrator/src/collab/index.ts');
  const srv = await startCollabServer({
    port: 0,
    path: '',
    authenticate: (token) => ({ userId: token ?? 'anon', role: 'editor' }),
    config: { maxParticipants: 5000, sessionTimeout: 3_600_000, conflictResolution: 'crdt' },
    managerOptions: { storePath: ':memory:' },
  });
  port = srv.port;
} else if (kind === 'y-websocket') {
  const { WebSocketServer } = await import('ws');
  const { setupWSConnection } = await import('@y/websocket-server/utils');
  const wss = new WebSocketServer({ noServer: true });
  const server = createServer((_q, r) => r.end('ok'));
  server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => setupWSConnection(ws, req)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
} else if (kind === 'hocuspocus') {
  const { Server } = await import('@hocuspocus/server');
  const server = new Server({ port: 0, address: '127.0.0.1', quiet: true });
  await server.listen();
  port = (server.httpServer.address() as { port: number }).port;
} else throw new Error(`unknown server kind ${kind}`);

console.log(`PORT ${port}`);
process.on('SIGINT', () => process.exit(0)); // a clean exit writes a --cpu-prof profile
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'stats') return;
  (globalThis as { gc?: () => void }).gc?.();
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  console.log(JSON.stringify({ cpu: cpu.user + cpu.system, rss: mem.rss, heap: mem.heapUsed + mem.external + mem.arrayBuffers }));
});
