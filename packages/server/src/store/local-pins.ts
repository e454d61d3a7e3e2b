import type { ServerDb } from '../db.js';
import { type PinRow, toPin } from './sqlite-runs.js';
import type { RunRepo } from './types.js';

// Servers started with --redis before run pins moved to Redis kept them in their own `<data>/server.db`. On start
// they are moved into the shared store (a pin already there wins), so those runs keep their version and a run a
// shutdown flagged interrupted is still resumed.

/** Moves the pins of a server's own SQLite file into `runs`; returns how many were moved. */
export async function moveLocalPins(db: ServerDb, runs: RunRepo): Promise<number> {
  const rows = db.prepare('SELECT * FROM srv_executions').all() as PinRow[];
  const remove = db.prepare('DELETE FROM srv_executions WHERE execution_id = ?');
  let moved = 0;
  for (const r of rows) {
    if (!(await runs.get(r.execution_id))) {
      const { interrupted, models, ...pin } = toPin(r);
      await runs.pin(pin);
      if (interrupted) await runs.setInterrupted([pin.executionId], true);
      if (models) await runs.setModels(pin.executionId, models);
      moved++;
    }
    remove.run(r.execution_id);
  }
  return moved;
}
