// The ceiling: a bare Fastify hello-world in its own process. Prints {port}.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/', async () => ({ hello: 'world' }));
// CPU of this process since the last 'go' (the bench's measured window), for CPU per request.
let cpu0 = process.cpuUsage();
process.on('message', (m: string) => {
  if (m === 'go') cpu0 = process.cpuUsage();
  else if (m === 'cpu') {
    const c = process.cpuUsage(cpu0);
    process.send?.({ cpuMs: (c.user + c.system) / 1000 });
  }
});
await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: (app.server.address() as { port: number }).port })}\n`);
