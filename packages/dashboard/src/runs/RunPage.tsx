import { useQuery } from '@tanstack/react-query';
import { memo, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { canAct as mayAct } from '../approvals/access.ts';
import { criticalPath } from '../analytics/criticalPath.ts';
import type { TaskDef } from '../api/types.ts';
import { useApi, useSession } from '../auth/session.ts';
import { ErrorBox, fmtCost, fmtMs, fmtTime, StatusBadge } from '../ui/bits.tsx';
import { notifyError, notifyInfo } from '../ui/notices.ts';
import { DebugPanel } from './DebugPanel.tsx';
import { debugMarks, mergeDebug, toggleBreakpoint } from './debug.ts';
import { Gantt } from './Gantt.tsx';
import { fromRecord, type LiveTask, statusCounts } from './live.ts';
import { RunGraph } from './RunGraph.tsx';
import { TaskDetail } from './TaskDetail.tsx';
import { useLiveRun } from './useLiveRun.ts';
import { useAfterPaint } from './afterPaint.ts';

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

// Memoised: a link's href is worked out on each render (a look-up over the whole document for a <base>), and the
// page re-renders on every frame of a streaming run.
const RunTitle = memo(function RunTitle({ id, workflowId, name }: { id: string; workflowId?: string; name?: string }) {
  return (
    <>
      <Link to="/runs" className="link">← Runs</Link>
      <h1>{workflowId ? <Link to={`/workflows/${encodeURIComponent(workflowId)}`}>{name ?? workflowId}</Link> : '…'} <span className="muted small">{id}</span></h1>
    </>
  );
});

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
  const navigate = useNavigate();
  const me = useSession((s) => s.me);
  const canAct = mayAct(wf.data?.role, me?.role);
  const debugQ = useQuery({ queryKey: ['debug', id], queryFn: () => api.debugState(id), retry: false });
  const liveDebug = run.debug;
  // A pause, a resume or the end of the run makes the REST debug state (breakpoints, next, edits) stale.
  useEffect(() => {
    if (liveDebug) void debugQ.refetch();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [liveDebug?.pauses, liveDebug?.resumes, liveDebug?.state]);
  const [debugMode, setDebugMode] = useState(false);
  // The rendered prompt of a task comes with the REST detail: fetch it afresh when a task is opened mid-run.
  useEffect(() => {
    if (selected && !TERMINAL.has(detail.data?.status ?? '')) void detail.refetch();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected]);

  const liveStatus = TERMINAL.has(detail.data?.status ?? '') ? (detail.data?.status as string) : run.status !== 'pending' ? run.status : (detail.data?.status ?? 'pending');
  // The end of a run re-lays the page out (panels swap, the critical path is drawn): that waits until the frame
  // showing the last statuses has been painted. The header shows the run's status at once.
  const status = useAfterPaint(liveStatus);
  const fromApi = useMemo(() => (detail.data ? fromRecord(detail.data).tasks : new Map<string, LiveTask>()), [detail.data]);
  // The live state changes every frame while a run streams; a task whose live record and REST record did not
  // change keeps its merged object (remembered per live record), so a frame costs what changed in it.
  const merged = useRef(new WeakMap<LiveTask, { api: LiveTask | undefined; apiWins: boolean; out: LiveTask }>());
  const tasks = useMemo(() => {
    const out = new Map<string, LiveTask>(fromApi);
    const apiWins = TERMINAL.has(detail.data?.status ?? '');
    for (const [k, v] of run.tasks) {
      const api = fromApi.get(k);
      const hit = merged.current.get(v);
      if (hit && hit.api === api && hit.apiWins === apiWins) {
        out.set(k, hit.out);
        continue;
      }
      const m = apiWins ? { ...v, ...api } : { ...api, ...v };
      merged.current.set(v, { api, apiWins, out: m });
      out.set(k, m);
    }
    return out;
  }, [fromApi, detail.data?.status, run.tasks]);
  const defs: TaskDef[] = useMemo(
    () => wf.data?.definition.tasks ?? run.dag?.map((t) => ({ id: t.id, agentId: t.agentId, dependencies: t.dependencies })) ?? [...tasks.keys()].map((t) => ({ id: t, agentId: '' })),
    [wf.data, run.dag, tasks],
  );
  const statuses = useMemo(() => {
    const m = new Map<string, string>();
    for (const d of defs) m.set(d.id, 'pending');
    for (const [k, v] of tasks) m.set(k, v.status);
    return m;
  }, [defs, tasks]);
  const critical = useMemo(() => {
    if (!TERMINAL.has(status)) return undefined;
    const steps = profile.data?.criticalPath?.steps;
    if (steps?.length) return new Set(steps.map((s) => s.taskId));
    return new Set(criticalPath(defs, (t) => tasks.get(t)?.duration).path);
  }, [status, profile.data, defs, tasks]);
  const liveView = useMemo(() => mergeDebug(debugQ.data, liveDebug, liveStatus), [debugQ.data, liveDebug, liveStatus]);
  const pauses = liveDebug?.pauses ?? 0;
  // The debugger (its panel, the graph's marks) follows one painted frame later: a pause, resume or end re-lays
  // the panel out, and the statuses that came with it are painted first.
  const { view: debug, pauseKey } = useAfterPaint(useMemo(() => ({ view: liveView, pauseKey: pauses }), [liveView, pauses]));
  // Stable props: the debugger (a list of every task id) then re-renders when the debug state changes, not on
  // every frame of a streaming run.
  const taskIds = useMemo(() => defs.map((d) => d.id), [defs]);
  const { refetch: refetchDebugQuery } = debugQ;
  const refetchDebug = useCallback(() => void refetchDebugQuery(), [refetchDebugQuery]);
  const hasDebug = debug.state === 'paused' || debug.breakpoints.length > 0;
  useEffect(() => {
    if (hasDebug) setDebugMode(true);
  }, [hasDebug]);
  const marks = useMemo(() => (debugMode ? debugMarks(debug) : undefined), [debugMode, debug]);
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

  async function onNode(taskId: string | null) {
    if (!debugMode || !canAct || TERMINAL.has(status) || !taskId) return setSelected(taskId);
    try {
      await api.setBreakpoints(id, toggleBreakpoint(debug.breakpoints, taskId));
      await debugQ.refetch();
    } catch (err) {
      notifyError(err, 'Breakpoint not set');
    }
  }
  async function rerun(taskId: string) {
    try {
      const r = await api.rerunFrom(id, taskId);
      notifyInfo(`Re-running from ${taskId}`);
      setSelected(null);
      navigate(`/runs/${encodeURIComponent(r.executionId)}`);
    } catch (err) {
      notifyError(err, 'Re-run failed');
    }
  }

  if (detail.error) return <div className="page"><ErrorBox error={detail.error} retry={() => void detail.refetch()} /><Link to="/runs">Back to runs</Link></div>;
  const cost = detail.data?.cost ?? run.cost;
  return (
    <div className="designer">
      <header className="toolbar run-toolbar">
        <RunTitle id={id} workflowId={wfId} name={wf.data?.name} />
        <span data-testid="run-status" data-status={liveStatus}><StatusBadge status={liveStatus} /></span>
        <span className="muted small" data-testid="live-state" data-changes={run.changes}>{ended || TERMINAL.has(liveStatus) ? 'finished' : connected ? 'live' : 'connecting…'}</span>
        <span className="counts" data-testid="counts">
          {Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => <span key={k} className={`badge status-${k}`}>{k} {n}</span>)}
        </span>
        <span>cost <strong data-testid="run-cost">{fmtCost(cost)}</strong></span>
        <span>{fmtMs(detail.data?.durationMs)}</span>
        <div className="tools">
          <button type="button" aria-pressed={tab === 'graph'} onClick={() => setTab('graph')}>Graph</button>
          <button type="button" aria-pressed={tab === 'timeline'} onClick={() => setTab('timeline')}>Timeline</button>
          {!TERMINAL.has(status) && <button type="button" aria-pressed={debugMode} onClick={() => setDebugMode((d) => !d)}>Debug</button>}
          {status === 'running' && <button type="button" onClick={() => void cancel()}>Cancel</button>}
          {(status === 'failed' || status === 'cancelled') && <button type="button" onClick={() => void resume()}>Resume</button>}
        </div>
      </header>
      {run.error && <div className="error" role="alert">{run.error}</div>}
      <div className="designer-body">
        {tab === 'graph' ? (
          <RunGraph tasks={defs} statuses={statuses} critical={critical} marks={marks} selected={selected} onSelect={(t) => void onNode(t)} fitKey={String(!!(selected || profile.data || debugMode))} />
        ) : (
          <div className="canvas scroll"><Gantt run={viewRun} order={taskIds} onSelect={setSelected} now={Date.now()} /></div>
        )}
        {selected && <TaskDetail id={selected} task={tasks.get(selected)} def={defs.find((d) => d.id === selected)} onClose={() => setSelected(null)} onRerun={canAct && TERMINAL.has(status) ? () => void rerun(selected) : undefined} />}
        {!selected && debugMode && !TERMINAL.has(status) && (
          <DebugPanel api={api} executionId={id} view={debug} canAct={canAct} taskIds={taskIds} pauseKey={pauseKey} onChanged={refetchDebug} />
        )}
        {!selected && !(debugMode && !TERMINAL.has(status)) && profile.data && (
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
