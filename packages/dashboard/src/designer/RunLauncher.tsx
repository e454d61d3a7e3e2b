import { useState } from 'react';
import { useApi } from '../auth/session.ts';
import { notifyError } from '../ui/notices.ts';

/** Start a run of the workflow with a JSON input. A bad JSON or a refused start keeps what was typed. */
export function RunLauncher({ workflowId, onStarted, onClose }: { workflowId: string; onStarted(executionId: string): void; onClose(): void }) {
  const api = useApi();
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
    setBusy(true);
    setError(null);
    try {
      const ex = await api.startExecution(workflowId, input);
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
      {error && <div role="alert" className="field-error">{error}</div>}
      <button type="button" onClick={() => void start()} disabled={busy}>{busy ? 'Starting…' : 'Start run'}</button>
    </aside>
  );
}
