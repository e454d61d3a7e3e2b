import type { AgentDefinition } from '@codexos/multi-agent-orchestrator';
import type { LightMyRequestResponse } from 'fastify';
import { type BuildServerOptions, buildServer, type CodexServer } from '../src/index.js';

export const echoAgent: AgentDefinition = {
  id: 'worker',
  name: 'worker',
  handler: async (ctx) => ({ done: ctx.taskId, prompt: ctx.prompt }),
};

export const slowAgent = (ms: number): AgentDefinition => ({
  id: 'slow',
  name: 'slow',
  handler: async (ctx) => {
    await new Promise((r) => setTimeout(r, ms));
    return { done: ctx.taskId };
  },
});

export function chain(id: string, n: number, agentId = 'worker') {
  return {
    id,
    name: `Workflow ${id}`,
    tasks: Array.from({ length: n }, (_, i) => ({
      id: `t${i}`,
      agentId,
      input: { prompt: `step ${i}` },
      ...(i > 0 ? { dependencies: [`t${i - 1}`] } : {}),
    })),
  };
}

export interface TestServer {
  app: CodexServer;
  admin: string;
  ada: string;
  bob: string;
  eve: string;
  auth(token: string): { authorization: string };
  /** `app.inject` with the token as a bearer header. */
  req(method: string, url: string, token?: string, payload?: unknown): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** A server on a memory store with an admin and three members (ada, bob, eve). */
export async function testServer(opts: BuildServerOptions = {}): Promise<TestServer> {
  const app = await buildServer({
    config: { store: { type: 'memory' }, workflow: { maxTasks: 5000, maxDepth: 5000 } },
    orchestratorOptions: { collaboration: { storePath: ':memory:' } },
    agents: [echoAgent, slowAgent(30)],
    ...opts,
  });
  const t = app.codexos.tokens;
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  return {
    app,
    admin: (await t.create('root', 'admin')).token,
    ada: (await t.create('ada', 'member')).token,
    bob: (await t.create('bob', 'member')).token,
    eve: (await t.create('eve', 'member')).token,
    auth,
    req: (method, url, token, payload) =>
      app.inject({ method: method as 'GET', url, headers: token ? auth(token) : {}, payload: payload as object }),
    close: () => app.close(),
  };
}

/** A test server with `definitions` saved by ada and `roles` (user → role) granted by her on each. */
export async function seededServer(
  definitions: Array<{ id: string }>,
  roles: Record<string, 'viewer' | 'editor' | 'owner'> = {},
  opts: BuildServerOptions = {},
): Promise<TestServer> {
  const s = await testServer(opts);
  for (const definition of definitions) {
    const r = await s.req('POST', '/api/workflows', s.ada, { definition });
    if (r.statusCode !== 201) throw new Error(`saving ${definition.id}: ${r.statusCode} ${r.body}`);
    for (const [user, role] of Object.entries(roles))
      await s.req('PUT', `/api/workflows/${definition.id}/roles/${user}`, s.ada, { role });
  }
  return s;
}

/** Polls `fn` until `ok` holds (or `ms` pass; the caller's assertion then fails on the last value). */
export async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Two servers on the test Redis (REDIS_URL) under one fresh key prefix, as two instances of one deployment. */
export async function redisServerPair(name: string): Promise<{ a: CodexServer; b: CodexServer; prefix: string }> {
  const prefix = `cdx-${name}-${crypto.randomUUID()}`;
  const make = () =>
    buildServer({
      config: { store: { type: 'redis' }, redis: { url: process.env.REDIS_URL, keyPrefix: prefix } },
      orchestratorOptions: { collaboration: { storePath: ':memory:' } },
      agents: [echoAgent],
    });
  return { a: await make(), b: await make(), prefix };
}
