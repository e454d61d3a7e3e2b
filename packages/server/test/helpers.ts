import type { AgentDefinition } from '@codexos/multi-agent-orchestrator';
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
  return {
    app,
    admin: t.create('root', 'admin').token,
    ada: t.create('ada', 'member').token,
    bob: t.create('bob', 'member').token,
    eve: t.create('eve', 'member').token,
    auth: (token) => ({ authorization: `Bearer ${token}` }),
    close: () => app.close(),
  };
}
