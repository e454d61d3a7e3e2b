import { type CSSProperties, memo } from 'react';
import { fmtMs } from '../ui/bits.tsx';
import { ganttRows, type LiveRun, type LiveStatus } from './live.ts';

// A Gantt timeline: one row per task, queue wait (light) then run time, on a shared time axis. Rows are memoised
// on their own numbers (relative to the run's start) and scaled by one CSS variable on the container, so when the
// axis grows or one task changes, React re-renders the tasks that changed, not the whole run.

interface RowProps {
  id: string;
  status: LiveStatus;
  waitFrom?: number;
  start?: number;
  end?: number;
  onSelect?(id: string): void;
}

// `--gantt-unit` is the width of one millisecond as a percentage of the track.
const at = (ms: number) => `calc(var(--gantt-unit) * ${ms})`;

const GanttRow = memo(function GanttRow({ id, status, waitFrom, start, end, onSelect }: RowProps) {
  return (
    <div className="gantt-row" role="row" onClick={() => onSelect?.(id)}>
      <span className="gantt-label" role="cell" title={id}>{id}</span>
      <span className="gantt-track" role="cell">
        {waitFrom !== undefined && start !== undefined && <span className="gantt-wait" style={{ left: at(waitFrom), width: at(start - waitFrom) }} />}
        {start !== undefined && (
          <span className={`gantt-bar status-${status}`} style={{ left: at(start), width: `max(2px, ${at((end ?? start) - start)})` }} title={`${id}: ${fmtMs((end ?? start) - start)}`} />
        )}
      </span>
    </div>
  );
});

/** The run's tasks on a shared time axis (the first 400 rows; a count of the rest). */
export function Gantt({ run, order, onSelect, now }: { run: LiveRun; order: string[]; onSelect?(id: string): void; now: number }) {
  const rows = ganttRows(run, order, now);
  let span = 1;
  for (const r of rows) if ((r.end ?? 0) > span) span = r.end ?? 0;
  const shown = rows.slice(0, 400);
  return (
    <div className="gantt" role="table" aria-label="Task timeline" data-testid="gantt" style={{ '--gantt-unit': `${100 / span}%` } as CSSProperties}>
      <div className="gantt-axis"><span>0</span><span>{fmtMs(span / 2)}</span><span>{fmtMs(span)}</span></div>
      {shown.map((r) => (
        <GanttRow key={r.id} id={r.id} status={r.status} waitFrom={r.waitFrom} start={r.start} end={r.end} onSelect={onSelect} />
      ))}
      {rows.length > shown.length && <div className="muted small">…and {rows.length - shown.length} more tasks</div>}
    </div>
  );
}
