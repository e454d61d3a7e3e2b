import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../packages/orchestrator/src/index.js';
import { mulberry32 } from '../../packages/orchestrator/test/support/prng.js';
import { checksum, definition } from './fixtures/crash-workflow.js';
import { SOAK } from './helpers.js';

// SIGKILL an 800-task workflow on SQLite at random points, several times in a row, resuming each time in a fresh
// process. A checksum chain across dependencies (fixtures/crash-child.ts) proves every output intact; the store
// read between kills proves no task recorded as completed ran again. CI: 3 kills, small outputs; SOAK=1: 15 kills,
// and the write-heavy variant with 64 KB outputs.

const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'crash-child.ts');
const KILLS = SOAK ? 15 : 3;
const TOTAL = definition.tasks.length;

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);

function start(db: string, log: string, id: string, pad: number) {
  const p = spawn(process.execPath, ['--import', 'tsx', child, db, log, id, String(pad)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    p.on('exit', (code, signal) => r({ code, signal })),
  );
  return { p, done, out: () => out, err: () => err };
}

function completedIn(db: string, id: string): { status: string; completed: Set<string> } {
  const store = new SqliteStore(db);
  try {
    const s = store.loadExecution(id);
    if (!s) return { status: 'none', completed: new Set() };
    return {
      status: s.header.status,
      completed: new Set([...s.tasks.values()].filter((t) => t.status === 'completed').map((t) => t.taskKey)),
    };
  } finally {
    store.close();
  }
}

export interface CrashReport {
  kills: number;
  ranTwice: number;
  reranAfterCommit: number;
  handlerRuns: number;
}

async function crashRun(pad: number, seed: number): Promise<CrashReport> {
  const dir = mkdtempSync(join(tmpdir(), 'cdx-rel-crash-'));
  const db = join(dir, 'state.db');
  const log = join(dir, 'runs.log');
  const id = `crash-${pad}-${seed}`;
  const random = mulberry32(seed); // kill points are reproducible from the seed printed on failure
  let kills = 0;
  let reranAfterCommit = 0;
  try {
    for (let round = 0; ; round++) {
      const before = completedIn(db, id);
      const logBefore = lines(log).length;
      const c = start(db, log, id, pad);
      const killNow = kills < KILLS;
      if (killNow) {
        // Kill after a random number of further handler starts (the log, not the clock, says how far it got).
        const remaining = TOTAL - before.completed.size;
        const target = logBefore + 1 + Math.floor(random() * Math.max(1, remaining / (KILLS - kills + 1)));
        const ended = await new Promise<boolean>((resolve) => {
          const iv = setInterval(() => {
            if (lines(log).length >= target) {
              clearInterval(iv);
              c.p.kill('SIGKILL');
              resolve(false);
            }
          }, 2);
          void c.done.then(() => {
            clearInterval(iv);
            resolve(true);
          });
        });
        const exit = await c.done;
        if (!ended) {
          expect(exit.signal, c.err()).toBe('SIGKILL');
          kills++;
        } else expect(exit.code, c.err()).toBe(0);
      } else {
        const exit = await c.done;
        expect(exit.code, c.err()).toBe(0);
      }
      // Tasks the store held as completed before this process started must not have run in it.
      const ranNow = new Set(lines(log).slice(logBefore));
      reranAfterCommit += [...before.completed].filter((t) => ranNow.has(t)).length;
      const line = c.out().split('\n').find((l) => l.startsWith('RESULT '));
      if (line) {
        const result = JSON.parse(line.slice(7)) as { status: string; sums: Record<string, string> };
        expect(result.status).toBe('completed');
        // Every task completed, with the checksum its dependencies imply.
        const expected = new Map<string, string>();
        for (const t of definition.tasks) {
          const deps = ((t as { dependencies?: string[] }).dependencies ?? []).slice().sort();
          expected.set(t.id, checksum(t.id, deps.map((d) => expected.get(d) as string)));
        }
        expect(Object.keys(result.sums)).toHaveLength(TOTAL);
        for (const [k, v] of expected) expect(result.sums[k], k).toBe(v);
        break;
      }
      expect(round).toBeLessThan(KILLS + 3);
    }
    const all = lines(log);
    const counts = new Map<string, number>();
    for (const t of all) counts.set(t, (counts.get(t) ?? 0) + 1);
    expect(counts.size).toBe(TOTAL);
    return {
      kills,
      ranTwice: [...counts.values()].filter((n) => n > 1).length,
      reranAfterCommit,
      handlerRuns: all.length,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('crash: SIGKILL at random points, resumed in a fresh process each time', () => {
  for (const pad of SOAK ? [0, 64 * 1024] : [0]) {
    it(`800 tasks${pad ? ', 64 KB outputs' : ''}: ${KILLS} kills, every task completes, outputs intact`, async () => {
      const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
      const r = await crashRun(pad, seed);
      console.info(
        `crash (${pad ? '64 KB outputs' : 'small outputs'}, seed ${seed}): ${r.kills} kills, ${r.handlerRuns} handler runs for ${TOTAL} tasks, ` +
          `${r.ranTwice} ran twice because killed before commit, ${r.reranAfterCommit} recorded-as-completed ran again`,
      );
      expect(r.kills).toBeGreaterThanOrEqual(Math.min(KILLS, 2));
      expect(r.reranAfterCommit).toBe(0);
      // Only tasks in flight at a kill can run twice.
      expect(r.ranTwice).toBeLessThanOrEqual(r.kills * 40);
    }, 600_000);
  }
});
