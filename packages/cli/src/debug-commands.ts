import { CodexError, ErrorCodes, MultiAgentOrchestrator } from '@codexos/multi-agent-orchestrator';
import type { Command } from 'commander';
import { agentIdsOf, config, type Io, type RunFlags, registerExecute } from './commands.js';

/** The agent ids of a stored execution's definition (so `--agents` / `--model-agents` can cover them). */
async function storedAgents(flags: RunFlags, executionId: string) {
  const probe = new MultiAgentOrchestrator(config(flags));
  try {
    const stored = await probe.getExecution(executionId);
    if (!stored) throw new CodexError(ErrorCodes.EXECUTION_NOT_FOUND, `No stored execution "${executionId}"`);
    return agentIdsOf(stored.header.definition);
  } finally {
    await probe.close();
  }
}

const common = (c: Command) =>
  c
    .option('--store <path>', 'SQLite state file', '.codexos/state.db')
    .option('--agents <module>', 'TS/JS module exporting agent definitions (code handlers)')
    .option('--model-agents [ids]', 'agent ids to run as model-backed agents: a comma list, or no value for all')
    .option('--json', 'print the execution result as JSON');

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

type ApproveFlags = RunFlags & { reject?: boolean; comment?: string; by: string; payload?: string };

function payloadOf(flags: ApproveFlags): unknown {
  try {
    return JSON.parse(flags.payload!);
  } catch (err) {
    throw new CodexError(ErrorCodes.INPUT_INVALID, `--payload is not JSON: ${(err as Error).message}`, {
      issues: [{ path: '--payload', message: 'not JSON' }],
    });
  }
}

/** Delivers the decision: a signal payload, or an approve / reject decision. */
function decide(o: MultiAgentOrchestrator, executionId: string, name: string, flags: ApproveFlags) {
  const a = { by: flags.by, comment: flags.comment };
  if (flags.payload !== undefined) return o.signal(executionId, name, payloadOf(flags), a);
  return flags.reject ? o.debugger.reject(executionId, name, a) : o.debugger.approve(executionId, name, a);
}

/** `codexos approve` and `codexos rerun`. */
export function registerDebugCommands(program: Command, io: Io): void {
  common(
    program
      .command('approve')
      .description(
        'decide a waiting approval (or signal a ctx.waitFor): a run another process drives (codexos serve, codexos run) gets it through the store; a stopped run is taken up here and run to its end',
      )
      .argument('<executionId>')
      .argument('<name>', 'the approval task id, or the waitFor name')
      .option('--reject', 'reject instead of approving')
      .option('--comment <text>', 'a comment kept with the decision')
      .option('--by <user>', 'who decides', process.env.USER ?? 'cli')
      .option('--payload <json>', 'signal this JSON payload instead of an approval decision')
      .option('--redis <url>', 'the run is stored in this Redis (distributed mode)')
      .option('--prefix <prefix>', 'Redis key prefix of the store (default codexos)'),
  ).action(async (executionId: string, name: string, flags: ApproveFlags) => {
    if (flags.payload !== undefined) payloadOf(flags);
    // Driven by another live process: the decision is recorded in the store and that process applies it. A run
    // that has ended is only checked (a decided waitpoint changes nothing; an open one is refused).
    const probe = new MultiAgentOrchestrator(config(flags));
    try {
      const stored = await probe.getExecution(executionId);
      if (!stored) throw new CodexError(ErrorCodes.EXECUTION_NOT_FOUND, `No stored execution "${executionId}"`);
      const owner = await probe.debugger.drivenBy(executionId);
      if (owner || FINISHED.has(stored.header.status)) {
        const recorded = await decide(probe, executionId, name, flags);
        if (flags.json) io.out.write(`${JSON.stringify({ executionId, name, recorded, drivenBy: owner })}\n`);
        else if (recorded) io.out.write(`"${name}" decided; ${owner} applies it to execution ${executionId}\n`);
        if (!recorded) io.err.write(`"${name}" was already decided; nothing changed\n`);
        return;
      }
    } finally {
      await probe.close();
    }
    await registerExecute.fn!(
      flags,
      async (o) => {
        // The stored run is taken up here (a run whose process has stopped), the decision delivered to it.
        const run = o.resume(executionId);
        const recorded = await decide(o, executionId, name, flags);
        if (!recorded) io.err.write(`"${name}" was already decided; nothing changed\n`);
        return run;
      },
      () => storedAgents(flags, executionId),
    );
  });

  common(
    program
      .command('rerun')
      .description(
        'a new run of a finished execution from a task: that task and its dependents run again, the rest is reused',
      )
      .argument('<executionId>')
      .requiredOption('--from <taskId>', 'the task to run again (with everything downstream of it)')
      .option('--prompt <text>', "replace the task's prompt for the new run")
      .option('--agent <id>', 'run the task on this agent instead')
      .option('--model <id>', 'run the task on this catalog model'),
  ).action(
    async (
      executionId: string,
      flags: RunFlags & { from: string; prompt?: string; agent?: string; model?: string },
    ) => {
      const change = {
        prompt: flags.prompt,
        agentId: flags.agent,
        model: flags.model ? { model: flags.model } : undefined,
        by: 'cli',
      };
      await registerExecute.fn!(
        flags,
        async (o) => (await o.debugger.rerunFrom(executionId, flags.from, change)).done,
        () => storedAgents(flags, executionId),
      );
    },
  );
}
