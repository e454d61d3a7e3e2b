import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../../packages/orchestrator/src/index.js';
import { mulberry32 } from '../../packages/orchestrator/test/support/prng.js';
import { expectedSums, layered } from './fixtures/crash-workflow.js';
import { SOAK } from './helpers.js';
import { bin, crashAgents, logLines, type Proc, proc, runCounts, until } from './procs.js';

// SIGKILL `codexos serve` (a child process on a fresh data directory, port 0) at random points of a long run
// started through the API, restart it on the same directory, and check the run resumes on its own and ends with
// every task completed once as recorded, every checksum intact, and nothing recorded as completed run again.
// CI: 120 tasks, 2 kills; SOAK=1: 1000 tasks, 15 kills.

const KILLS = SOAK ? 15 : 2;
const def = layered(SOAK ? 25 : 3, 'crash-server');
const TOTAL = def.tasks.length;

function completedIn(db: string, id: string): { status?: string; completed: Set<string> } {
  const store = new SqliteStore(db);
  try {
    const s = store.loadExecution(id);
    const completed = s ? [...s.tasks.values()].filter((t) => t.status === 'completed').map((t) => t.taskKey) : [];
    return { status: s?.header.status, completed: new Set(completed) };
  } finally {
    store.close();
  }
}

interface Server {
  p: Proc;
  url: string;
}

async function serve(data: string, log: string): Promise<Server> {
  const p = proc(
    [bin, 'serve', '--port', '0', '--data', data, '--no-examples', '--grace', '100', '--agents', crashAgents],
    // Slow enough tasks that a restarted server (which resumes the run as it starts) does not finish it before the
    // test reaches the next kill point: CI's 3 layers of 40 parallel tasks take about 3 × 150 ms.
    { CDX_CRASH_LOG: log, CDX_CRASH_MS: SOAK ? '15' : '150' },
  );
  const url = await until(
    'serve listening',
    () => {
      if (!p.alive()) throw new Error(`serve exited: ${p.out()}`);
      return /listening on (http:\/\/\S+)/.exec(p.out())?.[1];
    },
    60_000,
  );
  return { p, url };
}

describe('crash: SIGKILL `codexos serve` mid-run, restart on the same data directory', () => {
  it(`${TOTAL} tasks started through the API: ${KILLS} kills, the run resumes by itself, outputs intact`, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    const random = mulberry32(seed);
    const dir = mkdtempSync(join(tmpdir(), 'cdx-rel-serve-'));
    const data = join(dir, 'data');
    const log = join(dir, 'runs.log');
    const db = join(data, 'state.db');
    let server: Server | undefined;
    try {
      server = await serve(data, log);
      const token = /(cdx_[A-Za-z0-9_-]+)/.exec(server.p.out())?.[1] as string;
      expect(token, server.p.out()).toBeTruthy();
      const api = async (url: string, path: string, method = 'GET', body?: unknown) => {
        const r = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        return { status: r.status, body: (await r.json()) as Record<string, any> };
      };
      expect((await api(server.url, '/api/workflows', 'POST', { definition: def })).status).toBe(201);
      const started = await api(server.url, '/api/executions', 'POST', { workflowId: def.id });
      expect(started.status).toBe(202);
      const id = started.body.executionId as string;

      let kills = 0;
      let ended = false;
      let reranAfterCommit = 0;
      let before = new Set<string>();
      let logBefore = 0;
      for (;;) {
        const s = server as Server;
        if (kills < KILLS) {
          const remaining = TOTAL - before.size;
          const target = logBefore + 1 + Math.floor(random() * Math.max(1, remaining / (KILLS - kills + 1)));
          let lastPoll = 0;
          const killed = await until(
            'kill point or run end',
            async () => {
              if (logLines(log).length >= target) return 'kill';
              if (Date.now() - lastPoll < 250) return undefined;
              lastPoll = Date.now();
              const d = await api(s.url, `/api/executions/${id}`);
              return d.body.status === 'completed' ? 'done' : undefined;
            },
            120_000,
            2,
          );
          if (killed === 'kill') {
            const exit = await s.p.stop('SIGKILL');
            expect(exit.signal, s.p.out()).toBe('SIGKILL');
            kills++;
          } else ended = true; // finished before the next kill point (e.g. the last kill left only its end to record)
        }
        if (!s.p.alive() || kills >= KILLS || ended) {
          if (s.p.alive()) {
            // Last round: the run finishes in this process.
            const d = await until(
              'run end',
              async () => {
                const r = await api(s.url, `/api/executions/${id}`);
                return r.body.status !== 'running' ? r.body : undefined;
              },
              300_000,
              200,
            );
            expect(d.status, JSON.stringify(d.error ?? '')).toBe('completed');
            expect(d.tasks.filter((t: { status: string }) => t.status === 'completed')).toHaveLength(TOTAL);
            expect((await s.p.stop('SIGTERM')).code, s.p.out()).toBe(0);
            reranAfterCommit += [...before].filter((t) => logLines(log).slice(logBefore).includes(t)).length;
            break;
          }
          // Killed: what the store holds as completed now must not run again in the next process.
          const ranNow = new Set(logLines(log).slice(logBefore));
          reranAfterCommit += [...before].filter((t) => ranNow.has(t)).length;
          const stored = completedIn(db, id);
          before = stored.completed;
          logBefore = logLines(log).length;
          server = await serve(data, log);
          // A kill that lands after the run's end leaves nothing to resume.
          if (stored.status === 'completed') expect(server.p.out()).not.toContain('resumed');
          else expect(server.p.out()).toContain(`resumed 1 interrupted run(s): ${id}`);
          expect(server.p.out()).not.toContain('first admin token');
        }
      }

      const store = new SqliteStore(db);
      try {
        const s = store.loadExecution(id);
        expect(s?.header.status).toBe('completed');
        const expected = expectedSums(def);
        for (const [k, sum] of expected) expect((s?.tasks.get(k)?.output as { sum?: string })?.sum, k).toBe(sum);
      } finally {
        store.close();
      }
      const { counts, ranTwice } = runCounts(logLines(log));
      expect(counts.size).toBe(TOTAL);
      console.info(
        `crash (codexos serve, seed ${seed}): ${kills} kills, ${logLines(log).length} handler runs for ${TOTAL} tasks, ` +
          `${ranTwice} ran twice because killed before commit, ${reranAfterCommit} recorded-as-completed ran again`,
      );
      expect(kills).toBeGreaterThanOrEqual(Math.min(KILLS, 2));
      expect(reranAfterCommit).toBe(0);
    } finally {
      await server?.p.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
