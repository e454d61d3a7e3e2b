import type { ReactNode } from 'react';
import { describeError } from '../api/client.ts';

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div role="alert" className="error">
      {describeError(error)}
      {retry && <button type="button" onClick={retry}>Retry</button>}
    </div>
  );
}

export function StatusBadge({ status }: { status?: string | null }) {
  if (!status) return <span className="muted">—</span>;
  return <span className={`badge status-${status}`}>{status}</span>;
}

export function fmtCost(v?: number | null): string {
  if (v === undefined || v === null || Number.isNaN(v)) return '—';
  if (v === 0) return '$0';
  return v < 0.01 ? `$${v.toFixed(6)}` : `$${v.toFixed(4)}`;
}

export function fmtMs(v?: number | null): string {
  if (v === undefined || v === null) return '—';
  return v < 1000 ? `${Math.round(v)} ms` : `${(v / 1000).toFixed(2)} s`;
}

export function fmtTime(v?: number | string | null): string {
  if (v === undefined || v === null) return '—';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString();
}

export function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card">
      <header>
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}
