import { afterEach, describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../src/models/circuit-breaker.js';
import { type Fakes, makeManager, startFakes } from './helpers.js';

let f: Fakes | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

describe('resilience', () => {
  // Hangs are left to the tests below, which assert counts: here a hang could only be told apart from a slow answer
  // by a wall-clock timeout, and a busy machine makes slow answers. 'slow' keeps late answers in the mix.
  it('≥ 99.9 % of 1000 calls succeed with 30 % injected 429/500/529/slow faults', async () => {
    f = await startFakes({
      faults: { rate: 0.3, kinds: ['429', '500', '529', 'slow'], retryAfterSeconds: 0.005, seed: 1234 },
    });
    const { manager, of } = makeManager(f, {
      circuitBreaker: { cooldownMs: 200 }, // defaults otherwise
    });
    let ok = 0;
    const failures: string[] = [];
    let next = 0;
    // 50 callers in parallel, 1000 calls in all.
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < 1000) {
          const i = next++;
          try {
            await manager.run({ agentId: 'a', requirements: { capabilities: ['analysis'] }, prompt: `call ${i}` });
            ok++;
          } catch (err) {
            failures.push((err as Error).message);
          }
        }
      }),
    );
    const all = [...f.openai.requests, ...f.anthropic.requests, ...f.google.requests];
    const faulted = all.filter((r) => r.fault).length;
    expect(faulted / all.length).toBeGreaterThan(0.25); // the faults really were injected at ~30 %
    expect(ok, failures.slice(0, 3).join('\n')).toBeGreaterThanOrEqual(999);
    // Every injected error surfaced as a failed model:call (a starved machine may add a few genuine network errors).
    const errors = all.filter((r) => r.fault && r.fault !== 'slow').length;
    expect(of('model:call').filter((e) => !(e.payload as { success: boolean }).success).length).toBeGreaterThanOrEqual(
      errors,
    );
  }, 120_000);

  // Hang tests assert counts that hold however slow the machine is: the hung request was aborted (the server saw the
  // client hang up) and retried, and every attempt the run reports is a request the server received.
  it('aborts a hanging request and retries it', async () => {
    f = await startFakes();
    const { manager } = makeManager(f, { timeouts: { requestMs: 300, idleMs: 300 }, retry: { maxAttempts: 5 } });
    f.openai.inject('hang');
    const r = await manager.run({ agentId: 'a', requirements: { model: 'oa-small' }, prompt: 'hang once' });
    expect(r.text).toContain('hang once');
    expect(r.model).toBe('oa-small');
    expect(f.openai.requests[0]).toMatchObject({ fault: 'hang', closedEarly: true });
    expect(r.attempts).toBeGreaterThanOrEqual(2);
    expect(r.attempts).toBe(f.openai.requests.length);
  });

  it('aborts a stream that stalls before any text reached the caller, then retries', async () => {
    f = await startFakes();
    const { manager } = makeManager(f, { timeouts: { requestMs: 300, idleMs: 300 }, retry: { maxAttempts: 5 } });
    f.google.inject('hang');
    const deltas: string[] = [];
    const r = await manager.run({
      agentId: 'a',
      requirements: { model: 'gm-flash' },
      prompt: 'stream me',
      onDelta: (d) => deltas.push(d),
    });
    expect(r.model).toBe('gm-flash');
    expect(f.google.requests[0]).toMatchObject({ fault: 'hang', closedEarly: true });
    expect(r.attempts).toBeGreaterThanOrEqual(2);
    expect(r.attempts).toBe(f.google.requests.length);
    expect(deltas.join('')).toBe(r.text);
  });

  it('a stream that stalls mid-answer is aborted with a timeout error (not retried: text was delivered)', async () => {
    f = await startFakes();
    const { manager } = makeManager(f, { timeouts: { requestMs: 300, idleMs: 300 }, fallback: { enabled: false } });
    // Every attempt stalls after its first chunk, so the outcome does not depend on how fast that chunk arrives.
    f.anthropic.inject('stall', 'stall', 'stall');
    const deltas: string[] = [];
    const err = await manager
      .run({ agentId: 'a', requirements: { model: 'an-haiku' }, prompt: 'stall', onDelta: (d) => deltas.push(d) })
      .catch((e) => e);
    expect(deltas.length).toBe(1);
    expect(err.code).toBe('CDX_ERR_MODEL');
    expect(err.message).toMatch(/timed out/);
    expect(err.retryable).toBe(false);
    // The stalled stream was closed by the client.
    const last = f.anthropic.requests.at(-1);
    for (let i = 0; i < 200 && !last?.closedEarly; i++) await new Promise((r) => setTimeout(r, 10));
    expect(last?.closedEarly).toBe(true);
  });

  it('falls back along the chain and emits model:fallback', async () => {
    f = await startFakes();
    const { manager, of } = makeManager(f, { retry: { maxAttempts: 2 } });
    f.google.inject('500', '529'); // gm-flash exhausts its two attempts
    const r = await manager.run({
      agentId: 'a',
      requirements: { capabilities: ['analysis'] },
      prompt: 'fall back',
      taskId: 't',
    });
    expect(r.model).toBe('an-haiku');
    expect(r.fallbacks).toEqual(['gm-flash']);
    expect(of('model:fallback').map((e) => e.payload)).toMatchObject([
      { from: 'gm-flash', to: 'an-haiku', taskId: 't' },
    ]);
  });

  it('explicit fallback chains from config go first', async () => {
    f = await startFakes();
    const { manager } = makeManager(f, { retry: { maxAttempts: 1 }, fallback: { chains: { 'gm-flash': ['oa-big'] } } });
    f.google.inject('500');
    const r = await manager.run({ agentId: 'a', requirements: { capabilities: ['analysis'] }, prompt: 'chain' });
    expect(r.model).toBe('oa-big');
  });

  it('does not retry client errors such as 401, but falls back', async () => {
    f = await startFakes();
    const { manager } = makeManager(f);
    f.google.inject('401', '401');
    const before = f.google.requests.length;
    const r = await manager.run({ agentId: 'a', requirements: { capabilities: ['analysis'] }, prompt: 'auth' });
    expect(f.google.requests.length - before).toBe(1); // gm-flash: one attempt, no retry
    expect(r.model).toBe('an-haiku');
  });

  it('circuit breaker opens on a failing provider, fails fast, and closes after a good probe', async () => {
    f = await startFakes();
    const { manager } = makeManager(f, {
      retry: { maxAttempts: 1 },
      fallback: { enabled: false },
      circuitBreaker: { windowSize: 4, minCalls: 4, failureRate: 0.75, cooldownMs: 150 },
    });
    f.openai.inject('500', '500', '500', '500');
    for (let i = 0; i < 4; i++)
      await manager.run({ agentId: 'a', requirements: { model: 'oa-small' }, prompt: 'x' }).catch(() => undefined);
    expect(manager.circuitState('openai')).toBe('open');
    const before = f.openai.requests.length;
    const err = await manager.run({ agentId: 'a', requirements: { model: 'oa-small' }, prompt: 'x' }).catch((e) => e);
    expect(err.code).toBe('CDX_ERR_MODEL_CIRCUIT_OPEN');
    expect(f.openai.requests.length).toBe(before); // failed fast, no request sent
    while (manager.circuitState('openai') === 'open') await new Promise((r) => setTimeout(r, 10));
    expect(manager.circuitState('openai')).toBe('half-open');
    await manager.run({ agentId: 'a', requirements: { model: 'oa-small' }, prompt: 'probe' });
    expect(manager.circuitState('openai')).toBe('closed');
  });

  it('an open circuit routes selection to another provider', async () => {
    f = await startFakes();
    const { manager } = makeManager(f, {
      retry: { maxAttempts: 1 },
      circuitBreaker: { windowSize: 2, minCalls: 2, failureRate: 1, cooldownMs: 60_000 },
    });
    f.google.inject('500', '500', '500', '500');
    await manager.run({ agentId: 'a', requirements: { model: 'gm-flash' }, prompt: 'x' }).catch(() => undefined);
    await manager.run({ agentId: 'a', requirements: { model: 'gm-flash' }, prompt: 'x' }).catch(() => undefined);
    expect(manager.circuitState('google')).toBe('open');
    expect(manager.select({ capabilities: ['analysis'] }).model.provider).not.toBe('google');
  });
});

describe('CircuitBreaker', () => {
  it('stays closed under scattered failures below the ratio', () => {
    const b = new CircuitBreaker({ windowSize: 10, minCalls: 10, failureRate: 0.5, cooldownMs: 1000 });
    for (let i = 0; i < 100; i++) i % 3 === 0 ? b.failure() : b.success();
    expect(b.state).toBe('closed');
  });

  it('half-open lets one probe through; its failure reopens', () => {
    let now = 0;
    const b = new CircuitBreaker({ windowSize: 2, minCalls: 2, failureRate: 1, cooldownMs: 100, now: () => now });
    b.failure();
    b.failure();
    expect(b.tryPass()).toBe(false);
    now = 100;
    expect(b.tryPass()).toBe(true);
    expect(b.tryPass()).toBe(false);
    b.failure();
    expect(b.state).toBe('open');
  });
});
