import type { MultiAgentOrchestrator, OrchestratorEvents } from '@codexos/multi-agent-orchestrator';

const DIM = '\x1b[2m';
const CYAN = '\x1b[36m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

/**
 * `codexos run --stream`: the running tasks' model text as it arrives, under a header per task, with each tool
 * call and each task's end on its own line. Text of tasks running side by side is shown as it comes, switching headers when the
 * speaking task changes.
 */
export class StreamView {
  private current?: string;
  private atLineStart = true;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly color: boolean,
  ) {}

  attach(o: MultiAgentOrchestrator): () => void {
    const on = <K extends keyof OrchestratorEvents>(ev: K, fn: (p: OrchestratorEvents[K]) => void) => {
      o.on(ev, fn);
      return () => o.off(ev, fn);
    };
    const label = (taskId: string, iteration?: number) =>
      iteration === undefined ? taskId : `${taskId}[${iteration}]`;
    const offs = [
      on('task:delta', (e) => {
        this.switchTo(label(e.taskId, e.iteration));
        this.write(e.delta);
      }),
      on('tool:called', (e) => {
        this.switchTo(label(e.taskId ?? '?', e.iteration));
        this.lineOut(`${this.c(CYAN)}→ ${e.tool}(${short(e.arguments)})${this.c(RESET)}`);
      }),
      on('tool:completed', (e) =>
        this.lineOut(`${this.c(DIM)}← ${e.tool} ${short(e.result)} (${e.durationMs.toFixed(0)}ms)${this.c(RESET)}`),
      ),
      on('tool:failed', (e) => this.lineOut(`${this.c(RED)}✖ ${e.tool}: ${e.error.message}${this.c(RESET)}`)),
      on('workflow:started', (e) =>
        this.status(`▶ workflow ${e.workflowId} (${e.taskCount} tasks) — execution ${e.executionId}`),
      ),
      on('task:completed', (e) =>
        this.status(`✔ ${label(e.taskId, e.iteration)} completed in ${e.duration.toFixed(0)}ms`),
      ),
      on('task:failed', (e) => this.status(`${this.c(RED)}✖ ${e.taskId} failed: ${e.error.message}${this.c(RESET)}`)),
      on('task:retrying', (e) =>
        this.status(`↻ ${e.taskId} attempt ${e.attempt} failed (${e.error.message}); retrying`),
      ),
    ];
    return () => {
      for (const off of offs) off();
      if (!this.atLineStart) this.out.write('\n');
    };
  }

  private c(code: string): string {
    return this.color ? code : '';
  }

  private switchTo(task: string): void {
    if (this.current === task) return;
    this.current = task;
    if (!this.atLineStart) this.out.write('\n');
    this.out.write(`${this.c(DIM)}── ${task} ──${this.c(RESET)}\n`);
    this.atLineStart = true;
  }

  private write(text: string): void {
    this.out.write(text);
    this.atLineStart = text.endsWith('\n');
  }

  /** A run-level line: ends the current task's text block. */
  private status(text: string): void {
    if (!this.atLineStart) this.out.write('\n');
    this.out.write(`${text}\n`);
    this.atLineStart = true;
    this.current = undefined;
  }

  private lineOut(text: string): void {
    if (!this.atLineStart) this.out.write('\n');
    this.out.write(`  ${text}\n`);
    this.atLineStart = true;
  }
}

function short(v: unknown): string {
  const s = (typeof v === 'string' ? v : JSON.stringify(v))?.replace(/\s+/g, ' ');
  return s === undefined ? '' : s.length > 100 ? `${s.slice(0, 99)}…` : s;
}
