import {
  CodexError,
  ErrorCodes,
  type ExecutionResult,
  formatReport,
  MultiAgentOrchestrator,
  type OrchestratorConfigInput,
  type OrchestratorOptions,
  readWorkflowFile,
  workflowJsonSchema,
} from '@codexos/multi-agent-orchestrator';
import type { Command } from 'commander';
import { debugPrompt } from './debug-prompt.js';
import { loadAgents, loadAgentsModule, loopKinds, parseInputs, readInputFile, registerAgentsFor } from './options.js';
import { ProgressView } from './progress.js';
import { StreamView } from './stream.js';
import { printSummary } from './summary.js';

export interface Io {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  setExit(code: number): void;
}

export interface RunFlags {
  input?: string[];
  inputFile?: string;
  store?: string;
  memory?: boolean;
  json?: boolean;
  stream?: boolean;
  agents?: string;
  modelAgents?: boolean | string;
  maxTasks?: string;
  /** Distributed mode on this Redis (tasks run on `codexos worker` processes, state kept in Redis). */
  redis?: string;
  /** Distributed mode on the Redis of CODEXOS_REDIS_URL / REDIS_URL (localhost:6379 without them). */
  distributed?: boolean;
  prefix?: string;
}

/** Monitor history beside the SQLite state file, so `codexos report` in a later process sees insights too. */
export function options(flags: RunFlags): OrchestratorOptions {
  if (flags.memory) return {};
  const store = flags.store ?? '.codexos/state.db';
  return { monitor: { historyPath: store.replace(/(\.db)?$/, '.monitor.db') } };
}

export function config(flags: RunFlags, mcp?: unknown): OrchestratorConfigInput {
  const distributed = flags.redis !== undefined || flags.distributed === true;
  const url = flags.redis ?? process.env.CODEXOS_REDIS_URL ?? process.env.REDIS_URL;
  return {
    ...(mcp ? { mcp: mcp as OrchestratorConfigInput['mcp'] } : {}),
    // Distributed: state in Redis, so another `codexos resume --redis` (any machine) can continue the run.
    ...(distributed
      ? {
          redis: { ...(url ? { url } : {}), keyPrefix: flags.prefix ?? 'codexos' },
          execution: { mode: 'distributed' as const },
        }
      : {}),
    store: flags.memory
      ? { type: 'memory' }
      : distributed
        ? { type: 'redis' }
        : { type: 'sqlite', path: flags.store ?? '.codexos/state.db' },
    workflow: flags.maxTasks
      ? { maxTasks: Number(flags.maxTasks), maxDepth: Number(flags.maxTasks) }
      : { maxTasks: 10_000, maxDepth: 1000 },
  };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

const REDIS_HELP =
  'distributed mode: code-handler tasks run on `codexos worker` processes of this Redis, state kept there';
const DISTRIBUTED_HELP = 'distributed mode on the Redis of CODEXOS_REDIS_URL / REDIS_URL (default localhost:6379)';
const PREFIX_HELP = 'Redis key prefix shared with the workers (redis.keyPrefix; default codexos)';

/** The tasks' agent ids of a (not yet validated) definition; malformed entries are left for validation to report. */
export function agentIdsOf(raw: unknown): { taskId: string; agentId: string }[] {
  const tasks = (raw as { tasks?: unknown })?.tasks;
  if (!Array.isArray(tasks)) return [];
  return tasks.flatMap((t) =>
    // Approval tasks run no agent (a stored definition names the reserved `human`).
    t && typeof (t as { agentId?: unknown }).agentId === 'string' && (t as { type?: unknown }).type !== 'approval'
      ? [{ taskId: String((t as { id?: unknown }).id), agentId: (t as { agentId: string }).agentId }]
      : [],
  );
}

const MODEL_AGENTS_HELP =
  'let agent ids the --agents module does not define run as model-backed agents: a comma list, or no value for all';

/** Ends a run gracefully on SIGINT (Ctrl-C) and SIGTERM (Docker, systemd): the run is cancelled and resumable. */
function onStopSignals(stop: () => void): () => void {
  const handler = () => stop();
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, handler);
  return () => {
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.off(s, handler);
  };
}

/** The run function of `run`/`resume`, shared with the debug commands (rerun, approve). */
export const registerExecute: {
  fn?: (
    flags: RunFlags,
    go: (o: MultiAgentOrchestrator) => Promise<ExecutionResult>,
    agentIds: (o: MultiAgentOrchestrator) => Promise<{ taskId: string; agentId: string }[]>,
    definition?: unknown,
  ) => Promise<void>;
} = {};

