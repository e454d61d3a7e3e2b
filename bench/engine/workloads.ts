// Workloads A–E (see bench/README.md): their DAG shapes, the shared task body and the expected results.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Shape, TaskBody, WorkloadId } from './types.ts';

export const IDEAL_C_MS = 250;
export const D_INSTANCES = 100;
export const E_RUNS = 100;

export function chain(n: number): Shape {
  return { stages: Array.from({ length: n }, (_, i) => [`t${i}`]), sleepMs: 0 };
}

export function fanOutIn(width: number): Shape {
  return { stages: [['start'], Array.from({ length: width }, (_, i) => `m${i}`), ['join']], sleepMs: 0 };
}

/** The seed's data-analysis pipeline: fetch → clean → {trends ∥ predict} → insights → report. */
export function pipeline(sleepMs: number): Shape {
  return { stages: [['fetch'], ['clean'], ['trends', 'predict'], ['insights'], ['report']], sleepMs };
}

export function shapeOf(w: WorkloadId): Shape {
  switch (w) {
    case 'A100':
      return chain(100);
    case 'A300':
      return chain(300);
    case 'A1000':
      return chain(1000);
    case 'A2000':
      return chain(2000);
    case 'A10000':
      return chain(10_000);
    case 'B':
      return fanOutIn(1000);
    case 'C':
    case 'D':
      return pipeline(50);
    case 'E':
      return chain(1);
  }
}

export function taskCount(shape: Shape): number {
  let n = 0;
  for (const s of shape.stages) n += s.length;
  return n;
}

/** The final output every engine must return: stage value v(s) = 1 + width(s-1) · v(s-1). */
export function expectedOutput(shape: Shape): number {
  let prevWidth = 0;
  let prevValue = 0;
  for (const stage of shape.stages) {
    const v = 1 + prevWidth * prevValue;
    prevWidth = stage.length;
    prevValue = v;
  }
  return prevValue;
}

/** Counts executions so a broken engine (skipped tasks, dropped results) cannot look fast. */
export class Counter {
  executed = 0;
}

export function makeBody(shape: Shape, counter: Counter): TaskBody {
  const ms = shape.sleepMs;
  if (ms > 0) {
    return async (upstream) => {
      counter.executed++;
      await sleep(ms);
      let s = 1;
      for (const v of upstream) s += v;
      return s;
    };
  }
  return async (upstream) => {
    counter.executed++;
    let s = 1;
    for (const v of upstream) s += v;
    return s;
  };
}
