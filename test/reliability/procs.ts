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
