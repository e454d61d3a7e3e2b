import { buildServer, type CodexServer } from '@codexos/server';
import { startFakeOpenAI } from '../../../orchestrator/test/models/fake-servers/index.ts';
import { DIST_DIR, ensureDashboardBuilt } from './build.ts';

// A real CodexOS server on port 0 serving the built dashboard, with model-backed agents answered by a local HTTP
// server speaking OpenAI's wire format (so runs have token usage and a cost, offline).

export interface DashboardServer {
  app: CodexServer;
  url: string;
  tokens: { admin: string; ada: string; bob: string; vic: string };
  close(): Promise<void>;
}

export async function startDashboardServer(): Promise<DashboardServer> {
  ensureDashboardBuilt();
  const openai = await startFakeOpenAI({ reply: (prompt) => `answer to: ${prompt.slice(-60)}` });
  const app = await buildServer({
    config: {
      store: { type: 'memory' },
      // Room for the large-graph run view test (its workflow has 200 tasks).
      workflow: { maxTasks: 1000 },
      models: { providers: { openai: { apiKey: 'sk-test-dashboard', baseURL: `${openai.url}/v1` } } },
    },
    orchestratorOptions: { collaboration: { storePath: ':memory:' } },
    dashboardDir: DIST_DIR,
    rateLimit: 100_000,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  const t = app.codexos.tokens;
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    tokens: {
      admin: (await t.create('root', 'admin')).token,
      ada: (await t.create('ada', 'member')).token,
      bob: (await t.create('bob', 'member')).token,
      vic: (await t.create('vic', 'member')).token,
    },
    close: async () => {
      await app.close();
      await openai.close();
    },
  };
}
