import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
const fx = (f: string) => join(here, 'fixtures', f);

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('codexos CLI', () => {
  it('runs the data-analysis example offline with progress and a summary (exit 0)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdx-cli-'));
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

  it('exits 1 when the workflow fails and resume finishes it without re-running completed tasks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cdx-cli-'));
    const store = join(dir, 's.db');
    const log = join(dir, 'runs.log');
    const failed = cli(['run', fx('two-step.yaml'), '--agents', fx('agents.ts'), '--store', store, '--json'], {
      CDX_FAIL: '1',
      CDX_TEST_LOG: log,
    });
    expect(failed.code).toBe(1);
    const res = JSON.parse(failed.out);
    expect(res.status).toBe('failed');
    expect(res.tasks.second.error.message).toBe('downstream unavailable');
    const resumed = cli(['resume', res.executionId, '--agents', fx('agents.ts'), '--store', store, '--json'], {
      CDX_TEST_LOG: log,
    });
    expect(resumed.code, resumed.err).toBe(0);
    const res2 = JSON.parse(resumed.out);
    expect(res2).toMatchObject({ status: 'completed', resumed: true, executionId: res.executionId });
    expect(res2.tasks.first.output).toBe('first:hello ');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual(['first', 'second', 'second']);
    const report = cli(['report', res.executionId, '--store', store]);
    expect(report.code, report.err).toBe(0);
    expect(report.out).toContain(`Execution ${res.executionId}`);
    expect(report.out).toMatch(/Critical path: \d+ tasks/);
    const reportJson = JSON.parse(cli(['report', res.executionId, '--store', store, '--json']).out);
    // The resumed run's profile: `second` ran in it and ends the critical path.
    expect(reportJson.profile.criticalPath.steps.map((s: { taskId: string }) => s.taskId).at(-1)).toBe('second');
    expect(cli(['report', 'nope', '--store', store]).code).toBe(2);
    const list = cli(['list', '--store', store]);
    expect(list.out).toContain(res.executionId);
    expect(list.out).toContain('completed');
  });

  it('exits 2 with the problem named for invalid workflows, bad YAML, bad flags and unknown executions', () => {
    const cyc = cli(['run', fx('cycle.yaml'), '--memory']);
    expect(cyc.code).toBe(2);
    expect(cyc.err).toMatch(/dependency cycle: (a -> b -> a|b -> a -> b)/);
    const bad = cli(['validate', fx('broken.yaml')]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('is not valid YAML (line');
    const missing = cli(['run', fx('nope.yaml'), '--memory']);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('Cannot read workflow file');
    const flag = cli(['run', fx('two-step.yaml'), '--input', 'novalue', '--memory']);
    expect(flag.code).toBe(2);
    expect(flag.err).toContain('--input expects key=value');
    const unknown = cli(['resume', 'no-such-id', '--store', join(mkdtempSync(join(tmpdir(), 'cdx-')), 's.db')]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('No stored execution "no-such-id"');
    expect(cli(['frobnicate']).code).toBe(2);
    const shape = cli(['run', fx('tasks-not-list.yaml'), '--memory']);
    expect(shape.code).toBe(2);
    expect(shape.err).toContain('tasks: Invalid input: expected array');
    expect(shape.err).not.toContain('TypeError');
  });

  it('validate accepts the examples and schema prints a JSON Schema', () => {
    for (const f of ['examples/data-analysis.yaml', 'examples/review-loop.yaml']) {
      const r = cli(['validate', f]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain('is valid');
    }
    const s = cli(['schema']);
    expect(s.code).toBe(0);
    const schema = JSON.parse(s.out);
    expect(schema.properties.tasks.items.required).toEqual(expect.arrayContaining(['id', 'agentId']));
    expect(schema.title).toBe('CodexOS workflow');
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
