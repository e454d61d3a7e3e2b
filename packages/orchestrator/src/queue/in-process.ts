import type { AgentDefinition } from '../agents/types.js';
import type { DispatchContext, TaskQueue } from './types.js';

/** Today's behaviour and the default: the attempt runs right here, in the orchestrator's process. */
export class InProcessQueue implements TaskQueue {
  readonly kind = 'in-process';

  ready(): undefined {
    return undefined;
  }

  run(ctx: DispatchContext, agent: AgentDefinition): unknown {
    // With an output schema the parsed value is the output; otherwise the answer's text.
    return agent.handler
      ? agent.handler(ctx)
      : ctx.callModel().then((r) => (r.output !== undefined ? r.output : r.text));
  }

  async close(): Promise<void> {}
}
