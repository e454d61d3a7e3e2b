import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { ErrorCodes, MemoryStore, SqliteStore } from '../../src/index.js';
import { storeConformance } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'cdx-store-'));
let n = 0;

storeConformance('memory', () => new MemoryStore());
storeConformance('sqlite (file)', () => new SqliteStore(join(dir, `s${n++}.db`)));
storeConformance('sqlite (:memory:)', () => new SqliteStore(':memory:'));

it('sqlite survives reopen and refuses a newer schema version', () => {
  const path = join(dir, 'reopen.db');
  const a = new SqliteStore(path);
  a.saveExecution({
    executionId: 'e',
    workflowId: 'w',
    status: 'running',
    definition: {},
    input: null,
    startedAt: 1,
    schemaVersion: 1,
  });
  a.appendTransitions([{ executionId: 'e', taskKey: 't', status: 'completed', attempt: 1, at: 2, output: 'kept' }]);
  a.close();
  const b = new SqliteStore(path);
  expect(b.loadExecution('e')?.tasks.get('t')?.output).toBe('kept');
  b.close();
  const raw = new Database(path);
  raw.prepare("UPDATE cdx_meta SET value = '99' WHERE key = 'schema_version'").run();
  raw.close();
  expect(() => new SqliteStore(path)).toThrow(
    expect.objectContaining({ code: ErrorCodes.STORE, message: expect.stringContaining('schema version 99') }),
  );
});

it('the memory store keeps a bounded number of finished executions, oldest out first', () => {
  const s = new MemoryStore(2);
  const h = (id: string, status: 'running' | 'completed') => ({
    executionId: id,
    workflowId: 'w',
    status,
    definition: {},
    input: null,
    startedAt: 1,
    schemaVersion: 1,
  });
  for (const id of ['a', 'b', 'c']) {
    s.saveExecution(h(id, 'running'));
    s.appendTransitions([{ executionId: id, taskKey: 't', status: 'completed', attempt: 1, at: 1, output: id }]);
  }
  s.saveExecution(h('a', 'completed'));
  s.saveExecution(h('b', 'completed'));
  expect(s.listExecutions()).toHaveLength(3);
  s.saveExecution(h('c', 'completed'));
  expect(s.loadExecution('a')).toBeUndefined();
  expect(s.history('a')).toEqual([]);
  expect(s.loadExecution('c')?.tasks.get('t')?.output).toBe('c');
  expect(
    s
      .listExecutions()
      .map((x) => x.executionId)
      .sort(),
  ).toEqual(['b', 'c']);
});

it('sqlite upgrades a layout-1 file in place, keeping every transition in order', () => {
  const path = join(dir, 'v1.db');
  const raw = new Database(path);
  raw.exec(`
    CREATE TABLE cdx_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO cdx_meta VALUES ('schema_version', '1');
    CREATE TABLE cdx_executions (id TEXT PRIMARY KEY, workflow_id TEXT NOT NULL, status TEXT NOT NULL, definition TEXT NOT NULL,
      input TEXT, started_at REAL NOT NULL, finished_at REAL, error TEXT, schema_version INTEGER NOT NULL);
    CREATE TABLE cdx_transitions (seq INTEGER PRIMARY KEY AUTOINCREMENT, execution_id TEXT NOT NULL, task_key TEXT NOT NULL,
      status TEXT NOT NULL, attempt INTEGER NOT NULL, at REAL NOT NULL, output TEXT, error TEXT, usage TEXT, cost REAL);
    CREATE INDEX cdx_transitions_exec ON cdx_transitions (execution_id, seq);
    INSERT INTO cdx_executions VALUES ('old', 'w', 'running', '{}', NULL, 1, NULL, NULL, 1);
    INSERT INTO cdx_transitions (execution_id, task_key, status, attempt, at, output) VALUES
      ('old', 'a', 'running', 1, 1, NULL), ('other', 'x', 'running', 1, 1, NULL), ('old', 'a', 'completed', 1, 2, '"kept"');
  `);
  raw.close();
  const s = new SqliteStore(path);
  expect(s.history('old').map((t) => t.status)).toEqual(['running', 'completed']);
  s.appendTransitions([{ executionId: 'old', taskKey: 'b', status: 'completed', attempt: 1, at: 3, output: 'new' }]);
  const got = s.loadExecution('old')!;
  expect(got.tasks.get('a')?.output).toBe('kept');
  expect(got.tasks.get('b')?.output).toBe('new');
  s.close();
  const check = new Database(path);
  expect(
    (check.prepare("SELECT value FROM cdx_meta WHERE key = 'schema_version'").get() as { value: string }).value,
  ).toBe('3');
  check.close();
});

it('sqlite: two processes appending to one execution at once keep every transition, with distinct sequence numbers', async () => {
  const path = join(dir, 'two-writers.db');
  const setup = new SqliteStore(path);
  setup.createExecution(
    {
      executionId: 'shared',
      workflowId: 'w',
      status: 'running',
      definition: {},
      input: null,
      startedAt: 1,
      schemaVersion: 1,
    },
    { owner: 'test', expiresAt: Date.now() + 60_000 },
  );
  setup.close();
  const child = join(dirname(fileURLToPath(import.meta.url)), 'fixtures-append-child.ts');
  const run = (who: string) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, ['--import', 'tsx', child, path, who, '300'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => resolve({ code, err }));
    });
  const [a, b] = await Promise.all([run('a'), run('b')]);
  expect(a.code, a.err).toBe(0);
  expect(b.code, b.err).toBe(0);
  const s = new SqliteStore(path);
  const hist = s.history('shared');
  expect(hist).toHaveLength(1200);
  const got = s.loadExecution('shared')!;
  expect(got.tasks.size).toBe(600);
  expect(got.tasks.get('b299')).toMatchObject({ status: 'completed', output: { who: 'b', i: 299 } });
  // Each writer's own transitions stay in its order.
  const mine = hist.filter((t) => t.taskKey.startsWith('a')).map((t) => t.at);
  expect(mine).toEqual([...mine].sort((x, y) => x - y));
  s.close();
});
