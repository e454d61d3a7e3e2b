import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { CodexError, ErrorCodes } from '../../errors.js';
import type { EventBus } from '../../events.js';
import type { LocalWorkersConfig } from '../config.js';
import { type ErrorSink, poolSink, WORKER_FAILURE_LINE } from './background-errors.js';
import type { RedisTarget } from './connection.js';

/** One local worker process as the pool sees it. */
export interface LocalWorkerState {
  workerId: string;
  pid: number | undefined;
  /** `starting` until its first heartbeat, `stopping` once asked to finish its tasks and exit. */
  state: 'starting' | 'running' | 'stopping';
}

/** The pool's local worker processes: how many it wants, what runs, how often one had to be restarted. */
export interface LocalWorkersState {
  wanted: number;
  processes: LocalWorkerState[];
  restarts: number;
  /** Stopping processes that had not exited after stopGraceMs and were killed. */
  forced: number;
}

interface Child {
  workerId: string;
  proc: ChildProcess;
  state: LocalWorkerState['state'];
  /** Agents it served, from its heartbeats (for the events of its crash). */
  agents: string[];
  stderr: string;
  /** Set on the replacement of a crashed process: its first heartbeat reports these agents recovered. */
  recovers?: string[];
  killTimer?: NodeJS.Timeout;
}

/** The heartbeat facts the process manager needs: which worker, which agents, how busy. */
export interface LocalHeartbeat {
  workerId: string;
  agents: Record<string, { active: number }>;
}

/** A redis:// URL for the child's environment (never its arguments, where `ps` would show a password). */
function urlOf(t: RedisTarget): string {
  const o = t.options;
  const auth =
    o.username || o.password
      ? `${o.username ? encodeURIComponent(o.username) : ''}${o.password ? `:${encodeURIComponent(o.password)}` : ''}@`
      : '';
  return `${o.tls ? 'rediss' : 'redis'}://${auth}${o.host ?? 'localhost'}:${o.port ?? 6379}${o.db ? `/${o.db}` : ''}`;
}

/** Consecutive restarts of processes that died before their first heartbeat hold further starts back this many ticks. */
const MAX_HOLD_TICKS = 32;

/**
 * Starts and stops `codexos worker` processes on this machine for the agent pool. Scale-down asks the least busy
 * process to stop (SIGTERM: it takes no new task, finishes the running ones, exits; killed after stopGraceMs).
 * A process that exits unasked is reported `agent:unhealthy` and replaced; its replacement's first heartbeat is
 * reported `agent:recovered`. Processes that keep dying before their first heartbeat are restarted ever more slowly.
 */
export class LocalWorkers {
  private readonly children = new Map<string, Child>();
  private wanted = 0;
  private restarts = 0;
  private forced = 0;
  private quickDeaths = 0;
  private holdTicks = 0;
  /** Agents of a process that died before its first heartbeat: its eventual replacement reports them recovered. */
  private pendingRecover?: string[];
  private closed = false;
  private readonly report: ErrorSink;

  constructor(
    private readonly cfg: LocalWorkersConfig,
    private readonly target: RedisTarget,
    private readonly o: {
      heartbeatMs: number;
      bus?: EventBus;
      /** Agents the pool knows of, for a process that died before it said which it serves. */
      knownAgents: () => string[];
      /** Forgets a dead process's heartbeat, so the pool does not wait for it to go silent. */
      forget: (workerId: string) => void;
    },
  ) {
    this.report = poolSink(o.bus, 'CodexOSWorkerWarning');
  }

  /** How many processes for `instances` (the largest agent's instance count), within min and max. */
  processesFor(instances: number): number {
    return Math.min(this.cfg.max, Math.max(this.cfg.min, Math.ceil(instances / this.cfg.concurrency)));
  }

  /** One pool tick: notes which processes are up, then starts or stops processes toward `wanted`. */
  reconcile(wanted: number, beats: LocalHeartbeat[]): void {
    if (this.closed) return;
    this.wanted = wanted;
    const load = new Map<string, number>();
    for (const b of beats) {
      const c = this.children.get(b.workerId);
      if (!c) continue;
      c.agents = Object.keys(b.agents);
      load.set(
        b.workerId,
        Object.values(b.agents).reduce((s, a) => s + a.active, 0),
      );
      if (c.state === 'starting') {
        c.state = 'running';
        this.quickDeaths = 0;
        for (const agentId of c.recovers ?? [])
          this.o.bus?.publish('agent:recovered', { agentId, instanceId: c.workerId, timestamp: Date.now() });
        c.recovers = undefined;
      }
    }
    const live = [...this.children.values()].filter((c) => c.state !== 'stopping');
    if (this.holdTicks > 0) this.holdTicks--;
    else
      for (let n = live.length; n < wanted; n++) {
        this.start(this.pendingRecover);
        this.pendingRecover = undefined;
      }
    if (live.length > wanted) {
      // Least busy first; one still starting has nothing to finish.
      const order = live.sort(
        (a, b) =>
          Number(a.state !== 'starting') - Number(b.state !== 'starting') ||
          (load.get(a.workerId) ?? 0) - (load.get(b.workerId) ?? 0),
      );
      for (const c of order.slice(0, live.length - wanted)) this.stopOne(c);
    }
  }

