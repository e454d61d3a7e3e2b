import { describe, expect, it } from 'vitest';
import { criticalPath, percentile } from '../src/analytics/criticalPath.ts';
import type { TaskDef } from '../src/api/types.ts';
import { copyTasks, parseClipboard, pasteTasks } from '../src/designer/clipboard.ts';
import { diffSummary, diffTasks } from '../src/designer/diff.ts';
import { layoutTasks, NODE_W } from '../src/designer/layout.ts';
import { findCycles, GraphValidator, validateGraph, validateTask } from '../src/designer/validate.ts';
import { parseWorkflowFile } from '../src/workflows/importFile.ts';

const T = (id: string, deps: string[] = [], extra: Partial<TaskDef> = {}): TaskDef => ({
  id,
  agentId: 'x',
  dependencies: deps,
  ...extra,
});

describe('validation against the workflow JSON Schema', () => {
  it('accepts a well-formed task', () => {
    expect(
      validateTask(
        T('a', [], { retry: { maxAttempts: 3 }, onError: 'continue', cache: true, input: { prompt: 'hi' } }),
      ),
    ).toEqual([]);
  });
  it('names the field and the problem', () => {
    const issues = validateTask({
      id: 'bad id',
      agentId: '',
      retry: { maxAttempts: 0 },
      timeoutMs: 'soon',
      onError: 'explode',
      colour: 'red',
    } as unknown as TaskDef);
    const byField = Object.fromEntries(issues.map((i) => [i.field, i.message]));
    expect(byField.id).toMatch(/letters, digits/);
    expect(byField.agentId).toBe('is required');
    expect(byField['retry.maxAttempts']).toBe('must be ≥ 1');
    expect(byField.timeoutMs).toMatch(/whole number/);
    expect(byField.onError).toMatch(/"fail" or "continue" or \{ fallback \}/);
    expect(byField.colour).toBe('is not a known field');
  });
  it('reports unknown dependencies, fallbacks and cycles on the tasks involved', () => {
    const tasks = new Map(
      [T('a', ['c']), T('b', ['a']), T('c', ['b']), T('d', ['nope'], { onError: { fallback: 'ghost' } })].map((t) => [
        t.id,
        t,
      ]),
    );
    const issues = validateGraph(tasks);
    expect(issues.get('d')?.map((i) => i.message)).toEqual([
      "unknown dependency 'nope'",
      "unknown fallback task 'ghost'",
    ]);
    for (const id of ['a', 'b', 'c']) expect(issues.get(id)?.[0].message).toMatch(/^cycle: /);
    expect(findCycles(new Map([T('s', ['s'])].map((t) => [t.id, t])))).toEqual([['s']]);
  });
  it('re-checks a task when its object changes and keeps graph issues out of the remembered schema issues', () => {
    const a = T('a', ['gone']);
    const tasks = new Map([[a.id, a]]);
    expect(
      validateGraph(tasks)
        .get('a')
        ?.map((i) => i.message),
    ).toEqual(["unknown dependency 'gone'"]);
    // Same object again: the same answer, the dependency issue not doubled.
    expect(
      validateGraph(tasks)
        .get('a')
        ?.map((i) => i.message),
    ).toEqual(["unknown dependency 'gone'"]);
    // A new version of the task (as the projection produces on an edit) is checked afresh.
    const a2 = { ...a, dependencies: [], colour: 'red' } as TaskDef;
    expect(
      validateGraph(new Map([[a2.id, a2]]))
        .get('a')
        ?.map((i) => i.field),
    ).toEqual(['colour']);
    expect(
      validateGraph(tasks)
        .get('a')
        ?.map((i) => i.message),
    ).toEqual(["unknown dependency 'gone'"]);
  });
  it('follows a changing graph: a rename re-runs no graph rule and hands back the same issues map', () => {
    const v = new GraphValidator();
    const list = [T('a'), T('b', ['a']), T('c', ['b', 'ghost'])];
    let tasks = new Map(list.map((t) => [t.id, t]));
    const first = v.check(tasks);
    expect(v.graphRuns).toBe(1);
    expect(first.get('c')?.map((i) => i.message)).toEqual(["unknown dependency 'ghost'"]);
    // A remote rename: a new object for b, same dependencies.
    tasks = new Map(tasks).set('b', { ...(tasks.get('b') as TaskDef), name: 'renamed' });
    expect(v.check(tasks)).toBe(first);
    expect(v.graphRuns).toBe(1);
    // A new dependency closes a cycle: the graph rules run again and every task on it reports it.
    tasks = new Map(tasks).set('a', { ...(tasks.get('a') as TaskDef), dependencies: ['c'] });
    const next = v.check(tasks);
    expect(v.graphRuns).toBe(2);
    expect(next).not.toBe(first);
    expect(next.get('a')?.[0].message).toMatch(/^cycle: /);
    expect(next.get('c')?.map((i) => i.message)).toEqual([
      "unknown dependency 'ghost'",
      expect.stringMatching(/^cycle: /),
    ]);
  });
  it('finds no cycle in a 2000-task chain without overflowing the stack', () => {
    const tasks = new Map(
      Array.from({ length: 2000 }, (_, i) => T(`t${i}`, i ? [`t${i - 1}`] : [])).map((t) => [t.id, t]),
    );
    expect(findCycles(tasks)).toEqual([]);
  });
});

