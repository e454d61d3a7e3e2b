import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type ChangeEvent, useRef, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import type { ExecutionSummary, WorkflowDefinition, WorkflowSummary } from '../api/types.ts';
import { useApi, useSession } from '../auth/session.ts';
import { ErrorBox, fmtCost, fmtTime, StatusBadge } from '../ui/bits.tsx';
import { notifyError, notifyInfo } from '../ui/notices.ts';
import type { ImportIssue } from './importFile.ts';

// The YAML parser and the schema checks load with the first import or export, not with the list.
const importer = () => import('./importFile.ts');

function download(name: string, text: string, type: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function WorkflowsPage() {
  const api = useApi();
  const me = useSession((s) => s.me);
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [search, setSearch] = useState('');
  const [importIssues, setImportIssues] = useState<ImportIssue[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [newId, setNewId] = useState('');
  const fileRef = useRef<HTMLInputElement>(null);
  const list = useQuery({ queryKey: ['workflows', search], queryFn: () => api.listWorkflows({ q: search || undefined, limit: 200 }) });
  // Last run per workflow (newest first from the API) and cost per workflow from the analytics.
  const runs = useQuery({ queryKey: ['executions', 'recent'], queryFn: () => api.listExecutions({ limit: 200 }), refetchInterval: 10_000 });
  const costs = useQuery({ queryKey: ['costs', 'all'], queryFn: () => api.costs(), refetchInterval: 15_000 });
  const lastRun = new Map<string, ExecutionSummary>();
  for (const r of runs.data?.items ?? []) if (!lastRun.has(r.workflowId)) lastRun.set(r.workflowId, r);
  const costOf = new Map((costs.data?.byWorkflow ?? []).map((c) => [c.key, c.cost]));

  const create = useMutation({
    mutationFn: (def: WorkflowDefinition) => api.createWorkflow(def),
    onSuccess: (r) => {
      void qc.invalidateQueries({ queryKey: ['workflows'] });
      notifyInfo(`Workflow '${r.workflow.id}' created`);
    },
  });

  async function onFile(e: ChangeEvent<HTMLInputElement>) {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    const text = await file.text();
    const parsed = (await importer()).parseWorkflowFile(text, file.name);
    if (!parsed.ok) {
      setImportIssues(parsed.issues);
      return;
    }
    setImportIssues(null);
    try {
      const r = await api.importWorkflow(text, /\.json$/i.test(file.name) ? 'json' : 'yaml', `Imported from ${file.name}`);
      void qc.invalidateQueries({ queryKey: ['workflows'] });
      notifyInfo(`Imported '${r.workflow.id}' (version ${r.version.version})`);
    } catch (err) {
      const e2 = err as { issues?: Array<{ message: string; line?: number; path?: unknown }>; message?: string };
      setImportIssues([
        { message: e2.message ?? String(err) },
        ...(e2.issues ?? []).map((i) => ({ line: i.line, message: `${i.path ? `${Array.isArray(i.path) ? i.path.join('.') : String(i.path)}: ` : ''}${i.message}` })),
      ]);
    }
  }

  async function onCreate() {
    const id = newId.trim();
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/.test(id)) {
      notifyError(new Error('Use letters, digits and _ . : - for the workflow id'));
      return;
    }
    try {
      await create.mutateAsync({ id, name: id, tasks: [{ id: 'start', agentId: 'assistant', input: { prompt: 'Describe the task' } }] });
      setCreating(false);
      setNewId('');
      navigate(`/workflows/${encodeURIComponent(id)}`);
    } catch (err) {
      notifyError(err, 'Could not create the workflow');
    }
  }

  async function onExport(w: WorkflowSummary, format: 'yaml' | 'json') {
    try {
      const def = (await api.getWorkflow(w.id)).definition;
      if (format === 'yaml') download(`${w.id}.yaml`, (await importer()).toYaml(def), 'application/yaml');
      else download(`${w.id}.json`, JSON.stringify(def, null, 2), 'application/json');
    } catch (err) {
      notifyError(err, 'Export failed');
    }
  }

  async function onDelete(w: WorkflowSummary) {
    if (!window.confirm(`Delete workflow '${w.id}' and its versions?`)) return;
    try {
      await api.deleteWorkflow(w.id);
      void qc.invalidateQueries({ queryKey: ['workflows'] });
    } catch (err) {
      notifyError(err, 'Delete failed');
    }
  }

  const items = list.data?.items ?? [];
  const canCreate = me !== null;
  return (
    <div className="page">
      <header className="page-head">
        <h1>Workflows</h1>
        <input type="search" placeholder="Search workflows" aria-label="Search workflows" value={search} onChange={(e) => setSearch(e.target.value)} />
        {canCreate && (
          <>
            <button type="button" onClick={() => setCreating((v) => !v)}>New workflow</button>
            <button type="button" onClick={() => fileRef.current?.click()}>Import YAML/JSON</button>
            <input ref={fileRef} type="file" accept=".yaml,.yml,.json" hidden data-testid="import-file" onChange={onFile} />
          </>
        )}
      </header>
      {creating && (
        <form className="inline-form" onSubmit={(e) => { e.preventDefault(); void onCreate(); }}>
          <label>Workflow id <input autoFocus value={newId} onChange={(e) => setNewId(e.target.value)} /></label>
          <button type="submit" disabled={create.isPending}>Create</button>
          <button type="button" className="link" onClick={() => setCreating(false)}>Cancel</button>
        </form>
      )}
      {importIssues && (
        <div role="alert" className="error import-errors" data-testid="import-errors">
          <strong>Import failed — nothing was changed.</strong>
          <ul>
            {importIssues.map((i, n) => (
              <li key={n}>{i.line ? `Line ${i.line}${i.column ? `:${i.column}` : ''}: ` : ''}{i.message}</li>
            ))}
          </ul>
          <button type="button" className="link" onClick={() => setImportIssues(null)}>Dismiss</button>
        </div>
      )}
      {list.error ? <ErrorBox error={list.error} retry={() => void list.refetch()} /> : null}
      <table className="grid" aria-label="Workflows">
        <thead>
          <tr><th>Workflow</th><th>Tasks</th><th>Version</th><th>Last run</th><th>Cost</th><th>Updated</th><th /></tr>
        </thead>
        <tbody>
          {items.map((w) => (
            <tr key={w.id} data-testid={`wf-${w.id}`}>
              <td><Link to={`/workflows/${encodeURIComponent(w.id)}`}>{w.name || w.id}</Link><div className="muted small">{w.id}</div></td>
              <td>{w.taskCount ?? '—'}</td>
              <td>{w.version ?? '—'}</td>
              <td>{lastRun.get(w.id) ? <Link to={`/runs/${encodeURIComponent(lastRun.get(w.id)!.executionId)}`}><StatusBadge status={lastRun.get(w.id)!.status} /></Link> : <span className="muted">never run</span>}</td>
              <td>{fmtCost(costOf.get(w.id))}</td>
              <td>{fmtTime(w.updatedAt)}</td>
              <td className="row-actions">
                <button type="button" className="link" onClick={() => void onExport(w, 'yaml')}>YAML</button>
                <button type="button" className="link" onClick={() => void onExport(w, 'json')}>JSON</button>
                {(w.role === 'owner' || me?.role === 'admin') && (
                  <button type="button" className="link danger" onClick={() => void onDelete(w)}>Delete</button>
                )}
              </td>
            </tr>
          ))}
          {!list.isLoading && items.length === 0 && (
            <tr><td colSpan={7} className="muted">No workflows{search ? ` match '${search}'` : ''}.</td></tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
