import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type ExecutionResult,
  type ModelManager,
  MultiAgentOrchestrator,
} from '../../packages/orchestrator/src/index.js';
import { type Fakes, fakeConfig, KEYS, startFakes, TEST_CATALOG } from '../../packages/orchestrator/test/models/helpers.js';
import { FaultProxy, type ProxyFault } from './fixtures/fault-proxy.js';
import { SOAK } from './helpers.js';

// Model-backed workflows on all three wire formats behind a stand-in that hangs requests and cuts answers part-way
// (mid-body, mid-stream after text was delivered, and part-way through error bodies that echo the caller's key), on
// top of 429/500/529 from the wire-format servers. Asserted: >= 99.9 % of workflows succeed; every answer a task
// returned is whole (each carries a checksum of its own words, so truncated text cannot pass); the orchestrator's
// tokens and cost equal what the stand-in counted for the answers it delivered whole (see below for a machine
// too loaded to read an answer before its deadline); no key, not even a fragment
// of one, in results, events, errors, console or stderr; no unhandled rejection. Each mode runs streamed (someone
// listens to `task:delta`) and not streamed.

const WORKFLOWS = SOAK ? 500 : 50; // per mode; two modes
const PROXY_KINDS: ProxyFault[] = ['hang', 'cut-body', 'cut-stream', 'cut-error'];

/** Twelve words from the prompt's hash, then a checksum over them: a cut anywhere breaks the check. */
function reply(prompt: string): string {
  const h = createHash('sha256').update(prompt).digest('hex');
  const words = Array.from({ length: 12 }, (_, i) => `w${h.slice(i * 4, i * 4 + 4)}`);
  return `${words.join(' ')} sum:${createHash('sha256').update(words.join(' ')).digest('hex').slice(0, 12)}`;
}

function whole(text: string): boolean {
  const words = text.trim().split(/\s+/);
  const last = words.pop() ?? '';
  return (
    words.length === 12 && last === `sum:${createHash('sha256').update(words.join(' ')).digest('hex').slice(0, 12)}`
  );
}

/** Every 10-character window of every key: a cut error body could otherwise leak a fragment. */
const keyFragments = Object.values(KEYS).flatMap((k) => Array.from({ length: k.length - 9 }, (_, i) => k.slice(i, i + 10)));

const priceOf = new Map(TEST_CATALOG.map((m) => [m.providerModel, m]));

let f: Fakes;
let proxies: { openai: FaultProxy; anthropic: FaultProxy; google: FaultProxy };
beforeAll(async () => {
  f = await startFakes({
    leakCredentialsInErrors: true,
    reply,
    faults: { rate: 0.18, kinds: ['429', '500', '529'], retryAfterSeconds: 0.005, seed: 7 },
  });
  const opts = (seed: number) => ({ rate: 0.15, kinds: PROXY_KINDS, seed });
  proxies = {
    openai: await new FaultProxy(f.openai.url, opts(1)).start(),
    anthropic: await new FaultProxy(f.anthropic.url, opts(2)).start(),
    google: await new FaultProxy(f.google.url, opts(3)).start(),
  };
});
afterAll(async () => {
  await Promise.all(Object.values(proxies).map((p) => p.close()));
  await f.close();
});

