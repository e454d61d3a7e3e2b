import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { SqliteStore } from '../../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const child = join(here, 'fixtures', 'resume-child.ts');

function run(args: string[], onStdout?: (line: string, kill: () => void) => void) {
  const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => {
    out += d;
    for (const line of String(d).split('\n')) if (line) onStdout?.(line, () => p.kill('SIGKILL'));
  });
  p.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    p.on('exit', (code, signal) => res({ code, signal })),
  );
  return { p, done, out: () => out, err: () => err };
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

it('resumes a 1000-task workflow after SIGKILL: every task completes, none completed runs again, no output lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdx-crash-'));
  const db = join(dir, 'state.db');
  const log = join(dir, 'runs.log');
  const executionId = 'crash-1';

  const first = run(['run', db, log, executionId]);
  // Kill mid-run: once a few hundred task starts are logged (polling the log, not the clock).
  await new Promise<void>((resolve, reject) => {
    const iv = setInterval(() => {
      if (lines(log).length >= 300) {
        clearInterval(iv);
        first.p.kill('SIGKILL');
        resolve();
      }
    }, 5);
    first.done.then(() => {
      clearInterval(iv);
      reject(new Error(`child ended before it could be killed: ${first.err()}`));
    });
  });
  const exit = await first.done;
  expect(exit.signal).toBe('SIGKILL');
  expect(first.out()).not.toContain('RESULT');

  // What the store holds as completed at the moment of the crash.
  const store = new SqliteStore(db);
  const stored = store.loadExecution(executionId)!;
  store.close();
  expect(stored.header.status).toBe('interrupted'); // its owner was killed: resumable, not running
  const completedBefore = [...stored.tasks.values()].filter((t) => t.status === 'completed').map((t) => t.taskKey);
  expect(completedBefore.length).toBeGreaterThan(100);
  expect(completedBefore.length).toBeLessThan(1000);
  const runsBefore = lines(log).length;

  const second = run(['resume', db, log, executionId]);
  const exit2 = await second.done;
  expect(exit2.code, second.err()).toBe(0);
  const result = JSON.parse(
    second
      .out()
      .split('\n')
      .find((l) => l.startsWith('RESULT '))!
      .slice(7),
  );
  expect(result.status).toBe('completed');
  expect(result.resumed).toBe(true);
  expect(result.statuses).toHaveLength(1000);
  expect(result.statuses.every((s: string) => s === 'completed')).toBe(true);

  // No task with a recorded completion ran again.
  const rerun = new Set(lines(log).slice(runsBefore));
  expect(completedBefore.filter((t) => rerun.has(t))).toEqual([]);
  // Every task ran at least once overall.
  expect(new Set(lines(log)).size).toBe(1000);
  // No output lost: each chain's outputs count 2..101 (root is 1), including those recorded before the crash.
  expect(result.outputs.root).toBe(1);
  for (let c = 0; c < 10; c++) {
    for (let k = 0; k < 100; k++) {
      const id = `c${c}-${k}`;
      if (id === 'c9-99') continue;
      expect(result.outputs[id]).toBe(k + 2);
    }
  }
  for (const t of completedBefore) expect(result.outputs[t]).toBe(stored.tasks.get(t)!.output);
}, 120_000);
