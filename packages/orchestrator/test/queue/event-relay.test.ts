import { describe, expect, it } from 'vitest';
import { EventBus, type OrchestratorEvent } from '../../src/events.js';
import { replayEvents } from '../../src/queue/bullmq/event-relay.js';

const delta = (seq: number) => ({
  type: 'task:delta',
  payload: { executionId: 'e', workflowId: 'w', taskId: 't', agentId: 'a', delta: `d${seq}`, seq, timestamp: 1 },
});

describe('replaying relayed events', () => {
  const setup = () => {
    const bus = new EventBus();
    const seen: OrchestratorEvent[] = [];
    bus.events$.subscribe((e) => seen.push(e));
    return { bus, seen };
  };

  it('raises every event of a batch, in order', () => {
    const { bus, seen } = setup();
    expect(replayEvents(bus, JSON.stringify({ origin: 'w1', events: [delta(0), delta(1)] }))).toBe(2);
    expect(seen.map((e) => (e.payload as { seq: number }).seq)).toEqual([0, 1]);
  });

  it('takes a single event (as earlier workers send) and drops a batch of the ignored origin', () => {
    const { bus, seen } = setup();
    expect(replayEvents(bus, JSON.stringify(delta(5)))).toBe(1);
    expect(replayEvents(bus, JSON.stringify({ origin: 'me', events: [delta(6)] }), 'me')).toBe(0);
    expect(seen).toHaveLength(1);
  });

  it('ignores malformed messages and entries without raising anything', () => {
    const { bus, seen } = setup();
    for (const msg of [
      'not json',
      'null',
      '42',
      '"text"',
      JSON.stringify({ events: [null, { type: 1 }, { type: 'x' }] }),
    ])
      expect(replayEvents(bus, msg)).toBe(0);
    expect(seen).toEqual([]);
  });
});
