import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CodexError, ErrorCodes } from '../../errors.js';
import { decodeStored, encodeValue, outputBytesOf } from '../codec.js';
import { effectiveStatus } from '../lease.js';
import { executionExists, filterHeaders, foldTransition } from '../memory-store.js';
import {
  type ExecutionHeader,
  type ExecutionQuery,
  type Lease,
  STATE_SCHEMA_VERSION,
  type StateStore,
  type StoredExecution,
  type StoredTaskState,
  type TaskTransition,
} from '../types.js';
import { migrate } from './migrations.js';

type HeaderRow = {
  id: string;
  workflow_id: string;
  status: ExecutionHeader['status'];
  definition: string;
  input: Buffer | string | null;
  started_at: number;
  finished_at: number | null;
  error: string | null;
  schema_version: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
};
type TransitionRow = {
  execution_id: string;
  task_key: string;
  status: TaskTransition['status'];
  attempt: number;
  at: number;
  output: Buffer | string | null;
  error: string | null;
  usage: string | null;
  cost: number | null;
};

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
const parse = (s: string | null): any => (s === null ? undefined : JSON.parse(s));
const bytes = (b: Uint8Array | undefined): Uint8Array | null => b ?? null;

/**
 * The embedded default store. better-sqlite3 is synchronous, so a batch of transitions is one transaction with
 * no await: persistence costs microseconds per task. WAL + synchronous=NORMAL survives a killed process.
 */
