import { afterEach, describe, expect, it } from 'vitest';
import { MultiAgentOrchestrator } from '../../src/index.js';
import { CircuitBreaker } from '../../src/models/circuit-breaker.js';
import { type Fakes, fakeConfig, makeManager, startFakes, TEST_CATALOG } from './helpers.js';

// What counts as a provider outcome: only answers from a provider. Cancellations and the caller's own errors are
// not failures, are not retried, and never leave a breaker stuck. And the model layer is the one owner of retries.

let f: Fakes | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

async function until(cond: () => boolean, what: string, limitMs = 5_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const failedCalls = (of: ReturnType<typeof makeManager>['of']) =>
  of('model:call').filter((e) => !(e.payload as { success: boolean }).success).length;

describe('provider outcomes', () => {
  it('a half-open probe that ends cancelled hands the probe back: the next call probes and closes the circuit', async () => {
    f = await startFakes();
    const { manager } = makeManager(f, {
      retry: { maxAttempts: 1 },
      fallback: { enabled: false },
      circuitBreaker: { windowSize: 2, minCalls: 2, failureRate: 1, cooldownMs: 30 },
      timeouts: { requestMs: 10_000, idleMs: 10_000 },
    });
    const run = (signal?: AbortSignal) =>
      manager.run({ agentId: 'a', requirements: { model: 'oa-small' }, prompt: 'x', signal });
    f.openai.inject('500', '500');
    for (let i = 0; i < 2; i++) await run().catch(() => undefined);
    expect(manager.circuitState('openai')).not.toBe('closed'); // open, or already half-open on a slow machine
    await until(() => manager.circuitState('openai') === 'half-open', 'half-open');
    // The probe hangs and its caller gives up (a task timeout aborts ctx.signal the same way).
    f.openai.inject('hang');
    const ac = new AbortController();
    const before = f.openai.requests.length;
    const probe = run(ac.signal).catch((e) => e);
    await until(() => f!.openai.requests.length > before, 'the probe to reach the server');
    ac.abort();
    expect((await probe).code).toBe('CDX_ERR_CANCELLED');
    expect(manager.circuitState('openai')).toBe('half-open');
    // The provider is fine: the next call is the new probe, and its success closes the circuit.
    const r = await run();
    expect(r.model).toBe('oa-small');
    expect(manager.circuitState('openai')).toBe('closed');
  });

  it("a caller's abort while queued in the rate limiter is a cancellation, not three provider failures", async () => {
    f = await startFakes();
    const { manager, of } = makeManager(f, {
      providers: { openai: { rateLimit: { rpm: 1 } } },
      rateLimits: { windowMs: 60_000 },
      circuitBreaker: { windowSize: 2, minCalls: 1, failureRate: 0.5, cooldownMs: 60_000 },
    });
    const run = (signal?: AbortSignal) =>
      manager.run({ agentId: 'a', requirements: { capabilities: ['fast'] }, prompt: 'q', signal });
    expect((await run()).model).toBe('oa-small'); // takes the one request of this window
    const ac = new AbortController();
    const queued = run(ac.signal).catch((e) => e);
    await until(() => of('model:rate-limited').length > 0, 'the call to queue');
    ac.abort();
    const err = await queued;
    expect(err.code).toBe('CDX_ERR_CANCELLED');
    expect(failedCalls(of)).toBe(0);
    expect(of('model:fallback')).toHaveLength(0);
    for (const p of ['openai', 'anthropic', 'google']) expect(manager.circuitState(p)).toBe('closed');
    for (const s of Object.values(manager.stats.snapshot())) expect(s.failures).toBe(0);
    expect(f.openai.requests).toHaveLength(1);
  });

  it('a throw inside onDelta closes the provider stream and reaches the caller as its own error, not a network failure', async () => {
    f = await startFakes();
    const { manager, of } = makeManager(f, { timeouts: { requestMs: 60_000, idleMs: 60_000 } });
    f.openai.inject('stall'); // first chunk, then the server keeps the stream open
    const mine = new Error('renderer crashed');
    const err = await manager
      .run({
        agentId: 'a',
        requirements: { model: 'oa-small' },
        prompt: 'stream please',
        onDelta: () => {
          throw mine;
        },
      })
      .catch((e) => e);
    expect(err).toBe(mine);
    // The client hung up on the stream instead of leaving it open (the idle timeout is a minute away).
    await until(() => f!.openai.requests[0]?.closedEarly === true, 'the stream to be closed', 3_000);
    expect(f.openai.requests).toHaveLength(1); // not retried
    expect(f.anthropic.requests.length + f.google.requests.length).toBe(0); // no fallback
    expect(failedCalls(of)).toBe(0);
    expect(manager.stats.get('oa-small')?.failures ?? 0).toBe(0);
  });

  it('one failing model-backed task makes maxAttempts × models provider calls: the engine does not retry them again', async () => {
    f = await startFakes({ faults: { rate: 1, kinds: ['500'] } });
    const o = new MultiAgentOrchestrator({
      store: { type: 'memory' },
      workflow: { defaultRetry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 } },
      models: {
        ...fakeConfig(f, { retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 2 }, fallback: { maxModels: 3 } }),
        catalog: { replace: true, models: TEST_CATALOG },
      },
    });
    o.registerAgent({ id: 'analyst', model: { capabilities: ['analysis'] } });
    let retrying = 0;
    o.on('task:retrying', () => retrying++);
    const r = await o.executeWorkflow({ id: 'w', name: 'w', tasks: [{ id: 't', agentId: 'analyst' }] });
    expect(r.status).toBe('failed');
    expect(r.tasks.t.error?.code).toBe('CDX_ERR_MODEL');
    const calls = f.openai.requests.length + f.anthropic.requests.length + f.google.requests.length;
    expect(calls).toBe(3 * 3);
    expect(retrying).toBe(0);
  });
});

describe('CircuitBreaker permits', () => {
  it('a cancelled probe permit hands the probe slot back; only the first settle of a permit counts', () => {
    let now = 0;
    const b = new CircuitBreaker({ windowSize: 2, minCalls: 2, failureRate: 1, cooldownMs: 100, now: () => now });
    b.failure();
    b.failure();
    now = 100;
    const probe = b.acquire();
    expect(probe).toBeDefined();
    expect(b.acquire()).toBeUndefined(); // one probe at a time
    probe?.cancel();
    probe?.failure(); // ignored: already settled
    expect(b.state).toBe('half-open');
    b.acquire()?.success();
    expect(b.state).toBe('closed');
  });

  it('failures of calls started before the circuit changed state are not counted; late successes are', () => {
    let now = 0;
    const b = new CircuitBreaker({ windowSize: 2, minCalls: 2, failureRate: 1, cooldownMs: 100, now: () => now });
    const late = b.acquire();
    b.failure();
    b.failure();
    now = 100;
    const probe = b.acquire();
    late?.failure(); // an old call failing now says nothing about the provider after the cooldown
    expect(b.state).toBe('half-open');
    probe?.success();
    expect(b.state).toBe('closed');
    const slow = b.acquire();
    b.failure();
    b.failure();
    now = 200;
    expect(b.state).toBe('half-open');
    slow?.success(); // it did answer: evidence enough to close
    expect(b.state).toBe('closed');
  });
});
