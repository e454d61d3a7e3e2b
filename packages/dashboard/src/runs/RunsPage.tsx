import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { useApi } from '../auth/session.ts';
import { ErrorBox, fmtMs, fmtTime, StatusBadge } from '../ui/bits.tsx';

const STATUSES = ['', 'running', 'paused', 'waiting', 'interrupted', 'completed', 'failed', 'cancelled', 'pending'];

export function RunsPage() {
  const api = useApi();
  const [workflowId, setWorkflowId] = useState('');
  const [status, setStatus] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useQuery({
    queryKey: ['executions', workflowId, status, cursor],
    queryFn: () => api.listExecutions({ workflowId: workflowId || undefined, status: status || undefined, cursor, limit: 50 }),
    refetchInterval: 5000,
  });
  const wfs = useQuery({ queryKey: ['workflows', ''], queryFn: () => api.listWorkflows({ limit: 200 }) });
  return (
    <div className="page">
      <header className="page-head">
        <h1>Runs</h1>
        <select aria-label="Filter by workflow" value={workflowId} onChange={(e) => { setWorkflowId(e.target.value); setCursors([]); }}>
          <option value="">all workflows</option>
          {(wfs.data?.items ?? []).map((w) => <option key={w.id} value={w.id}>{w.name || w.id}</option>)}
        </select>
        <select aria-label="Filter by status" value={status} onChange={(e) => { setStatus(e.target.value); setCursors([]); }}>
          {STATUSES.map((s) => <option key={s} value={s}>{s || 'any status'}</option>)}
        </select>
      </header>
      {list.error ? <ErrorBox error={list.error} retry={() => void list.refetch()} /> : null}
      <table className="grid" aria-label="Runs">
        <thead><tr><th>Run</th><th>Workflow</th><th>Version</th><th>Status</th><th>Started</th><th>Duration</th><th>By</th></tr></thead>
        <tbody>
          {(list.data?.items ?? []).map((r) => (
            <tr key={r.executionId}>
              <td><Link to={`/runs/${encodeURIComponent(r.executionId)}`}>{r.executionId.slice(0, 12)}</Link></td>
              <td>{r.workflowId}</td>
              <td>{r.version ?? '—'}</td>
              <td><StatusBadge status={r.status} />{r.error ? <div className="muted small">{r.error.message}</div> : null}</td>
              <td>{fmtTime(r.startedAt)}</td>
              <td>{fmtMs(r.durationMs)}</td>
              <td>{r.startedBy ?? '—'}</td>
            </tr>
          ))}
          {!list.isLoading && (list.data?.items.length ?? 0) === 0 && <tr><td colSpan={7} className="muted">No runs yet. Open a workflow and press Run.</td></tr>}
        </tbody>
      </table>
      <div className="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
        <button type="button" disabled={!list.data?.nextCursor} onClick={() => list.data?.nextCursor && setCursors((c) => [...c, list.data!.nextCursor as string])}>Older</button>
      </div>
    </div>
  );
}
