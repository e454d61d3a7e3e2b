import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { redisTarget } from '../../orchestrator/src/queue/bullmq/connection.js';
import { TaskWorker } from '../../orchestrator/src/queue/bullmq/task-worker.js';
import { agents } from '../../orchestrator/test/queue/fixtures/dist-agents.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
const agentsFile = join(root, 'packages', 'orchestrator', 'test', 'queue', 'fixtures', 'dist-agents.ts');
const url = process.env.REDIS_URL;

function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.once('exit', (code) => resolve({ code, out, err }));
  });
}

describe.skipIf(!url)('codexos run --redis (distributed mode from the CLI)', () => {
  it('runs the tasks on a worker of that Redis, keeps state there, and resume --redis reads it back', async () => {
    const ns = `cdx-cli-${randomUUID().slice(0, 8)}`;
    const dir = mkdtempSync(join(tmpdir(), 'cdx-cli-dist-'));
    const wf = join(dir, 'wf.json');
    writeFileSync(
      wf,
      JSON.stringify({
        id: 'cli-dist',
        name: 'cli-dist',
        tasks: [
          { id: 'a', agentId: 'work', input: { ms: 1, tag: ns } },
          { id: 'b', agentId: 'work', input: { ms: 1, tag: ns }, dependencies: ['a'] },
        ],
      }),
    );
    // The worker runs in this process: a task's output names the pid that ran it.
    const target = { ...redisTarget(url), prefix: ns };
    const worker = await new TaskWorker({ target, agents, concurrency: 2, heartbeatMs: 60_000 }).start();
    try {
      const r = await cli(['run', wf, '--redis', url!, '--prefix', ns, '--agents', agentsFile, '--json']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const res = JSON.parse(r.out) as {
        executionId: string;
        status: string;
        tasks: Record<string, { output: { pid: number; n: number } }>;
      };
      expect(res.status).toBe('completed');
      expect(res.tasks.a.output.pid).toBe(process.pid);
      expect(res.tasks.b.output).toMatchObject({ pid: process.pid, n: 2 });
      // The state is in Redis under the prefix (no SQLite file): resume from "another machine" finds the run.
      const again = await cli([
        'resume',
        res.executionId,
        '--redis',
        url!,
        '--prefix',
        ns,
        '--agents',
        agentsFile,
        '--json',
      ]);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.out)).toMatchObject({ executionId: res.executionId, status: 'completed' });
    } finally {
      await worker.close();
    }
  }, 300_000);
});
