import type { MultiAgentOrchestrator, OrchestratorEvents } from '@codexos/multi-agent-orchestrator';

type Row = {
  id: string;
  status: 'waiting' | 'queued' | 'running' | 'completed' | 'failed' | 'skipped' | 'retrying';
  started?: number;
  ms?: number;
  note?: string;
  attempt?: number;
};

const ICON: Record<Row['status'], string> = {
  waiting: '·',
  queued: '◌',
  running: '▶',
  retrying: '↻',
  completed: '✔',
  failed: '✖',
  skipped: '↷',
};
const COLOR: Record<Row['status'], string> = {
  waiting: '\x1b[2m',
  queued: '\x1b[2m',
  running: '\x1b[36m',
  retrying: '\x1b[33m',
  completed: '\x1b[32m',
  failed: '\x1b[31m',
  skipped: '\x1b[2m',
};
const RESET = '\x1b[0m';
const MAX_ROWS = 30;

/**
 * Live view of a run. On a terminal it redraws a task table in place; elsewhere (CI, pipes) it prints one line
 * per event so logs stay readable.
 */
export class ProgressView {
  private rows = new Map<string, Row>();
  private drawn = 0;
  private timer?: NodeJS.Timeout;
  private readonly t0 = Date.now();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly tty: boolean,
  ) {}

  attach(o: MultiAgentOrchestrator): () => void {
    const on = <K extends keyof OrchestratorEvents>(ev: K, fn: (p: OrchestratorEvents[K]) => void) => {
      o.on(ev, fn);
      return () => o.off(ev, fn);
    };
    const offs = [
      on('workflow:started', (e) => {
        for (const t of e.tasks) this.rows.set(t.id, { id: t.id, status: 'waiting' });
        this.line(
          `▶ workflow ${e.workflowId} (${e.taskCount} tasks)${e.resumed ? ' resumed' : ''} — execution ${e.executionId}`,
        );
      }),
      on('task:queued', (e) => this.set(e.taskId, { status: 'queued' })),
      on('task:started', (e) => {
        this.set(e.taskId, { status: 'running', started: Date.now(), attempt: e.attempt });
        this.line(`  ▶ ${e.taskId} started${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`);
      }),
      on('task:completed', (e) => {
        this.set(e.taskId, {
          status: 'completed',
          ms: e.duration,
          note: e.model ? `${e.model}${e.cached ? ', cached' : ''}` : e.cached ? 'cached' : undefined,
        });
        this.line(`  ✔ ${e.taskId} completed in ${e.duration.toFixed(0)}ms`);
      }),
      on('task:failed', (e) => {
        this.set(e.taskId, { status: 'failed', ms: e.duration, note: e.error.message });
        this.line(
          `  ✖ ${e.taskId} failed after ${e.attempts} attempt(s): ${e.error.message}${e.handled ? ' (handled)' : ''}`,
        );
      }),
      on('task:retrying', (e) => {
        this.set(e.taskId, { status: 'retrying', note: `retry in ${e.delayMs}ms: ${e.error.message}` });
        this.line(`  ↻ ${e.taskId} attempt ${e.attempt} failed (${e.error.message}); retrying in ${e.delayMs}ms`);
      }),
      on('task:skipped', (e) => {
        this.set(e.taskId, { status: 'skipped', note: e.reason });
        this.line(`  ↷ ${e.taskId} skipped: ${e.reason}`);
      }),
    ];
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 100);
      this.timer.unref();
    }
    return () => {
      for (const off of offs) off();
      if (this.timer) clearInterval(this.timer);
      if (this.tty) this.draw();
    };
  }

  private set(id: string, patch: Partial<Row>): void {
    const r = this.rows.get(id) ?? { id, status: 'waiting' };
    this.rows.set(id, { ...r, ...patch });
  }

  private line(text: string): void {
    if (!this.tty) this.out.write(`${text}\n`);
  }

  private draw(): void {
    const all = [...this.rows.values()];
    const counts = new Map<string, number>();
    for (const r of all) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    const visible =
      all.length <= MAX_ROWS
        ? all
        : all
            .filter((r) => r.status === 'running' || r.status === 'failed' || r.status === 'retrying')
            .slice(0, MAX_ROWS);
    const width = Math.min(40, Math.max(8, ...visible.map((r) => r.id.length)));
    const lines = visible.map((r) => {
      const time =
        r.status === 'running' && r.started
          ? `${Date.now() - r.started}ms…`
          : r.ms !== undefined
            ? `${r.ms.toFixed(0)}ms`
            : '';
      return `${COLOR[r.status]}${ICON[r.status]} ${r.id.padEnd(width)} ${r.status.padEnd(9)} ${time.padStart(8)}${r.note ? `  ${r.note.slice(0, 60)}` : ''}${RESET}`;
    });
    const summary = ['completed', 'running', 'queued', 'waiting', 'failed', 'skipped']
      .filter((s) => counts.get(s))
      .map((s) => `${counts.get(s)} ${s}`)
      .join(' · ');
    lines.push(`\x1b[1m${summary}\x1b[0m  (${((Date.now() - this.t0) / 1000).toFixed(1)}s)`);
    if (this.drawn) this.out.write(`\x1b[${this.drawn}A`);
    this.out.write(`${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    this.drawn = lines.length;
  }
}
