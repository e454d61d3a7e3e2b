import { afterEach, describe, expect, it, vi } from 'vitest';
import * as Y from 'yjs';
import * as M from '../src/designer/mutations.ts';
import { DocProjection, edgesOf, toDefinition } from '../src/designer/projection.ts';

function seeded(): Y.Doc {
  const doc = new Y.Doc();
  M.addTask(doc, { id: 'a', agentId: 'x' }, { x: 0, y: 0 });
  M.addTask(doc, { id: 'b', agentId: 'x', dependencies: ['a'] }, { x: 300, y: 0 });
  M.addTask(doc, { id: 'c', agentId: 'y', dependencies: ['a', 'b'] }, { x: 600, y: 0 });
  return doc;
}

/** Two replicas joined the way the server joins clients: every update applied to the other side. */
function pair(): [Y.Doc, Y.Doc] {
  const a = seeded();
  const b = new Y.Doc();
  Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
  return [a, b];
}

describe('Yjs document → designer graph', () => {
  it('projects tasks, dependencies as edges, positions (plain or Y.Map) and meta', () => {
    const doc = seeded();
    // The server seeds positions through path operations, which store objects as Y.Maps.
    const pos = new Y.Map<unknown>();
    pos.set('x', 5);
    pos.set('y', 7);
    doc.getMap('positions').set('a', pos);
    doc.getMap('meta').set('name', 'Demo');
    const p = new DocProjection(doc);
    expect([...p.current.tasks.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(p.current.positions.get('a')).toEqual({ x: 5, y: 7 });
    expect(p.current.positions.get('b')).toEqual({ x: 300, y: 0 });
    expect(
      edgesOf(p.current.tasks)
        .map((e) => e.id)
        .sort(),
    ).toEqual(['a->b', 'a->c', 'b->c']);
    expect(toDefinition(p.current, 'wf')).toMatchObject({
      id: 'wf',
      name: 'Demo',
      tasks: [{ id: 'a' }, { id: 'b' }, { id: 'c' }],
    });
  });

  describe('with remote batching', () => {
    afterEach(() => vi.unstubAllGlobals());
    it('renders a burst of remote changes once per frame, and the user’s own change at once', () => {
      const frames: Array<() => void> = [];
      vi.stubGlobal('requestAnimationFrame', (cb: () => void) => frames.push(cb));
      const [a, b] = pair();
      const p = new DocProjection(b, true);
      const seen: string[] = [];
      p.subscribe((m) => seen.push(String(m.tasks.get('a')?.name)));
      for (const name of ['r1', 'r2', 'r3']) {
        const before = Y.encodeStateVector(b);
        M.setTaskField(a, 'a', ['name'], name);
        Y.applyUpdate(b, Y.encodeStateAsUpdate(a, before), 'remote');
      }
      expect(seen).toEqual([]); // three remote edits, none rendered yet
      expect(frames).toHaveLength(1);
      frames.shift()?.();
      expect(seen).toEqual(['r3']);
      M.setTaskField(b, 'b', ['name'], 'mine');
      expect(seen).toEqual(['r3', 'r3']); // a local edit is not held for a frame
      expect(p.current.tasks.get('b')?.name).toBe('mine');
      expect(frames).toHaveLength(0);
    });
  });

  it('re-reads only the task a change touched (others keep their identity)', () => {
    const doc = seeded();
    const p = new DocProjection(doc);
    const before = p.current;
    let emitted = 0;
    p.subscribe(() => emitted++);
    M.setTaskField(doc, 'b', ['retry', 'maxAttempts'], 3);
    const after = p.current;
    expect(emitted).toBe(1);
    expect(after.tasks.get('a')).toBe(before.tasks.get('a'));
    expect(after.tasks.get('c')).toBe(before.tasks.get('c'));
    expect(after.tasks.get('b')).not.toBe(before.tasks.get('b'));
    expect(after.tasks.get('b')?.retry).toEqual({ maxAttempts: 3 });
    M.deleteTasks(doc, ['a']);
    expect(p.current.tasks.has('a')).toBe(false);
    expect(p.current.positions.has('a')).toBe(false);
    expect(p.current.tasks.get('c')?.dependencies).toEqual(['b']);
  });

  it('applies a remote edit from the changed keys only: other tasks keep their objects, published maps stay as they were', () => {
    const [a, b] = pair();
    const p = new DocProjection(b);
    const before = p.current;
    const beforeTasks = new Map(before.tasks);
    const sync = () => Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), 'remote');
    M.setTaskField(a, 'c', ['name'], 'edited elsewhere');
    sync();
    const after = p.current;
    expect(after.tasks).not.toBe(before.tasks);
    expect(after.tasks.get('a')).toBe(before.tasks.get('a'));
    expect(after.tasks.get('b')).toBe(before.tasks.get('b'));
    expect(after.tasks.get('c')?.name).toBe('edited elsewhere');
    // The map React rendered from is never mutated in place (copy-on-write per flush).
    expect([...before.tasks]).toEqual([...beforeTasks]);
    expect(before.tasks.get('c')?.name).toBeUndefined();
    // A remote move touches positions only: the tasks map (so edges and validation) is the same object.
    M.moveTasks(a, [{ id: 'b', position: { x: 1, y: 2 } }]);
    sync();
    expect(p.current.tasks).toBe(after.tasks);
    expect(p.current.positions.get('b')).toEqual({ x: 1, y: 2 });
    expect(p.current.positions.get('a')).toBe(after.positions.get('a'));
  });

  it('keeps both of two concurrent edits to different fields of one task', () => {
    const [a, b] = pair();
    // Focusing a retry field prepares the nested map before anyone types (see ensureMap).
    M.ensureMap(a, 'b', ['retry']);
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    M.setTaskField(a, 'b', ['name'], 'Renamed by A');
    M.setTaskField(b, 'b', ['input', 'prompt'], 'Prompt by B');
    M.setTaskField(b, 'b', ['retry', 'maxAttempts'], 4);
    M.setTaskField(a, 'b', ['retry', 'initialDelayMs'], 100);
    const ua = Y.encodeStateAsUpdate(a);
    const ub = Y.encodeStateAsUpdate(b);
    Y.applyUpdate(a, ub);
    Y.applyUpdate(b, ua);
    for (const d of [a, b]) {
      const t = new DocProjection(d).current.tasks.get('b');
      expect(t).toMatchObject({
        name: 'Renamed by A',
        input: { prompt: 'Prompt by B' },
        retry: { maxAttempts: 4, initialDelayMs: 100 },
      });
    }
  });

  it('merges concurrent connects to one task without losing either', () => {
    const [a, b] = pair();
    M.addTask(a, { id: 'd', agentId: 'x' }, { x: 0, y: 200 });
    M.addTask(b, { id: 'e', agentId: 'x' }, { x: 0, y: 300 });
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
    expect(M.connect(a, 'd', 'c')).toBe('ok');
    expect(M.connect(b, 'e', 'c')).toBe('ok');
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b));
    for (const d of [a, b])
      expect(new DocProjection(d).current.tasks.get('c')?.dependencies?.slice().sort()).toEqual(['a', 'b', 'd', 'e']);
  });
});