  state(): LocalWorkersState {
    return {
      wanted: this.wanted,
      processes: [...this.children.values()].map((c) => ({ workerId: c.workerId, pid: c.proc.pid, state: c.state })),
      restarts: this.restarts,
      forced: this.forced,
    };
  }

  /** Stops every process gracefully and waits for them to exit (each killed after stopGraceMs). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.children.values()];
    const exits = all.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.proc.exitCode !== null || c.proc.signalCode !== null) return r();
          c.proc.once('exit', () => r());
        }),
    );
    for (const c of all) this.stopOne(c);
    await Promise.all(exits);
  }

  private start(recovers?: string[]): void {
    const workerId = `local-${process.pid}-${randomUUID().slice(0, 8)}`;
    const [program, ...lead] = this.cfg.command;
    const args = [
      ...lead,
      'worker',
      '--id',
      workerId,
      '--prefix',
      this.target.prefix,
      '--heartbeat-ms',
      String(this.o.heartbeatMs),
      '--concurrency',
      String(this.cfg.concurrency),
      ...(this.cfg.agents ? ['--agents', this.cfg.agents] : []),
      // It stops on its own if this process dies without stopping it (SIGKILL, OOM): no orphaned workers.
      '--parent-pid',
      String(process.pid),
      '--stop-grace-ms',
      String(this.cfg.stopGraceMs),
      ...this.cfg.args,
    ];
    const proc = spawn(program, args, {
      env: { ...process.env, CODEXOS_REDIS_URL: urlOf(this.target) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const child: Child = { workerId, proc, state: 'starting', agents: [], stderr: '', recovers };
    this.children.set(workerId, child);
    proc.stderr?.setEncoding('utf8');
    let partial = '';
    proc.stderr?.on('data', (d: string) => {
      child.stderr = (child.stderr + d).slice(-2000);
      // A live process's background failures (one line each, already at most one per kind every 10 s) become the
      // orchestrator's `error` events, as its own pool's do: nobody reads a child's stderr.
      const lines = (partial + d).split('\n');
      partial = lines.pop()!.slice(-2000);
      for (const line of lines) if (WORKER_FAILURE_LINE.test(line)) this.report(new CodexError(ErrorCodes.QUEUE, line));
    });
    let ended = false;
    const end = (code: number | null, signal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      this.exited(child, code, signal);
    };
    // A program that cannot be started (ENOENT) is reported like a process that died, with the reason.
    proc.on('error', (err) => {
      child.stderr += `\n${err.message}`;
      if (proc.pid === undefined) end(null, null);
    });
    proc.once('close', end);
  }

  private stopOne(c: Child): void {
    if (c.state === 'stopping') return;
    c.state = 'stopping';
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
    c.proc.kill('SIGTERM');
    c.killTimer = setTimeout(() => {
      this.forced++;
      c.proc.kill('SIGKILL');
    }, this.cfg.stopGraceMs);
    c.killTimer.unref();
  }

  private exited(c: Child, code: number | null, signal: NodeJS.Signals | null): void {
    clearTimeout(c.killTimer);
    this.children.delete(c.workerId);
    if (c.state === 'stopping') return;
    this.o.forget(c.workerId);
    const last = c.stderr.trim().split('\n').pop()?.slice(0, 300);
    const reason = `local worker process ${c.proc.pid ?? '?'} exited unasked (${signal ?? `code ${code}`})${last ? `: ${last}` : ''}`;
    const agents = c.agents.length ? c.agents : this.o.knownAgents();
    for (const agentId of agents.length ? agents : ['*'])
      this.o.bus?.publish('agent:unhealthy', { agentId, instanceId: c.workerId, reason, timestamp: Date.now() });
    if (this.closed) return;
    this.restarts++;
    if (c.state === 'starting') {
      // Died before it ever served: do not spin; each such death doubles the ticks before the next start.
      this.quickDeaths++;
      this.holdTicks = Math.min(MAX_HOLD_TICKS, 2 ** (this.quickDeaths - 1));
      this.pendingRecover = agents;
      return;
    }
    this.start(agents);
  }
}
