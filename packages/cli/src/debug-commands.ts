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

/** `codexos approve` and `codexos rerun`. */
export function registerDebugCommands(program: Command, _io: Io): void {
  common(
    program
      .command('approve')
      .description('decide a waiting approval (or signal a ctx.waitFor) of a stored run, then run it on to its end')
      .argument('<executionId>')
      .argument('<name>', 'the approval task id, or the waitFor name')
      .option('--reject', 'reject instead of approving')
      .option('--comment <text>', 'a comment kept with the decision')
      .option('--by <user>', 'who decides', process.env.USER ?? 'cli')
      .option('--payload <json>', 'signal this JSON payload instead of an approval decision'),
  ).action(
    async (
      executionId: string,
      name: string,
      flags: RunFlags & { reject?: boolean; comment?: string; by: string; payload?: string },
    ) => {
      await registerExecute.fn!(
        flags,
        async (o) => {
          // The stored run is taken up here (a run whose process has stopped), the decision delivered to it.
          const run = o.resume(executionId);
          const a = { by: flags.by, comment: flags.comment };
          const recorded =
            flags.payload !== undefined
              ? await o.signal(executionId, name, JSON.parse(flags.payload), a)
              : flags.reject
                ? await o.debugger.reject(executionId, name, a)
                : await o.debugger.approve(executionId, name, a);
          if (!recorded) _io.err.write(`"${name}" was already decided; nothing changed\n`);
          return run;
        },
        () => storedAgents(flags, executionId),
      );
    },
  );

  common(
    program
      .command('rerun')
      .description(
        'a new run of a finished execution from a task: that task and its dependents run again, the rest is reused',
      )
      .argument('<executionId>')
      .requiredOption('--from <taskId>', 'the task to run again (with everything downstream of it)')
      .option('--prompt <text>', "replace the task's prompt for the new run"),
  ).action(async (executionId: string, flags: RunFlags & { from: string; prompt?: string }) => {
    await registerExecute.fn!(
      flags,
      async (o) => (await o.debugger.rerunFrom(executionId, flags.from, { prompt: flags.prompt, by: 'cli' })).done,
      () => storedAgents(flags, executionId),
    );
  });
}
