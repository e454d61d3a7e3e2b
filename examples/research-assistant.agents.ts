// Agents for research-assistant.yaml. The reader and the synthesizer ask the model (the offline `local` model
// when no provider key is set); the picker is plain code over a small bundled library of sources.
import type { AgentDefinition } from '@codexos/multi-agent-orchestrator';

interface Source {
  id: number;
  title: string;
  text: string;
  topics: string[];
}

const LIBRARY: Source[] = [
  {
    id: 1,
    title: 'Write-ahead logging',
    text: 'Every change is appended to a log before it is applied, so a restart replays the log.',
    topics: ['durable', 'crash', 'database'],
  },
  {
    id: 2,
    title: 'Checkpointing task state',
    text: 'Engines store each completed step with its output; a resumed run skips what is stored.',
    topics: ['durable', 'workflow', 'crash', 'resume'],
  },
  {
    id: 3,
    title: 'Leases and heartbeats',
    text: 'One worker holds a lease on a run and renews it; an expired lease lets another take over.',
    topics: ['crash', 'worker', 'distributed'],
  },
  {
    id: 4,
    title: 'Idempotent side effects',
    text: 'Steps that call the outside world pass an idempotency key so a retried step does not act twice.',
    topics: ['retry', 'workflow', 'durable'],
  },
  { id: 5, title: 'Sourdough baking', text: 'A starter needs feeding twice a day.', topics: ['bread', 'baking'] },
];

/** The sources whose topics the question mentions, best match first (at most `max`). */
function relevant(question: string, max = 4): Source[] {
  const q = question.toLowerCase();
  const score = (s: Source) => s.topics.filter((t) => q.includes(t)).length;
  const hits = LIBRARY.filter((s) => score(s) > 0).sort((a, b) => score(b) - score(a));
  return (hits.length ? hits : LIBRARY.slice(0, 3)).slice(0, max);
}

export const agents: AgentDefinition[] = [
  { id: 'source-picker', name: 'Source picker', handler: (ctx) => relevant(ctx.prompt) },
  {
    id: 'source-reader',
    name: 'Source reader',
    instructions: 'You read one source and note only what it says about the question.',
    model: { capabilities: ['analysis'] },
    handler: async (ctx) => {
      const source = ctx.item as Source;
      const r = await ctx.callModel(ctx.prompt, { context: source.text });
      return { source: source.id, title: source.title, note: r.text };
    },
  },
  {
    id: 'synthesizer',
    name: 'Synthesizer',
    instructions: 'You write a short, sourced answer. Cite sources as [n].',
    model: { capabilities: ['reasoning'] },
    handler: async (ctx) => {
      const notes = ctx.deps['read-source'] as Array<{ source: number; title: string; note: string }>;
      const context = notes.map((n) => `[${n.source}] ${n.title}: ${n.note}`).join('\n');
      const r = await ctx.callModel(ctx.prompt, { context });
      return { answer: r.text, sources: notes.map((n) => `[${n.source}] ${n.title}`) };
    },
  },
];

export default agents;
