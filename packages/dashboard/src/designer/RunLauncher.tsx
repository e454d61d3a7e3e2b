import { useState } from 'react';
import { useApi } from '../auth/session.ts';
import { parseBreakpoints } from '../runs/debug.ts';
import { notifyError } from '../ui/notices.ts';

/** Start a run of the workflow with a JSON input, optionally pausing at breakpoints (the selected tasks by
 *  default). A bad JSON, an unknown task or a refused start keeps what was typed. */
export function RunLauncher({
  workflowId,
  onStarted,
  onClose,
  selected = [],
  taskIds,
}: {
  workflowId: string;
  onStarted(executionId: string): void;
  onClose(): void;
  selected?: string[];
  taskIds?: string[];
}) {
  const api = useApi();
  const [debug, setDebug] = useState(false);
  const [bpText, setBpText] = useState(selected.join(', '));
  const [pauseOnFailure, setPauseOnFailure] = useState(false);
  const [text, setText] = useState('{\n  \n}');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function start() {
    let input: Record<string, unknown>;
    try {
      input = text.trim() ? JSON.parse(text) : {};
      if (!input || typeof input !== 'object' || Array.isArray(input)) throw new Error('the input must be a JSON object');
    } catch (err) {
      setError(`Input is not valid JSON: ${(err as Error).message}`);
      return;
    }
    let breakpoints: Array<{ taskId: string }> = [];
    if (debug) {
      const parsed = parseBreakpoints(bpText, new Set(taskIds ?? bpText.split(/[\s,]+/)));
      if (parsed.unknown.length) {
        setError(`Unknown task for a breakpoint: ${parsed.unknown.join(', ')}`);
        return;
      }
      breakpoints = parsed.breakpoints;
    }
    setBusy(true);
    setError(null);
    try {
      const ex = debug ? await api.startDebugRun(workflowId, input, { breakpoints, pauseOnFailure }) : await api.startExecution(workflowId, input);
      onStarted(ex.executionId);
    } catch (err) {
      notifyError(err, 'Could not start the run');
    } finally {
      setBusy(false);
    }
  }
  return (
    <aside className="panel" aria-label="Run workflow" data-testid="run-panel">
      <header><h2>Run</h2><button type="button" className="link" onClick={onClose} aria-label="Close run panel">×</button></header>
      <label htmlFor="run-input">Input (JSON)</label>
      <textarea id="run-input" rows={8} value={text} onChange={(e) => setText(e.target.value)} />
      <label className="check">
        <input type="checkbox" checked={debug} onChange={(e) => setDebug(e.target.checked)} /> Pause at breakpoints
      </label>
      {debug && (
        <>
          <label htmlFor="run-breakpoints">Breakpoints (task ids)</label>
          <input id="run-breakpoints" value={bpText} onChange={(e) => setBpText(e.target.value)} placeholder="select tasks, or type ids" />
          <label className="check">
            <input type="checkbox" checked={pauseOnFailure} onChange={(e) => setPauseOnFailure(e.target.checked)} /> Pause on failure
          </label>
          <p className="muted small">Breakpoints after a task, or only when an expression holds, are set from the run&apos;s Debug panel.</p>
        </>
      )}
      {error && <div role="alert" className="field-error">{error}</div>}
      <button type="button" onClick={() => void start()} disabled={busy}>{busy ? 'Starting…' : 'Start run'}</button>
    </aside>
  );
}
