import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildServer, type CodexServer } from '../src/index.js';
import { chain } from './helpers.js';

// Distributed mode: a run driven by another process (`codexos run --redis`, its tasks on a `codexos worker`)
// shows on this server's workflow-level stream and on its execution stream, from start to end.

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
const agentsFile = join(here, 'fixtures', 'agents.ts');
const url = process.env.REDIS_URL;
const dir = mkdtempSync(join(tmpdir(), 'cdx-remote-runs-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function child(args: string[]) {
  const proc = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  proc.stdout?.on('data', (d) => (out += d));
  proc.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  return { proc, out: () => out, exited };
}

const waitFor = async (what: string, cond: () => boolean, ms = 90_000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

interface Frame {
  type: string;
  events?: Array<{ seq: number; type: string; executionId: string; payload: { taskId?: string } }>;
  status?: string;
  lastSeq?: number;
}

function watch(base: string, path: string) {
  const ws = new WebSocket(`ws://${base}${path}`);
  const frames: Frame[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(String(d))));
  const opened = new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('unexpected-response', (_req, res) => reject(new Error(String(res.statusCode))));
    ws.on('error', reject);
  });
  const events = () => frames.flatMap((f) => f.events ?? []);
  return { ws, frames, opened, events };
}

describe.skipIf(!url)('runs driven by other processes (distributed mode)', () => {
  it('a run of `codexos run --redis` with tasks on a worker streams on the workflow-level and execution streams', async () => {
    const prefix = `cdx-remote-${randomUUID().slice(0, 8)}`;
    const definition = chain('remote', 4, 'step');
    const app: CodexServer = await buildServer({
      config: { store: { type: 'redis' }, redis: { url, keyPrefix: prefix } },
      orchestratorOptions: { collaboration: { storePath: ':memory:' } },
    });
    try {
      expect(app.codexos.remote).toBeDefined();
      await app.codexos.remote?.ready;
      await app.listen({ port: 0, host: '127.0.0.1' });
      const base = `127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const token = (await app.codexos.tokens.create('ada', 'member')).token;
      const saved = await app.inject({
        method: 'POST',
        url: '/api/workflows',
        headers: { authorization: `Bearer ${token}` },
        payload: { definition },
      });
      expect(saved.statusCode).toBe(201);

      const runs = watch(base, `/api/live?token=${token}`);
      await runs.opened;
      const worker = child(['worker', '--redis', url as string, '--prefix', prefix, '--agents', agentsFile]);
      await waitFor('the worker', () => worker.out().includes('serving') || worker.proc.exitCode !== null);
      expect(worker.out()).toContain('serving');
      const file = join(dir, 'remote.json');
      writeFileSync(file, JSON.stringify(definition));
      const run = child(['run', file, '--redis', url as string, '--prefix', prefix, '--agents', agentsFile, '--json']);

      await waitFor('workflow:started on the run stream', () =>
        runs.events().some((e) => e.type === 'workflow:started'),
      );
      const executionId = runs.events()[0].executionId;
      // This server never ran it: its own runner knows nothing of it.
      expect(app.codexos.runner.isLive(executionId)).toBe(false);
      const exec = watch(base, `/api/executions/${executionId}/live?after=0&token=${token}`);
      await exec.opened;
      await waitFor('the end frame', () => exec.frames.some((f) => f.type === 'end'));
      expect(await run.exited).toBe(0);

      const events = exec.events();
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.filter((e) => e.type === 'task:completed').map((e) => e.payload.taskId)).toEqual([
        't0',
        't1',
        't2',
        't3',
      ]);
      expect(exec.frames.find((f) => f.type === 'end')).toMatchObject({ status: 'completed', lastSeq: events.length });
      await waitFor('workflow:completed on the run stream', () =>
        runs.events().some((e) => e.type === 'workflow:completed'),
      );
      expect(runs.events().map((e) => [e.type, e.executionId])).toEqual([
        ['workflow:started', executionId],
        ['workflow:completed', executionId],
      ]);
      runs.ws.close();
      worker.proc.kill('SIGTERM');
      await worker.exited;
    } finally {
      await app.close();
    }
    // Generous: the worker and the run load the TypeScript sources, which takes long on a busy machine.
  }, 240_000);
});
