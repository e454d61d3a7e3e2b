import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { NetworkMeter } from './network-meter.js';
import type { ResourceSample } from './types.js';

// Process resources, read cheaply: cpuUsage/memoryUsage deltas and the event-loop delay histogram that Node
// keeps natively. The timer is unref'd so it never keeps a process alive.

/** Default resource source: this process's CPU, memory, event-loop delay and provider network traffic. */
export class ProcessResourceSource {
  private lastCpu = process.cpuUsage();
  private lastAt = performance.now();
  private readonly loop: IntervalHistogram;
  private readonly net = new NetworkMeter();

  constructor() {
    this.loop = monitorEventLoopDelay({ resolution: 20 });
    this.loop.enable();
    this.net.start();
  }

  read(): ResourceSample {
    const now = performance.now();
    const cpu = process.cpuUsage(this.lastCpu);
    const wallUs = Math.max(1, (now - this.lastAt) * 1000);
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    const mem = process.memoryUsage();
    const byHost = this.net.drain();
    let netIn = 0;
    let netOut = 0;
    for (const v of Object.values(byHost)) {
      netIn += v.in;
      netOut += v.out;
    }
    const loopCount = this.loop.count;
    const sample: ResourceSample = {
      timestamp: Date.now(),
      cpuPercent: ((cpu.user + cpu.system) / wallUs) * 100,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      eventLoopDelayMeanMs: loopCount ? this.loop.mean / 1e6 : 0,
      eventLoopDelayP99Ms: loopCount ? this.loop.percentile(99) / 1e6 : 0,
      eventLoopDelayMaxMs: loopCount ? this.loop.max / 1e6 : 0,
      networkBytesIn: netIn,
      networkBytesOut: netOut,
      networkByHost: byHost,
    };
    this.loop.reset();
    return sample;
  }

  close(): void {
    this.loop.disable();
    this.net.stop();
  }
}

export class ResourceSampler {
  private timer: NodeJS.Timeout | undefined;
  private readonly history: ResourceSample[] = [];

  constructor(
    private readonly source: () => ResourceSample,
    private readonly onSample: (s: ResourceSample) => void,
    private readonly intervalMs: number,
    private readonly keep = 600,
  ) {}

  start(): void {
    if (this.timer !== undefined || this.intervalMs <= 0) return;
    this.timer = setInterval(() => this.sampleNow(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  sampleNow(): ResourceSample {
    const s = this.source();
    this.history.push(s);
    if (this.history.length > this.keep) this.history.splice(0, this.history.length - this.keep);
    this.onSample(s);
    return s;
  }

  latest(): ResourceSample | undefined {
    return this.history.at(-1);
  }

  recent(): ResourceSample[] {
    return this.history.slice();
  }
}
