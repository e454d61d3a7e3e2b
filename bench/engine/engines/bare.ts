// Baseline: the DAG as plain Promises — each task awaits its upstream stage and calls the body. No engine.
import type { EngineAdapter, Runner, Shape, TaskBody } from '../types.ts';

export async function createBare(): Promise<EngineAdapter> {
  return {
    async prepare(shape: Shape, body: TaskBody): Promise<Runner> {
      return async () => {
        let prev: Promise<number>[] = [];
        for (const stage of shape.stages) {
          const upstream = prev.length === 0 ? Promise.resolve([] as number[]) : Promise.all(prev);
          prev = stage.map(() => upstream.then(body));
        }
        return prev[0];
      };
    },
    async close() {},
  };
}
