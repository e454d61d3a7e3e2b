import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
