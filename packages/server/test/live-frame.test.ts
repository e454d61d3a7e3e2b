import { describe, expect, it } from 'vitest';
import { BatchFrame } from '../src/live/hub.js';
import type { LiveEvent } from '../src/types.js';

describe('a live batch frame', () => {
  it('is serialised and UTF-8 encoded once, whatever the number of watchers', () => {
    const events: LiveEvent[] = [
      { seq: 1, type: 'task:completed', executionId: 'e', workflowId: 'w', at: 1, payload: { output: 'héllo ✓' } },
    ];
    const frame = new BatchFrame('e', events);
    const bytes = frame.asBytes();
    // The same buffer for every watcher, holding exactly the JSON frame.
    expect(frame.asBytes()).toBe(bytes);
    expect(bytes.toString('utf8')).toBe(frame.asJson());
    expect(JSON.parse(bytes.toString('utf8'))).toEqual({ type: 'events', executionId: 'e', events });
  });
});