export function registerCommands(program: Command, io: Io): void {
  const execute = async (
    flags: RunFlags,
    go: (o: MultiAgentOrchestrator) => Promise<ExecutionResult>,
    agentIds: (o: MultiAgentOrchestrator) => Promise<{ taskId: string; agentId: string }[]>,
    definition?: unknown,
  ) => {
    const mod = await loadAgentsModule(flags.agents);
    const o = new MultiAgentOrchestrator(config(flags, mod.mcp), options(flags));
    try {
      registerAgentsFor(o, await agentIds(o), mod.agents, flags.modelAgents);
      // --stream: the model text and tool calls as they arrive, instead of the task table.
      const tty = Boolean(io.out.isTTY);
      const views = flags.json
        ? []
        : flags.stream
          ? [new StreamView(io.out, tty).attach(o)]
          : [new ProgressView(io.out, tty).attach(o)];
      const live = views.length
        ? () => {
            for (const off of views) off();
          }
        : undefined;
      // A second signal is not caught (the handlers are `once`): it ends the process at once.
      const detach = onStopSignals(() => {
        o.close().catch(() => undefined);
      });
      const result = await go(o).finally(() => {
        live?.();
        detach();
      });
      if (flags.json) io.out.write(`${JSON.stringify(result, null, 2)}\n`);
      else
        printSummary(
          io.out,
          result,
          loopKinds(definition ?? (await o.getExecution(result.executionId))?.header.definition),
        );
      if (result.status === 'cancelled' && !flags.memory) {
        io.err.write(
          `execution ${result.executionId} stopped; continue it with: codexos resume ${result.executionId}${flags.store ? ` --store ${flags.store}` : ''}${flags.redis || flags.distributed ? ' --redis <url>' : ''}${flags.agents ? ` --agents ${flags.agents}` : ''}\n`,
        );
      }
      io.setExit(result.status === 'completed' ? 0 : 1);
    } finally {
      await o.close();
    }
  };
  registerExecute.fn = execute;

  program
    .command('run')
    .description('run a workflow file (YAML or JSON) with live progress')
    .argument('<file>', 'workflow file (.yaml, .yml or .json)')
    .option('-i, --input <key=value>', 'workflow input (repeatable; JSON values allowed)', collect)
    .option('--input-file <file>', 'workflow input from a JSON or YAML file (--input pairs override its keys)')
    .option('--store <path>', 'SQLite state file', '.codexos/state.db')
    .option('--memory', 'keep state in memory only (no resume)')
    .option('--agents <module>', 'TS/JS module exporting agent definitions (code handlers)')
    .option('--redis <url>', REDIS_HELP)
    .option('--distributed', DISTRIBUTED_HELP)
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--model-agents [ids]', MODEL_AGENTS_HELP)
    .option('--max-tasks <n>', 'raise workflow.maxTasks / maxDepth')
    .option('--json', 'print the execution result as JSON instead of live progress')
    .option('--stream', "show the running tasks' model text and tool calls as they arrive")
    .option('--break <taskId>', 'pause before this task with an inspect/step/continue prompt (repeatable)', collect)
    .option('--pause-on-failure', 'pause (instead of failing) when a task fails: pin its output or retry it')
    .action(async (file: string, flags: RunFlags & { break?: string[]; pauseOnFailure?: boolean }) => {
      const input = { ...(flags.inputFile ? await readInputFile(flags.inputFile) : {}), ...parseInputs(flags.input) };
      const raw = await readWorkflowFile(file);
      await execute(
        flags,
        (o) => {
          const debug =
            flags.break?.length || flags.pauseOnFailure
              ? { breakpoints: (flags.break ?? []).map((taskId) => ({ taskId })), pauseOnFailure: flags.pauseOnFailure }
              : undefined;
          const run = o.executeWorkflow(raw, { input, debug });
          if (debug) debugPrompt(o, io, run);
          return run;
        },
        async (o) => {
          // Shape and graph problems are reported first (they name the task), then unknown agents.
          o.validateWorkflow(raw, { checkAgents: false });
          return agentIdsOf(raw);
        },
        raw,
      );
    });

  program
    .command('resume')
    .description('continue a stored execution: completed tasks keep their outputs, the rest run')
    .argument('<executionId>')
    .option('--store <path>', 'SQLite state file', '.codexos/state.db')
    .option('--redis <url>', REDIS_HELP)
    .option('--distributed', DISTRIBUTED_HELP)
    .option('--prefix <prefix>', PREFIX_HELP)
    .option('--agents <module>', 'TS/JS module exporting agent definitions (code handlers)')
    .option('--model-agents [ids]', MODEL_AGENTS_HELP)
    .option('--max-tasks <n>', 'raise workflow.maxTasks / maxDepth')
    .option('--json', 'print the execution result as JSON')
    .action(async (executionId: string, flags: RunFlags) => {
      await execute(
        flags,
        (o) => o.resume(executionId),
        async () => {
          const probe = new MultiAgentOrchestrator(config(flags));
          try {
            const stored = await probe.getExecution(executionId);
            return agentIdsOf(stored?.header.definition);
          } finally {
            await probe.close();
          }
        },
      );
    });

  program
    .command('validate')
    .description('check a workflow file: shape, dependencies, cycles, depth, expressions, agents')
    .argument('<file>')
    .option('--agents <module>', 'TS/JS module exporting agent definitions the workflow uses')
    .option('--model-agents [ids]', MODEL_AGENTS_HELP)
    .option('--max-tasks <n>', 'raise workflow.maxTasks / maxDepth')
    .option('--json', 'print the verdict as JSON')
    .action(async (file: string, flags: RunFlags) => {
      const o = new MultiAgentOrchestrator({ ...config(flags), store: { type: 'memory' } });
      try {
        const raw = await readWorkflowFile(file);
        // Shape first (its errors name the task), then agents, exactly as `run` would refuse them.
        o.validateWorkflow(raw, { checkAgents: false });
        registerAgentsFor(o, agentIdsOf(raw), await loadAgents(flags.agents), flags.modelAgents);
        const def = o.validateWorkflow(raw, { checkAgents: true });
        io.out.write(
          flags.json
            ? `${JSON.stringify({ valid: true, file, workflowId: def.id, tasks: def.tasks.length })}\n`
            : `✔ ${file}: workflow "${def.id}" is valid (${def.tasks.length} tasks)\n`,
        );
      } finally {
        await o.close();
      }
    });

  program
    .command('schema')
    .description('print the JSON Schema of workflow files (for editors)')
    .action(() => {
      io.out.write(`${JSON.stringify(workflowJsonSchema(), null, 2)}\n`);
    });

  program
    .command('report')
    .description('profile of a stored execution: critical path, bottlenecks, costs, insights')
    .argument('<executionId>')
    .option('--store <path>', 'SQLite state file', '.codexos/state.db')
    .option('--json', 'print the report as JSON')
    .action(async (executionId: string, flags: RunFlags) => {
      const o = new MultiAgentOrchestrator(config(flags), options(flags));
      try {
        const report = await o.monitor.report(executionId);
        if (!report)
          throw new CodexError(ErrorCodes.EXECUTION_NOT_FOUND, `No stored execution "${executionId}" to report on`);
        io.out.write(
          flags.json
            ? `${JSON.stringify(report, null, 2)}\n`
            : `${formatReport(report.profile, report.insights, report.costs)}\n`,
        );
      } finally {
        await o.close();
      }
    });

  program
    .command('list')
    .description('list stored executions, newest first')
    .option('--store <path>', 'SQLite state file', '.codexos/state.db')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print the executions as JSON')
    .action(async (flags: RunFlags & { limit: string }) => {
      const o = new MultiAgentOrchestrator(config(flags));
      try {
        const headers = await o.listExecutions({ limit: Number(flags.limit) });
        if (flags.json) {
          const rows = headers.map(({ definition: _d, input: _i, ...h }) => h);
          io.out.write(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        // `interrupted`: its process stopped without finishing it (killed); `codexos resume <id>` continues it.
        for (const h of headers) {
          // A paused or waiting run without a lease was left by a stopped process: resume (or approve) takes it up.
          const owner = h.lease
            ? `  by ${h.lease.owner}`
            : h.status === 'paused' || h.status === 'waiting'
              ? '  (stopped)'
              : '';
          io.out.write(
            `${h.executionId}  ${h.workflowId.padEnd(24)} ${h.status.padEnd(11)} ${new Date(h.startedAt).toISOString()}${owner}\n`,
          );
        }
      } finally {
        await o.close();
      }
    });
}
