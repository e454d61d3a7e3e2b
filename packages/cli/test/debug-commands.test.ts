import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fx, inProc, root, tempDir } from './support/cli.js';

it('codexos rerun --from re-runs a task and its dependents only; approve and run --break refuse bad input', async () => {
  const dir = tempDir('cdx-cli-dbg-');
  const store = join(dir, 's.db');
  const log = join(dir, 'runs.log');
  const env = { CDX_TEST_LOG: log };
  const first = await inProc(
    ['run', fx('two-step.yaml'), '--agents', fx('agents.ts'), '--store', store, '--json', '-i', 'who=a'],
    env,
  );
  expect(first.code, first.err).toBe(0);
  const parent = JSON.parse(first.out).executionId;
  const rr = await inProc(
    ['rerun', parent, '--from', 'second', '--agents', fx('agents.ts'), '--store', store, '--json'],
    env,
  );
  expect(rr.code, rr.err).toBe(0);
  const child = JSON.parse(rr.out);
  expect(child.status).toBe('completed');
  expect(child.executionId).not.toBe(parent);
  expect(child.tasks.first.output).toBe('first:hello a');
  // `first` ran once (in the parent), `second` twice.
  expect(readFileSync(log, 'utf8').split('\n').filter(Boolean)).toEqual(['first', 'second', 'second']);

  const unknownTask = await inProc(['rerun', parent, '--from', 'nope', '--agents', fx('agents.ts'), '--store', store]);
  expect(unknownTask.code).toBe(2);
  expect(unknownTask.err).toContain('CDX_ERR_DEBUG_INVALID');
  const noRun = await inProc(['approve', 'missing', 'gate', '--agents', fx('agents.ts'), '--store', store]);
  expect(noRun.code).toBe(2);
  expect(noRun.err).toContain('CDX_ERR_EXECUTION_NOT_FOUND');
  const badBreak = await inProc([
    'run',
    fx('two-step.yaml'),
    '--agents',
    fx('agents.ts'),
    '--memory',
    '--break',
    'zzz',
  ]);
  expect(badBreak.code).toBe(2);
  expect(badBreak.err).toContain('CDX_ERR_DEBUG_INVALID');
});

it('codexos approve takes up a run whose process was killed while it waited, signals it and runs it to the end', async () => {
  const dir = tempDir('cdx-cli-approve-');
  const db = join(dir, 's.db');
  const child = join(root, 'packages', 'orchestrator', 'test', 'workflow', 'fixtures', 'debug-child.ts');
  const p = spawn(process.execPath, ['--import', 'tsx', child, db, join(dir, 'log')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    p.stdout.on('data', (d) => String(d).includes('READY') && resolve());
    p.on('exit', () => reject(new Error('child ended early')));
  });
  p.kill('SIGKILL');
  await new Promise((r) => p.on('exit', r));
  const r = await inProc([
    'approve',
    'waiting-run',
    'go',
    '--payload',
    '"went"',
    '--store',
    db,
    '--agents',
    fx('wait-agents.ts'),
    '--json',
  ]);
  expect(r.code, r.err).toBe(0);
  const res = JSON.parse(r.out);
  expect(res.status).toBe('completed');
  expect(res.tasks.hold.output).toBe('went');
  expect(res.tasks.gate.output).toMatchObject({ approved: true });
}, 30_000);
