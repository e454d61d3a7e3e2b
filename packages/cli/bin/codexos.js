#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx's loader (no build step in the workspace).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
