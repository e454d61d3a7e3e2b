import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router';
import { criticalPath } from '../analytics/criticalPath.ts';
import type { TaskDef } from '../api/types.ts';
import { useApi } from '../auth/session.ts';
import { ErrorBox, fmtCost, fmtMs, fmtTime, StatusBadge } from '../ui/bits.tsx';
import { notifyError, notifyInfo } from '../ui/notices.ts';
import { Gantt } from './Gantt.tsx';
import { fromRecord, type LiveTask, statusCounts } from './live.ts';
import { RunGraph } from './RunGraph.tsx';
import { TaskDetail } from './TaskDetail.tsx';
import { useLiveRun } from './useLiveRun.ts';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

export function RunPage() {
  const { id = '' } = useParams();
  const api = useApi();
  const detail = useQuery({ queryKey: ['execution', id], queryFn: () => api.getExecution(id), retry: false });
  const profile = useQuery({
    queryKey: ['profile', id],
    queryFn: () => api.executionProfile(id),
    enabled: TERMINAL.has(detail.data?.status ?? ''),
    retry: false,
  });
  const { run, connected, ended } = useLiveRun(api, id, () => {
    void detail.refetch();
    void profile.refetch();
  });
  const wfId = detail.data?.workflowId ?? run.workflowId;
  const version = detail.data?.version ?? undefined;
  const wf = useQuery({ queryKey: ['workflow', wfId, version], queryFn: () => api.getWorkflow(wfId as string, version), enabled: !!wfId, retry: false });
  const [selected, setSelected] = useState<string | null>(null);
  const [tab, setTab] = useState<'graph' | 'timeline'>('graph');

  const status = TERMINAL.has(detail.data?.status ?? '') ? (detail.data?.status as string) : run.status !== 'pending' ? run.status : (detail.data?.status ?? 'pending');
  const tasks = useMemo(() => {
    const fromApi = detail.data ? fromRecord(detail.data).tasks : new Map<string, LiveTask>();
    const out = new Map<string, LiveTask>(fromApi);
    const apiWins = TERMINAL.has(detail.data?.status ?? '');
    for (const [k, v] of run.tasks) out.set(k, apiWins ? { ...v, ...fromApi.get(k) } : { ...fromApi.get(k), ...v });
    return out;
  }, [detail.data, run.tasks]);
  const defs: TaskDef[] = useMemo(
    () => wf.data?.definition.tasks ?? run.dag?.map((t) => ({ id: t.id, agentId: t.agentId, dependencies: t.dependencies })) ?? [...tasks.keys()].map((t) => ({ id: t, agentId: '' })),
    [wf.data, run.dag, tasks],
  );
  const statuses = useMemo(() => new Map([...defs.map((d) => [d.id, 'pending'] as [string, string]), ...[...tasks].map(([k, v]) => [k, v.status] as [string, string])]), [defs, tasks]);
  const critical = useMemo(() => {
    if (!TERMINAL.has(status)) return undefined;
    const steps = profile.data?.criticalPath?.steps;
    if (steps?.length) return new Set(steps.map((s) => s.taskId));
    return new Set(criticalPath(defs, (t) => tasks.get(t)?.duration).path);
  }, [status, profile.data, defs, tasks]);
  const counts = statusCounts({ ...run, tasks });
  const viewRun = useMemo(() => ({ ...run, tasks, startedAt: detail.data?.startedAt ?? run.startedAt }), [run, tasks, detail.data]);

  async function cancel() {
    try {
      await api.cancelExecution(id);
      notifyInfo('Cancel requested');
    } catch (err) {
      notifyError(err, 'Cancel failed');
    }
  }
  async function resume() {
    try {
      await api.resumeExecution(id);
      notifyInfo('Resumed');
      window.location.reload();
    } catch (err) {
      notifyError(err, 'Resume failed');
    }
  }

  if (detail.error) return <div className="page"><ErrorBox error={detail.error} retry={() => void detail.refetch()} /><Link to="/runs">Back to runs</Link></div>;
  const cost = detail.data?.cost ?? run.cost;
  return (
    <div className="designer">
      <header className="toolbar">
        <Link to="/runs" className="link">← Runs</Link>
        <h1>{wfId ? <Link to={`/workflows/${encodeURIComponent(wfId)}`}>{wf.data?.name ?? wfId}</Link> : '…'} <span className="muted small">{id}</span></h1>
        <StatusBadge status={status} />
        <span className="muted small" data-testid="live-state" data-changes={run.changes}>{ended || TERMINAL.has(status) ? 'finished' : connected ? 'live' : 'connecting…'}</span>
        <span className="counts" data-testid="counts">
          {Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => <span key={k} className={`badge status-${k}`}>{k} {n}</span>)}
        </span>
        <span>cost <strong data-testid="run-cost">{fmtCost(cost)}</strong></span>
        <span>{fmtMs(detail.data?.durationMs)}</span>
        <div className="tools">
          <button type="button" aria-pressed={tab === 'graph'} onClick={() => setTab('graph')}>Graph</button>
          <button type="button" aria-pressed={tab === 'timeline'} onClick={() => setTab('timeline')}>Timeline</button>
          {status === 'running' && <button type="button" onClick={() => void cancel()}>Cancel</button>}
          {(status === 'failed' || status === 'cancelled') && <button type="button" onClick={() => void resume()}>Resume</button>}
        </div>
      </header>
      {run.error && <div className="error" role="alert">{run.error}</div>}
      <div className="designer-body">
        {tab === 'graph' ? (
          <RunGraph tasks={defs} statuses={statuses} critical={critical} selected={selected} onSelect={setSelected} fitKey={String(!!(selected || profile.data))} />
        ) : (
          <div className="canvas scroll"><Gantt run={viewRun} order={defs.map((d) => d.id)} onSelect={setSelected} now={Date.now()} /></div>
        )}
        {selected && <TaskDetail id={selected} task={tasks.get(selected)} def={defs.find((d) => d.id === selected)} onClose={() => setSelected(null)} />}
        {!selected && profile.data && (
          <aside className="panel" aria-label="Run profile">
            <header><h2>Profile</h2></header>
            <dl className="facts">
              <dt>Started</dt><dd>{fmtTime(detail.data?.startedAt)}</dd>
              <dt>Makespan</dt><dd>{fmtMs(profile.data.makespanMs)}</dd>
              <dt>Critical path</dt><dd>{fmtMs(profile.data.criticalPath?.durationMs)} ({profile.data.criticalPath?.steps.length ?? 0} tasks)</dd>
              <dt>Queue wait</dt><dd>{fmtMs(profile.data.totals?.queueWaitMs)}</dd>
              <dt>Parallelism</dt><dd>{profile.data.parallelism ? `${profile.data.parallelism.achievedAvg.toFixed(2)} of ${profile.data.parallelism.possibleAvg.toFixed(2)}` : '—'}</dd>
            </dl>
            {profile.data.bottlenecks?.length ? (<><h3>Bottlenecks</h3><ul>{profile.data.bottlenecks.map((b, i) => <li key={i}>{b.message}</li>)}</ul></>) : null}
            <p className="muted small">Click a task for its prompt, output, attempts and cost.</p>
          </aside>
        )}
      </div>
    </div>
  );
}
