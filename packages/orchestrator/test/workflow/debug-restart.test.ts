import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { MultiAgentOrchestrator } from '../../src/index.js';
import { sleep } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const child = join(here, 'fixtures', 'debug-child.ts');

it('a paused and a waiting run survive SIGKILL: a new process finds them paused / waiting and finishes them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdx-debug-'));
  const db = join(dir, 'state.db');
  const log = join(dir, 'calls.log');
  const p = spawn(process.execPath, ['--import', 'tsx', child, db, log], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d) => String(d).includes('READY') && resolve());
    p.on('exit', () => reject(new Error(`child ended early: ${err}`)));
  });
  p.kill('SIGKILL');
  await new Promise((r) => p.on('exit', r));
  const calls = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
  expect(calls().sort()).toEqual(['end-run/y', 'end-run/z', 'paused-run/a', 'waiting-run/hold']);

  const o = new MultiAgentOrchestrator({ store: { type: 'sqlite', path: db, leaseMs: 200 } });
  o.registerAgent({
    id: 'work',
    handler: async (ctx) => {
      const { appendFileSync } = await import('node:fs');
      appendFileSync(log, `${ctx.executionId}/${ctx.taskId}\n`);
      if (ctx.taskId === 'hold') return ctx.waitFor!('go');
      return ctx.taskId;
    },
  });
  // The killed owner's leases expire; both runs are then resumable and keep the status they were stored with.
  for (let k = 0; k < 100 && (await o.getExecution('paused-run'))?.header.lease; k++) await sleep(50);
  const ph = (await o.getExecution('paused-run'))!.header;
  expect(ph.status).toBe('paused');
  expect(ph.lease).toBeUndefined();
  expect((await o.getExecution('waiting-run'))!.header.status).toBe('waiting');
  expect((await o.listExecutions({ status: 'paused' })).map((h) => h.executionId).sort()).toEqual([
    'end-run',
    'paused-run',
  ]);
  expect((await o.listExecutions({ status: 'waiting' })).map((h) => h.executionId)).toEqual(['waiting-run']);
  // The approvals inbox of this new process lists the waiting run's open waitpoints, from the store.
  expect((await o.waitingApprovals()).map((w) => w.name).sort()).toEqual(['gate', 'go']);
  const st = await o.debugger.state('paused-run');
  expect(st.state).toBe('paused');
  expect(st.paused).toMatchObject({ reason: 'breakpoint', taskId: 'b' });
  expect((await o.debugger.state('waiting-run')).waiting.map((w) => w.name).sort()).toEqual(['gate', 'go']);

  // Resumed, the paused run stays paused: nothing runs until continue.
  const resumed = o.resume('paused-run');
  await sleep(100);
  expect((await o.debugger.state('paused-run')).state).toBe('paused');
  expect((await o.getExecution('paused-run'))!.header).toMatchObject({ status: 'paused', lease: { owner: o.owner } });
  expect(calls().filter((c) => c.startsWith('paused-run')).length).toBe(1);
  await o.debugger.continue('paused-run');
  const r = await resumed;
  expect(r.status).toBe('completed');
  expect(
    calls()
      .filter((c) => c.startsWith('paused-run'))
      .sort(),
  ).toEqual(['paused-run/a', 'paused-run/b', 'paused-run/c']);

  // Paused after its last task, every task done: resumed, it stays paused until continue ends it.
  const endResumed = o.resume('end-run');
  await sleep(100);
  expect((await o.debugger.state('end-run')).state).toBe('paused');
  expect((await o.getExecution('end-run'))!.header.status).toBe('paused');
  await o.debugger.continue('end-run');
  expect((await endResumed).status).toBe('completed');
  expect(calls().filter((c) => c.startsWith('end-run')).length).toBe(2);

  // A signal to the waiting run resumes it in this process; the approval's timeout passed while nobody ran it.
  expect(await o.signal('waiting-run', 'go', 'went')).toBe(true);
  for (let k = 0; k < 100 && (await o.getExecution('waiting-run'))?.header.status !== 'completed'; k++) await sleep(20);
  const w = (await o.getExecution('waiting-run'))!;
  expect(w.header.status).toBe('completed');
  expect(w.tasks.get('hold')?.output).toBe('went');
  expect(w.tasks.get('gate')?.output).toMatchObject({ approved: true, comment: 'timed out' });
  expect(calls().filter((c) => c === 'waiting-run/hold').length).toBe(2);
  await o.close();
}, 30_000);
