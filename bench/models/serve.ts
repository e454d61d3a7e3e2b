// Runs one fake provider server in its own process, so client-side timings do not include server work.
import { startFakeOpenAI } from '../../packages/orchestrator/test/models/fake-servers/index.js';

const s = await startFakeOpenAI();
process.stdout.write(`${s.url}\n`);
process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
