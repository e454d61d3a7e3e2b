import * as Y from 'yjs';
import type { TaskDef } from '../api/types.ts';
import type { GraphModel, XY } from './types.ts';

// The designer's graph is a projection of the workflow's Yjs document: `tasks` (id → Y.Map), `positions`
// (id → {x,y}, a plain object or a Y.Map), `meta`. The projector re-reads only the tasks a change touched, so
// unchanged tasks keep their object identity and React can skip them (this matters at 500 tasks).

export function plain(v: unknown): unknown {
  return v instanceof Y.AbstractType ? v.toJSON() : v;
}

export function readPosition(v: unknown): XY | undefined {
  const o = plain(v) as { x?: unknown; y?: unknown } | undefined;
  if (!o || typeof o.x !== 'number' || typeof o.y !== 'number') return undefined;
  return { x: o.x, y: o.y };
}

export function readTask(id: string, v: unknown): TaskDef | undefined {
  const o = plain(v);
  if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
  const t = { ...(o as Record<string, unknown>) } as TaskDef;
  t.id = id;
  if (!Array.isArray(t.dependencies)) t.dependencies = [];
  return t;
}

export class DocProjection {
  private tasks = new Map<string, TaskDef>();
  private positions = new Map<string, XY>();
  private meta: Record<string, unknown> = {};
  private model: GraphModel;
  private readonly listeners = new Set<(m: GraphModel) => void>();
  private readonly tasksMap: Y.Map<unknown>;
  private readonly posMap: Y.Map<unknown>;
  private readonly metaMap: Y.Map<unknown>;

  /** A remote change waits for the next animation frame, so a burst of them renders once. */
  private framePending = false;

  /**
   * `batchRemote`: changes from other clients reach listeners at most once per animation frame (a busy canvas
   * would otherwise re-render for every remote keystroke); the user's own changes always reach them at once.
   */
  constructor(
    readonly doc: Y.Doc,
    private readonly batchRemote = false,
  ) {
    this.tasksMap = doc.getMap('tasks');
    this.posMap = doc.getMap('positions');
    this.metaMap = doc.getMap('meta');
    this.tasksMap.forEach((v, k) => {
      const t = readTask(k, v);
      if (t) this.tasks.set(k, t);
    });
    this.posMap.forEach((v, k) => {
      const p = readPosition(v);
      if (p) this.positions.set(k, p);
    });
    this.meta = this.metaMap.toJSON();
    this.model = this.build();
    this.tasksMap.observeDeep(this.onTasks);
    this.posMap.observeDeep(this.onPositions);
    this.metaMap.observeDeep(this.onMeta);
  }

  get current(): GraphModel {
    return this.model;
  }

  subscribe(fn: (m: GraphModel) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  destroy(): void {
    this.framePending = false;
    this.tasksMap.unobserveDeep(this.onTasks);
    this.posMap.unobserveDeep(this.onPositions);
    this.metaMap.unobserveDeep(this.onMeta);
    this.listeners.clear();
  }

  private build(): GraphModel {
    return { tasks: this.tasks, positions: this.positions, meta: this.meta };
  }

  private emit(local: boolean): void {
    if (local || !this.batchRemote || typeof requestAnimationFrame !== 'function') return this.flush();
    if (this.framePending) return;
    this.framePending = true;
    requestAnimationFrame(() => {
      if (this.framePending) this.flush();
    });
  }

  private flush(): void {
    this.framePending = false;
    this.model = this.build();
    for (const fn of this.listeners) fn(this.model);
  }

  /** The top-level key (task id) each event touched, whether it changed the map itself or something inside. */
  private static touched(events: Array<Y.YEvent<Y.AbstractType<unknown>>>, root: Y.Map<unknown>): Set<string> {
    const ids = new Set<string>();
    for (const e of events) {
      if (e.target === root) for (const k of (e as Y.YMapEvent<unknown>).keysChanged) ids.add(k);
      else if (e.path.length > 0) ids.add(String(e.path[0]));
    }
    return ids;
  }

  // Copy-on-write: the maps handed out in the current model are never mutated; the first change after a flush
  // copies the map once, and further changes before the next flush (a burst of remote edits) update that copy.
  private onTasks = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>) => {
    if (this.tasks === this.model.tasks) this.tasks = new Map(this.tasks);
    for (const id of DocProjection.touched(events, this.tasksMap)) {
      const t = readTask(id, this.tasksMap.get(id));
      if (t) this.tasks.set(id, t);
      else this.tasks.delete(id);
    }
    this.emit(events[0]?.transaction.local ?? true);
  };

  private onPositions = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>) => {
    if (this.positions === this.model.positions) this.positions = new Map(this.positions);
    for (const id of DocProjection.touched(events, this.posMap)) {
      const p = readPosition(this.posMap.get(id));
      if (p) this.positions.set(id, p);
      else this.positions.delete(id);
    }
    this.emit(events[0]?.transaction.local ?? true);
  };

  private onMeta = (events: Array<Y.YEvent<Y.AbstractType<unknown>>>) => {
    this.meta = this.metaMap.toJSON();
    this.emit(events[0]?.transaction.local ?? true);
  };
}

/** Edges as `source→target` pairs: a dependency d of task t is the edge d → t (only when d exists). */
export function edgesOf(tasks: Map<string, TaskDef>): Array<{ id: string; source: string; target: string }> {
  const out: Array<{ id: string; source: string; target: string }> = [];
  for (const t of tasks.values())
    for (const d of t.dependencies ?? []) if (tasks.has(d)) out.push({ id: edgeId(d, t.id), source: d, target: t.id });
  return out;
}

export const edgeId = (source: string, target: string) => `${source}->${target}`;

/** The workflow definition the document describes (tasks in a stable order: by position, then id). */
export function toDefinition(
  model: GraphModel,
  id: string,
): { id: string; name?: string; version?: string | number; tasks: TaskDef[] } {
  const tasks = [...model.tasks.values()].sort((a, b) => a.id.localeCompare(b.id));
  const { name, version } = model.meta as { name?: string; version?: string | number };
  return { id, ...(name ? { name } : {}), ...(version !== undefined ? { version } : {}), tasks };
}
