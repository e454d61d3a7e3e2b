import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import type { ApprovalItem, Role } from '../api/types.ts';
import { useApi, useSession } from '../auth/session.ts';
import { ErrorBox, fmtTime } from '../ui/bits.tsx';
import { notifyError, notifyInfo } from '../ui/notices.ts';
import { canDecide } from './access.ts';

/** Every task waiting for a human decision in the workflows this user may see, oldest first. */
export function ApprovalsPage() {
  const api = useApi();
  const me = useSession((s) => s.me);
  const list = useQuery({ queryKey: ['approvals'], queryFn: () => api.listApprovals(), refetchInterval: 3000 });
  const wfs = useQuery({ queryKey: ['workflows', ''], queryFn: () => api.listWorkflows({ limit: 200 }) });
  const roles = new Map<string, Role | undefined>((wfs.data?.items ?? []).map((w) => [w.id, w.role]));
  const items = (list.data?.items ?? []).filter((w) => w.kind === 'approval');
  return (
    <div className="page">
      <header className="page-head"><h1>Approvals</h1><span className="muted">{items.length} waiting</span></header>
      {list.error ? <ErrorBox error={list.error} retry={() => void list.refetch()} /> : null}
      <ul className="approvals" aria-label="Waiting approvals">
        {items.map((w) => (
          <ApprovalRow key={`${w.executionId}/${w.name}`} item={w} allowed={canDecide(w, roles.get(w.workflowId), me?.role)} onDone={() => void list.refetch()} />
        ))}
        {!list.isLoading && items.length === 0 && <li className="muted">Nothing is waiting for a decision.</li>}
      </ul>
    </div>
  );
}

function ApprovalRow({ item, allowed, onDone }: { item: ApprovalItem; allowed: boolean; onDone(): void }) {
  const api = useApi();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  async function decide(d: 'approve' | 'reject') {
    setBusy(true);
    try {
      const r = await api.decideApproval(item.executionId, item.name, d, comment.trim() || undefined);
      notifyInfo(r.recorded ? `${d === 'approve' ? 'Approved' : 'Rejected'} ${item.name}` : 'Already decided');
      onDone();
    } catch (err) {
      notifyError(err, 'The decision was not recorded');
    } finally {
      setBusy(false);
    }
  }
  const key = `${item.executionId}-${item.name}`;
  return (
    <li data-testid={`approval-${item.name}`} data-execution={item.executionId}>
      <div>
        <strong>{item.prompt || item.name}</strong>{' '}
        <span className="muted small">
          {item.workflowId} · task {item.taskId} · run <Link to={`/runs/${encodeURIComponent(item.executionId)}`}>{item.executionId.slice(0, 12)}</Link> · since {fmtTime(item.since)}
          {item.timeoutAt ? ` · times out ${fmtTime(item.timeoutAt)}` : ''}
          {item.roles?.length ? ` · roles: ${item.roles.join(', ')}` : ''}
        </span>
      </div>
      {allowed ? (
        <div className="actions">
          <label htmlFor={`c-${key}`} className="sr-only">Comment</label>
          <input id={`c-${key}`} placeholder="Comment (optional)" aria-label="Comment" value={comment} onChange={(e) => setComment(e.target.value)} />
          <button type="button" disabled={busy} onClick={() => void decide('approve')}>Approve</button>
          <button type="button" disabled={busy} onClick={() => void decide('reject')}>Reject</button>
        </div>
      ) : (
        <div className="muted small" data-testid="approval-readonly">You can see this approval but not decide it.</div>
      )}
    </li>
  );
}
