import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCodexError } from '../../src/errors.js';
import { EventBus } from '../../src/events.js';
import { ModelManager } from '../../src/models/manager.js';
import { type FakeServer, startFakeAnthropic, startFakeGemini, startFakeOpenAI } from './fake-servers/index.js';
import { TEST_CATALOG } from './helpers.js';

// A hostile server echoes the caller's key in every error. The key must still never reach errors, logs or events.
const KEY = {
  openai: 'sk-live-SUPERSECRET-openai-1234567890',
  anthropic: 'sk-ant-SUPERSECRET-9876543210',
  google: 'gm-SUPERSECRET-google-key-1357',
};
let servers: FakeServer[];
beforeAll(async () => {
  servers = await Promise.all([
    startFakeOpenAI({ leakCredentialsInErrors: true }),
    startFakeAnthropic({ leakCredentialsInErrors: true }),
    startFakeGemini({ leakCredentialsInErrors: true }),
  ]);
});
afterAll(() => Promise.all(servers.map((s) => s.close())));

describe('API keys never leak', () => {
  it('through errors, logs, events or serialised state', async () => {
    const [oa, an, gm] = servers as [FakeServer, FakeServer, FakeServer];
    const bus = new EventBus();
    const events: unknown[] = [];
    bus.events$.subscribe((e) => events.push(e));
    const logs: string[] = [];
    const log = (m: string, fields?: unknown) => logs.push(m + JSON.stringify(fields ?? {}));
    const manager = new ModelManager(
      {
        providers: {
          openai: { apiKey: KEY.openai, baseURL: `${oa.url}/v1` },
          anthropic: { apiKey: KEY.anthropic, baseURL: an.url },
          google: { apiKey: KEY.google, baseURL: gm.url },
        },
        retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
      },
      bus,
      { env: {}, catalog: TEST_CATALOG, logger: { warn: log, debug: log } },
    );
    const errors: unknown[] = [];
    for (const s of servers) s.inject('401', '401', '500', '500', '429', '429');
    for (const model of ['oa-small', 'an-haiku', 'gm-flash']) {
      for (let i = 0; i < 3; i++) {
        await manager.run({ agentId: 'a', requirements: { model }, prompt: 'x' }).catch((e) => errors.push(e));
      }
    }
    // The servers did echo the keys back: the test would catch a leak.
    expect(servers.some((s) => s.requests.some((r) => r.status >= 400))).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    const dump = JSON.stringify([
      errors.map((e) => ({
        msg: (e as Error).message,
        json: isCodexError(e) ? e.toJSON() : String(e),
        stack: (e as Error).stack,
        cause: String((e as Error).cause ?? ''),
      })),
      events,
      logs,
      manager.ledger.totals(),
      manager.stats.snapshot(),
    ]);
    expect(dump).toContain('[redacted]');
    for (const k of Object.values(KEY)) expect(dump).not.toContain(k);
  });

  it('config errors name the path, never the value', () => {
    try {
      new ModelManager({ providers: { openai: { apiKey: 42 as unknown as string } } }, undefined, { env: {} });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain('models.providers.openai.apiKey');
    }
  });
});
