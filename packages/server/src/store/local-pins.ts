import type { ServerDb } from '../db.js';
import type { RunRepo } from './types.js';

// Servers started with --redis before run pins moved to Redis kept them in their own `<data>/server.db`. On start
// they are moved into the shared store (a pin already there wins), so those runs keep their version and a run a
// shutdown flagged interrupted is still resumed.

type Row = {
  execution_id: string;
  workflow_id: string;
  version: number;
  started_by: string;
  started_at: number;
  interrupted: number;
  models: string | null;
};

/** Moves the pins of a server's own SQLite file into `runs`; returns how many were moved. */
export async function moveLocalPins(db: ServerDb, runs: RunRepo): Promise<number> {
  const rows = db.prepare('SELECT * FROM srv_executions').all() as Row[];
  let moved = 0;
  for (const r of rows) {
    if (!(await runs.get(r.execution_id))) {
      await runs.pin({
        executionId: r.execution_id,
        workflowId: r.workflow_id,
        version: r.version,
        startedBy: r.started_by,
        startedAt: r.started_at,
      });
      if (r.interrupted === 1) await runs.setInterrupted([r.execution_id], true);
      if (r.models) await runs.setModels(r.execution_id, JSON.parse(r.models));
      moved++;
    }
    db.prepare('DELETE FROM srv_executions WHERE execution_id = ?').run(r.execution_id);
  }
  return moved;
}
