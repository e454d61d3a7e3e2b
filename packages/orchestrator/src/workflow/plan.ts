import type { OrchestratorConfig } from '../config.js';
import { CodexError, ErrorCodes, type ErrorIssue } from '../errors.js';
import { type Expr, parseExpression, referencedTasks } from './expression.js';
import { plainCopy } from './load.js';
import { type WorkflowDefinition, workflowSchema } from './schema.js';
import { compileTemplate } from './template.js';
import type { Plan, PlannedTask, RetryPolicy } from './types.js';

export interface PlanOptions {
  limits: OrchestratorConfig['workflow'];
  /** When given, unknown agent ids are validation errors. */
  hasAgent?: (agentId: string) => boolean;
}

const DEFAULT_MAX_ITERATIONS = 100;

function invalid(issues: ErrorIssue[], workflowId?: string): CodexError {
  const head = issues
    .slice(0, 5)
    .map((i) => (i.taskId ? `task "${i.taskId}": ${i.message}` : i.path ? `${i.path}: ${i.message}` : i.message))
    .join('; ');
  const more = issues.length > 5 ? ` (+${issues.length - 5} more)` : '';
  return new CodexError(
    ErrorCodes.WORKFLOW_INVALID,
    `Invalid workflow${workflowId ? ` "${workflowId}"` : ''}: ${head}${more}`,
    { issues },
  );
}

/** Parses and checks a definition (shape, graph, expressions, limits) and compiles it into an executable plan. */
export function planWorkflow(untrusted: unknown, opts: PlanOptions): Plan {
  // Validate (and then run) a plain copy: a Proxy or getter can neither throw past here nor change it afterwards.
  const raw = plainCopy(untrusted, 'workflow', ErrorCodes.WORKFLOW_INVALID);
  const parsed = workflowSchema.safeParse(raw);
  if (!parsed.success) {
    const tasks = (raw as { tasks?: Array<{ id?: unknown }> })?.tasks;
    throw invalid(
      parsed.error.issues.map((i) => {
        const taskIdx = i.path[0] === 'tasks' && typeof i.path[1] === 'number' ? i.path[1] : undefined;
        const tid = taskIdx !== undefined ? tasks?.[taskIdx]?.id : undefined;
        return {
          path: i.path.join('.'),
          taskId: typeof tid === 'string' ? tid : undefined,
          // Inside a named task the message leads with the field; elsewhere `path` already says where.
          message:
            typeof tid === 'string' && i.path.length > 2 ? `${i.path.slice(2).join('.')}: ${i.message}` : i.message,
        };
      }),
      typeof (raw as { id?: unknown })?.id === 'string' ? (raw as { id: string }).id : undefined,
    );
  }
  return compile(parsed.data, opts);
}

