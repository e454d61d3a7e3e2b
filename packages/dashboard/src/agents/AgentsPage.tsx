import { useQuery } from '@tanstack/react-query';
import type { AgentInfo } from '../api/types.ts';
import { useApi } from '../auth/session.ts';
import { ErrorBox, fmtCost, Section } from '../ui/bits.tsx';

const sum = (a: AgentInfo, k: 'completed' | 'failed') => (a.pool?.instances ?? []).reduce((n, i) => n + (i[k] ?? 0), 0);

export function AgentsPage() {
  const api = useApi();
  const agents = useQuery({ queryKey: ['agents'], queryFn: () => api.listAgents(), refetchInterval: 5000 });
  const models = useQuery({ queryKey: ['models'], queryFn: () => api.listModels() });
  const usage = useQuery({ queryKey: ['model-usage'], queryFn: () => api.modelUsage(), refetchInterval: 5000 });
  const limits = useQuery({ queryKey: ['model-limits'], queryFn: () => api.modelLimits(), refetchInterval: 5000 });
  const exps = useQuery({ queryKey: ['experiments'], queryFn: () => api.experiments() });
  return (
    <div className="page">
      <header className="page-head"><h1>Agents &amp; models</h1></header>
      <div className="cards">
        <Section title="Agents and pools">
          {agents.error ? <ErrorBox error={agents.error} /> : null}
          <table className="grid compact" aria-label="Agents">
            <thead><tr><th>agent</th><th>instances (healthy)</th><th>active</th><th>waiting</th><th>utilisation</th><th>done / failed</th><th>kind</th></tr></thead>
            <tbody>
              {(agents.data?.items ?? []).map((a) => (
                <tr key={a.id}>
                  <td>{a.name ?? a.id}<div className="muted small">{a.id}</div></td>
                  <td>{a.pool?.instances?.length ?? '—'} ({a.pool?.instances?.filter((i) => i.healthy).length ?? '—'})</td>
                  <td>{a.pool?.active ?? '—'}</td>
                  <td>{a.pool?.waiting ?? '—'}</td>
                  <td>{a.pool?.utilisation !== undefined ? <><meter min={0} max={100} value={a.pool.utilisation} /> {Math.round(a.pool.utilisation)} %</> : '—'}</td>
                  <td>{sum(a, 'completed')} / {sum(a, 'failed')}</td>
                  <td className="small">{a.hasHandler ? 'code handler' : a.model ? `model: ${JSON.stringify(a.model)}` : 'model-backed'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
        <Section title="Model catalog">
          {models.error ? <ErrorBox error={models.error} /> : null}
          <table className="grid compact" aria-label="Models">
            <thead><tr><th>model</th><th>provider</th><th>$ / M in</th><th>$ / M out</th><th>context</th><th>calls</th><th>cost</th></tr></thead>
            <tbody>
              {(models.data?.items ?? []).map((m) => {
                const u = usage.data?.byModel?.[m.id];
                return (
                  <tr key={m.id}>
                    <td>{m.id}{m.local ? <span className="badge">offline</span> : null}<div className="muted small">{m.capabilities?.join(', ')}</div></td>
                    <td>{m.provider}</td>
                    <td>{m.inputPricePerMTok ?? '—'}</td>
                    <td>{m.outputPricePerMTok ?? '—'}</td>
                    <td>{m.contextWindow?.toLocaleString() ?? '—'}</td>
                    <td>{u?.calls ?? 0}</td>
                    <td>{fmtCost(u?.cost ?? 0)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </Section>
        <Section title="Rate limits and circuit breakers">
          <table className="grid compact" aria-label="Providers">
            <thead><tr><th>provider</th><th>circuit</th><th>available</th></tr></thead>
            <tbody>
              {(limits.data?.providers ?? []).map((p) => (
                <tr key={p.id}><td>{p.id}</td><td>{p.circuit ? <span className={`badge circuit-${p.circuit}`}>{p.circuit}</span> : <span className="muted">not configured</span>}</td><td>{p.available ? 'yes' : 'no'}</td></tr>
              ))}
            </tbody>
          </table>
        </Section>
        <Section title="A/B experiments">
          {(exps.data?.items ?? []).length === 0 ? <p className="muted">No experiments configured.</p> : null}
          {(exps.data?.items ?? []).map((e) => (
            <table key={e.id} className="grid compact" aria-label={`Experiment ${e.id}`}>
              <caption>{e.id}</caption>
              <thead><tr><th>arm</th><th>calls</th><th>success</th><th>latency</th><th>cost</th></tr></thead>
              <tbody>{e.arms.map((a) => <tr key={a.model}><td>{a.model}</td><td>{a.calls}</td><td>{Math.round(a.successRate * 100)} %</td><td>{Math.round(a.latencyMs)} ms</td><td>{fmtCost(a.cost)}</td></tr>)}</tbody>
            </table>
          ))}
        </Section>
      </div>
    </div>
  );
}
