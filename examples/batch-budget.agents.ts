// Agents for batch-budget.yaml. The summariser catches the budget error for its item and marks it deferred, so
// the run finishes with everything it could afford done and the rest listed for the next run.
import { type AgentDefinition, ErrorCodes, isCodexError } from '@codexos/multi-agent-orchestrator';

const PRODUCTS = ['kettle', 'headphones', 'desk lamp', 'backpack', 'keyboard'];
const BACKLOG = Array.from({ length: 40 }, (_, i) => ({
  id: `review-${i + 1}`,
  text: `Review ${i + 1} of the ${PRODUCTS[i % PRODUCTS.length]}: ${i % 3 === 0 ? 'works well, arrived quickly' : i % 3 === 1 ? 'stopped working after a week' : 'fine for the price'}.`,
}));

type Item =
  | { id: string; status: 'done'; summary: string; tokens: number }
  | { id: string; status: 'deferred'; reason: string };

export const agents: AgentDefinition[] = [
  {
    id: 'backlog-loader',
    handler: (ctx) => (ctx.input as { reviews?: typeof BACKLOG } | undefined)?.reviews ?? BACKLOG,
  },
  {
    id: 'review-summariser',
    instructions: 'You summarise product reviews in one line: sentiment, then the gist.',
    model: { capabilities: ['analysis'], maxTokens: 60 },
    concurrency: 1,
    handler: async (ctx): Promise<Item> => {
      const { id } = ctx.item as { id: string };
      try {
        const r = await ctx.callModel();
        return { id, status: 'done', summary: r.text, tokens: r.usage.inputTokens + r.usage.outputTokens };
      } catch (e) {
        if (isCodexError(e) && e.code === ErrorCodes.BUDGET_EXCEEDED)
          return { id, status: 'deferred', reason: e.message };
        throw e;
      }
    },
  },
  {
    id: 'batch-reporter',
    handler: (ctx) => {
      const items = ctx.deps.summarise as Item[];
      const done = items.filter((i) => i.status === 'done');
      return {
        done: done.length,
        deferred: items.filter((i) => i.status === 'deferred').map((i) => i.id),
        tokens: done.reduce((n, i) => n + (i.status === 'done' ? i.tokens : 0), 0),
      };
    },
  },
];

export default agents;