describe('version diff', () => {
  it('marks added, removed and changed tasks (with fields) and edge changes', () => {
    const before = [T('a'), T('b', ['a'], { name: 'B' }), T('c', ['a'])];
    const after = [T('a'), T('b', ['a'], { name: 'B2', retry: { maxAttempts: 2 } }), T('d', ['b'])];
    const d = diffTasks(before, after);
    expect(d.tasks.get('a')?.kind).toBe('same');
    expect(d.tasks.get('b')).toEqual({ id: 'b', kind: 'changed', fields: ['name', 'retry'] });
    expect(d.tasks.get('c')?.kind).toBe('removed');
    expect(d.tasks.get('d')?.kind).toBe('added');
    expect([...d.addedEdges]).toEqual(['b->d']);
    expect([...d.removedEdges]).toEqual(['a->c']);
    expect(diffSummary(d)).toEqual({ added: 1, removed: 1, changed: 1 });
  });
  it('treats a missing and an empty dependency list as equal, and ignores key order', () => {
    const d = diffTasks(
      [{ id: 'a', agentId: 'x', input: { p: 1, q: 2 } }],
      [{ id: 'a', agentId: 'x', dependencies: [], input: { q: 2, p: 1 } }],
    );
    expect(d.tasks.get('a')?.kind).toBe('same');
  });
});

describe('auto-layout', () => {
  it('places every dependency left of its dependents without overlaps', () => {
    const tasks = [T('a'), T('b', ['a']), T('c', ['a']), T('d', ['b', 'c']), T('loose')];
    const pos = layoutTasks(tasks);
    expect(pos.size).toBe(5);
    for (const t of tasks)
      for (const d of t.dependencies ?? []) expect(pos.get(d)!.x + NODE_W).toBeLessThan(pos.get(t.id)!.x);
    const seen = new Set([...pos.values()].map((p) => `${p.x},${p.y}`));
    expect(seen.size).toBe(5);
  });
});

describe('copy and paste', () => {
  it('gives pasted tasks fresh ids and follows dependencies inside the copy', () => {
    const tasks = new Map([T('a'), T('b', ['a']), T('c', ['b'])].map((t) => [t.id, t]));
    const positions = new Map([
      ['a', { x: 0, y: 0 }],
      ['b', { x: 100, y: 0 }],
      ['c', { x: 200, y: 0 }],
    ]);
    const clip = parseClipboard(JSON.stringify(copyTasks(['b', 'c'], tasks, positions)));
    expect(clip?.tasks.length).toBe(2);
    const pasted = pasteTasks(clip!, tasks);
    expect(pasted.map((p) => p.task.id)).toEqual(['b-copy', 'c-copy']);
    expect(pasted[0].task.dependencies).toEqual(['a']);
    expect(pasted[1].task.dependencies).toEqual(['b-copy']);
    expect(pasted[0].position).toEqual({ x: 140, y: 40 });
    expect(parseClipboard('not json')).toBeUndefined();
  });
});

describe('critical path and percentiles', () => {
  it('follows the longest chain of durations', () => {
    const tasks = [T('a'), T('b', ['a']), T('c', ['a']), T('d', ['b', 'c'])];
    const dur: Record<string, number> = { a: 10, b: 50, c: 5, d: 10 };
    expect(criticalPath(tasks, (id) => dur[id])).toEqual({ path: ['a', 'b', 'd'], total: 70 });
  });
  it('computes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile([], 50)).toBeUndefined();
  });
});

describe('workflow file import', () => {
  it('reports malformed YAML with its line number', () => {
    const r = parseWorkflowFile('id: demo\ntasks:\n  - id: a\n    agentId: [x\n', 'demo.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues[0].message).toMatch(/Invalid YAML/);
      expect(r.issues[0].line).toBeGreaterThanOrEqual(4);
    }
  });
  it('reports an unknown dependency on the line of the task', () => {
    const r = parseWorkflowFile(
      'id: demo\ntasks:\n  - id: a\n    agentId: x\n  - id: b\n    agentId: x\n    dependencies: [ghost]\n',
    );
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues).toEqual([{ line: 7, message: "task 'b' dependencies: unknown dependency 'ghost'" }]);
  });
  it('reports bad JSON with a line', () => {
    const r = parseWorkflowFile('{\n  "id": "x",\n  "tasks": [,]\n}', 'x.json');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues[0].line).toBe(3);
  });
  it('accepts the example workflow', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(new URL('../../../examples/data-analysis.yaml', import.meta.url), 'utf8');
    const r = parseWorkflowFile(text, 'data-analysis.yaml');
    expect(r.ok && r.definition.tasks.length).toBe(6);
  });
});
