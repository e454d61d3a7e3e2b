import { readFileSync } from 'node:fs';
import { CodexError, ErrorCodes, isCodexError } from '@codexos/multi-agent-orchestrator';
import { Command, CommanderError } from 'commander';
import { registerCommands } from './commands.js';
import { registerDebugCommands } from './debug-commands.js';
import { registerOutputsCommand } from './outputs-command.js';
import { registerServerCommands } from './serve-command.js';
import { registerWorkerCommand } from './worker.js';

/** Exit codes: 0 success, 1 the workflow failed or was cancelled, 2 invalid input (file, flags, definition). */
export const EXIT = { OK: 0, FAILED: 1, INVALID: 2 } as const;

const INPUT_ERRORS = new Set<string>([
  ErrorCodes.WORKFLOW_INVALID,
  ErrorCodes.WORKFLOW_PARSE,
  ErrorCodes.UNSAFE_KEY,
  ErrorCodes.INPUT_TOO_LARGE,
  ErrorCodes.CONFIG_INVALID,
  ErrorCodes.AGENT_INVALID,
  ErrorCodes.EXECUTION_NOT_FOUND,
  ErrorCodes.EXECUTION_RUNNING,
  ErrorCodes.EXECUTION_EXISTS,
  ErrorCodes.AGENT_UNKNOWN,
  ErrorCodes.VALUE_NOT_SERIALIZABLE,
  ErrorCodes.INPUT_INVALID,
  ErrorCodes.DEBUG_INVALID,
  ErrorCodes.WAITPOINT_NOT_FOUND,
  ErrorCodes.NOT_PAUSED,
]);

/** The CLI package's version (package.json sits one level above both src/ and dist/). */
export function cliVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(
  argv: string[],
  io: { out?: NodeJS.WriteStream; err?: NodeJS.WriteStream } = {},
): Promise<number> {
  const out = io.out ?? process.stdout;
  const err = io.err ?? process.stderr;
  const program = new Command('codexos')
    .description('CodexOS: durable DAG orchestration of LLM agents')
    .version(cliVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  let code: number = EXIT.OK;
  registerCommands(program, { out, err, setExit: (c) => (code = c) });
  registerServerCommands(program, { out, err, setExit: (c) => (code = c) });
  registerDebugCommands(program, { out, err, setExit: (c) => (code = c) });
  registerWorkerCommand(program, { out, err });
  registerOutputsCommand(program, { out });
  // With --json, errors are JSON too (on stderr), so scripts never have to parse prose.
  const json = argv.includes('--json');
  if (json) program.configureOutput({ writeOut: (s) => out.write(s), writeErr: () => {} });
  const fail = (error: { code: string; message: string; issues?: unknown[] }) =>
    err.write(`${JSON.stringify({ error })}\n`);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (json && e.exitCode !== 0) fail({ code: e.code, message: e.message.replace(/^error: /, '') });
      return e.exitCode === 0 ? EXIT.OK : EXIT.INVALID;
    }
    if (isCodexError(e)) {
      if (json) {
        fail({ code: e.code, message: e.message, issues: e.issues });
        return INPUT_ERRORS.has(e.code) ? EXIT.INVALID : EXIT.FAILED;
      }
      err.write(`error ${e.code}: ${e.message}\n`);
      for (const i of e.issues.slice(0, 20))
        err.write(`  - ${i.taskId ? `task "${i.taskId}": ` : i.path ? `${i.path}: ` : ''}${i.message}\n`);
      return INPUT_ERRORS.has(e.code) ? EXIT.INVALID : EXIT.FAILED;
    }
    if (json) fail({ code: 'CDX_ERR_INTERNAL', message: (e as Error)?.message ?? String(e) });
    else err.write(`error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.FAILED;
  }
}

export { CodexError };
