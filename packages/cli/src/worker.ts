import { readFile } from 'node:fs/promises';
import {
  CodexError,
  connectRedis,
  ErrorCodes,
  EventBus,
  ModelManager,
  type OrchestratorConfig,
  parseConfig,
  parseWorkflowText,
  RedisBudgetLedger,
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
  id?: string;
  config?: string;
  modelAgents?: boolean | string;
  parentPid?: string;
  stopGraceMs?: string;
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

/** `--config codexos.yaml|json`: the orchestrator's config file; the worker takes its models and redis sections. */
async function readConfigFile(path: string): Promise<OrchestratorConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CodexError(
      ErrorCodes.CONFIG_INVALID,
      `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    // The workflow reader's safety checks (size, aliases, keys) apply to any YAML this process reads.
    raw = parseWorkflowText(text, { format: /\.json$/i.test(path) ? 'json' : 'yaml', source: path });
  } catch (err) {
    if (/must be an object/.test((err as Error).message))
      throw new CodexError(ErrorCodes.CONFIG_INVALID, `${path} must hold the orchestrator config (an object)`);
    throw err;
  }
  try {
    return parseConfig(raw);
  } catch (err) {
    throw new CodexError(ErrorCodes.CONFIG_INVALID, `${path}: ${(err as Error).message}`);
  }
}

/** `--model-agents`: absent = serve none (unless --config), bare = all, a list = those ids. */
function modelAgentsOf(flag: boolean | string | undefined, hasConfig: boolean): boolean | string[] {
  if (flag === undefined) return hasConfig;
  if (flag === true || flag === false) return flag;
  const ids = flag
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  return ids.length === 0 || ids.includes('*') ? true : ids;
}

/** Calls `gone` once `pid` no longer exists (a pool whose orchestrator was SIGKILLed leaves no orphans). */
function watchParent(pid: number, everyMs: number, gone: () => void): NodeJS.Timeout {
  const t = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch (err) {
      // EPERM: it exists but belongs to someone else.
      if ((err as NodeJS.ErrnoException).code === 'EPERM') return;
      clearInterval(t);
      gone();
    }
  }, everyMs);
  t.unref();
  return t;
}

/** `codexos worker`: runs tasks of distributed executions for the agents whose code it loads, until signalled. */
export function registerWorkerCommand(program: Command, io: Io): void {
  program
    .command('worker')
    .description('process tasks of distributed executions (BullMQ on Redis) for the agents in --agents')
    .option('--redis <url>', 'Redis URL (or CODEXOS_REDIS_URL / REDIS_URL)')
    .option('--agents <module>', 'TS/JS module exporting agent definitions (code handlers)')
    .option('--only <ids>', 'comma-separated agent ids to serve (default: every agent in --agents)')
    .option('--concurrency <n>', 'most tasks per agent at once in this process (or CODEXOS_WORKER_CONCURRENCY)')
    .option('--prefix <prefix>', 'key prefix shared with the orchestrator (redis.keyPrefix; default codexos)')
    .option('--heartbeat-ms <n>', 'heartbeat and health-check period (agents.healthCheckInterval)', '5000')
    .option('--lock-ms <n>', 'job lock: a worker silent this long has its task handed to another worker', '30000')
    .option('--config <file>', 'the orchestrator config file (YAML/JSON): its models and redis sections are used here')
    .option(
      '--model-agents [ids]',
      'also run tasks of model-backed agents (all, or these comma-separated ids); on by default with --config',
    )
    .option('--no-model-agents', 'with --config: run code handlers only')
    .option('--id <workerId>', "this worker's id in heartbeats and the pool (default host:pid:random)")
    .option(
      '--parent-pid <pid>',
      'stop (as on SIGTERM) when this process is gone: set by the pool for its local workers',
    )
    .option(
      '--stop-grace-ms <n>',
      'with --parent-pid: exit after this long even if running tasks have not finished',
      '30000',
    )
    .action(async (flags: WorkerFlags) => {
      if (flags.id !== undefined && !/^[A-Za-z0-9_.:@-]{1,120}$/.test(flags.id))
        throw new CodexError(ErrorCodes.CONFIG_INVALID, '--id may hold letters, digits and _ . : @ - only');
      const cfg = flags.config ? await readConfigFile(flags.config) : undefined;
      const fromConfig = cfg?.redis ? redisTarget(cfg.redis) : undefined;
      const url = flags.redis ?? process.env.CODEXOS_REDIS_URL ?? process.env.REDIS_URL;
      if (!url && !fromConfig)
        throw new CodexError(ErrorCodes.CONFIG_INVALID, 'codexos worker needs --redis redis://host:port');
      let agents = await loadAgents(flags.agents);
      if (flags.only) {
        const ids = new Set(flags.only.split(',').map((s) => s.trim()));
        agents = agents.filter((a) => ids.has(a.id));
      }
      const modelAgents = modelAgentsOf(flags.modelAgents, cfg !== undefined);
      if (!agents.some((a) => a.handler) && !modelAgents)
        throw new CodexError(
          ErrorCodes.CONFIG_INVALID,
          'codexos worker needs --agents with at least one code handler, or --config / --model-agents to run model-backed agents',
        );
      const concurrency = positive(flags.concurrency ?? process.env.CODEXOS_WORKER_CONCURRENCY, '--concurrency', 8);
      const lockMs = positive(flags.lockMs, '--lock-ms', 30_000);
      const parentPid = flags.parentPid === undefined ? undefined : positive(flags.parentPid, '--parent-pid', 1);
      const stopGraceMs = positive(flags.stopGraceMs, '--stop-grace-ms', 30_000);
      const target = url
        ? { ...redisTarget(url), prefix: flags.prefix ?? cfg?.redis?.keyPrefix ?? 'codexos' }
        : { ...fromConfig!, prefix: flags.prefix ?? fromConfig!.prefix };
      // The model layer's events (handlers calling ctx.callModel) are relayed to the orchestrators.
      const bus = new EventBus();
      const heartbeatMs = positive(flags.heartbeatMs, '--heartbeat-ms', 5000);
      const limiterRedis = connectRedis(target, 'codexos-worker-rate-limits');
      let worker: TaskWorker;
      try {
        worker = new TaskWorker({
          workerId: flags.id,
          modelAgents,
          bus,
          target,
          agents,
          concurrency,
          // The orchestrator's models section (providers, catalog, rate limits); provider keys from this environment.
          // Model rate limits are one budget with the orchestrator and every other worker.
          models: new ModelManager((cfg ?? parseConfig({})).models, bus, {
            limiter: (o) => new RedisRateLimiter(limiterRedis, target.prefix, o),
            // A workflow's token/cost budget counts the calls of every worker and the orchestrator.
            budgetLedger: new RedisBudgetLedger(() => limiterRedis, target.prefix),
          }),
          heartbeatMs,
          // What the worker does on its own (results, heartbeats, BullMQ's fetching) and Redis refused.
          onError: (e) => io.err.write(`${e.message}\n`),
          lockDurationMs: lockMs,
          stalledIntervalMs: Math.max(500, Math.floor(lockMs / 2)),
        });
        await worker.start();
      } catch (err) {
        // An open client would keep this process alive after the error.
        limiterRedis.disconnect();
        throw err;
      }
      const served = [...worker.agentIds, ...(modelAgents ? ['model-backed agents'] : [])];
      io.out.write(
        `worker ${worker.workerId} serving ${[...new Set(served)].join(', ')} on ${target.label} (concurrency ${concurrency})\n`,
      );
      await new Promise<void>((resolve) => {
        let watch: NodeJS.Timeout | undefined;
        const stop = () => {
          clearInterval(watch);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          worker
            .close()
            .finally(() => limiterRedis.disconnect())
            .then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        if (parentPid !== undefined)
          watch = watchParent(parentPid, Math.min(heartbeatMs, 1000), () => {
            io.err.write(`worker ${worker.workerId}: parent process ${parentPid} is gone, stopping\n`);
            // Running tasks get the grace to finish; past it the process exits and their job locks lapse, so
            // BullMQ's stall check hands them to another worker.
            setTimeout(() => process.exit(1), stopGraceMs).unref();
            stop();
          });
      });
      io.out.write(`worker ${worker.workerId} stopped\n`);
      // Stopped: a handle the agents' module keeps open (a client, a timer) must not keep the process up.
      setImmediate(() => process.exit()).unref();
    });
}
