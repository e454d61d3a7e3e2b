import { createInterface } from 'node:readline';
import type { ExecutionResult, MultiAgentOrchestrator } from '@codexos/multi-agent-orchestrator';
import type { Io } from './commands.js';

const HELP =
  'commands: i [task] inspect · s step · c continue · a abort · p <text> edit the prompt · e <json> edit the input · pin <json> pin the output';

/**
 * `codexos run --break`: when the run pauses, reads commands from stdin (inspect, step, continue, abort, edit,
 * pin) until the run ends.
 */
export function debugPrompt(o: MultiAgentOrchestrator, io: Io, run: Promise<ExecutionResult>): void {
  let id: string | undefined;
  let target: string | undefined;
  const rl = createInterface({ input: process.stdin, terminal: false });
  const say = (s: string) => io.err.write(`${s}\n`);
  o.on('execution:paused', (e) => {
    id = e.executionId;
    target = e.taskId;
    say(`⏸ paused (${e.reason}${e.taskId ? ` ${e.when ?? 'before'} "${e.taskId}"` : ''}) — ${HELP}`);
    io.err.write('debug> ');
  });
  o.on('task:waiting', (e) =>
    say(
      `… "${e.taskId}" waits for "${e.name}": codexos approve ${e.executionId} ${e.name} (from another shell once this one stops)`,
    ),
  );
  const act = async (line: string): Promise<void> => {
    if (!id) return;
    const [cmd, ...rest] = line.trim().split(' ');
    const arg = rest.join(' ').trim();
    const d = o.debugger;
    if (cmd === 'i' || cmd === 'inspect') {
      const insp = await d.inspect(id, arg || undefined);
      say(JSON.stringify(insp, null, 2));
    } else if (cmd === 's' || cmd === 'step') await d.step(id, { by: 'cli' });
    else if (cmd === 'c' || cmd === 'continue') await d.continue(id, { by: 'cli' });
    else if (cmd === 'a' || cmd === 'abort') await d.abort(id, { by: 'cli' });
    else if ((cmd === 'p' || cmd === 'prompt') && target) {
      await d.edit(id, target, { prompt: arg }, { by: 'cli' });
      say(`prompt of "${target}" edited`);
    } else if ((cmd === 'e' || cmd === 'edit') && target) {
      await d.edit(id, target, { input: JSON.parse(arg) }, { by: 'cli' });
      say(`input of "${target}" edited`);
    } else if (cmd === 'pin' && target) {
      await d.pin(id, target, JSON.parse(arg), { by: 'cli' });
      say(`output of "${target}" pinned`);
    } else if (cmd) say(HELP);
  };
  let chain: Promise<unknown> = Promise.resolve();
  rl.on('line', (line) => {
    chain = chain
      .then(() => act(line))
      .then(
        () => undefined,
        (err: Error) => say(`error: ${err.message}`),
      );
  });
  const close = () => rl.close();
  run.then(close, close);
}
