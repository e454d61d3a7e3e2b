import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { MultiAgentOrchestrator } from '../../src/index.js';

it("the seed's collaboration example runs as written on orchestrator.collaboration, persisted beside the state store", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdx-collab-'));
  const config = {
    store: { type: 'sqlite' as const, path: join(dir, 'state.db') },
    collaboration: { conflictResolution: 'operational-transform' as const },
  };
  const orchestrator = new MultiAgentOrchestrator(config);
  const collaborationManager = orchestrator.collaboration;
  const workflow = { id: 'data-analysis-pipeline' };

  const cursors: string[] = [];
  const updates: string[] = [];
  // User A starts editing
  const sessionA = await collaborationManager.createSession(workflow.id, 'user-a');
  // User B joins
  await collaborationManager.joinSession(sessionA.id, 'user-b');
  // Real-time updates
  collaborationManager.on('cursor:moved', ({ participantId, position }) => {
    cursors.push(`${participantId} is at position ${position.x},${position.y}`);
  });
  collaborationManager.on('updates:broadcast', ({ updates: batch }) => {
    for (const update of batch) updates.push(`Update: ${update.operation.type} at ${update.path.join('.')}`);
  });

  await collaborationManager.applyUpdate(sessionA.id, 'user-a', {
    operation: { type: 'set' },
    path: ['tasks', 'fetch-data', 'name'],
    value: 'Fetch raw data',
    baseVersion: 0,
  });
  collaborationManager.moveCursor(sessionA.id, 'user-b', { x: 120, y: 80 }, 'fetch-data');
  await new Promise((r) => setTimeout(r, 20));
  expect(cursors).toContain('user-b is at position 120,80');
  expect(updates).toContain('Update: set at tasks.fetch-data.name');
  await orchestrator.close();

  // The document survives a restart: a new orchestrator over the same files sees the edit.
  const again = new MultiAgentOrchestrator(config);
  const doc = (await again.collaboration.getDocument(workflow.id)) as { tasks: Record<string, { name?: string }> };
  expect(doc.tasks['fetch-data'].name).toBe('Fetch raw data');
  const audit = again.collaboration.queryAudit({ workflowId: workflow.id });
  expect(audit.find((e) => e.action === 'set')).toMatchObject({ userId: 'user-a', newValue: 'Fetch raw data' });
  expect(audit.find((e) => e.action === 'set')?.path).toContain('fetch-data');
  await again.close();
});
