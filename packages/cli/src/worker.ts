import {
  CodexError,
  connectRedis,
  ErrorCodes,
  EventBus,
  ModelManager,
  parseConfig,
  RedisRateLimiter,
  redisTarget,
  TaskWorker,
} from '@codexos/multi-agent-orchestrator';
import type { Command } from 'commander';
import { loadAgents } from './options.js';

interface WorkerFlags {
  redis?: string;
  agents?: string;
  only?: string;
  concurrency?: string;
  prefix?: string;
  heartbeatMs?: string;
  lockMs?: string;
}

interface Io {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
}

const positive = (v: string | undefined, flag: string, dflt: number): number => {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new CodexError(ErrorCodes.CONFIG_INVALID, `${flag} expects a positive integer, got "${v}"`);
  return n;
};

/** `codexos worker`: runs tasks of distributed executions for the agents whose code it loads, until signalled. */
export function registerWorkerCommand(program: Command, io: Io): void {
  program
    .command('worker')
    .description('process tasks of distributed executions (BullMQ on Redis) for the agents in --agents')
    .option('--redis <url>', 'Redis URL (or CODEXOS_REDIS_URL / REDIS_URL)')
    .option('--agents <module>', 'TS/JS module exporting agent definitions (code handlers)')
    .option('--only <ids>', 'comma-separated agent ids to serve (default: every agent in --agents)')
    .option('--concurrency <n>', 'most tasks per agent at once in this process (or CODEXOS_WORKER_CONCURRENCY)')
    .option('--prefix <prefix>', 'key prefix shared with the orchestrator (redis.keyPrefix)', 'codexos')
    .option('--heartbeat-ms <n>', 'heartbeat and health-check period (agents.healthCheckInterval)', '5000')
    .option('--lock-ms <n>', 'job lock: a worker silent this long has its task handed to another worker', '30000')
    .action(async (flags: WorkerFlags) => {
      const url = flags.redis ?? process.env.CODEXOS_REDIS_URL ?? process.env.REDIS_URL;
      if (!url) throw new CodexError(ErrorCodes.CONFIG_INVALID, 'codexos worker needs --redis redis://host:port');
      let agents = await loadAgents(flags.agents);
      if (flags.only) {
        const ids = new Set(flags.only.split(',').map((s) => s.trim()));
        agents = agents.filter((a) => ids.has(a.id));
      }
      if (!agents.some((a) => a.handler))
        throw new CodexError(ErrorCodes.CONFIG_INVALID, 'codexos worker needs --agents with at least one code handler');
      const concurrency = positive(flags.concurrency ?? process.env.CODEXOS_WORKER_CONCURRENCY, '--concurrency', 8);
      const lockMs = positive(flags.lockMs, '--lock-ms', 30_000);
      const target = { ...redisTarget(url), prefix: flags.prefix ?? 'codexos' };
      // The model layer's events (handlers calling ctx.callModel) are relayed to the orchestrators.
      const bus = new EventBus();
      const limiterRedis = connectRedis(target, 'codexos-worker-rate-limits');
      const worker = new TaskWorker({
        bus,
        target,
        agents,
        concurrency,
        // Model rate limits are one budget with the orchestrator and every other worker.
        models: new ModelManager(parseConfig({}).models, bus, {
          limiter: (o) => new RedisRateLimiter(limiterRedis, target.prefix, o),
        }),
        heartbeatMs: positive(flags.heartbeatMs, '--heartbeat-ms', 5000),
        lockDurationMs: lockMs,
        stalledIntervalMs: Math.max(500, Math.floor(lockMs / 2)),
      });
      try {
        await worker.start();
      } catch (err) {
        limiterRedis.disconnect();
        throw err;
      }
      io.out.write(
        `worker ${worker.workerId} serving ${worker.agentIds.join(', ')} on ${target.label} (concurrency ${concurrency})\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          worker
            .close()
            .finally(() => limiterRedis.disconnect())
            .then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      io.out.write(`worker ${worker.workerId} stopped\n`);
    });
}