describe('designer edits', () => {
  it('refuses a connection that would close a cycle, and duplicates', () => {
    const doc = seeded();
    expect(M.connect(doc, 'c', 'a')).toBe('cycle');
    expect(M.connect(doc, 'a', 'a')).toBe('cycle');
    expect(M.connect(doc, 'a', 'b')).toBe('exists');
    expect(M.connect(doc, 'zz', 'b')).toBe('missing');
    expect(M.disconnect(doc, 'a', 'c')).toBe(true);
    expect(new DocProjection(doc).current.tasks.get('c')?.dependencies).toEqual(['b']);
  });

  it('renames a task and rewrites the dependencies that point at it', () => {
    const doc = seeded();
    expect(M.renameTask(doc, 'a', 'start')).toBe(true);
    const m = new DocProjection(doc).current;
    expect(m.tasks.has('a')).toBe(false);
    expect(m.tasks.get('start')?.id).toBe('start');
    expect(m.positions.get('start')).toEqual({ x: 0, y: 0 });
    expect(m.tasks.get('c')?.dependencies).toEqual(['start', 'b']);
    expect(M.renameTask(doc, 'b', 'c')).toBe(false);
  });

  it('undo takes back only this user\u2019s edits, not a remote one', () => {
    const [a, b] = pair();
    const undo = new Y.UndoManager([a.getMap('tasks'), a.getMap('positions')], {
      trackedOrigins: new Set([M.LOCAL_ORIGIN]),
      captureTimeout: 0,
    });
    M.setTaskField(a, 'a', ['name'], 'mine');
    M.setTaskField(b, 'b', ['name'], 'theirs');
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b), 'remote');
    expect(undo.undoStack.length).toBe(1);
    undo.undo();
    const m = new DocProjection(a).current;
    expect(m.tasks.get('a')?.name).toBeUndefined();
    expect(m.tasks.get('b')?.name).toBe('theirs');
    undo.redo();
    expect(new DocProjection(a).current.tasks.get('a')?.name).toBe('mine');
  });

  it('setting a field to empty removes it (an emptied nested object stays, shared)', () => {
    const doc = seeded();
    M.setTaskField(doc, 'a', ['retry', 'maxAttempts'], 2);
    M.setTaskField(doc, 'a', ['retry', 'maxAttempts'], undefined);
    M.setTaskField(doc, 'a', ['when'], 'x > 1');
    M.setTaskField(doc, 'a', ['when'], '');
    const a = new DocProjection(doc).current.tasks.get('a');
    expect(a?.retry).toEqual({});
    expect(a && 'when' in a).toBe(false);
  });

  it('ensureMap is not an undoable edit', () => {
    const doc = seeded();
    const undo = new Y.UndoManager([doc.getMap('tasks')], { trackedOrigins: new Set([M.LOCAL_ORIGIN]) });
    M.ensureMap(doc, 'a', ['model']);
    expect(undo.undoStack.length).toBe(0);
    expect(new DocProjection(doc).current.tasks.get('a')?.model).toEqual({});
  });

  it('freshId picks the next free id', () => {
    expect(M.freshId('task', new Set(['task', 'task-2']))).toBe('task-3');
    expect(M.freshId('my task!', new Set())).toBe('my-task-');
  });
});
