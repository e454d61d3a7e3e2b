// A share of the live-events bench's watchers in their own process, so the watchers' JSON parsing does not queue
// behind one event loop (the server sends the same frames either way). Args: <host:port> <executionId> <token>
// <count>. Prints {ready: true} once every socket is open; on IPC {goAt} starts measuring; when every socket has
// closed sends {complete, events, latencies, cpuMs}: latency = receipt time − the event's `at`, both Date.now()
// on this machine's one clock.
import WebSocket from 'ws';

const [base, executionId, token, countArg] = process.argv.slice(2);
const count = Number(countArg);
let goAt = Number.POSITIVE_INFINITY;
const latencies: number[] = [];
let bytes = 0;

const watchers = await Promise.all(
  Array.from({ length: count }, async () => {
    // Compact frames: the same events without the ids repeated on each (what a lean client asks for).
    const ws = new WebSocket(`ws://${base}/api/executions/${executionId}/live?token=${token}&compact=1`);
    let expected = 1;
    let inOrder = true;
    let lastSeq = -1;
    ws.on('message', (d) => {
      const now = Date.now();
      bytes += (d as Buffer).length;
      const f = JSON.parse(String(d));
      if (f.type === 'events')
        for (const e of f.events) {
          if (e.seq !== expected) inOrder = false;
          expected = e.seq + 1;
          if (e.at >= goAt) latencies.push(now - e.at);
        }
      else if (f.type === 'end') lastSeq = f.lastSeq;
    });
    const closed = new Promise<void>((r) => ws.on('close', () => r()));
    await new Promise((r, j) => {
      ws.on('open', r);
      ws.on('error', j);
    });
    return { closed, result: () => ({ inOrder, received: expected - 1, lastSeq }) };
  }),
);

let cpu0 = process.cpuUsage();
process.on('message', (m: { goAt: number }) => {
  goAt = m.goAt;
  cpu0 = process.cpuUsage();
});
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
await Promise.all(watchers.map((w) => w.closed));
const c = process.cpuUsage(cpu0);
const results = watchers.map((w) => w.result());
const events = results[0]?.lastSeq ?? 0;
process.send?.(
  {
    complete: results.filter((r) => r.inOrder && r.lastSeq === events && r.received === events).length,
    events,
    latencies,
    cpuMs: (c.user + c.system) / 1000,
    bytesPerWatcher: Math.round(bytes / count),
  },
  () => process.exit(0),
);
