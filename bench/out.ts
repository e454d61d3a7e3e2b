// Where every bench script writes its per-area output: bench/.out/ (untracked). `run.ts` assembles the one tracked
// result, RESULTS.md, from it, so a run never leaves other tracked files modified.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bench/.out: the per-area outputs of the last runs on this machine (gitignored). */
export const OUT_DIR = join(dirname(fileURLToPath(import.meta.url)), '.out');

/** The path of one output file in bench/.out (the folder is created on first use). */
export function outPath(name: string): string {
  mkdirSync(OUT_DIR, { recursive: true });
  return join(OUT_DIR, name);
}
