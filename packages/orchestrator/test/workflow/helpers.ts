import type { AgentDefinition, OrchestratorConfigInput } from '../../src/index.js';
import { MultiAgentOrchestrator } from '../../src/index.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function makeOrchestrator(
  config: OrchestratorConfigInput = {},
  agents: AgentDefinition[] = [],
): MultiAgentOrchestrator {
  const o = new MultiAgentOrchestrator({
    store: { type: 'memory' },
    ...config,
    workflow: { maxTasks: 20_000, maxDepth: 20_000, maxConcurrency: 5000, ...config.workflow },
  });
  o.registerAgent({ id: 'echo', handler: (ctx) => ({ task: ctx.taskId, deps: Object.keys(ctx.deps) }) });
  for (const a of agents) o.registerAgent(a);
  return o;
}

export function chain(n: number, agentId = 'echo') {
  return {
    id: 'chain',
    name: 'chain',
    tasks: Array.from({ length: n }, (_, i) => ({ id: `t${i}`, agentId, dependencies: i ? [`t${i - 1}`] : [] })),
  };
}

export function fanOut(n: number, agentId = 'echo') {
  return {
    id: 'fan',
    name: 'fan',
    tasks: [
      { id: 'start', agentId },
      ...Array.from({ length: n }, (_, i) => ({ id: `w${i}`, agentId, dependencies: ['start'] })),
      { id: 'join', agentId, dependencies: Array.from({ length: n }, (_, i) => `w${i}`) },
    ],
  };
}