export class SqliteStore implements StateStore {
  readonly kind = 'sqlite';
  readonly db: Database.Database;
  private readonly insertT: Database.Statement;
  private readonly upsertH: Database.Statement;
  private readonly writeBatch: (batch: TaskTransition[]) => void;
  private readonly writeEnd: (h: ExecutionHeader, batch: TaskTransition[], owner: string | undefined) => void;
  private readonly create: (h: ExecutionHeader, lease: Lease) => void;
  private readonly claim: Database.Statement;
  private readonly leaseOf: Database.Statement;
  private readonly release: Database.Statement;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    try {
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      throw new CodexError(ErrorCodes.STORE, `cannot open SQLite state store at ${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    migrate(this.db, path);
    this.insertT = this.db.prepare(
      'INSERT INTO cdx_transitions (execution_id, seq, task_key, status, attempt, at, output, error, usage, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.upsertH = this.db.prepare(
      `INSERT INTO cdx_executions (id, workflow_id, status, definition, input, started_at, finished_at, error, schema_version)
       VALUES (@id, @workflow_id, @status, @definition, @input, @started_at, @finished_at, @error, @schema_version)
       ON CONFLICT(id) DO UPDATE SET status = excluded.status, finished_at = excluded.finished_at, error = excluded.error,
         definition = excluded.definition, input = excluded.input`,
    );
    const maxSeq = this.db.prepare('SELECT MAX(seq) AS m FROM cdx_transitions WHERE execution_id = ?');
    // The next sequence number is read inside each write transaction (one B-tree probe per batch), never cached
    // across batches: a cache would go stale when another process or an earlier run wrote the same execution.
    const insertBatch = (batch: TaskTransition[], outputs: (Uint8Array | undefined)[]): void => {
      let id: string | undefined;
      let seq = 0;
      for (let i = 0; i < batch.length; i++) {
        const t = batch[i];
        if (t.executionId !== id) {
          id = t.executionId;
          seq = ((maxSeq.get(id) as { m: number | null }).m ?? -1) + 1;
        }
        this.insertT.run(
          t.executionId,
          seq++,
          t.taskKey,
          t.status,
          t.attempt,
          t.at,
          bytes(outputs[i]),
          json(t.error),
          json(t.usage),
          t.cost ?? null,
        );
      }
    };
    const write = this.db.transaction(insertBatch);
    // Encoded before the transaction opens: a value that cannot be stored leaves nothing half-written. IMMEDIATE
    // takes the write lock at BEGIN, so the sequence read and the inserts are one step even across processes.
    this.writeBatch = (batch) => write.immediate(batch, batch.map(outputBytesOf));
    const endTx = this.db.transaction(
      (h: ExecutionHeader, batch: TaskTransition[], outputs: (Uint8Array | undefined)[], owner: string | undefined) => {
        if (batch.length) insertBatch(batch, outputs);
        this.upsertH.run(headerRow(h));
        if (owner !== undefined) this.release.run(h.executionId, owner);
      },
    );
    // One commit for the run's end instead of three (last transitions, final header, lease release).
    this.writeEnd = (h, batch, owner) => endTx.immediate(h, batch, batch.map(outputBytesOf), owner);
    const insertH = this.db.prepare(
      `INSERT INTO cdx_executions (id, workflow_id, status, definition, input, started_at, finished_at, error,
         schema_version, lease_owner, lease_expires_at)
       VALUES (@id, @workflow_id, @status, @definition, @input, @started_at, @finished_at, @error, @schema_version,
         @lease_owner, @lease_expires_at)`,
    );
    const anyT = this.db.prepare('SELECT 1 FROM cdx_transitions WHERE execution_id = ? LIMIT 1');
    const createTx = this.db.transaction((row: Record<string, unknown>) => {
      if (anyT.get(row.id)) throw executionExists(row.id as string);
      try {
        insertH.run(row);
      } catch (err) {
        if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw executionExists(row.id as string);
        throw err;
      }
    });
    this.create = (h, lease) =>
      createTx.immediate({ ...headerRow(h), lease_owner: lease.owner, lease_expires_at: lease.expiresAt });
    this.claim = this.db.prepare(
      `UPDATE cdx_executions SET lease_owner = @owner, lease_expires_at = @expires
       WHERE id = @id AND (lease_owner IS NULL OR lease_owner = @owner OR lease_owner = @replacing
         OR lease_expires_at <= @now)`,
    );
    this.leaseOf = this.db.prepare('SELECT lease_owner, lease_expires_at FROM cdx_executions WHERE id = ?');
    this.release = this.db.prepare(
      'UPDATE cdx_executions SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?',
    );
  }

  createExecution(h: ExecutionHeader, lease: Lease): void {
    this.create(h, lease);
  }

  acquireLease(executionId: string, lease: Lease, replacing?: string): Lease | undefined {
    const now = Date.now();
    const r = this.claim.run({
      id: executionId,
      owner: lease.owner,
      expires: lease.expiresAt,
      now,
      replacing: replacing ?? null,
    });
    if (r.changes > 0) return undefined;
    const row = this.leaseOf.get(executionId) as Pick<HeaderRow, 'lease_owner' | 'lease_expires_at'> | undefined;
    if (!row?.lease_owner) return undefined; // no such execution: nothing to hold
    return { owner: row.lease_owner, expiresAt: row.lease_expires_at ?? 0 };
  }

  releaseLease(executionId: string, owner: string): void {
    this.release.run(executionId, owner);
  }

  saveExecution(h: ExecutionHeader): void {
    this.upsertH.run(headerRow(h));
  }

  appendTransitions(batch: TaskTransition[]): void {
    this.writeBatch(batch);
  }

  endExecution(h: ExecutionHeader, batch: TaskTransition[], owner: string | undefined): void {
    this.writeEnd(h, batch, owner);
  }

  loadExecution(executionId: string): StoredExecution | undefined {
    const row = this.db.prepare('SELECT * FROM cdx_executions WHERE id = ?').get(executionId) as HeaderRow | undefined;
    if (!row) return undefined;
    const tasks = new Map<string, StoredTaskState>();
    for (const t of this.history(executionId)) foldTransition(tasks, t);
    return { header: toHeader(row), tasks };
  }

  listExecutions(query: ExecutionQuery = {}): ExecutionHeader[] {
    const rows = this.db
      .prepare('SELECT * FROM cdx_executions ORDER BY started_at DESC LIMIT ?')
      .all(query.workflowId || query.status ? 100_000 : (query.limit ?? 100_000)) as HeaderRow[];
    return filterHeaders(rows.map(toHeader), query);
  }

  history(executionId: string): TaskTransition[] {
    const rows = this.db
      .prepare('SELECT * FROM cdx_transitions WHERE execution_id = ? ORDER BY seq')
      .all(executionId) as TransitionRow[];
    return rows.map((r) => ({
      executionId: r.execution_id,
      taskKey: r.task_key,
      status: r.status,
      attempt: r.attempt,
      at: r.at,
      output: decodeStored(r.output),
      error: parse(r.error),
      usage: parse(r.usage),
      cost: r.cost ?? undefined,
    }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function headerRow(h: ExecutionHeader) {
  return {
    id: h.executionId,
    workflow_id: h.workflowId,
    status: h.status,
    definition: JSON.stringify(h.definition),
    input:
      h.inputBytes ?? (h.input === undefined ? null : encodeValue(h.input, `input of execution "${h.executionId}"`)),
    started_at: h.startedAt,
    finished_at: h.finishedAt ?? null,
    error: json(h.error),
    schema_version: h.schemaVersion,
  };
}

function toHeader(r: HeaderRow): ExecutionHeader {
  if (r.schema_version > STATE_SCHEMA_VERSION) {
    throw new CodexError(
      ErrorCodes.STORE,
      `execution ${r.id} was stored with schema version ${r.schema_version}; this CodexOS reads up to ${STATE_SCHEMA_VERSION}`,
    );
  }
  const now = Date.now();
  const lease =
    r.lease_owner !== null && (r.lease_expires_at ?? 0) > now
      ? { owner: r.lease_owner, expiresAt: r.lease_expires_at as number }
      : undefined;
  return {
    executionId: r.id,
    workflowId: r.workflow_id,
    status: effectiveStatus(r.status, lease, now),
    definition: JSON.parse(r.definition),
    input: decodeStored(r.input),
    startedAt: r.started_at,
    finishedAt: r.finished_at ?? undefined,
    error: parse(r.error),
    schemaVersion: r.schema_version,
    lease,
  };
}
