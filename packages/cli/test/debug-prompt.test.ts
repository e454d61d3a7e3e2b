import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// `codexos run --break <task>` in a terminal: the run pauses there and the prompt on stdin drives it (inspect, edit
// the prompt, step, inspect again, continue). Driven through a pipe, as a person would type.

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
const fx = (f: string) => join(here, 'fixtures', f);

it('codexos run --break pauses before the task; inspect, edit, step and continue drive it to the end', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdx-cli-break-'));
  const log = join(dir, 'runs.log');
  const p = spawn(
    process.execPath,
    [bin, 'run', fx('three-step.yaml'), '--agents', fx('agents.ts'), '--store', join(dir, 's.db')].concat([
      '--json',
      '--break',
      'second',
      '-i',
      'who=ann',
    ]),
    { cwd: root, env: { ...process.env, CDX_TEST_LOG: log }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  p.stdout.on('data', (d) => {
    out += d;
    wake();
  });
  p.stderr.on('data', (d) => {
    err += d;
    wake();
  });
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  p.on('exit', wake);
  /** Waits until stderr has `n` occurrences of `text` (or the process ended). */
  const until = async (text: string, n = 1) => {
    while (err.split(text).length - 1 < n && p.exitCode === null) await new Promise<void>((r) => waiters.push(r));
    expect(err.split(text).length - 1, err).toBeGreaterThanOrEqual(n);
  };
  const ran = () => readFileSync(log, 'utf8').split('\n').filter(Boolean);
  const type = (line: string) => p.stdin.write(`${line}\n`);
  // The last inspection printed (pretty JSON after the prompt).
  const lastInspection = () => {
    const start = err.lastIndexOf('{\n  "taskId"');
    const end = err.indexOf('\n}\n', start);
    return JSON.parse(err.slice(start, end + 2));
  };

  await until('debug> ');
  expect(err).toContain('paused (breakpoint before "second")');
  expect(ran()).toEqual(['first']);

  type('i');
  await until('"taskId": "second"');
  await until('}\n');
  expect(lastInspection()).toMatchObject({
    taskId: 'second',
    agentId: 'step',
    status: 'ready',
    prompt: 'second after first:hello ann',
    upstream: { first: 'first:hello ann' },
    edited: false,
  });

  type('p say hi to ann');
  await until('prompt of "second" edited');
  type('s');
  await until('paused (step)');
  await until('debug> ', 2);
  // The step ran exactly the next task.
  expect(ran()).toEqual(['first', 'second']);

  type('i');
  await until('"taskId": "third"');
  await until('}\n', 2);
  expect(lastInspection()).toMatchObject({
    taskId: 'third',
    status: 'ready',
    upstream: { second: 'second:say hi to ann' },
  });

  type('c');
  expect(await exited, err).toBe(0);
  p.stdin.end();
  const result = JSON.parse(out);
  expect(result.status).toBe('completed');
  expect(result.tasks.second.output).toBe('second:say hi to ann');
  expect(result.tasks.second.edited).toBe(true);
  expect(result.tasks.third.output).toBe('third:third');
  expect(ran()).toEqual(['first', 'second', 'third']);
}, 120_000);
