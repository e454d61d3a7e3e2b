// Agents for support-triage.yaml. The classifier asks the model for JSON and, when the answer is not usable JSON
// (the offline `local` model never answers JSON), classifies by keywords instead, saying so in `by`.
import type { AgentDefinition, TaskContext } from '@codexos/multi-agent-orchestrator';

type Category = 'billing' | 'technical' | 'general';

const RULES: Array<[Category, RegExp]> = [
  ['billing', /\b(charge[ds]?|invoice|refund|billing|payment|subscription|price)\b/i],
  ['technical', /\b(error|crash|down|outage|bug|fails?|timeout|500|login|api)\b/i],
];

function byKeywords(ticket: string): { category: Category; urgent: boolean } {
  const category = RULES.find(([, re]) => re.test(ticket))?.[0] ?? 'general';
  return { category, urgent: /\b(outage|down|urgent|production|asap)\b/i.test(ticket) };
}

function parseJson(text: string): { category?: string; urgent?: boolean } | undefined {
  try {
    return JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1));
  } catch {
    return undefined;
  }
}

const drafter = (id: string, instructions: string): AgentDefinition => ({
  id,
  instructions,
  model: { capabilities: ['analysis'] },
  handler: async (ctx: TaskContext) => ({ team: id, draft: (await ctx.callModel()).text }),
});

export const agents: AgentDefinition[] = [
  {
    id: 'ticket-classifier',
    instructions: 'Answer only with JSON: {"category": "billing" | "technical" | "general", "urgent": boolean}.',
    model: { capabilities: ['analysis'] },
    handler: async (ctx) => {
      const ticket = String((ctx.input as { ticket?: string } | undefined)?.ticket ?? ctx.prompt);
      const answer = parseJson((await ctx.callModel()).text);
      if (answer && ['billing', 'technical', 'general'].includes(String(answer.category)))
        return { category: answer.category, urgent: Boolean(answer.urgent), by: 'model' };
      return { ...byKeywords(ticket), by: 'keywords' };
    },
  },
  drafter('billing-specialist', 'You resolve billing questions and explain refunds plainly.'),
  {
    ...drafter('technical-specialist', 'You troubleshoot product issues step by step.'),
    // Urgent incidents are not for a drafted reply: failing here hands the ticket to the escalation fallback.
    handler: async (ctx) => {
      const classified = ctx.deps.classify as { urgent: boolean };
      if (classified.urgent) throw new Error('urgent incident: needs a human');
      return { team: 'technical-specialist', draft: (await ctx.callModel()).text };
    },
  },
  drafter('general-specialist', 'You answer general questions warmly and briefly.'),
  drafter('human-escalation', 'You write a one-line hand-over for the on-call engineer.'),
  {
    id: 'responder',
    // The one reply that exists (the others were skipped), or the escalation that stood in for it.
    handler: (ctx) => {
      const reply = Object.values(ctx.deps).find((v) => v != null) as { team: string; draft: string };
      return { routedTo: reply.team, message: reply.draft };
    },
  },
];

export default agents;
