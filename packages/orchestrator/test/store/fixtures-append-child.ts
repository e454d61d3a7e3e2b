// Appends batches to one execution from its own process (a second writer on the same SQLite file).
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const [path, who, rounds] = process.argv.slice(2);
const s = new SqliteStore(path);
for (let i = 0; i < Number(rounds); i++) {
  s.appendTransitions([
    { executionId: 'shared', taskKey: `${who}${i}`, status: 'running', attempt: 1, at: i },
    { executionId: 'shared', taskKey: `${who}${i}`, status: 'completed', attempt: 1, at: i, output: { who, i } },
  ]);
  if (i % 20 === 0) await new Promise((r) => setImmediate(r));
}
s.close();
process.stdout.write('done\n');
