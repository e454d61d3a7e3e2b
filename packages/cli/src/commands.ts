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
import { loadAgents, parseInputs, registerAgentsFor } from './options.js';
import { ProgressView } from './progress.js';
import { printSummary } from './summary.js';

interface Io {
  out: NodeJS.WriteStream;
  err: NodeJS.WriteStream;
  setExit(code: number): void;
}

interface RunFlags {
  input?: string[];
  store?: string;
  memory?: boolean;
  json?: boolean;
  agents?: string;
  maxTasks?: string;
}

/** Monitor history beside the SQLite state file, so `codexos report` in a later process sees insights too. */
function options(flags: RunFlags): OrchestratorOptions {
  if (flags.memory) return {};
  const store = flags.store ?? '.codexos/state.db';
  return { monitor: { historyPath: store.replace(/(\.db)?$/, '.monitor.db') } };
}

function config(flags: RunFlags): OrchestratorConfigInput {
  return {
    store: flags.memory ? { type: 'memory' } : { type: 'sqlite', path: flags.store ?? '.codexos/state.db' },
    workflow: flags.maxTasks
      ? { maxTasks: Number(flags.maxTasks), maxDepth: Number(flags.maxTasks) }
      : { maxTasks: 10_000, maxDepth: 1000 },
  };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Agent ids a (not yet validated) definition names; malformed entries are left for validation to report. */
function agentIdsOf(raw: unknown): string[] {
  const tasks = (raw as { tasks?: unknown })?.tasks;
  if (!Array.isArray(tasks)) return [];
  return tasks.flatMap((t) =>
    t && typeof (t as { agentId?: unknown }).agentId === 'string' ? [(t as { agentId: string }).agentId] : [],
  );
}

export function registerCommands(program: Command, io: Io): void {
  const execute = async (
    flags: RunFlags,
    go: (o: MultiAgentOrchestrator) => Promise<ExecutionResult>,
    agentIds: () => Promise<string[]>,
  ) => {
    const o = new MultiAgentOrchestrator(config(flags), options(flags));
    try {
      registerAgentsFor(o, await agentIds(), await loadAgents(flags.agents));
      const live = flags.json ? undefined : new ProgressView(io.out, Boolean(io.out.isTTY)).attach(o);
      const stop = () => o.close();
      process.once('SIGINT', stop);
      const result = await go(o).finally(() => {
        live?.();
        process.off('SIGINT', stop);
      });
      if (flags.json) io.out.write(`${JSON.stringify(result, null, 2)}\n`);
      else printSummary(io.out, result);
      io.setExit(result.status === 'completed' ? 0 : 1);
    } finally {
      await o.close();
    }
  };

  program
    .command('run')
    .description('run a workflow file (YAML or JSON) with live progress')
    .argument('<file>', 'workflow file (.yaml, .yml or .json)')
    .option('-i, --input <key=value>', 'workflow input (repeatable; JSON values allowed)', collect)
    .option('--store <path>', 'SQLite state file', '.codexos/state.db')
    .option('--memory', 'keep state in memory only (no resume)')
    .option('--agents <module>', 'TS/JS module exporting agent definitions (code handlers)')
    .option('--max-tasks <n>', 'raise workflow.maxTasks / maxDepth')
    .option('--json', 'print the execution result as JSON instead of live progress')
    .action(async (file: string, flags: RunFlags) => {
      const input = parseInputs(flags.input);
      const raw = await readWorkflowFile(file);
      await execute(
        flags,
        (o) => o.executeWorkflow(raw, { input }),
        async () => agentIdsOf(raw),
      );
    });

  program
    .command('resume')
    .description('continue a stored execution: completed tasks keep their outputs, the rest run')
    .argument('<executionId>')
    .option('--store <path>', 'SQLite state file', '.codexos/state.db')
    .option('--agents <module>', 'TS/JS module exporting agent definitions (code handlers)')
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
    .description('check a workflow file: shape, dependencies, cycles, depth, expressions')
    .argument('<file>')
    .option('--max-tasks <n>', 'raise workflow.maxTasks / maxDepth')
    .action(async (file: string, flags: RunFlags) => {
      const o = new MultiAgentOrchestrator({ ...config(flags), store: { type: 'memory' } });
      try {
        const def = o.validateWorkflow(await readWorkflowFile(file), { checkAgents: false });
        io.out.write(`✔ ${file}: workflow "${def.id}" is valid (${def.tasks.length} tasks)\n`);
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
    .action(async (flags: RunFlags & { limit: string }) => {
      const o = new MultiAgentOrchestrator(config(flags));
      try {
        for (const h of await o.listExecutions({ limit: Number(flags.limit) })) {
          io.out.write(
            `${h.executionId}  ${h.workflowId.padEnd(24)} ${h.status.padEnd(10)} ${new Date(h.startedAt).toISOString()}\n`,
          );
        }
      } finally {
        await o.close();
      }
    });
}