function compile(def: WorkflowDefinition, opts: PlanOptions): Plan {
  const { limits } = opts;
  const issues: ErrorIssue[] = [];
  if (limits.enableValidation && def.tasks.length > limits.maxTasks) {
    issues.push({ path: 'tasks', message: `${def.tasks.length} tasks exceed workflow.maxTasks (${limits.maxTasks})` });
  }
  const byId = new Map<string, number>();
  def.tasks.forEach((t, i) => {
    if (byId.has(t.id)) issues.push({ taskId: t.id, message: `duplicate task id "${t.id}"` });
    else byId.set(t.id, i);
  });

  const baseRetry: RetryPolicy = { ...limits.defaultRetry, ...def.defaults?.retry };
  const tasks: PlannedTask[] = def.tasks.map((t, index) => {
    const deps: number[] = [];
    for (const d of t.dependencies ?? []) {
      const j = byId.get(d);
      if (d === t.id) issues.push({ taskId: t.id, message: 'depends on itself' });
      else if (j === undefined) issues.push({ taskId: t.id, message: `unknown dependency "${d}"` });
      else if (!deps.includes(j)) deps.push(j);
    }
    if (opts.hasAgent && t.type !== 'approval' && !opts.hasAgent(t.agentId))
      issues.push({ taskId: t.id, message: `unknown agent "${t.agentId}"` });
    const expr = (field: string, src?: string): Expr | undefined => {
      if (src === undefined) return undefined;
      try {
        return parseExpression(src, limits.expressionLimits);
      } catch (err) {
        issues.push({ taskId: t.id, path: field, message: `${field}: ${(err as Error).message}` });
        return undefined;
      }
    };
    let prompt: PlannedTask['prompt'] = '';
    let templatedParams = false;
    const refs = new Set<string>();
    // Every string in `input` may hold templates: compile them (syntax errors name the field) and collect the
    // upstream outputs they read.
    const scan = (v: unknown, path: string): void => {
      if (typeof v === 'string') {
        if (!v.includes('{{')) return;
        try {
          const tpl = compileTemplate(v, limits.expressionLimits);
          if (typeof tpl !== 'string') for (const r of tpl.refs) refs.add(r);
          if (path === 'input.prompt') prompt = tpl;
          else templatedParams = true;
        } catch (err) {
          issues.push({ taskId: t.id, path, message: `${path}: ${(err as Error).message}` });
        }
      } else if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) scan(v[i], `${path}[${i}]`);
      } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) scan(x, `${path}.${k}`);
    };
    for (const [k, v] of Object.entries(t.input ?? {})) {
      if (k === 'prompt' && typeof v !== 'string')
        issues.push({ taskId: t.id, path: 'input.prompt', message: 'input.prompt must be a string' });
      if (k === 'prompt' && typeof v === 'string' && !v.includes('{{')) prompt = v;
      scan(v, `input.${k}`);
    }
    if (t.maxIterations !== undefined && !t.while && !t.forEach) {
      issues.push({ taskId: t.id, message: 'maxIterations needs a while or forEach loop' });
    }
    return {
      index,
      id: t.id,
      def: t,
      deps,
      dependents: [],
      when: expr('when', t.when),
      forEach: expr('forEach', t.forEach),
      whileCond: expr('while', t.while),
      refs,
      reads: [],
      maxIterations: t.maxIterations ?? DEFAULT_MAX_ITERATIONS,
      prompt,
      templatedParams,
      retry: { ...baseRetry, ...t.retry },
      timeoutMs: t.timeoutMs ?? def.defaults?.timeoutMs ?? limits.defaultTimeout,
      onError: t.onError ?? 'fail',
    };
  });
  for (const t of tasks) for (const d of t.deps) tasks[d].dependents.push(t.index);
  for (const t of tasks) {
    for (const e of [t.when, t.forEach, t.whileCond]) if (e) referencedTasks(e, t.refs);
    const named = [...t.refs].map((r) => byId.get(r)).filter((j): j is number => j !== undefined && j !== t.index);
    t.reads = named.length > 0 ? named : t.deps;
  }

  const cycle = findCycle(tasks);
  if (cycle) issues.push({ taskId: cycle[0], message: `dependency cycle: ${cycle.join(' -> ')}` });

  let depth = 0;
  if (!cycle) {
    const ancestors = ancestorSets(tasks);
    depth = longestPath(tasks);
    if (limits.enableValidation && depth > limits.maxDepth) {
      issues.push({
        path: 'tasks',
        message: `dependency depth ${depth} exceeds workflow.maxDepth (${limits.maxDepth})`,
      });
    }
    checkFallbacks(tasks, byId, ancestors, issues);
    checkTemplateRefs(tasks, byId, ancestors, issues);
  }
  if (issues.length > 0) throw invalid(issues, def.id);
  const roots = tasks.filter((t) => t.deps.length === 0 && t.fallbackFor === undefined).map((t) => t.index);
  return { def, tasks, byId, roots, depth };
}

