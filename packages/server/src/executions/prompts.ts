import { evaluate, parseExpression, type StoredExecution } from '@codexos/multi-agent-orchestrator';

// The prompt each started task was sent, rebuilt from what the store recorded: the definition's `input.prompt`
// template rendered with the run's input and the recorded upstream outputs (final once a task's dependencies
// finished), or the prompt a debugger edit put in its place. Loop tasks render per item and are left out.

type Task = { id: string; input?: { prompt?: unknown }; forEach?: unknown; while?: unknown };
const STARTED = new Set(['running', 'completed', 'failed', 'retrying']);

function show(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v) ?? '';
}

function render(src: string, scope: Record<string, unknown>): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    if (open < 0) return out + src.slice(i);
    const close = src.indexOf('}}', open + 2);
    if (close < 0) throw new Error('unclosed template');
    out += src.slice(i, open) + show(evaluate(parseExpression(src.slice(open + 2, close).trim()), scope as never));
    i = close + 2;
  }
  return out;
}

/** Rendered prompts by task id, for the tasks of `stored` that started; a prompt that cannot be rebuilt is absent. */
export function renderedPrompts(stored: StoredExecution): Map<string, string> {
  const out = new Map<string, string>();
  const tasks = (stored.header.definition as { tasks?: Task[] } | undefined)?.tasks;
  if (!Array.isArray(tasks)) return out;
  const overrides =
    (stored.tasks.get('$debug')?.output as { overrides?: Record<string, { prompt?: string }> } | undefined)
      ?.overrides ?? {};
  const outputs: Record<string, unknown> = Object.create(null);
  const views: Record<string, unknown> = Object.create(null);
  for (const t of stored.tasks.values()) {
    if (t.taskKey.startsWith('$') || t.taskKey.includes('#')) continue;
    if (t.output !== undefined || t.status === 'completed') outputs[t.taskKey] = t.output;
    views[t.taskKey] = { output: t.output, status: t.status, error: t.error };
  }
  const workflow = { id: stored.header.workflowId };
  for (const t of tasks) {
    const st = stored.tasks.get(t.id);
    if (!st || !STARTED.has(st.status)) continue;
    const edited = overrides[t.id]?.prompt;
    if (edited !== undefined) {
      out.set(t.id, edited);
      continue;
    }
    const src = t.input?.prompt;
    if (typeof src !== 'string' || t.forEach !== undefined || t.while !== undefined) continue;
    try {
      out.set(t.id, render(src, { input: stored.header.input, outputs, tasks: views, workflow, task: { id: t.id } }));
    } catch {
      // An expression that fails now (a limit, a missing value) leaves the prompt out rather than guessing.
    }
  }
  return out;
}
