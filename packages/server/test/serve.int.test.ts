import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { chain } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
const data = mkdtempSync(join(tmpdir(), 'cdx-serve-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(data, { recursive: true, force: true });
});

/** Starts `codexos serve` and resolves once it printed its URL (and token, on a first start). */
function serve(): Promise<{ child: ChildProcess; url: string; out: () => string; exited: Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [
      bin,
      'serve',
      '--port',
      '0',
      '--data',
      data,
      '--no-examples',
      '--grace',
      '100',
      '--agents',
      join(here, 'fixtures', 'agents.ts'),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}${err}`)), 45_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], out: () => out, exited });
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${out}${err}`)));
  });
}

describe('codexos serve (child process)', () => {
  it('first start prints a token; run through the API; SIGTERM mid-run; restart resumes with nothing lost', async () => {
    const first = await serve();
    const token = /(cdx_[A-Za-z0-9_-]+)/.exec(first.out())?.[1] as string;
    expect(token).toBeTruthy();
    const api = async (url: string, path: string, method = 'GET', body?: unknown) => {
      const r = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: r.status, body: (await r.json()) as Record<string, any> };
    };
    expect((await api(first.url, '/health')).body.status).toBe('ok');
    expect((await api(first.url, '/api/workflows', 'POST', { definition: chain('svc', 4, 'step') })).status).toBe(201);
    const done = await api(first.url, '/api/executions?wait=true', 'POST', { workflowId: 'svc' });
    expect(done.body.status).toBe('completed');
    const events = await api(first.url, `/api/executions/${done.body.executionId}/events`);
    const types = events.body.items.map((e: { type: string }) => e.type);
    expect(types[0]).toBe('workflow:started');
    expect(types.at(-1)).toBe('workflow:completed');
    expect(types.filter((t: string) => t === 'task:completed')).toHaveLength(4);

    // A longer run, interrupted half-way.
    await api(first.url, '/api/workflows', 'POST', { definition: chain('long', 16, 'step') });
    const started = await api(first.url, '/api/executions', 'POST', { workflowId: 'long' });
    const id = started.body.executionId as string;
    for (;;) {
      const d = await api(first.url, `/api/executions/${id}`);
      if (d.body.tasks.filter((t: { status: string }) => t.status === 'completed').length >= 4) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.out()).toContain('will resume on the next start');

    const second = await serve();
    expect(second.out()).toContain(`resumed 1 interrupted run(s): ${id}`);
    expect(second.out()).not.toContain('first admin token');
    let detail: Record<string, any> = {};
    for (let i = 0; i < 400; i++) {
      detail = (await api(second.url, `/api/executions/${id}`)).body;
      if (detail.status === 'completed') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(detail.status).toBe('completed');
    expect(detail.tasks.map((t: { status: string }) => t.status)).toEqual(Array(16).fill('completed'));
    const history = (await api(second.url, `/api/executions/${id}/history?limit=200`)).body.items as Array<{
      taskKey: string;
      status: string;
    }>;
    // Tasks completed before the stop ran once: each task completed exactly once overall.
    for (let i = 0; i < 16; i++)
      expect(
        history.filter((h) => h.taskKey === `t${i}` && h.status === 'completed'),
        `t${i}`,
      ).toHaveLength(1);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
