import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, cli, fx, inProc, root, tempDir, untilLogged } from './support/cli.js';

describe('codexos CLI', () => {
  it('runs the data-analysis example offline with progress and a summary (exit 0)', () => {
    const dir = tempDir('cdx-cli-');
    const r = cli([
      'run',
      'examples/data-analysis.yaml',
      '--agents',
      'examples/agents.ts',
      '--store',
      join(dir, 's.db'),
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('▶ workflow data-analysis-pipeline (6 tasks)');
    expect(r.out).toMatch(/✔ create-report completed in \d+ms/);
    expect(r.out).toContain('↻ predict-future attempt 1 failed');
    expect(r.out).toContain('6 completed, 0 failed, 0 skipped');
  });

  it('--json prints the execution result; --input values reach templates', () => {
    const r = cli([
      'run',
      fx('two-step.yaml'),
      '--agents',
      fx('agents.ts'),
      '--memory',
      '--json',
      '--input',
      'who=world',
    ]);
    expect(r.code, r.err).toBe(0);
    const result = JSON.parse(r.out);
    expect(result.status).toBe('completed');
    expect(result.tasks.first.output).toBe('first:hello world');
    expect(result.tasks.second.output).toBe('recovered');
  });

  it('exits 1 when the workflow fails and resume finishes it without re-running completed tasks', async () => {
    const dir = tempDir('cdx-cli-');
    const store = join(dir, 's.db');
    const log = join(dir, 'runs.log');
    const failed = await inProc(['run', fx('two-step.yaml'), '--agents', fx('agents.ts'), '--store', store, '--json'], {
      CDX_FAIL: '1',
      CDX_TEST_LOG: log,
    });
    expect(failed.code).toBe(1);
    const res = JSON.parse(failed.out);
    expect(res.status).toBe('failed');
    expect(res.tasks.second.error.message).toBe('downstream unavailable');
    const resumed = await inProc(['resume', res.executionId, '--agents', fx('agents.ts'), '--store', store, '--json'], {
      CDX_TEST_LOG: log,
    });
    expect(resumed.code, resumed.err).toBe(0);
    const res2 = JSON.parse(resumed.out);
    expect(res2).toMatchObject({ status: 'completed', resumed: true, executionId: res.executionId });
    expect(res2.tasks.first.output).toBe('first:hello ');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['first', 'second', 'second']);
    const report = await inProc(['report', res.executionId, '--store', store]);
    expect(report.code, report.err).toBe(0);
    expect(report.out).toContain(`Execution ${res.executionId}`);
    expect(report.out).toMatch(/Critical path: \d+ tasks/);
    const reportJson = JSON.parse((await inProc(['report', res.executionId, '--store', store, '--json'])).out);
    // The resumed run's profile: `second` ran in it and ends the critical path.
    expect(reportJson.profile.criticalPath.steps.map((s: { taskId: string }) => s.taskId).at(-1)).toBe('second');
    expect((await inProc(['report', 'nope', '--store', store])).code).toBe(2);
    const list = await inProc(['list', '--store', store]);
    expect(list.out).toContain(res.executionId);
    expect(list.out).toContain('completed');
  });

  it('exits 2 with the problem named for invalid workflows, bad YAML, bad flags and unknown executions', async () => {
    const cyc = await inProc(['run', fx('cycle.yaml'), '--memory']);
    expect(cyc.code).toBe(2);
    expect(cyc.err).toMatch(/dependency cycle: (a -> b -> a|b -> a -> b)/);
    const bad = await inProc(['validate', fx('broken.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('is not valid YAML (line');
    const missing = await inProc(['run', fx('nope.yaml'), '--memory']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('Cannot read workflow file');
    const flag = await inProc(['run', fx('two-step.yaml'), '--input', 'novalue', '--memory']);
    expect(flag.code).toBe(2);
    expect(flag.err).toContain('--input expects key=value');
    const unknown = await inProc(['resume', 'no-such-id', '--store', join(tempDir('cdx-'), 's.db')]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('No stored execution "no-such-id"');
    expect((await inProc(['frobnicate'])).code).toBe(2);
    const shape = await inProc(['run', fx('tasks-not-list.yaml'), '--memory']);
    expect(shape.code).toBe(2);
    expect(shape.err).toContain('tasks: Invalid input: expected array');
    expect(shape.err).not.toContain('TypeError');
  });

  it('validate accepts the examples and schema prints a JSON Schema', async () => {
    for (const f of ['examples/data-analysis.yaml', 'examples/review-loop.yaml']) {
      const r = await inProc(['validate', f, '--agents', 'examples/agents.ts']);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('is valid');
    }
    const s = await inProc(['schema']);
    expect(s.code).toBe(0);
    const schema = JSON.parse(s.out);
    // agentId is required on every task except approval tasks (a conditional of the task schema).
    expect(schema.properties.tasks.items.required).toEqual(['id']);
    expect(schema.properties.tasks.items.allOf).toContainEqual(
      expect.objectContaining({ else: expect.objectContaining({ required: ['agentId'] }) }),
    );
    expect(schema.title).toBe('CodexOS workflow');
  });

  it('refuses agent ids no --agents module defines in run, resume and validate; --model-agents opts in', async () => {
    const dir = tempDir('cdx-cli-');
    const store = join(dir, 's.db');
    // A typo'd id: refused before anything runs, naming the agent and the task, with the way to opt in.
    const typo = join(dir, 'typo.yaml');
    writeFileSync(
      typo,
      'id: typo\nname: typo\ntasks:\n  - { id: first, agentId: step }\n  - { id: second, agentId: flakey, dependencies: [first] }\n',
    );
    const run = await inProc(['run', typo, '--agents', fx('agents.ts'), '--store', store, '--json']);
    expect(run.code).toBe(2);
    expect(run.err).toContain('CDX_ERR_AGENT_UNKNOWN');
    expect(run.err).toContain('the --agents module does not define: flakey');
    expect(run.err).toContain('--model-agents flakey');
    // Under --json the error is JSON: its issues name the task.
    expect(JSON.parse(run.err).error.issues).toContainEqual(
      expect.objectContaining({ taskId: 'second', message: 'unknown agent "flakey"' }),
    );
    expect((await inProc(['list', '--store', store])).out).toBe(''); // nothing was started
    // validate checks agents the same way.
    const v = await inProc(['validate', typo, '--agents', fx('agents.ts')]);
    expect(v.code).toBe(2);
    expect(v.err).toContain('flakey');
    expect((await inProc(['validate', fx('two-step.yaml')])).code).toBe(2); // no module: its agents are unknown
    expect((await inProc(['validate', fx('two-step.yaml'), '--agents', fx('agents.ts')])).code).toBe(0);
    // Opting in: the listed id runs as a model-backed agent (the offline local model here).
    const opted = await inProc([
      'run',
      typo,
      '--agents',
      fx('agents.ts'),
      '--store',
      store,
      '--json',
      '--model-agents',
      'flakey',
    ]);
    expect(opted.code, opted.err).toBe(0);
    expect(JSON.parse(opted.out).tasks.second.status).toBe('completed');
    expect((await inProc(['validate', typo, '--agents', fx('agents.ts'), '--model-agents'])).code).toBe(0);
    // Resume without --agents is refused rather than answered by a model in place of the code handlers.
    const failed = await inProc(['run', fx('two-step.yaml'), '--agents', fx('agents.ts'), '--store', store, '--json'], {
      CDX_FAIL: '1',
    });
    const id = JSON.parse(failed.out).executionId;
    const bare = await inProc(['resume', id, '--store', store, '--json']);
    expect(bare.code).toBe(2);
    expect(bare.err).toContain('no --agents module defines: step, flaky');
    const good = await inProc(['resume', id, '--store', store, '--agents', fx('agents.ts'), '--json']);
    expect(good.code, good.err).toBe(0);
    expect(JSON.parse(good.out).tasks.second.output).toBe('recovered');
  });

  it('SIGTERM stops a run gracefully like SIGINT: the run is cancelled, not left running, and resumes', async () => {
    const dir = tempDir('cdx-cli-');
    const store = join(dir, 's.db');
    const log = join(dir, 'runs.log');
    const p = spawn(
      process.execPath,
      [bin, 'run', fx('two-step.yaml'), '--agents', fx('agents.ts'), '--store', store, '--json'],
      { cwd: root, env: { ...process.env, CDX_TEST_LOG: log, CDX_HANG: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) =>
      p.on('exit', (code, sig) => r({ code, signal: sig })),
    );
    // Signal once the second task is running (polling the log, not the clock).
    await untilLogged(log, 'second');
    p.kill('SIGTERM');
    const exit = await exited;
    expect(exit, err).toEqual({ code: 1, signal: null }); // handled: not ended by the signal (exit 143)
    const result = JSON.parse(out);
    expect(result.status).toBe('cancelled');
    expect(err).toContain(`codexos resume ${result.executionId}`);
    const listed = (await inProc(['list', '--store', store])).out;
    expect(listed).toMatch(new RegExp(`${result.executionId}\\s+two-step\\s+cancelled`));
    const resumed = await inProc([
      'resume',
      result.executionId,
      '--store',
      store,
      '--agents',
      fx('agents.ts'),
      '--json',
    ]);
    expect(resumed.code, resumed.err).toBe(0);
    const r2 = JSON.parse(resumed.out);
    expect(r2).toMatchObject({ status: 'completed', resumed: true });
    expect(r2.tasks.first.output).toBe(result.tasks.first.output);
  });

  it('list shows a run whose process was killed as interrupted, and resume continues it', async () => {
    const dir = tempDir('cdx-cli-');
    const store = join(dir, 's.db');
    const log = join(dir, 'runs.log');
    const p = spawn(
      process.execPath,
      [bin, 'run', fx('two-step.yaml'), '--agents', fx('agents.ts'), '--store', store, '--json'],
      { cwd: root, env: { ...process.env, CDX_TEST_LOG: log, CDX_HANG: '1' }, stdio: 'ignore' },
    );
    const exited = new Promise((r) => p.on('exit', r));
    await untilLogged(log, 'second');
    const live = (await inProc(['list', '--store', store])).out;
    expect(live).toMatch(/two-step\s+running\s+\S+\s+by \S+:\d+:/);
    const id = live.split(/\s+/)[0];
    const refused = await inProc(['resume', id, '--store', store, '--agents', fx('agents.ts')]);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(
      new RegExp(`CDX_ERR_EXECUTION_RUNNING: Execution "${id}" is being run by \\S+:${p.pid}:`),
    );
    p.kill('SIGKILL');
    await exited;
    expect((await inProc(['list', '--store', store])).out).toMatch(new RegExp(`${id}\\s+two-step\\s+interrupted`));
    const resumed = await inProc(['resume', id, '--store', store, '--agents', fx('agents.ts'), '--json']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(JSON.parse(resumed.out)).toMatchObject({ status: 'completed', resumed: true });
  });

  it('runs the loop/condition example', () => {
    const r = cli(['run', 'examples/review-loop.yaml', '--agents', 'examples/agents.ts', '--memory', '--json']);
    expect(r.code, r.err).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.tasks.draft.output).toHaveLength(3);
    expect(res.tasks.review).toMatchObject({ output: { score: 0.8 }, iterations: 2 });
    expect(res.tasks.publish.status).toBe('completed');
    expect(res.tasks.escalate.status).toBe('skipped');
  });
});
