// A fake OpenAI server in its own process for the tool-loop benchmark: the first turn asks for `lookup`, the turn
// after the tool result answers. Client-side timings then exclude server work.
import { startFakeOpenAI } from '../../packages/orchestrator/test/models/fake-servers/index.js';

const s = await startFakeOpenAI({
  respond: (c) =>
    c.toolResults.length ? { text: `done: ${c.toolResults[0]?.content}` } : { toolCalls: [{ name: 'lookup', arguments: { id: 42 } }] },
});
process.stdout.write(`${s.url}\n`);
process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
