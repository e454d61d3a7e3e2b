import { useQuery } from '@tanstack/react-query';
import { memo, useEffect, useState } from 'react';
import type { ApiClient } from '../api/client.ts';
import type { InspectData } from '../api/types.ts';
import { fmtCost } from '../ui/bits.tsx';
import { notifyError, notifyInfo } from '../ui/notices.ts';
import { BreakpointEditor } from './BreakpointEditor.tsx';
import type { DebugView } from './debug.ts';

function show(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}

function modelName(m: InspectData['model']): string {
  if (!m) return '—';
  return typeof m === 'string' ? m : `${m.id}${m.reason ? ` (${m.reason})` : ''}`;
}

interface Props {
  api: ApiClient;
  executionId: string;
  view: DebugView;
  canAct: boolean;
  /** The run's task ids, for the breakpoint editor. */
  taskIds: string[];
  /** Bumps whenever the run pauses again, so the inspected task is fetched afresh. */
  pauseKey: number;
  onChanged(): void;
}

/** The debugger: where the run is paused, the paused task's rendered prompt, input and upstream outputs (editable
 *  for this run only), a pinned output, and Step / Continue / Abort. */
function DebugPanelView({ api, executionId, view, canAct, taskIds, pauseKey, onChanged }: Props) {
  const taskId = view.paused?.taskId ?? view.next[0];
  const paused = view.state === 'paused';
  const inspect = useQuery({
    queryKey: ['inspect', executionId, taskId, pauseKey, view.edits.length],
    queryFn: () => api.inspectTask(executionId, taskId),
    enabled: paused && !!taskId,
    retry: false,
  });
  const data = inspect.data;
  const [prompt, setPrompt] = useState('');
  const [input, setInput] = useState('');
  const [pin, setPin] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setPrompt(show(data?.prompt));
    setInput(show(data?.input));
  }, [data]);

  async function act(label: string, fn: () => Promise<unknown>) {
    setBusy(true);
    try {
      await fn();
      notifyInfo(label);
      onChanged();
    } catch (err) {
      notifyError(err, `${label} failed`);
    } finally {
      setBusy(false);
    }
  }
  function saveEdits() {
    if (!taskId || !data) return;
    const patch: { prompt?: string; input?: Record<string, unknown> } = {};
    if (prompt !== show(data.prompt)) patch.prompt = prompt;
    if (input !== show(data.input)) {
      try {
        const v = JSON.parse(input);
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('the input must be a JSON object');
        patch.input = v;
      } catch (err) {
        notifyError(err, 'Input is not valid JSON');
        return;
      }
    }
    if (!patch.prompt && !patch.input) return;
    void act('Edit saved', () => api.editTask(executionId, taskId, patch));
  }
  function savePin() {
    if (!taskId) return;
    let output: unknown = pin;
    try {
      output = JSON.parse(pin);
    } catch {
      // Plain text is a valid output as it is.
    }
    void act(`Output of ${taskId} pinned`, () => api.pinTask(executionId, taskId, output));
  }

  return (
    <aside className="panel debug-panel" aria-label="Debugger" data-testid="debug-panel" data-state={view.state}>
      <header><h2>Debug</h2><span className="badge" data-testid="debug-state">{view.state}</span></header>
      {view.paused ? (
        <p data-testid="paused-at">
          Paused {view.paused.when ?? 'before'} <strong>{view.paused.taskId ?? '—'}</strong> ({view.paused.reason})
        </p>
      ) : (
        <p className="muted small">{canAct ? 'Click a task to toggle a breakpoint.' : 'Breakpoints are set by editors.'}</p>
      )}
      {canAct && (
        <div className="actions">
          {paused ? (
            <>
              <button type="button" disabled={busy} onClick={() => void act('Stepped', () => api.stepRun(executionId))}>Step</button>
              <button type="button" disabled={busy} onClick={() => void act('Continued', () => api.continueRun(executionId))}>Continue</button>
            </>
          ) : (
            view.state === 'running' && <button type="button" disabled={busy} onClick={() => void act('Pause requested', () => api.pauseRun(executionId))}>Pause</button>
          )}
          {(paused || view.state === 'running' || view.state === 'stepping') && (
            <button type="button" disabled={busy} onClick={() => void act('Aborted', () => api.abortRun(executionId))}>Abort</button>
          )}
        </div>
      )}
      {paused && taskId && (
        <section data-testid="inspect">
          <h3>{taskId}{data?.pinned ? ' (pinned)' : data?.edited ? ' (edited)' : ''}</h3>
          <dl className="facts">
            <dt>Agent</dt><dd>{data?.agentId ?? '—'}</dd>
            <dt>Model</dt><dd data-testid="inspect-model">{modelName(data?.model)}</dd>
            <dt>Est. cost</dt><dd>{fmtCost(data?.estimatedCostUsd)}</dd>
          </dl>
          <label htmlFor="dbg-prompt">Prompt (rendered)</label>
          <textarea id="dbg-prompt" rows={5} value={prompt} readOnly={!canAct} onChange={(e) => setPrompt(e.target.value)} />
          <label htmlFor="dbg-input">Input</label>
          <textarea id="dbg-input" rows={4} value={input} readOnly={!canAct} onChange={(e) => setInput(e.target.value)} />
          {canAct && <button type="button" disabled={busy || !data} onClick={saveEdits}>Save edits</button>}
          <h3>Upstream outputs</h3>
          <pre data-testid="inspect-upstream">{show(data?.upstream) || '—'}</pre>
          {canAct && (
            <>
              <label htmlFor="dbg-pin">Pin output (JSON or text)</label>
              <textarea id="dbg-pin" rows={3} value={pin} onChange={(e) => setPin(e.target.value)} />
              <button type="button" disabled={busy || !pin.trim()} onClick={savePin}>Pin output</button>
            </>
          )}
        </section>
      )}
      <BreakpointEditor api={api} executionId={executionId} breakpoints={view.breakpoints} taskIds={taskIds} pauseOnFailure={view.pauseOnFailure} canAct={canAct} onChanged={onChanged} />
      {view.edits.length > 0 && (
        <>
          <h3>Changes in this run</h3>
          <ul className="small">{view.edits.map((e, i) => <li key={i}>{e.kind}{e.taskId ? ` ${e.taskId}` : ''}{e.by ? ` by ${e.by}` : ''}</li>)}</ul>
        </>
      )}
    </aside>
  );
}

/** The debugger panel (memoised: a streaming run re-renders its page every frame). */
export const DebugPanel = memo(DebugPanelView);
