import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { TaskDef } from '../api/types.ts';
import { useApi } from '../auth/session.ts';
import { ErrorBox, fmtTime } from '../ui/bits.tsx';
import { notifyError, notifyInfo } from '../ui/notices.ts';

// Versions: save the live document as a named version, list them, diff any two (or one against the live
// document) on the graph, and restore one into the live document.

export type VersionRef = number | 'live';

interface Props {
  workflowId: string;
  readOnly: boolean;
  liveTasks: () => TaskDef[];
  onDiff(a: { ref: VersionRef; tasks: TaskDef[] }, b: { ref: VersionRef; tasks: TaskDef[] }): void;
  onRestore(version: number, tasks: TaskDef[]): void;
  onClose(): void;
}

export function VersionsPanel(p: Props) {
  const api = useApi();
  const qc = useQueryClient();
  const versions = useQuery({ queryKey: ['versions', p.workflowId], queryFn: () => api.listVersions(p.workflowId) });
  const [message, setMessage] = useState('');
  const [a, setA] = useState<VersionRef | ''>('');
  const [b, setB] = useState<VersionRef>('live');
  const [busy, setBusy] = useState(false);

  const load = async (ref: VersionRef): Promise<TaskDef[]> => (ref === 'live' ? p.liveTasks() : (await api.getVersion(p.workflowId, ref)).definition.tasks);

  async function save() {
    setBusy(true);
    try {
      const v = await api.saveVersion(p.workflowId, message.trim() || 'Saved from the designer');
      setMessage('');
      notifyInfo(`Saved version ${v.version}`);
      await qc.invalidateQueries({ queryKey: ['versions', p.workflowId] });
    } catch (err) {
      notifyError(err, 'Could not save the version (your edits are still in the document)');
    } finally {
      setBusy(false);
    }
  }

  async function diff() {
    if (a === '') return;
    setBusy(true);
    try {
      const [ta, tb] = await Promise.all([load(a), load(b)]);
      p.onDiff({ ref: a, tasks: ta }, { ref: b, tasks: tb });
    } catch (err) {
      notifyError(err, 'Could not load the versions to compare');
    } finally {
      setBusy(false);
    }
  }

  async function restore(v: number) {
    if (!window.confirm(`Replace the live workflow with version ${v}? (Undo brings your current state back.)`)) return;
    try {
      p.onRestore(v, (await api.getVersion(p.workflowId, v)).definition.tasks);
    } catch (err) {
      notifyError(err, 'Could not restore');
    }
  }

  const items = versions.data?.items ?? [];
  const opt = (v: VersionRef) => (v === 'live' ? 'live document' : `v${v}`);
  return (
    <aside className="panel" aria-label="Versions" data-testid="versions-panel">
      <header>
        <h2>Versions</h2>
        <button type="button" className="link" onClick={p.onClose} aria-label="Close versions">×</button>
      </header>
      {!p.readOnly && (
        <form className="stack" onSubmit={(e) => { e.preventDefault(); void save(); }}>
          <label htmlFor="version-message">Save the current state as a version</label>
          <input id="version-message" placeholder="What changed?" value={message} onChange={(e) => setMessage(e.target.value)} />
          <button type="submit" disabled={busy}>Save version</button>
        </form>
      )}
      <div className="stack">
        <span className="label">Compare on the graph</span>
        <div className="row">
          <select aria-label="Compare from" value={String(a)} onChange={(e) => setA(e.target.value === '' ? '' : e.target.value === 'live' ? 'live' : Number(e.target.value))}>
            <option value="">choose…</option>
            {items.map((v) => <option key={v.version} value={v.version}>{opt(v.version)}</option>)}
          </select>
          <span>→</span>
          <select aria-label="Compare to" value={String(b)} onChange={(e) => setB(e.target.value === 'live' ? 'live' : Number(e.target.value))}>
            <option value="live">live document</option>
            {items.map((v) => <option key={v.version} value={v.version}>{opt(v.version)}</option>)}
          </select>
          <button type="button" disabled={a === '' || busy} onClick={() => void diff()}>Diff</button>
        </div>
      </div>
      {versions.error ? <ErrorBox error={versions.error} retry={() => void versions.refetch()} /> : null}
      <ol className="versions" reversed>
        {items.map((v) => (
          <li key={v.version} data-testid={`version-${v.version}`}>
            <div><strong>v{v.version}</strong> {v.message && <span>— {v.message}</span>}</div>
            <div className="muted small">{v.author ?? 'unknown'} · {fmtTime(v.createdAt)}</div>
            {!p.readOnly && <button type="button" className="link" onClick={() => void restore(v.version)}>Restore v{v.version}</button>}
          </li>
        ))}
        {!versions.isLoading && items.length === 0 && <li className="muted">No versions yet.</li>}
      </ol>
    </aside>
  );
}
