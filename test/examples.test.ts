// Every workflow in examples/ runs offline (the `local` model) with its agents, and produces what its README
// line promises.
import { join } from 'node:path';
import {
  type AgentDefinition,
  type ExecutionResult,
  MultiAgentOrchestrator,
  readWorkflowFile,
} from '@codexos/multi-agent-orchestrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const KEYS = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY'];
const saved: Record<string, string | undefined> = {};

beforeAll(() => {
  for (const k of KEYS) {
    saved[k] = process.env[k];
    delete process.env[k];
  }
});
afterAll(() => {
  for (const k of KEYS) if (saved[k] !== undefined) process.env[k] = saved[k];
});

async function runExample(
  name: string,
  agentsFile: string,
  input: Record<string, unknown> = {},
): Promise<{ result: ExecutionResult; events: string[] }> {
  const o = new MultiAgentOrchestrator({ store: { type: 'memory' } });
  const events: string[] = [];
  o.on('task:retrying', (e) => events.push(`retrying ${e.taskId}`));
  try {
    const { agents } = (await import(join(root, 'examples', agentsFile))) as { agents: AgentDefinition[] };
    for (const a of agents) o.registerAgent(a);
    const def = await readWorkflowFile(join(root, 'examples', `${name}.yaml`));
    return { result: await o.executeWorkflow(def, { input }), events };
  } finally {
    await o.close();
  }
}

const out = (r: ExecutionResult, task: string) => r.tasks[task].output as any;

describe('examples', () => {
  it('research-assistant: fans out over the relevant sources, then synthesises a cited answer', async () => {
    const { result } = await runExample('research-assistant', 'research-assistant.agents.ts');
    expect(result.status, JSON.stringify(result.error)).toBe('completed');
    const sources = out(result, 'pick-sources') as Array<{ title: string }>;
    expect(sources.length).toBeGreaterThanOrEqual(2);
    expect(sources.map((s) => s.title)).not.toContain('Sourdough baking');
    expect(result.tasks['read-source'].iterations).toBe(sources.length);
    const answer = out(result, 'synthesize');
    expect(answer.sources).toHaveLength(sources.length);
    expect(answer.answer).toContain('[local offline model]');
  });

  it('support-triage: routes by category, and an urgent technical ticket falls back to escalation', async () => {
    const billing = await runExample('support-triage', 'support-triage.agents.ts', {
      ticket: 'I was charged twice for my subscription this month.',
    });
    expect(billing.result.status).toBe('completed');
    expect(out(billing.result, 'classify')).toMatchObject({ category: 'billing', by: 'keywords' });
    expect(billing.result.tasks['technical-reply'].status).toBe('skipped');
    expect(out(billing.result, 'send').routedTo).toBe('billing-specialist');

    const outage = await runExample('support-triage', 'support-triage.agents.ts', {
      ticket: 'Production is down: every API call fails with error 500. Urgent!',
    });
    expect(outage.result.status, JSON.stringify(outage.result.error)).toBe('completed');
    expect(out(outage.result, 'classify')).toMatchObject({ category: 'technical', urgent: true });
    expect(outage.result.tasks['technical-reply'].status).toBe('failed');
    expect(out(outage.result, 'send').routedTo).toBe('human-escalation');

    const general = await runExample('support-triage', 'support-triage.agents.ts', {
      ticket: 'Do you have a student discount?',
    });
    expect(out(general.result, 'send').routedTo).toBe('general-specialist');
  });

  it('code-review: revises until every check passes, then merges', async () => {
    const { result } = await runExample('code-review', 'code-review.agents.ts');
    expect(result.status, JSON.stringify(result.error)).toBe('completed');
    const review = out(result, 'review');
    expect(review).toMatchObject({ approved: true, failing: [] });
    // Three checks fail on the first draft and one is fixed per round: approved in round four.
    expect(result.tasks.review.iterations).toBe(4);
    expect(out(result, 'merge')).toMatchObject({ merged: true, rounds: 4 });
    expect(review.patch.code).toContain("throw new Error('bad duration')");
  });

  it('doc-extraction: schema-checked JSON records after retries, with totals per currency', async () => {
    const { result, events } = await runExample('doc-extraction', 'doc-extraction.agents.ts');
    expect(result.status, JSON.stringify(result.error)).toBe('completed');
    // The local model never answers JSON: each invoice takes two rejected attempts, then the rules.
    expect(events.filter((e) => e === 'retrying extract').length).toBeGreaterThanOrEqual(2);
    const collected = out(result, 'collect');
    expect(collected.count).toBe(3);
    expect(collected.totals).toEqual({ GBP: 36, USD: 1250.5, EUR: 89.9 });
    expect(collected.records.map((r: { invoiceNumber: string }) => r.invoiceNumber)).toEqual([
      'INV-2041',
      'NW/77/2026',
      'FD-0093',
    ]);
    expect(JSON.parse(JSON.stringify(collected))).toEqual(collected);
  });

  it('batch-budget: stops spending at the budget and defers the rest', async () => {
    const { result } = await runExample('batch-budget', 'batch-budget.agents.ts');
    expect(result.status, JSON.stringify(result.error)).toBe('completed');
    const report = out(result, 'report');
    expect(report.done).toBeGreaterThan(0);
    expect(report.deferred.length).toBeGreaterThan(0);
    expect(report.done + report.deferred.length).toBe(40);
    expect(report.tokens).toBeLessThanOrEqual(1200);
    expect(result.usage.inputTokens + result.usage.outputTokens).toBeLessThanOrEqual(1200 + 100);
  });

  it('data-analysis: the seed pipeline completes, retrying the flaky forecast', async () => {
    const { result, events } = await runExample('data-analysis', 'agents.ts', { region: 'EMEA' });
    expect(result.status, JSON.stringify(result.error)).toBe('completed');
    expect(Object.values(result.tasks).every((t) => t.status === 'completed')).toBe(true);
    expect(events).toContain('retrying predict-future');
    expect(out(result, 'create-report')).toContain('[local offline model]');
  });
});
