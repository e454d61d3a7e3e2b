import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MultiAgentOrchestrator } from '../../packages/orchestrator/src/index.js';
import { mulberry32 } from '../../packages/orchestrator/test/support/prng.js';
import { expectedSums, layered } from './fixtures/crash-workflow.js';
import { SOAK } from './helpers.js';
import { bin, crashAgents, here, logLines, type Proc, proc, runCounts, until } from './procs.js';

// Distributed mode on Redis: a driver orchestrator process and two `codexos worker` processes; at random points
// either the orchestrator or a worker is SIGKILLed. A killed worker is replaced (its task is handed on when its
// job lock lapses); a killed orchestrator is followed by a fresh one resuming the run. At the end every task is
// completed with the checksum its dependencies imply, and no task the store held as completed at a kill ran again.
// CI: 160 tasks, 2 kills (the orchestrator, then a worker); SOAK=1: 1000 tasks, 15 kills.

const url = process.env.REDIS_URL;
const KILLS = SOAK ? 15 : 2;
const LAYERS = SOAK ? 25 : 4;
const def = layered(LAYERS, 'crash-redis');
const TOTAL = def.tasks.length;
const driver = join(here, 'fixtures', 'crash-redis-driver.ts');

describe.skipIf(!url)('crash: SIGKILL distributed-mode orchestrators and workers (Redis) mid-run', () => {
  it(`${TOTAL} tasks: ${KILLS} kills of the orchestrator or a worker, resumed by fresh processes, outputs intact`, async () => {
    const seed = Number(process.env.CRASH_SEED ?? Date.now() % 100_000);
    const random = mulberry32(seed);
    const dir = mkdtempSync(join(tmpdir(), 'cdx-rel-redis-'));
    const log = join(dir, 'runs.log');
    const prefix = `cdx-rel-${randomUUID().slice(0, 8)}`;
    const id = `crash-redis-${seed}`;
    const env = { REDIS_URL: url as string, CDX_CRASH_LOG: log, CDX_CRASH_MS: '20' };
    const reader = new MultiAgentOrchestrator({ redis: { url, keyPrefix: prefix }, store: { type: 'redis' } });
    const completed = async () => {
      const s = await reader.getExecution(id);
      return new Set(s ? [...s.tasks.values()].filter((t) => t.status === 'completed').map((t) => t.taskKey) : []);
    };
    // A replacement worker is not waited for: the run goes on on the other one meanwhile.
    const startWorker = (): Proc =>
      proc(
        [
          bin,
          'worker',
          '--redis',
          url as string,
          '--agents',
          crashAgents,
          '--prefix',
          prefix,
          '--lock-ms',
          '2000',
          '--heartbeat-ms',
          '200',
          '--concurrency',
          '4',
        ],
        env,
      );
    const startDriver = () => proc(['--import', 'tsx', driver, id, prefix, String(LAYERS)], env);
    const workers: Proc[] = [];
    let orchestrator: Proc | undefined;
    const kills = { orchestrator: 0, worker: 0 };
    let reranAfterCommit = 0;
    const checks: Array<{ mark: number; held: Set<string> }> = [];
    try {
      workers.push(startWorker(), startWorker());
      orchestrator = startDriver();
      let started = 0;
      while (kills.orchestrator + kills.worker < KILLS) {
        const o = orchestrator;
        const done = kills.orchestrator + kills.worker;
        const target = started + 1 + Math.floor(random() * Math.max(1, (TOTAL - started) / (KILLS - done + 1)));
        const reached = await until('kill point', () => (logLines(log).length >= target ? 'kill' : !o.alive() && 'ended'), 300_000, 2);
        if (reached === 'ended') break;
        // The first kill takes the orchestrator and the second a worker, so every run covers both; then at random.
        const victim = done === 0 ? -1 : done === 1 ? 1 : random() < 0.5 ? -1 : Math.floor(random() * workers.length);
        if (victim < 0) {
          expect((await o.stop('SIGKILL')).signal, o.out()).toBe('SIGKILL');
          kills.orchestrator++;
        } else {
          expect((await workers[victim].stop('SIGKILL')).signal).toBe('SIGKILL');
          kills.worker++;
        }
        // Whatever the store holds as completed now must not start again, whoever picks the run up. The store is
        // read before the log: a task the live processes start and finish in between is not a run after commit.
        const held = await completed();
        const mark = logLines(log).length;
        if (victim < 0) orchestrator = startDriver();
        else workers[victim] = startWorker();
        started = mark;
        // Checked once the run is over (below), against the lines written after this point.
        checks.push({ mark, held });
      }
      const last = orchestrator as Proc;
      const exit = await last.exit;
      for (const w of workers) expect(w.alive(), w.out()).toBe(true);
      expect(exit.code, last.out()).toBe(0);
      const line = last.out().split('\n').find((l) => l.startsWith('RESULT '));
      expect(line, last.out()).toBeTruthy();
      const result = JSON.parse((line as string).slice(7)) as { status: string; sums: Record<string, string> };
      expect(result.status, JSON.stringify(result)).toBe('completed');
      const expected = expectedSums(def);
      expect(Object.keys(result.sums)).toHaveLength(TOTAL);
      for (const [k, v] of expected) expect(result.sums[k], k).toBe(v);
      const all = logLines(log);
      for (const c of checks) {
        const later = new Set(all.slice(c.mark));
        reranAfterCommit += [...c.held].filter((t) => later.has(t)).length;
      }
      const { counts, ranTwice } = runCounts(all);
      expect(counts.size).toBe(TOTAL);
      console.info(
        `crash (Redis mode, seed ${seed}): ${kills.orchestrator} orchestrator + ${kills.worker} worker kills, ` +
          `${all.length} handler runs for ${TOTAL} tasks, ${ranTwice} ran twice because killed before commit, ` +
          `${reranAfterCommit} recorded-as-completed ran again`,
      );
      // A run may finish before its last kill point (soak: 15 kills in 1000 tasks); the first two always land.
      expect(kills.orchestrator + kills.worker).toBeGreaterThanOrEqual(Math.min(KILLS, 2));
      expect(kills.orchestrator).toBeGreaterThanOrEqual(1);
      expect(kills.worker).toBeGreaterThanOrEqual(1);
      expect(reranAfterCommit).toBe(0);
    } finally {
      await Promise.all([orchestrator?.stop('SIGKILL'), ...workers.map((w) => w.stop('SIGKILL'))]);
      await reader.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
