import { type EventBus, MultiAgentOrchestrator } from '@codexos/multi-agent-orchestrator';
import { afterEach, expect, it } from 'vitest';
import { LiveHub } from '../src/live/hub.js';

// Streamed text and tool calls of model-backed tasks reach live-event watchers, numbered with the rest.
const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

it('task:delta and tool:* events of a run are in the execution’s live log, in order', async () => {
  const o = new MultiAgentOrchestrator({ store: { type: 'memory' } });
  open.push(o);
  const hub = new LiveHub(o.bus as EventBus);
  open.push({ close: () => hub.dispose() });
  o.registerAgent({
    id: 'r',
    tools: [{ name: 'search', handler: async () => ['a', 'b'] }],
  });
  const r = await o.executeWorkflow({
    id: 'w',
    name: 'w',
    tasks: [{ id: 't', agentId: 'r', input: { prompt: 'use search' } }],
  });
  expect(r.status).toBe('completed');
  hub.flush();
  const types = hub.eventsAfter(r.executionId, 0)?.map((e) => e.type) ?? [];
  expect(types).toContain('tool:called');
  expect(types.indexOf('tool:called')).toBeLessThan(types.indexOf('tool:completed'));
  expect(types.indexOf('tool:completed')).toBeLessThan(types.lastIndexOf('task:delta'));
  expect(types.lastIndexOf('task:delta')).toBeLessThan(types.indexOf('task:completed'));
});
