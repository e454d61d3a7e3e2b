import { useMemo, useState } from 'react';
import type { ApiClient } from '../api/client.ts';
import { describeError } from '../api/client.ts';
import type { Breakpoint } from '../api/types.ts';
import { describeBreakpoint, sameBreakpoint } from './debug.ts';

interface Props {
  api: ApiClient;
  executionId: string;
  breakpoints: Breakpoint[];
  taskIds: string[];
  pauseOnFailure: boolean;
  canAct: boolean;
  onChanged(): void;
}

/** A run's breakpoints: before or after a task, optionally only when an expression holds. The server checks the
 *  expression; its refusal is shown next to the field and what was typed is kept. */
export function BreakpointEditor({ api, executionId, breakpoints, taskIds, pauseOnFailure, canAct, onChanged }: Props) {
  const [taskId, setTaskId] = useState('');
  const [when, setWhen] = useState<'before' | 'after'>('before');
  const [condition, setCondition] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The same option elements while the task list is the same: a run of 1000 tasks would otherwise rebuild them
  // each time the debugger's state changes.
  const options = useMemo(() => taskIds.map((t) => <option key={t} value={t}>{t}</option>), [taskIds]);

  async function save(next: Breakpoint[]): Promise<boolean> {
    setBusy(true);
    try {
      await api.setBreakpoints(executionId, next);
      setError(null);
      onChanged();
      return true;
    } catch (err) {
      setError(describeError(err));
      return false;
    } finally {
      setBusy(false);
    }
  }
  async function add() {
    const task = taskId || taskIds[0];
    if (!task) return;
    const bp: Breakpoint = { taskId: task, when };
    if (condition.trim()) bp.condition = condition.trim();
    if (await save([...breakpoints.filter((b) => !sameBreakpoint(b, bp)), bp])) setCondition('');
  }

  return (
    <section className="breakpoints" aria-label="Breakpoints">
      <h3>Breakpoints</h3>
      <ul className="small" data-testid="breakpoints">
        {breakpoints.length === 0 && <li className="muted">none</li>}
        {breakpoints.map((b) => (
          <li key={describeBreakpoint(b)} data-testid={`bp-${b.taskId}-${b.when ?? 'before'}`}>
            {describeBreakpoint(b)}
            {canAct && (
              <button type="button" className="link" disabled={busy} aria-label={`Remove breakpoint ${describeBreakpoint(b)}`} onClick={() => void save(breakpoints.filter((x) => x !== b))}>×</button>
            )}
          </li>
        ))}
      </ul>
      <p className="muted small" data-testid="pause-on-failure">Pause on failure: {pauseOnFailure ? 'on' : 'off'}</p>
      {canAct && (
        <div className="bp-form">
          <select aria-label="Breakpoint task" value={taskId || taskIds[0] || ''} onChange={(e) => setTaskId(e.target.value)}>
            {options}
          </select>
          <select aria-label="Breakpoint when" value={when} onChange={(e) => setWhen(e.target.value as 'before' | 'after')}>
            <option value="before">before</option>
            <option value="after">after</option>
          </select>
          <label htmlFor="bp-condition">Only when (expression, optional)</label>
          <input
            id="bp-condition"
            value={condition}
            placeholder="outputs['fetch'].rows < 10"
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'bp-error' : undefined}
            onChange={(e) => setCondition(e.target.value)}
          />
          {error && <div id="bp-error" role="alert" className="field-error" data-testid="bp-error">{error}</div>}
          <button type="button" disabled={busy || taskIds.length === 0} onClick={() => void add()}>Add breakpoint</button>
        </div>
      )}
    </section>
  );
}
