// The benchmark (bench/dashboard) sets window.__codexosLiveLag = true: each socket frame then gets a performance
// measure `codexos:live-event-to-paint` from its newest event's server time to the paint that shows it (events
// from before the page opened are a backlog, not lag, and are left out), and the same span cut into its parts:
// `…:socket` (server time → message received), `…:wait` (→ the animation frame that folds it in), `…:render`
// (React's render and commit) and `…:paint` (→ the frame painted). Nothing is recorded otherwise.

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
  const measure = (name: string, start: number, end: number | undefined) => {
    if (end !== undefined) performance.measure(name, { start, end });
  };
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
          measure('codexos:live-event-to-paint:socket', start, p.received);
          measure('codexos:live-event-to-paint:wait', p.received, p.flushed);
          if (p.flushed !== undefined) measure('codexos:live-event-to-paint:render', p.flushed, p.committed);
          if (p.committed !== undefined) measure('codexos:live-event-to-paint:paint', p.committed, end);
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
