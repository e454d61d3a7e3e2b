// What the CLI prints: --version, --json on every printing command (errors included), --input-file, `outputs`,
// and a summary that names loop items and iterations and gives resumed runs their working time.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, fx, root, tempDir } from './support/cli.js';

// Each case spawns the CLI several times; a busy machine needs more than the default per-test minute.
describe('codexos output', { timeout: 240_000 }, () => {
  it('--version prints the package version', () => {
    const r = cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')).version);
  });

  it('--input-file reads JSON or YAML inputs; --input pairs override them; bad files are named', () => {
    const dir = tempDir('cdx-in-');
    writeFileSync(join(dir, 'in.json'), JSON.stringify({ who: 'json file' }));
    writeFileSync(join(dir, 'in.yaml'), 'who: yaml file\n');
    writeFileSync(join(dir, 'list.yaml'), '- a\n- b\n');
    const base = ['run', fx('two-step.yaml'), '--agents', fx('agents.ts'), '--memory', '--json'];
    const fromJson = JSON.parse(cli([...base, '--input-file', join(dir, 'in.json')]).out);
    expect(fromJson.tasks.first.output).toBe('first:hello json file');
    const fromYaml = JSON.parse(cli([...base, '--input-file', join(dir, 'in.yaml')]).out);
    expect(fromYaml.tasks.first.output).toBe('first:hello yaml file');
    const overridden = JSON.parse(cli([...base, '--input-file', join(dir, 'in.yaml'), '--input', 'who=flag']).out);
    expect(overridden.tasks.first.output).toBe('first:hello flag');
    const notObject = cli([...base, '--input-file', join(dir, 'list.yaml')]);
    expect(notObject.code).toBe(2);
    expect(JSON.parse(notObject.err).error.message).toContain('must hold an object of inputs');
    const missing = cli([...base, '--input-file', join(dir, 'nope.json')]);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.err).error.message).toContain('Cannot read input file');
  });

  it('--json on list, validate and outputs', () => {
    const dir = tempDir('cdx-json-');
    const store = join(dir, 's.db');
    const run = JSON.parse(
      cli(['run', fx('two-step.yaml'), '--agents', fx('agents.ts'), '--store', store, '--json', '--input', 'who=x'])
        .out,
    );
    const list = JSON.parse(cli(['list', '--store', store, '--json']).out);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ executionId: run.executionId, workflowId: 'two-step', status: 'completed' });
    expect(list[0].definition).toBeUndefined();
    expect(
      JSON.parse(
        cli(['validate', 'examples/code-review.yaml', '--agents', 'examples/code-review.agents.ts', '--json']).out,
      ),
    ).toEqual({
      valid: true,
      file: 'examples/code-review.yaml',
      workflowId: 'code-review',
      tasks: 3,
    });
    // outputs: the final tasks by default, one task with --task, every task with --all.
    expect(JSON.parse(cli(['outputs', run.executionId, '--store', store, '--json']).out)).toEqual({
      second: 'recovered',
    });
    expect(cli(['outputs', run.executionId, '--store', store, '--task', 'first']).out).toBe('first:hello x\n');
    expect(JSON.parse(cli(['outputs', run.executionId, '--store', store, '--all', '--json']).out)).toEqual({
      first: 'first:hello x',
      second: 'recovered',
    });
    const text = cli(['outputs', run.executionId, '--store', store]);
    expect(text.out).toBe('── second\nrecovered\n');
  });

  it('--json errors are JSON on stderr with the exit code unchanged', () => {
    const dir = tempDir('cdx-json-');
    const store = join(dir, 's.db');
    const run = JSON.parse(
      cli(['run', fx('two-step.yaml'), '--agents', fx('agents.ts'), '--store', store, '--json']).out,
    );

    const invalid = cli(['validate', fx('cycle.yaml'), '--json']);
    expect(invalid.code).toBe(2);
    expect(invalid.out).toBe('');
    const err = JSON.parse(invalid.err).error;
    expect(err.code).toBe('CDX_ERR_WORKFLOW_INVALID');
    expect(err.issues.length).toBeGreaterThan(0);
    const unknownRun = cli(['outputs', 'nope', '--store', store, '--json']);
    expect(unknownRun.code).toBe(2);
    expect(JSON.parse(unknownRun.err).error.code).toBe('CDX_ERR_EXECUTION_NOT_FOUND');
    const unknownTask = cli(['outputs', run.executionId, '--store', store, '--task', 'ghost', '--json']);
    expect(JSON.parse(unknownTask.err).error.message).toContain('no task "ghost"');
    const badCommand = cli(['frobnicate', '--json']);
    expect(badCommand.code).toBe(2);
    expect(JSON.parse(badCommand.err).error.code).toBe('commander.unknownCommand');
  });

  it('the summary counts forEach items and while iterations, not attempts', () => {
    const r = cli(['run', 'examples/review-loop.yaml', '--agents', 'examples/agents.ts', '--memory']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/draft\s+completed\s+\d+ms {2}3 items\n/);
    expect(r.out).toMatch(/review\s+completed\s+\d+ms {2}2 iterations\n/);
    expect(r.out).not.toContain('attempts');
  });

  it('a resumed run reports its working time and the durations of tasks finished before the resume', () => {
    const dir = tempDir('cdx-resume-');
    const store = join(dir, 's.db');
    const failed = cli(['run', fx('two-step.yaml'), '--agents', fx('agents.ts'), '--store', store, '--json'], {
      CDX_FAIL: '1',
    });
    const { executionId } = JSON.parse(failed.out);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500); // downtime before the resume
    const resumed = cli(['resume', executionId, '--agents', fx('agents.ts'), '--store', store]);
    expect(resumed.code, resumed.err).toBe(0);
    const m = /completed in (\d+)ms of work \(resumed; ([\d.]+)s since the first start\)/.exec(resumed.out);
    expect(m, resumed.out).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(Number(m![2]) * 1000 - 1000);
    // `first` completed in the first run: its duration is still shown.
    expect(resumed.out).toMatch(/\n {2}first\s+completed\s+\d+ms\n/);
    const json = JSON.parse(cli(['resume', executionId, '--agents', fx('agents.ts'), '--store', store, '--json']).out);
    expect(json.tasks.first.duration).toBeGreaterThanOrEqual(0);
    expect(json.tasks.first.startedAt).toBeLessThanOrEqual(json.tasks.first.finishedAt);
  });
});
