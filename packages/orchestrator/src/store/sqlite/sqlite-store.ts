import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CodexError, ErrorCodes } from '../../errors.js';
import { filterHeaders, foldTransition } from '../memory-store.js';
import {
  type ExecutionHeader,
  type ExecutionQuery,
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
  input: string | null;
  started_at: number;
  finished_at: number | null;
  error: string | null;
  schema_version: number;
};
type TransitionRow = {
  execution_id: string;
  task_key: string;
  status: TaskTransition['status'];
  attempt: number;
  at: number;
  output: string | null;
  error: string | null;
  usage: string | null;
  cost: number | null;
};

const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
const parse = (s: string | null): any => (s === null ? undefined : JSON.parse(s));

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
  /** Next sequence number per execution written by this process. */
  private readonly seqs = new Map<string, number>();

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
    this.writeBatch = this.db.transaction((batch: TaskTransition[]) => {
      for (const t of batch) {
        let seq = this.seqs.get(t.executionId);
        if (seq === undefined) seq = ((maxSeq.get(t.executionId) as { m: number | null }).m ?? -1) + 1;
        this.seqs.set(t.executionId, seq + 1);
        this.insertT.run(
          t.executionId,
          seq,
          t.taskKey,
          t.status,
          t.attempt,
          t.at,
          json(t.output),
          json(t.error),
          json(t.usage),
          t.cost ?? null,
        );
      }
    });
  }

  saveExecution(h: ExecutionHeader): void {
    if (h.status !== 'running' && h.status !== 'pending') this.seqs.delete(h.executionId);
    this.upsertH.run({
      id: h.executionId,
      workflow_id: h.workflowId,
      status: h.status,
      definition: JSON.stringify(h.definition),
      input: json(h.input),
      started_at: h.startedAt,
      finished_at: h.finishedAt ?? null,
      error: json(h.error),
      schema_version: h.schemaVersion,
    });
  }

  appendTransitions(batch: TaskTransition[]): void {
    this.writeBatch(batch);
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
      output: parse(r.output),
      error: parse(r.error),
      usage: parse(r.usage),
      cost: r.cost ?? undefined,
    }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toHeader(r: HeaderRow): ExecutionHeader {
  if (r.schema_version > STATE_SCHEMA_VERSION) {
    throw new CodexError(
      ErrorCodes.STORE,
      `execution ${r.id} was stored with schema version ${r.schema_version}; this CodexOS reads up to ${STATE_SCHEMA_VERSION}`,
    );
  }
  return {
    executionId: r.id,
    workflowId: r.workflow_id,
    status: r.status,
    definition: JSON.parse(r.definition),
    input: parse(r.input),
    startedAt: r.started_at,
    finishedAt: r.finished_at ?? undefined,
    error: parse(r.error),
    schemaVersion: r.schema_version,
  };
}
