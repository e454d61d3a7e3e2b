#!/usr/bin/env node
// Runs the compiled CLI (dist/). Under the "@codexos/source" condition (the workspace's tests and `npm run dev`)
// `#main` resolves to the TypeScript sources instead, which run through tsx.
const entry = import.meta.resolve('#main');
if (entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
  globalThis[Symbol.for('codexos.tsLoader')] = true;
}
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
