import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { Bar, BarChart, CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { CostRow, TaskDef } from '../api/types.ts';
import { useApi } from '../auth/session.ts';
import { RunGraph } from '../runs/RunGraph.tsx';
import { ErrorBox, fmtCost, fmtMs, fmtTime, Section } from '../ui/bits.tsx';
import { criticalPath, percentile } from './criticalPath.ts';
import { useRefreshOnRuns } from './useWorkflowStream.ts';

const RANGES: Array<[string, number | null]> = [['last hour', 3_600_000], ['last 24 h', 86_400_000], ['last 7 days', 7 * 86_400_000], ['all time', null]];

function CostBars({ rows, label }: { rows: CostRow[]; label: string }) {
  const data = rows.slice(0, 12).map((r) => ({ key: r.key, cost: Number(r.cost.toFixed(6)), calls: r.calls ?? 0 }));
  if (!data.length) return <p className="muted">No cost recorded in this range.</p>;
  return (
    <div>
      <ResponsiveContainer width="100%" height={180}>
        <BarChart data={data} margin={{ left: 8, right: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="key" tick={{ fontSize: 10 }} interval={0} angle={-25} textAnchor="end" height={50} />
          <YAxis tick={{ fontSize: 11 }} width={70} />
          <Tooltip formatter={(v) => fmtCost(Number(v))} />
          <Bar dataKey="cost" fill="#4363d8" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <table className="grid compact" aria-label={`Cost by ${label}`}>
        <thead><tr><th>{label}</th><th>cost</th><th>calls</th><th>tokens in/out</th></tr></thead>
        <tbody>{rows.slice(0, 20).map((r) => <tr key={r.key}><td>{r.key}</td><td>{fmtCost(r.cost)}</td><td>{r.calls ?? '—'}</td><td>{r.inputTokens ?? '—'} / {r.outputTokens ?? '—'}</td></tr>)}</tbody>
      </table>
    </div>
  );
}

export function AnalyticsPage() {
  const api = useApi();
  const [range, setRange] = useState(1);
  const [workflowId, setWorkflowId] = useState('');
  const span = RANGES[range][1];
  const now = useMemo(() => Date.now(), [range, workflowId]); // eslint-disable-line react-hooks/exhaustive-deps
  const from = span ? now - span : undefined;
  useRefreshOnRuns(api, [['costs'], ['cost-series'], ['insights'], ['anomalies'], ['alerts'], ['recent-details']]);
  const wfs = useQuery({ queryKey: ['workflows', ''], queryFn: () => api.listWorkflows({ limit: 200 }) });
  const costs = useQuery({ queryKey: ['costs', from, workflowId], queryFn: () => api.costs({ from, workflowId: workflowId || undefined }) });
  const series = useQuery({
    queryKey: ['cost-series', range, workflowId],
    queryFn: async () => {
      const width = (span ?? 7 * 86_400_000) / 8;
      const start = now - width * 8;
      return Promise.all(
        Array.from({ length: 8 }, async (_, i) => {
          const r = await api.costs({ from: Math.round(start + i * width), to: Math.round(start + (i + 1) * width), workflowId: workflowId || undefined });
          return { at: new Date(start + (i + 1) * width).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }), cost: r.total };
        }),
      );
    },
  });
  const insights = useQuery({ queryKey: ['insights', workflowId], queryFn: () => api.insights({ workflowId: workflowId || undefined }), refetchInterval: 10_000 });
  const anomalies = useQuery({ queryKey: ['anomalies'], queryFn: () => api.anomalies(), refetchInterval: 10_000 });
  const alerts = useQuery({ queryKey: ['alerts'], queryFn: () => api.alerts(), refetchInterval: 10_000 });
  // Latency percentiles and the critical path come from the most recent finished runs.
  const recent = useQuery({
    queryKey: ['recent-details', workflowId],
    queryFn: async () => {
      const page = await api.listExecutions({ workflowId: workflowId || undefined, limit: 20 });
      const done = page.items.filter((r) => r.status === 'completed' || r.status === 'failed');
      return Promise.all(done.map((r) => api.getExecution(r.executionId)));
    },
  });
  const latest = recent.data?.[0];
  const latestWf = useQuery({
    queryKey: ['workflow', latest?.workflowId, latest?.version],
    queryFn: () => api.getWorkflow(latest!.workflowId, latest!.version ?? undefined),
    enabled: !!latest,
    retry: false,
  });
  const latencies = useMemo(() => {
    const byTask = new Map<string, number[]>();
    const byModel = new Map<string, number[]>();
    for (const ex of recent.data ?? [])
      for (const [id, t] of Object.entries(ex.tasks)) {
        if (typeof t.duration !== 'number') continue;
        (byTask.get(id) ?? byTask.set(id, []).get(id)!).push(t.duration);
        if (t.model) (byModel.get(t.model) ?? byModel.set(t.model, []).get(t.model)!).push(t.duration);
      }
    const rows = (m: Map<string, number[]>) =>
      [...m].map(([k, v]) => ({ key: k, n: v.length, p50: percentile(v, 50), p90: percentile(v, 90), p99: percentile(v, 99) })).sort((a, b) => (b.p90 ?? 0) - (a.p90 ?? 0));
    return { task: rows(byTask), model: rows(byModel) };
  }, [recent.data]);
  const defs: TaskDef[] = latestWf.data?.definition.tasks ?? [];
  const crit = useMemo(() => (latest && defs.length ? criticalPath(defs, (id) => latest.tasks[id]?.duration) : null), [latest, defs]);
  const statuses = useMemo(() => new Map(Object.entries(latest?.tasks ?? {}).map(([k, v]) => [k, v.status])), [latest]);
  // One set per critical path, not per render: the graph redraws its edges when this changes.
  const critSet = useMemo(() => new Set(crit?.path ?? []), [crit]);

  const feed = [
    ...(alerts.data?.items ?? []).map((a) => ({ kind: 'alert', ...a })),
    ...(anomalies.data?.items ?? []).map((a) => ({ kind: 'anomaly', ...a })),
    ...(insights.data?.items ?? []).map((a) => ({ kind: 'insight', ...a })),
  ].sort((a, b) => (b.timestamp ?? 0) - (a.timestamp ?? 0));

  return (
    <div className="page analytics">
      <header className="page-head">
        <h1>Analytics</h1>
        <select aria-label="Time range" value={range} onChange={(e) => setRange(Number(e.target.value))}>
          {RANGES.map(([l], i) => <option key={l} value={i}>{l}</option>)}
        </select>
        <select aria-label="Workflow" value={workflowId} onChange={(e) => setWorkflowId(e.target.value)}>
          <option value="">all workflows</option>
          {(wfs.data?.items ?? []).map((w) => <option key={w.id} value={w.id}>{w.name || w.id}</option>)}
        </select>
      </header>
      {costs.error ? <ErrorBox error={costs.error} retry={() => void costs.refetch()} /> : null}
      <div className="kpis">
        <div className="kpi"><span>Total cost</span><strong data-testid="total-cost">{fmtCost(costs.data?.total)}</strong></div>
        <div className="kpi"><span>Model calls</span><strong>{costs.data?.calls ?? '—'}</strong></div>
        <div className="kpi"><span>Tokens in / out</span><strong>{costs.data ? `${costs.data.inputTokens} / ${costs.data.outputTokens}` : '—'}</strong></div>
      </div>
      <div className="cards">
        <Section title="Cost over time">
          {series.data ? (
            <ResponsiveContainer width="100%" height={180}>
              <LineChart data={series.data}><CartesianGrid strokeDasharray="3 3" /><XAxis dataKey="at" tick={{ fontSize: 11 }} /><YAxis tick={{ fontSize: 11 }} width={70} /><Tooltip formatter={(v) => fmtCost(Number(v))} /><Line dataKey="cost" stroke="#e6194b" isAnimationActive={false} /></LineChart>
            </ResponsiveContainer>
          ) : <p className="muted">Loading…</p>}
        </Section>
        <Section title="Cost by model"><CostBars rows={costs.data?.byModel ?? []} label="model" /></Section>
        <Section title="Cost by task"><CostBars rows={costs.data?.byTask ?? []} label="task" /></Section>
        <Section title="Cost by workflow"><CostBars rows={costs.data?.byWorkflow ?? []} label="workflow" /></Section>
        <Section title="Insights, anomalies and alerts">
          <ul className="feed" data-testid="insights">
            {feed.slice(0, 30).map((f, i) => (
              <li key={i} className={`feed-${f.kind} sev-${f.severity ?? 'info'}`}>
                <strong>{f.kind}</strong> {f.title ?? f.metric} — {f.description ?? f.message}
                {f.recommendation ? <div className="muted small">→ {f.recommendation}</div> : null}
                <div className="muted small">{fmtTime(f.timestamp)}</div>
              </li>
            ))}
            {feed.length === 0 && <li className="muted">Nothing yet: insights appear as runs finish.</li>}
          </ul>
        </Section>
        <Section title="Latency percentiles (last 20 finished runs)">
          <table className="grid compact" aria-label="Latency by task">
            <thead><tr><th>task</th><th>n</th><th>p50</th><th>p90</th><th>p99</th></tr></thead>
            <tbody>{latencies.task.slice(0, 15).map((r) => <tr key={r.key}><td>{r.key}</td><td>{r.n}</td><td>{fmtMs(r.p50)}</td><td>{fmtMs(r.p90)}</td><td>{fmtMs(r.p99)}</td></tr>)}</tbody>
          </table>
          <table className="grid compact" aria-label="Latency by model">
            <thead><tr><th>model</th><th>n</th><th>p50</th><th>p90</th><th>p99</th></tr></thead>
            <tbody>{latencies.model.map((r) => <tr key={r.key}><td>{r.key}</td><td>{r.n}</td><td>{fmtMs(r.p50)}</td><td>{fmtMs(r.p90)}</td><td>{fmtMs(r.p99)}</td></tr>)}</tbody>
          </table>
        </Section>
      </div>
      {latest && defs.length > 0 && (
        <Section title="Critical path of the latest run" actions={<Link to={`/runs/${encodeURIComponent(latest.executionId)}`}>open run</Link>}>
          <p>{crit?.path.join(' → ')} <span className="muted">({fmtMs(crit?.total)})</span></p>
          <div className="analytics-graph"><RunGraph tasks={defs} statuses={statuses} critical={critSet} /></div>
        </Section>
      )}
    </div>
  );
}
