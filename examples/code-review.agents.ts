// Agents for code-review.yaml. Each review round runs the checklist on the current patch, asks the model for
// comments, and revises the patch for the first failing check; the patch is approved once every check passes.
import type { AgentDefinition } from '@codexos/multi-agent-orchestrator';

interface Patch {
  code: string;
  tests: boolean;
  docs: boolean;
}

interface Review {
  round: number;
  approved: boolean;
  failing: string[];
  comments: string;
  patch: Patch;
}

const CHECKS: Array<{ name: string; ok: (p: Patch) => boolean; fix: (p: Patch) => Patch }> = [
  {
    name: 'rejects malformed input',
    ok: (p) => p.code.includes('throw new Error'),
    fix: (p) => ({
      ...p,
      code: p.code.replace(
        'return total;',
        "if (!/^(\\d+[hms])+$/.test(text)) throw new Error('bad duration');\n  return total;",
      ),
    }),
  },
  { name: 'has unit tests', ok: (p) => p.tests, fix: (p) => ({ ...p, tests: true }) },
  { name: 'is documented', ok: (p) => p.docs, fix: (p) => ({ ...p, docs: true }) },
];

export const agents: AgentDefinition[] = [
  {
    id: 'coder',
    instructions: 'You write small, clear TypeScript functions.',
    model: { capabilities: ['code'] },
    handler: async (ctx) => {
      const notes = (await ctx.callModel()).text;
      const code = `export function parseDuration(text: string): number {\n  let total = 0;\n  for (const [, n, u] of text.matchAll(/(\\d+)([hms])/g)) total += Number(n) * { h: 3_600_000, m: 60_000, s: 1000 }[u as 'h' | 'm' | 's'];\n  return total;\n}`;
      return { patch: { code, tests: false, docs: false } satisfies Patch, notes };
    },
  },
  {
    id: 'reviewer',
    instructions: 'You review patches strictly: correctness, tests, documentation.',
    model: { capabilities: ['code', 'reasoning'] },
    handler: async (ctx): Promise<Review> => {
      const previous = ctx.params.previous ? (JSON.parse(String(ctx.params.previous)) as Review) : undefined;
      let patch = previous?.patch ?? (ctx.deps['write-patch'] as { patch: Patch }).patch;
      // Revise: the coder addresses the first failing check of the previous round.
      const todo = CHECKS.find((c) => !c.ok(patch));
      if (previous && todo) patch = todo.fix(patch);
      const failing = CHECKS.filter((c) => !c.ok(patch)).map((c) => c.name);
      const comments = (await ctx.callModel(`${ctx.prompt}\n\n${patch.code}`)).text;
      return { round: (ctx.iteration ?? 0) + 1, approved: failing.length === 0, failing, comments, patch };
    },
  },
  {
    id: 'merger',
    handler: (ctx) => {
      const review = ctx.deps.review as Review;
      return {
        merged: true,
        rounds: review.round,
        files: ['src/duration.ts', ...(review.patch.tests ? ['test/duration.test.ts'] : [])],
      };
    },
  },
];

export default agents;
