import * as json1 from 'ot-json1';
import { getJson, getY } from '../paths.js';
import type { ConflictStrategy, Path, StrategyContext, UpdateInput } from '../types.js';

interface HistoryEntry {
  version: number;
  op: json1.JSONOp;
  key: string;
}

const opKey = (userId: string, op: UpdateInput) => `${userId}\u0000${op.id ?? ''}`;

/**
 * JSON operational transformation (ot-json1). Each op is transformed against every op applied after its
 * baseVersion; ties (two sets of one field, inserts at one index) go to the larger (userId, op id), so the
 * winner does not depend on arrival order.
 */
export class OtStrategy implements ConflictStrategy {
  readonly name = 'operational-transform' as const;
  private history: HistoryEntry[] = [];
  /** History older than this many versions is dropped; ops based before it are rebased on the oldest kept. */
  constructor(private readonly maxHistory = 10_000) {}

  resolve(input: UpdateInput, ctx: StrategyContext): UpdateInput[] {
    let op: json1.JSONOp = this.toJson1(input, ctx);
    const key = opKey(ctx.userId, input);
    const base = input.baseVersion ?? ctx.view.version;
    for (const h of this.history) {
      if (h.version <= base) continue;
      op = json1.type.transformNoConflict(op, h.op, key > h.key ? 'left' : 'right');
      if (op == null) return [];
    }
    const prims = fromJson1(op, input, ctx);
    if (prims.length === 0) return [];
    this.history.push({ version: ctx.view.version + 1, op, key });
    if (this.history.length > this.maxHistory) this.history = this.history.slice(-this.maxHistory);
    return prims;
  }

  private toJson1(op: UpdateInput, ctx: StrategyContext): json1.JSONOp {
    const path = op.path as json1.Path;
    const last = path[path.length - 1];
    switch (op.operation.type) {
      case 'delete':
        return json1.removeOp(path);
      case 'move':
        return json1.moveOp(path, [...path.slice(0, -1), op.operation.to ?? 0]);
      case 'insert':
      case 'set':
        if (op.operation.type === 'insert' && typeof last === 'number')
          return json1.insertOp(path, (op.value ?? null) as json1.Doc);
        // a map insert is a set
        return getY(ctx.view.doc, op.path) === undefined
          ? json1.insertOp(path, (op.value ?? null) as json1.Doc)
          : ([...path, { r: true, i: (op.value ?? null) as json1.Doc }] as unknown as json1.JSONOp);
    }
  }
}

interface Component {
  path: Path;
  c: { r?: unknown; i?: unknown; p?: number; d?: number };
}

function walk(op: unknown[], path: Path, out: Component[]): void {
  for (const item of op) {
    if (Array.isArray(item)) walk(item, [...path], out);
    else if (item !== null && typeof item === 'object') out.push({ path: [...path], c: item as Component['c'] });
    else path.push(item as string | number);
  }
}

/** Turn a transformed single-intent json1 op back into primitive path ops. */
function fromJson1(op: json1.JSONOp, input: UpdateInput, ctx: StrategyContext): UpdateInput[] {
  if (op == null) return [];
  const comps: Component[] = [];
  walk(op as unknown[], [], comps);
  const base = { id: input.id, baseVersion: input.baseVersion };
  if (comps.length === 1) {
    const { path, c } = comps[0];
    if (c.r !== undefined && c.i !== undefined) return [{ ...base, operation: { type: 'set' }, path, value: c.i }];
    if (c.r !== undefined) return [{ ...base, operation: { type: 'delete' }, path }];
    if (c.i !== undefined) {
      const t = typeof path[path.length - 1] === 'number' ? 'insert' : 'set';
      return [{ ...base, operation: { type: t }, path, value: c.i }];
    }
  }
  if (comps.length === 2) {
    const pick = comps.find((x) => x.c.p !== undefined);
    const drop = comps.find((x) => x.c.d !== undefined);
    if (pick && drop && typeof pick.path.at(-1) === 'number' && typeof drop.path.at(-1) === 'number') {
      const pp = pick.path.slice(0, -1).join('\u0001');
      if (pp === drop.path.slice(0, -1).join('\u0001')) {
        return [{ ...base, operation: { type: 'move', to: drop.path.at(-1) as number }, path: pick.path }];
      }
    }
  }
  // Anything else (moves across containers): apply the op to the root's JSON and write the changed keys.
  const root = input.path[0];
  const before = (getJson(ctx.view.doc, [root]) ?? {}) as Record<string, unknown>;
  const after = json1.type.apply({ [root]: before } as json1.Doc, op) as Record<string, Record<string, unknown>>;
  const next = after[String(root)] ?? {};
  const out: UpdateInput[] = [];
  for (const k of new Set([...Object.keys(before), ...Object.keys(next)])) {
    if (!(k in next)) out.push({ ...base, operation: { type: 'delete' }, path: [root, k] });
    else if (JSON.stringify(before[k]) !== JSON.stringify(next[k]))
      out.push({ ...base, operation: { type: 'set' }, path: [root, k], value: next[k] });
  }
  return out;
}