describe('provider hangs and cut answers at the workflow level', () => {
  for (const streamed of [true, false]) {
    it(`${WORKFLOWS} workflows, ${streamed ? 'streamed' : 'not streamed'}: >= 99.9 % succeed, answers whole, ledger = provider count, no key`, async () => {
      const consoleLines: string[] = [];
      const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) =>
        vi.spyOn(console, m).mockImplementation((...a: unknown[]) => void consoleLines.push(a.map(String).join(' '))),
      );
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
        consoleLines.push(String(chunk));
        return true;
      });
      const unhandled: unknown[] = [];
      const onUnhandled = (e: unknown) => unhandled.push(e);
      process.on('unhandledRejection', onUnhandled);
      const all = Object.values(proxies);
      const mark = all.map((p) => ({ records: p.records.length, delivered: p.delivered.length }));
      const target = { openai: { url: proxies.openai.url }, anthropic: { url: proxies.anthropic.url }, google: { url: proxies.google.url } } as Fakes;
      const o = new MultiAgentOrchestrator({
        store: { type: 'memory' },
        models: {
          ...fakeConfig(target, {
            circuitBreaker: { cooldownMs: 200 },
            // A hang ends at the request timeout and is retried; generous enough that a loaded machine's slow
            // answers are not cut short.
            timeouts: { requestMs: 2000, idleMs: 2000 },
            retry: { maxAttempts: 6 },
          }),
          catalog: { replace: true, models: TEST_CATALOG },
        },
      });
      let summary = '';
      try {
        o.registerAgent({ id: 'oa', model: { prefer: ['oa-small'], capabilities: ['chat'] } });
        o.registerAgent({ id: 'an', model: { prefer: ['an-haiku'], capabilities: ['chat'] } });
        o.registerAgent({ id: 'gm', model: { prefer: ['gm-flash'], capabilities: ['chat'] } });
        const events: unknown[] = [];
        const calls: Array<{ success: boolean; error?: unknown }> = [];
        o.on('model:call', (c) => void calls.push(c));
        if (streamed) o.bus.events$.subscribe((e) => events.push(e));
        else
          for (const t of ['task:completed', 'task:failed', 'model:call', 'workflow:completed', 'workflow:failed'] as const)
            o.on(t, (e: unknown) => void events.push(e));
        const results: ExecutionResult[] = [];
        const errors: unknown[] = [];
        let tokens = { inputTokens: 0, outputTokens: 0, cost: 0 };
        const retry = { maxAttempts: 4, initialDelayMs: 1, maxDelayMs: 5 };
        for (let batch = 0; batch < WORKFLOWS; batch += 10) {
          const done = await Promise.all(
            Array.from({ length: Math.min(10, WORKFLOWS - batch) }, (_, i) =>
              o
                .executeWorkflow({
                  id: `cut-${streamed}-${batch + i}`,
                  name: 'provider cuts',
                  tasks: [
                    { id: 'a', agentId: 'oa', retry, input: { prompt: `first ${streamed} ${batch + i}` } },
                    { id: 'b', agentId: 'an', retry, dependencies: ['a'], input: { prompt: `second ${batch + i}` } },
                    { id: 'c', agentId: 'gm', retry, dependencies: ['a'], input: { prompt: `third ${batch + i}` } },
                  ],
                })
                .catch((e) => void errors.push(e)),
            ),
          );
          for (const r of done) {
            if (!r) continue;
            // The ledger keeps recent executions only: compared batch by batch.
            const l = (o.models as ModelManager).ledger.execution(r.executionId);
            expect(r.usage).toEqual({ inputTokens: l.inputTokens, outputTokens: l.outputTokens });
            expect(r.cost).toBeCloseTo(l.cost, 9);
            tokens = {
              inputTokens: tokens.inputTokens + r.usage.inputTokens,
              outputTokens: tokens.outputTokens + r.usage.outputTokens,
              cost: tokens.cost + r.cost,
            };
            results.push(r);
          }
        }
        const ok = results.filter((r) => r.status === 'completed');
        expect(ok.length / WORKFLOWS, JSON.stringify(errors.map(String).slice(0, 3))).toBeGreaterThanOrEqual(0.999);
        // No truncated text passed as an answer.
        for (const r of ok)
          for (const [k, t] of Object.entries(r.tasks)) {
            const text = typeof t.output === 'string' ? t.output : (t.output as { text?: string })?.text;
            expect(whole(String(text)), `${r.executionId}/${k}: ${JSON.stringify(t.output)}`).toBe(true);
          }
        // Tokens and cost: exactly what the stand-in delivered whole.
        const delivered = all.flatMap((p, i) => p.delivered.slice(mark[i].delivered));
        const counted = delivered.reduce(
          (a, d) => {
            const m = priceOf.get(d.model);
            return {
              inputTokens: a.inputTokens + d.input,
              outputTokens: a.outputTokens + d.output,
              cost: a.cost + (m ? (d.input * m.inputPricePerMTok + d.output * m.outputPricePerMTok) / 1e6 : Number.NaN),
            };
          },
          { inputTokens: 0, outputTokens: 0, cost: 0 },
        );
        // The faults really happened, each kind on this mode's path.
        const records = all.flatMap((p, i) => p.records.slice(mark[i].records));
        // A call whose deadline passed while its answer was already on the wire (a machine too loaded to read it
        // within the timeout) leaves the stand-in with an answer it delivered and the caller with none: those are
        // timeouts beyond the hangs. Without any, the figures must be equal; with some, the ledger may be short
        // by at most those answers (and never over).
        const timeouts = calls.filter((c) => !c.success && /timeout|deadline/i.test(JSON.stringify(c.error))).length;
        const hangs = records.filter((r) => r.fault === 'hang').length;
        const late = Math.max(0, timeouts - hangs);
        const biggest = delivered.reduce((a, d) => Math.max(a, d.input + d.output), 0);
        if (late === 0) {
          expect(tokens.inputTokens).toBe(counted.inputTokens);
          expect(tokens.outputTokens).toBe(counted.outputTokens);
          expect(tokens.cost).toBeCloseTo(counted.cost, 9);
        } else {
          expect(tokens.inputTokens).toBeLessThanOrEqual(counted.inputTokens);
          expect(tokens.outputTokens).toBeLessThanOrEqual(counted.outputTokens);
          expect(counted.inputTokens + counted.outputTokens - tokens.inputTokens - tokens.outputTokens).toBeLessThanOrEqual(
            late * biggest,
          );
        }
        const kinds = new Map<string, number>();
        for (const r of records) if (r.fault) kinds.set(r.fault, (kinds.get(r.fault) ?? 0) + 1);
        for (const k of ['hang', 'cut-error', streamed ? 'cut-stream' : 'cut-body']) expect(kinds.get(k) ?? 0, `${k} in ${JSON.stringify([...kinds])}`).toBeGreaterThan(0);
        expect(records.filter((r) => r.fault === 'hang').every((r) => r.closedEarly)).toBe(true);
        const dump = JSON.stringify([results, events, errors.map((e) => [String(e), (e as Error).stack]), consoleLines]);
        for (const frag of keyFragments) expect(dump).not.toContain(frag);
        expect(unhandled).toEqual([]);
        const upstream = [f.openai, f.anthropic, f.google].flatMap((s) => s.requests).filter((r) => r.fault).length;
        summary =
          `provider cuts (${streamed ? 'streamed' : 'not streamed'}): ${ok.length}/${WORKFLOWS} workflows completed; ` +
          `${records.length} requests, faults ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')} (+ ${upstream} cumulative 429/500/529); ` +
          `${delivered.length} answers delivered whole = ${counted.inputTokens} + ${counted.outputTokens} tokens, $${counted.cost.toFixed(6)}; ` +
          `ledger ${tokens.inputTokens} + ${tokens.outputTokens} tokens, $${tokens.cost.toFixed(6)}` +
          (late ? ` (${late} answers arrived after their deadline)` : ' (equal)');
      } finally {
        for (const s of spies) s.mockRestore();
        stderr.mockRestore();
        process.off('unhandledRejection', onUnhandled);
        await o.close();
      }
      console.info(summary);
    }, 600_000);
  }
});
