import { EventBus, type OrchestratorEvent } from '../../src/events.js';
import type { ModelsConfigInput } from '../../src/models/config.js';
import { ModelManager, type ModelManagerOptions } from '../../src/models/manager.js';
import type { CatalogModel } from '../../src/models/types.js';
import {
  type FakeServer,
  type FakeServerOptions,
  mulberry32,
  startFakeAnthropic,
  startFakeGemini,
  startFakeOpenAI,
} from './fake-servers/index.js';

export const KEYS = {
  openai: 'sk-test-OPENAI-0123456789abcdef',
  anthropic: 'sk-ant-test-ANTHROPIC-0123456789',
  google: 'AIzaTestGoogleKey0123456789abcdefghij',
};

/** A small catalog over the three fake providers, with prices shaped like the real ones. */
export const TEST_CATALOG: CatalogModel[] = [
  {
    id: 'oa-small',
    provider: 'openai',
    providerModel: 'gpt-4o-mini',
    capabilities: ['chat', 'code', 'json', 'fast'],
    contextWindow: 128_000,
    inputPricePerMTok: 0.15,
    outputPricePerMTok: 0.6,
    typicalLatencyMs: 500,
  },
  {
    id: 'oa-big',
    provider: 'openai',
    providerModel: 'gpt-4o',
    capabilities: ['chat', 'code', 'json', 'analysis', 'reasoning', 'vision'],
    contextWindow: 128_000,
    inputPricePerMTok: 2.5,
    outputPricePerMTok: 10,
    typicalLatencyMs: 1200,
  },
  {
    id: 'an-sonnet',
    provider: 'anthropic',
    providerModel: 'claude-sonnet-4-5',
    capabilities: ['chat', 'code', 'analysis', 'reasoning', 'vision'],
    contextWindow: 200_000,
    inputPricePerMTok: 3,
    outputPricePerMTok: 15,
    typicalLatencyMs: 1500,
  },
  {
    id: 'an-haiku',
    provider: 'anthropic',
    providerModel: 'claude-haiku-4-5',
    capabilities: ['chat', 'code', 'analysis', 'fast'],
    contextWindow: 200_000,
    inputPricePerMTok: 1,
    outputPricePerMTok: 5,
    typicalLatencyMs: 700,
  },
  {
    id: 'gm-flash',
    provider: 'google',
    providerModel: 'gemini-2.5-flash',
    capabilities: ['chat', 'code', 'analysis', 'long-context', 'json'],
    contextWindow: 1_000_000,
    inputPricePerMTok: 0.3,
    outputPricePerMTok: 2.5,
    typicalLatencyMs: 800,
  },
  {
    id: 'gm-pro',
    provider: 'google',
    providerModel: 'gemini-2.5-pro',
    capabilities: ['chat', 'code', 'analysis', 'reasoning', 'long-context'],
    contextWindow: 1_000_000,
    inputPricePerMTok: 1.25,
    outputPricePerMTok: 10,
    typicalLatencyMs: 2000,
  },
];

export interface Fakes {
  openai: FakeServer;
  anthropic: FakeServer;
  google: FakeServer;
  close(): Promise<void>;
}

export async function startFakes(opts: FakeServerOptions = {}): Promise<Fakes> {
  const [openai, anthropic, google] = await Promise.all([
    startFakeOpenAI(opts),
    startFakeAnthropic(opts),
    startFakeGemini(opts),
  ]);
  return {
    openai,
    anthropic,
    google,
    close: async () => void (await Promise.all([openai.close(), anthropic.close(), google.close()])),
  };
}

/**
 * Config pointing the built-in providers at the fakes, with delays small enough for tests. Timeouts are generous so
 * a busy machine never turns a slow answer into an extra attempt; tests about hangs set their own.
 */
export function fakeConfig(f: Fakes, extra: Partial<ModelsConfigInput> = {}): ModelsConfigInput {
  return {
    ...extra,
    providers: {
      ...extra.providers,
      openai: { apiKey: KEYS.openai, baseURL: `${f.openai.url}/v1`, ...extra.providers?.openai },
      anthropic: { apiKey: KEYS.anthropic, baseURL: f.anthropic.url, ...extra.providers?.anthropic },
      google: { apiKey: KEYS.google, baseURL: f.google.url, ...extra.providers?.google },
    },
    retry: { initialDelayMs: 1, maxDelayMs: 10, maxRetryAfterMs: 1_000, ...extra.retry },
    timeouts: { requestMs: 10_000, idleMs: 10_000, ...extra.timeouts },
  };
}

export function makeManager(f: Fakes, extra: Partial<ModelsConfigInput> = {}, opts: ModelManagerOptions = {}) {
  const bus = new EventBus();
  const events: OrchestratorEvent[] = [];
  bus.events$.subscribe((e) => events.push(e));
  const manager = new ModelManager(fakeConfig(f, extra), bus, {
    env: {},
    catalog: TEST_CATALOG,
    random: mulberry32(7),
    ...opts,
  });
  return {
    manager,
    bus,
    events,
    of: <T extends OrchestratorEvent['type']>(t: T) =>
      events.filter((e) => e.type === t) as Array<Extract<OrchestratorEvent, { type: T }>>,
  };
}