/** Iterative DFS (no recursion limit on 10 000-task chains); returns the cycle's task ids, closed. */
function findCycle(tasks: PlannedTask[]): string[] | undefined {
  const state = new Uint8Array(tasks.length); // 0 new, 1 on stack, 2 done
  const parent = new Int32Array(tasks.length).fill(-1);
  for (let s = 0; s < tasks.length; s++) {
    if (state[s]) continue;
    const stack: Array<[number, number]> = [[s, 0]];
    state[s] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [n, i] = top;
      if (i < tasks[n].deps.length) {
        top[1]++;
        const d = tasks[n].deps[i];
        if (state[d] === 1) {
          const path = [tasks[d].id];
          for (let x = n; x !== d && x >= 0; x = parent[x]) path.push(tasks[x].id);
          path.push(tasks[d].id);
          return path.reverse();
        }
        if (state[d] === 0) {
          state[d] = 1;
          parent[d] = n;
          stack.push([d, 0]);
        }
      } else {
        state[n] = 2;
        stack.pop();
      }
    }
  }
  return undefined;
}

function topoOrder(tasks: PlannedTask[]): number[] {
  const indeg = tasks.map((t) => t.deps.length);
  const order: number[] = [];
  const q = tasks.filter((t) => t.deps.length === 0).map((t) => t.index);
  while (q.length) {
    const n = q.pop()!;
    order.push(n);
    for (const m of tasks[n].dependents) if (--indeg[m] === 0) q.push(m);
  }
  return order;
}

/** Number of tasks on the longest dependency chain. */
function longestPath(tasks: PlannedTask[]): number {
  const len = new Int32Array(tasks.length);
  let max = 0;
  for (const n of topoOrder(tasks)) {
    let l = 1;
    for (const d of tasks[n].deps) l = Math.max(l, len[d] + 1);
    len[n] = l;
    if (l > max) max = l;
  }
  return max;
}

/** Transitive ancestors per task, computed only for tasks that need the check (templates, fallbacks). */
function ancestorSets(tasks: PlannedTask[]): (i: number) => Set<number> {
  const memo = new Map<number, Set<number>>();
  return (i) => {
    let s = memo.get(i);
    if (s) return s;
    s = new Set();
    const stack = [...tasks[i].deps];
    while (stack.length) {
      const n = stack.pop()!;
      if (s.has(n)) continue;
      s.add(n);
      stack.push(...tasks[n].deps);
    }
    memo.set(i, s);
    return s;
  };
}

function checkFallbacks(
  tasks: PlannedTask[],
  byId: Map<string, number>,
  ancestors: (i: number) => Set<number>,
  issues: ErrorIssue[],
): void {
  for (const t of tasks) {
    if (typeof t.onError !== 'object') continue;
    const f = byId.get(t.onError.fallback);
    if (f === undefined) {
      issues.push({ taskId: t.id, message: `unknown fallback task "${t.onError.fallback}"` });
      continue;
    }
    if (f === t.index) {
      issues.push({ taskId: t.id, message: 'a task cannot be its own fallback' });
      continue;
    }
    const fb = tasks[f];
    if (typeof fb.onError === 'object') {
      issues.push({ taskId: fb.id, message: 'a fallback task cannot have a fallback of its own' });
      continue;
    }
    if (fb.fallbackFor !== undefined) {
      issues.push({ taskId: fb.id, message: `is already the fallback of "${tasks[fb.fallbackFor].id}"` });
      continue;
    }
    if (fb.dependents.length > 0) {
      issues.push({
        taskId: fb.id,
        message: 'a fallback task cannot have dependents; depend on the task it stands in for',
      });
      continue;
    }
    const anc = ancestors(t.index);
    const bad = fb.deps.filter((d) => !anc.has(d));
    if (bad.length) {
      issues.push({
        taskId: fb.id,
        message: `fallback depends on ${bad.map((d) => `"${tasks[d].id}"`).join(', ')}, which "${t.id}" does not depend on`,
      });
      continue;
    }
    fb.fallbackFor = t.index;
    t.fallback = f;
  }
}

function checkTemplateRefs(
  tasks: PlannedTask[],
  byId: Map<string, number>,
  ancestors: (i: number) => Set<number>,
  issues: ErrorIssue[],
): void {
  for (const t of tasks) {
    const refs = t.refs;
    for (const r of refs) {
      const j = byId.get(r);
      if (j === undefined) issues.push({ taskId: t.id, message: `references unknown task "${r}"` });
      else if (j !== t.index && !ancestors(t.index).has(j)) {
        issues.push({ taskId: t.id, message: `references "${r}", which is not among its dependencies` });
      }
    }
  }
}
