import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MultiAgentOrchestrator } from '@codexos/multi-agent-orchestrator';
import { afterEach, describe, expect, it } from 'vitest';

// Signals across processes: one process drives a run that waits (an approval and a ctx.waitFor); `codexos
// approve` and another orchestrator decide them from other processes, through the store.

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
const driverFile = join(root, 'packages', 'orchestrator', 'test', 'workflow', 'fixtures', 'signal-driver.ts');

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

/** Starts the driving process; resolves `ready` once both tasks wait and `result` with the run's end. */
function driver(args: string[]) {
  const p = spawn(process.execPath, ['--import', 'tsx', driverFile, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let out = '';
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const ready = new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d) => {
      out += d;
      if (out.includes('READY')) resolve();
    });
    p.on('exit', () => reject(new Error(`driver ended early: ${err}`)));
  });
  const result = new Promise<{ status: string; tasks: Record<string, { output?: unknown }> }>((resolve, reject) =>
    p.on('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(JSON.parse(line.slice(7)));
      else reject(new Error(`driver ended without a result: ${err}`));
    }),
  );
  return { p, ready, result };
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: { code?: string }) => e.code,
  );

describe('signals from another process', () => {
  it('SQLite: codexos approve and another orchestrator decide a run `codexos run`-style process drives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdx-approve-live-'));
    const db = join(dir, 's.db');
    const d = driver(['sqlite', db, '-', 'live-run', '300']);
    await d.ready;

    // `codexos list` (another process) shows the run as waiting, driven by the driver's process.
    const listed = cli(['list', '--store', db]);
    expect(listed.code, listed.err).toBe(0);
    expect(listed.out).toMatch(new RegExp(`live-run\\s+signalled\\s+waiting .* by \\S+:${d.p.pid}:`));

    const o = new MultiAgentOrchestrator({ store: { type: 'sqlite', path: db } });
    try {
      // The inbox of this process lists the other process's waiting tasks, from the store.
      const inbox = await o.waitingApprovals();
      expect(inbox.map((w) => `${w.executionId}/${w.name}/${w.kind}`).sort()).toEqual([
        'live-run/gate/approval',
        'live-run/go/waitFor',
      ]);
      expect(await o.debugger.drivenBy('live-run')).toContain(`:${d.p.pid}:`);
      // Bad input: a typed error, nothing recorded.
      expect(await code(o.signal('no-such-run', 'go', 1))).toBe('CDX_ERR_EXECUTION_NOT_FOUND');
      expect(await code(o.signal('live-run', 'no-such-wait', 1))).toBe('CDX_ERR_WAITPOINT_NOT_FOUND');
      expect(await code(o.debugger.approve('live-run', 'gate', { role: 'viewer' }))).toBe('CDX_ERR_FORBIDDEN');
      expect([...(await o.getExecution('live-run'))!.tasks.keys()].filter((k) => k.startsWith('$signal:'))).toEqual([]);

      // A signal from this process: recorded once; the second changes nothing.
      expect(await o.signal('live-run', 'go', { n: 1 }, { by: 'ann' })).toBe(true);
      expect(await o.signal('live-run', 'go', { n: 2 }, { by: 'ann' })).toBe(false);
      expect((await o.waitingApprovals()).map((w) => w.name)).toEqual(['gate']);

      // `codexos approve` from a third process decides the approval; the driver applies both and finishes.
      const ok = cli(['approve', 'live-run', 'gate', '--store', db, '--by', 'bob', '--comment', 'lgtm']);
      expect(ok.code, ok.err).toBe(0);
      expect(ok.out).toContain(`"gate" decided; `);
      const r = await d.result;
      expect(r.status).toBe('completed');
      expect(r.tasks.hold.output).toEqual({ got: { n: 1 } });
      expect(r.tasks.gate.output).toMatchObject({ approved: true, by: 'bob', comment: 'lgtm' });
      expect(r.tasks.after.output).toBe('after');

      // Approving again once the run has ended changes nothing and says so.
      const again = cli(['approve', 'live-run', 'gate', '--store', db]);
      expect(again.code, again.err).toBe(0);
      expect(again.err).toContain('already decided');
      const stored = (await o.getExecution('live-run'))!;
      expect(stored.header.status).toBe('completed');
      expect(await o.waitingApprovals()).toEqual([]);
    } finally {
      await o.close();
    }
  }, 180_000);

  const url = process.env.REDIS_URL;
  it.skipIf(!url)(
    'Redis: a signal reaches the driving process by pub/sub (its heartbeat is minutes away)',
    async () => {
      const prefix = `cdx-sig-${process.pid}-${Date.now()}`;
      // A two-minute lease: the heartbeat that would also read signals does not come within this test's time.
      const d = driver(['redis', url!, prefix, 'redis-run', '120000']);
      await d.ready;
      const o = new MultiAgentOrchestrator({ store: { type: 'redis' }, redis: { url, keyPrefix: prefix } });
      try {
        expect((await o.getExecution('redis-run'))!.header.status).toBe('waiting');
        expect((await o.waitingApprovals()).map((w) => w.name).sort()).toEqual(['gate', 'go']);
        expect(await o.signal('redis-run', 'go', 'went')).toBe(true);
        expect(await o.debugger.approve('redis-run', 'gate', { by: 'cy', role: 'owner' })).toBe(true);
        expect(await o.debugger.approve('redis-run', 'gate', { by: 'cy' })).toBe(false);
        const r = await d.result;
        expect(r.status).toBe('completed');
        expect(r.tasks.hold.output).toEqual({ got: 'went' });
        expect(r.tasks.gate.output).toMatchObject({ approved: true, by: 'cy' });
      } finally {
        await o.close();
      }
    },
    180_000,
  );
});
