import { ganttRows, type LiveRun } from './live.ts';
import { fmtMs } from '../ui/bits.tsx';

/** A Gantt timeline: one row per task, queue wait (light) then run time, on a shared time axis. */
export function Gantt({ run, order, onSelect, now }: { run: LiveRun; order: string[]; onSelect?(id: string): void; now: number }) {
  const rows = ganttRows(run, order, now);
  const span = Math.max(1, ...rows.map((r) => r.end ?? 0));
  const pct = (v: number) => `${(100 * v) / span}%`;
  const shown = rows.slice(0, 400);
  return (
    <div className="gantt" role="table" aria-label="Task timeline" data-testid="gantt">
      <div className="gantt-axis"><span>0</span><span>{fmtMs(span / 2)}</span><span>{fmtMs(span)}</span></div>
      {shown.map((r) => (
        <div key={r.id} className="gantt-row" role="row" onClick={() => onSelect?.(r.id)}>
          <span className="gantt-label" role="cell" title={r.id}>{r.id}</span>
          <span className="gantt-track" role="cell">
            {r.waitFrom !== undefined && r.start !== undefined && (
              <span className="gantt-wait" style={{ left: pct(r.waitFrom), width: pct(r.start - r.waitFrom) }} />
            )}
            {r.start !== undefined && (
              <span className={`gantt-bar status-${r.status}`} style={{ left: pct(r.start), width: `max(2px, ${pct((r.end ?? r.start) - r.start)})` }} title={`${r.id}: ${fmtMs((r.end ?? r.start) - r.start)}`} />
            )}
          </span>
        </div>
      ))}
      {rows.length > shown.length && <div className="muted small">…and {rows.length - shown.length} more tasks</div>}
    </div>
  );
}
