import type { ServerDb } from '../db.js';
import type { SqliteWriteBatch } from './sqlite-batch.js';
import type { RunPin, RunRepo } from './types.js';

// Run pins in the server's SQLite table `srv_executions` (in the state store's file when executions are in
// SQLite). A new pin commits with the other writes of its event-loop turn (group commit), before the run starts.

/** A row of `srv_executions`. */
export type PinRow = {
  execution_id: string;
  workflow_id: string;
  version: number;
  started_by: string;
  started_at: number;
  interrupted: number;
  models: string | null;
};

/** Run pins in SQLite. */
export class SqliteRunRepo implements RunRepo {
  private readonly ins;
  private readonly byId;
  private readonly flag;
  private readonly setModelsStmt;
  constructor(
    private readonly db: ServerDb,
    private readonly batch?: SqliteWriteBatch,
  ) {
    this.ins = db.prepare(
      'INSERT INTO srv_executions (execution_id, workflow_id, version, started_by, started_at) VALUES (?, ?, ?, ?, ?)',
    );
    this.byId = db.prepare('SELECT * FROM srv_executions WHERE execution_id = ?');
    this.flag = db.prepare('UPDATE srv_executions SET interrupted = ? WHERE execution_id = ?');
    this.setModelsStmt = db.prepare('UPDATE srv_executions SET models = ? WHERE execution_id = ?');
  }

  async pin(p: Omit<RunPin, 'interrupted' | 'models'>): Promise<void> {
    const write = () => void this.ins.run(p.executionId, p.workflowId, p.version, p.startedBy, p.startedAt);
    if (this.batch) await this.batch.add(write);
    else write();
  }

  async get(executionId: string): Promise<RunPin | undefined> {
    this.batch?.flush();
    const r = this.byId.get(executionId) as PinRow | undefined;
    return r && toPin(r);
  }

  async getMany(executionIds: string[]): Promise<Map<string, RunPin>> {
    const out = new Map<string, RunPin>();
    if (!executionIds.length) return out;
    this.batch?.flush();
    const rows = this.db
      .prepare('SELECT * FROM srv_executions WHERE execution_id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(executionIds)) as PinRow[];
    for (const r of rows) out.set(r.execution_id, toPin(r));
    return out;
  }

  async setInterrupted(executionIds: string[], interrupted: boolean): Promise<void> {
    if (!executionIds.length) return;
    this.db.transaction(() => {
      for (const id of executionIds) this.flag.run(interrupted ? 1 : 0, id);
    })();
  }

  async interrupted(): Promise<string[]> {
    const rows = this.db.prepare('SELECT execution_id FROM srv_executions WHERE interrupted = 1').all();
    return (rows as Array<{ execution_id: string }>).map((r) => r.execution_id);
  }

  // Through the batch too, so it can never overtake the pin it updates (a run can end before its pin's turn).
  async setModels(executionId: string, models: Record<string, string>): Promise<void> {
    const write = () => void this.setModelsStmt.run(JSON.stringify(models), executionId);
    if (this.batch) await this.batch.add(write);
    else write();
  }
}

/** The pin a row of `srv_executions` holds. */
export function toPin(r: PinRow): RunPin {
  const p: RunPin = {
    executionId: r.execution_id,
    workflowId: r.workflow_id,
    version: r.version,
    startedBy: r.started_by,
    startedAt: r.started_at,
    interrupted: r.interrupted === 1,
  };
  if (r.models) p.models = JSON.parse(r.models);
  return p;
}
