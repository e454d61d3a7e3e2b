import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AgentDefinition } from '../../src/agents/types.js';
import { needsOwnDefinition, remoteModelCall } from '../../src/queue/bullmq/own-agents.js';
import type { RemoteModelCall } from '../../src/queue/types.js';

const zodOut = { schema: z.object({ answer: z.string() }) };
const jsonOut = { schema: { type: 'object', properties: { answer: { type: 'string' } } } };
const tool = { name: 'lookup', handler: () => 'x' };
const base: RemoteModelCall = { requirements: {}, prompt: 'p', context: '' };

describe('which model-backed calls a worker can make', () => {
  it('sends plain agents as data, whatever the workers registered', () => {
    const agent: AgentDefinition = { id: 'a', output: jsonOut };
    let built = 0;
    const call = { ...base, output: jsonOut };
    const make = () => {
      built++;
      return call;
    };
    expect(needsOwnDefinition(agent)).toBe(false);
    expect(remoteModelCall(make, agent, false)).toBe(call);
    expect(remoteModelCall(make, agent, true)).toBe(call);
    expect(built).toBe(2);
  });

  it('keeps an agent with tools or a zod schema here unless a worker registered it (without building the call)', () => {
    let built = 0;
    for (const agent of [
      { id: 't', tools: [tool] },
      { id: 'z', output: zodOut },
    ] as AgentDefinition[]) {
      expect(needsOwnDefinition(agent)).toBe(true);
      const make = () => {
        built++;
        return { ...base, output: agent.output };
      };
      expect(remoteModelCall(make, agent, false)).toBeUndefined();
    }
    expect(built).toBe(0);
  });

  it('sends it to a worker that registered it, without the zod schema (the worker has its own)', () => {
    const agent: AgentDefinition = { id: 'z', tools: [tool], output: zodOut };
    const sent = remoteModelCall(() => ({ ...base, output: agent.output }), agent, true);
    expect(sent).toMatchObject({ ownDefinition: true, prompt: 'p' });
    expect(sent?.output).toBeUndefined();
    // A task's own JSON schema travels with the call.
    const withTask = remoteModelCall(() => ({ ...base, output: jsonOut }), agent, true);
    expect(withTask).toMatchObject({ ownDefinition: true, output: jsonOut });
  });

  it("keeps a task's own zod schema here: no worker has it", () => {
    const taskZod = { schema: z.object({ other: z.number() }) };
    expect(remoteModelCall(() => ({ ...base, output: taskZod }), { id: 'p' }, true)).toBeUndefined();
    const agent: AgentDefinition = { id: 't', tools: [tool], output: zodOut };
    expect(remoteModelCall(() => ({ ...base, output: taskZod }), agent, true)).toBeUndefined();
  });

  it('an agent with a code handler is not a model-backed agent', () => {
    expect(needsOwnDefinition({ id: 'h', tools: [tool], handler: () => 1 })).toBe(false);
  });
});
