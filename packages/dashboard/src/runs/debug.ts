import type { Breakpoint, DebugState, Waitpoint } from '../api/types.ts';

// The run view's debugger state as live events report it: where the run is paused, whether it is stepping, and
// which tasks wait for an approval or a signal. The REST debug state fills in what events do not carry
// (breakpoints, edits, pins, the next tasks); the live part wins for the pause because it is never stale.

export interface LiveDebug {
  state: 'running' | 'paused' | 'stepping' | 'ended';
  paused: { reason: string; taskId?: string; when?: string; at?: number } | null;
  waiting: Waitpoint[];
  /** Pauses seen so far: a change tells the view to refetch the REST debug state. */
  pauses: number;
  resumes: number;
}

export function emptyDebug(): LiveDebug {
  return { state: 'running', paused: null, waiting: [], pauses: 0, resumes: 0 };
}

/** Fold one event; `undefined` when the event says nothing about debugging (the caller keeps its state). */
export function debugEvent(
  d: LiveDebug | undefined,
  type: string,
  p: Record<string, unknown>,
  at?: number,
): LiveDebug | undefined {
  const cur = d ?? emptyDebug();
  const taskId = typeof p.taskId === 'string' ? p.taskId : undefined;
  switch (type) {
    case 'execution:paused':
      return {
        ...cur,
        state: 'paused',
        paused: { reason: String(p.reason ?? 'manual'), taskId, when: p.when as string | undefined, at },
        pauses: cur.pauses + 1,
      };
    case 'execution:resumed':
      return { ...cur, state: p.step ? 'stepping' : 'running', paused: null, resumes: cur.resumes + 1 };
    case 'task:waiting': {
      if (!taskId || typeof p.name !== 'string') return undefined;
      const w: Waitpoint = {
        name: p.name,
        taskId,
        kind: p.kind === 'waitFor' ? 'waitFor' : 'approval',
        since: at ?? 0,
        prompt: p.prompt as string | undefined,
        roles: p.roles as string[] | undefined,
        timeoutAt: p.timeoutAt as number | undefined,
      };
      return { ...cur, waiting: [...cur.waiting.filter((x) => x.name !== w.name), w] };
    }
    case 'task:completed':
    case 'task:failed':
    case 'task:skipped':
      if (!d || !taskId || !d.waiting.some((w) => w.taskId === taskId)) return undefined;
      return { ...d, waiting: d.waiting.filter((w) => w.taskId !== taskId) };
    case 'workflow:completed':
    case 'workflow:failed':
    case 'workflow:cancelled':
      return d ? { ...d, state: 'ended', paused: null, waiting: [] } : undefined;
    default:
      return undefined;
  }
}

export interface DebugView {
  state: string;
  paused: { reason: string; taskId?: string; when?: string } | null;
  breakpoints: Breakpoint[];
  waiting: Waitpoint[];
  next: string[];
  edits: DebugState['edits'];
  pins: string[];
  pauseOnFailure: boolean;
}

const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** REST state and live state merged: a finished run is never shown paused; live pauses beat an older fetch. */
export function mergeDebug(rest: DebugState | undefined, live: LiveDebug | undefined, runStatus: string): DebugView {
  const ended = ENDED.has(runStatus) || live?.state === 'ended' || ENDED.has(rest?.state ?? '');
  // An ended run takes how it ended from the run status or the REST state; a REST state fetched while it was
  // still paused (the live stream told of the end first) is not one.
  const state = ended
    ? ENDED.has(runStatus)
      ? runStatus
      : ENDED.has(rest?.state ?? '')
        ? (rest?.state as string)
        : 'completed'
    : (live?.state ?? rest?.state ?? 'running');
  const paused = ended ? null : live ? live.paused : (rest?.paused ?? null);
  return {
    state: paused ? 'paused' : state,
    paused,
    breakpoints: rest?.breakpoints ?? [],
    waiting: ended ? [] : live ? live.waiting : (rest?.waiting ?? []),
    next: rest?.next ?? [],
    edits: rest?.edits ?? [],
    pins: rest?.pins ?? [],
    pauseOnFailure: rest?.pauseOnFailure ?? false,
  };
}

/** Add a breakpoint on the task, or remove every breakpoint it has. */
export function toggleBreakpoint(list: Breakpoint[], taskId: string): Breakpoint[] {
  return list.some((b) => b.taskId === taskId) ? list.filter((b) => b.taskId !== taskId) : [...list, { taskId }];
}

/** "after load if outputs['load'].rows < 10": a breakpoint as a person reads it. */
export function describeBreakpoint(b: Breakpoint): string {
  return `${b.when ?? 'before'} ${b.taskId}${b.condition ? ` if ${b.condition}` : ''}`;
}

/** Same task and same side: a new breakpoint replaces the old one (its condition included). */
export function sameBreakpoint(a: Breakpoint, b: Breakpoint): boolean {
  return a.taskId === b.taskId && (a.when ?? 'before') === (b.when ?? 'before');
}

/** Graph marks: the paused task, and every task with a breakpoint. */
export function debugMarks(view: DebugView): Map<string, string> {
  const m = new Map<string, string>();
  for (const b of view.breakpoints) m.set(b.taskId, 'breakpoint');
  if (view.paused?.taskId) m.set(view.paused.taskId, m.has(view.paused.taskId) ? 'paused breakpoint' : 'paused');
  for (const w of view.waiting) if (!m.has(w.taskId)) m.set(w.taskId, 'waiting');
  return m;
}

/** Comma- or space-separated task ids as breakpoints; unknown ids are reported, not sent. */
export function parseBreakpoints(text: string, known: Set<string>): { breakpoints: Breakpoint[]; unknown: string[] } {
  const ids = [...new Set(text.split(/[\s,]+/).filter(Boolean))];
  return {
    breakpoints: ids.filter((t) => known.has(t)).map((taskId) => ({ taskId })),
    unknown: ids.filter((t) => !known.has(t)),
  };
}
