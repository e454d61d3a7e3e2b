// The benchmark (bench/dashboard) sets window.__codexosLiveLag = true: each socket frame then gets a performance
// measure `codexos:live-event-to-paint` from its newest event's server time to the paint that shows it (events
// from before the page opened are a backlog, not lag, and are left out), and the times that cut the span into its
// parts go into window.__codexosLiveLagParts as [event, received, flushed, committed, painted] (a plain array: a
// measure per part would cost the page more). Nothing is recorded otherwise.

interface Pending {
  start: number;
  received: number;
  flushed?: number;
  committed?: number;
}

/** Per-frame lag probe: `received` on each socket frame, `flushing`/`committed` around each batch's render. */
export interface LagProbe {
  received(eventAt: number): void;
  flushing(): void;
  committed(): void;
}

function createProbe(): LagProbe {
  let unflushed: Pending[] = [];
  let inFlush: Pending[] = [];
  const parts: Array<[number, number, number | undefined, number | undefined, number]> = [];
  (window as { __codexosLiveLagParts?: unknown }).__codexosLiveLagParts = parts;
  return {
    received(eventAt) {
      const start = eventAt - performance.timeOrigin;
      if (start < 0) return;
      const p: Pending = { start, received: performance.now() };
      unflushed.push(p);
      requestAnimationFrame(() =>
        setTimeout(() => {
          const end = performance.now();
          performance.measure('codexos:live-event-to-paint', { start, end });
          parts.push([start, p.received, p.flushed, p.committed, end]);
        }, 0),
      );
    },
    flushing() {
      const now = performance.now();
      inFlush = unflushed;
      unflushed = [];
      for (const p of inFlush) p.flushed = now;
    },
    committed() {
      const now = performance.now();
      for (const p of inFlush) p.committed = now;
      inFlush = [];
    },
  };
}

/** The probe when the page runs under the dashboard benchmark, undefined otherwise. */
export const lagProbe: LagProbe | undefined =
  typeof window !== 'undefined' && (window as { __codexosLiveLag?: unknown }).__codexosLiveLag === true
    ? createProbe()
    : undefined;
