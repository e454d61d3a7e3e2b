import type { TaskDef } from '../api/types.ts';
import { fmtCost, fmtMs, fmtTime, StatusBadge } from '../ui/bits.tsx';
import type { LiveTask } from './live.ts';

function json(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}

/** Everything about one task of a run: status, prompt, input, output, attempts, errors, model, tokens, cost. */
export function TaskDetail({ id, task, def, onClose, onRerun }: { id: string; task?: LiveTask; def?: TaskDef; onClose(): void; onRerun?: () => void }) {
  const template = (def?.input as { prompt?: unknown } | undefined)?.prompt;
  // The server renders the prompt a started task was sent; before the task starts only its template is known.
  const rendered = typeof task?.prompt === 'string' ? task.prompt : undefined;
  const attempts = Array.isArray(task?.attempts) ? task?.attempts.length : task?.attempts;
  return (
    <aside className="panel" aria-label={`Task ${id}`} data-testid="run-task-panel">
      <header><h2>{id}</h2><button type="button" className="link" onClick={onClose} aria-label="Close task">×</button></header>
      {onRerun && <button type="button" onClick={onRerun} title="A new run that reuses every output upstream of this task">Re-run from here</button>}
      <dl className="facts">
        <dt>Status</dt><dd><StatusBadge status={task?.status ?? 'pending'} /></dd>
        <dt>Agent</dt><dd>{task?.agentId ?? def?.agentId ?? '—'}</dd>
        <dt>Model</dt><dd>{task?.model ?? '—'}</dd>
        <dt>Attempts</dt><dd>{attempts ?? '—'}</dd>
        <dt>Queue wait</dt><dd>{fmtMs(task?.queueWait)}</dd>
        <dt>Duration</dt><dd>{fmtMs(task?.duration ?? (task?.finishedAt && task?.startedAt ? task.finishedAt - task.startedAt : undefined))}</dd>
        <dt>Tokens</dt><dd>{task?.usage ? `${task.usage.inputTokens} in / ${task.usage.outputTokens} out${task.usage.estimated ? ' (estimated)' : ''}` : '—'}</dd>
        <dt>Cost</dt><dd>{fmtCost(task?.cost)}</dd>
        <dt>Started</dt><dd>{fmtTime(task?.startedAt)}</dd>
      </dl>
      {(task?.error || task?.lastError) && (
        <>
          <h3>Error</h3>
          <pre className="error">{task?.error?.message ?? task?.lastError}</pre>
        </>
      )}
      {rendered !== undefined ? (
        <>
          <h3>Prompt (rendered)</h3>
          <pre data-testid="task-prompt" data-rendered="true">{rendered}</pre>
        </>
      ) : (
        <>
          <h3>Prompt (template)</h3>
          <pre data-testid="task-prompt" data-rendered="false">{json(template)}</pre>
        </>
      )}
      {task?.input !== undefined && (<><h3>Input</h3><pre>{json(task.input)}</pre></>)}
      <h3>Output</h3>
      <pre data-testid="task-output">{json(task?.output)}</pre>
    </aside>
  );
}
