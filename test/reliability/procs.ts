import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Child processes for the crash suites: `codexos` commands and fixture scripts, with their output kept for the
// failure message, and the handler-start log that kill points are counted on.

export const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
export const bin = join(root, 'packages', 'cli', 'bin', 'codexos.js');
export const crashAgents = join(here, 'fixtures', 'crash-agents.ts');

export interface Proc {
  child: ChildProcess;
  out: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive: () => boolean;
  /** Sends the signal (when still running) and waits for the exit. */
  stop(sig?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `node args…` from the repository root with extra env; stdout and stderr kept together. */
export function proc(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    out: () => out,
    exit,
    alive,
    async stop(sig = 'SIGTERM') {
      if (alive()) child.kill(sig);
      return exit;
    },
  };
}

/** Polls `probe` every `everyMs` until it answers something other than undefined/false; fails after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, ms = 60_000, everyMs = 20): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Lines of the handler-start log (one task id per line). */
export const logLines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

/** How many handler runs each task had, and how many tasks ran more than once. */
export function runCounts(lines: string[]): { counts: Map<string, number>; ranTwice: number } {
  const counts = new Map<string, number>();
  for (const t of lines) counts.set(t, (counts.get(t) ?? 0) + 1);
  return { counts, ranTwice: [...counts.values()].filter((n) => n > 1).length };
}

/** A child process that also speaks over IPC: typed messages in, and the next message of a type awaited. */
export interface IpcProc extends Proc {
  send(m: { type: string } & Record<string, unknown>): void;
  /** The next message of `type` (a message `{ type: 'error' }` or the child's exit rejects). */
  next<T = Record<string, unknown>>(type: string, ms: number): Promise<T>;
}

/** Spawns `node args…` like `proc`, with an IPC channel. */
export function ipcProc(args: string[], env: Record<string, string> = {}): IpcProc {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const inbox: Array<{ type: string }> = [];
  child.on('message', (m: { type: string }) => inbox.push(m));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    out: () => out,
    exit,
    alive,
    async stop(sig = 'SIGTERM') {
      if (alive()) child.kill(sig);
      return exit;
    },
    send(m) {
      if (alive() && child.connected) child.send(m);
    },
    next<T>(type: string, ms: number) {
      return until(
        `${type} from ${args.at(-1)?.slice(0, 60)}`,
        () => {
          const err = inbox.find((m) => m.type === 'error') as { message?: string } | undefined;
          if (err) throw new Error(`child failed: ${err.message}\n${out}`);
          const i = inbox.findIndex((m) => m.type === type);
          if (i >= 0) return inbox.splice(i, 1)[0] as T;
          if (!alive()) throw new Error(`child exited (${child.exitCode ?? child.signalCode}) before ${type}: ${out}`);
          return undefined;
        },
        ms,
        50,
      );
    },
  };
}

/** Resident set of a running process, in MB (Linux /proc; undefined elsewhere or once it has exited). */
export function rssMb(pid: number | undefined): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}
