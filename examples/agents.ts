// Agents for the examples. Each simulates a little work, then asks the model layer: with no provider key
// configured that is the offline `local` model, so these run anywhere.
import type { AgentDefinition, TaskContext } from '@codexos/multi-agent-orchestrator';

const work = (ms: number) => new Promise((r) => setTimeout(r, ms));

const modelAgent = (id: string, instructions: string, ms: number, capabilities: string[]): AgentDefinition => ({
  id,
  name: id,
  instructions,
  model: { capabilities },
  handler: async (ctx: TaskContext) => {
    await work(ms);
    const r = await ctx.callModel();
    return r.text;
  },
});

let predictorCalls = 0;

export const agents: AgentDefinition[] = [
  modelAgent('data-fetcher', 'You fetch data from the warehouse.', 400, ['analysis']),
  modelAgent('data-cleaner', 'You clean and validate tabular data.', 300, ['analysis']),
  modelAgent('trend-analyzer', 'You find trends in sales data.', 600, ['analysis']),
  {
    ...modelAgent('ml-predictor', 'You forecast sales.', 500, ['reasoning']),
    // The first call fails, to show retries with backoff in the live view.
    handler: async (ctx) => {
      await work(300);
      if (++predictorCalls === 1) throw new Error('forecast service busy (simulated)');
      return (await ctx.callModel()).text;
    },
  },
  modelAgent('insight-generator', 'You turn analyses into insights.', 400, ['reasoning']),
  modelAgent('report-generator', 'You write executive reports.', 300, ['analysis']),
  // review-loop.yaml
  {
    id: 'planner',
    handler: async () => {
      await work(150);
      return { sections: ['Why', 'What is new', 'How to start'] };
    },
  },
  {
    id: 'writer',
    handler: async (ctx) => {
      await work(200);
      return (await ctx.callModel()).text;
    },
  },
  {
    id: 'reviewer',
    handler: async (ctx) => {
      await work(150);
      return { score: 0.5 + 0.15 * ((ctx.iteration ?? 0) + 1) };
    },
  },
  {
    id: 'publisher',
    handler: async (ctx) => {
      await work(100);
      return `${ctx.prompt}: done`;
    },
  },
];

export default agents;
