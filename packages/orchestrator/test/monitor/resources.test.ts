import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/events.js';
import { ExecutionMonitor, NetworkMeter, ProcessResourceSource } from '../../src/monitor/index.js';
import { resultOf } from './history.js';

describe('resource monitoring', () => {
  it('samples CPU, memory and event-loop delay from the process', async () => {
    const source = new ProcessResourceSource();
    // Burn some CPU and block the loop a little so the readings are non-trivial.
    const end = Date.now() + 60;
    while (Date.now() < end) Math.sqrt(Math.random());
    await new Promise((r) => setTimeout(r, 30));
    const s = source.read();
    source.close();
    expect(s.cpuPercent).toBeGreaterThan(0);
    expect(s.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(s.heapUsedBytes).toBeGreaterThan(0);
    expect(s.heapTotalBytes).toBeGreaterThanOrEqual(s.heapUsedBytes);
    expect(s.eventLoopDelayMaxMs).toBeGreaterThanOrEqual(0);
  });

  it('counts bytes exchanged over fetch (how provider SDKs talk) per remote host', async () => {
    const body = 'x'.repeat(5000);
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const meter = new NetworkMeter();
    meter.start();
    try {
      const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
        method: 'POST',
        body: 'y'.repeat(2000),
      });
      expect((await res.text()).length).toBe(5000);
      const drained = meter.drain();
      const host = Object.keys(drained).find((h) => h.includes(String(port)));
      expect(host).toBeDefined();
      expect(drained[host as string].in).toBeGreaterThan(5000);
      expect(drained[host as string].out).toBeGreaterThan(2000);
      // Drained: the next read only has new traffic.
      expect(meter.drain()[host as string]).toBeUndefined();
    } finally {
      meter.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('attributes samples to running executions and stops sampling when idle', async () => {
    const bus = new EventBus();
    const monitor = new ExecutionMonitor(bus, {}, { sampleIntervalMs: 20 });
    bus.publish('workflow:started', {
      executionId: 'r1',
      workflowId: 'w',
      timestamp: Date.now(),
      taskCount: 1,
      resumed: false,
      tasks: [{ id: 'a', agentId: 'x', dependencies: [] }],
    });
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 120));
    const t1 = Date.now();
    const result = resultOf({ executionId: 'r1', workflowId: 'w', startedAt: t0, finishedAt: t1 }, 'completed', [
      { taskId: 'a', agentId: 'x', status: 'completed', attempts: 1, startedAt: t0, finishedAt: t1, duration: t1 - t0 },
    ]);
    bus.publish('workflow:completed', { executionId: 'r1', workflowId: 'w', timestamp: t1, duration: t1 - t0, result });
    const p = await monitor.profile('r1');
    expect(p?.resources?.samples).toBeGreaterThan(0);
    expect(p?.resources?.rssPeakBytes).toBeGreaterThan(0);
    expect(monitor.resources().latest?.rssBytes).toBeGreaterThan(0);
    // After an idle tick the timer is gone: the count of samples stops growing (polled, not timed).
    let stable = false;
    for (let i = 0; i < 50 && !stable; i++) {
      const n = monitor.resources().recent.length;
      await new Promise((r) => setTimeout(r, 100));
      stable = monitor.resources().recent.length === n;
    }
    expect(stable).toBe(true);
    await monitor.close();
  });
});
