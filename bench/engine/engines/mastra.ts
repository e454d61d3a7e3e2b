// Mastra 0.24 workflows: createStep per task; a one-task stage is `.then(step)`, a wider stage `.parallel([...])`
// (whose output is an object keyed by step id, which the next step reads).
import { createStep, createWorkflow } from '@mastra/core/workflows';
import { z } from 'zod';
import type { EngineAdapter, Runner, Shape, TaskBody } from '../types.ts';

const Out = z.object({ v: z.number() });

function upstreamOf(input: unknown, prevWidth: number): number[] {
  if (prevWidth === 0) return [];
  if (prevWidth === 1) return [(input as { v: number }).v];
  return Object.values(input as Record<string, { v: number }>).map((o) => o.v);
}

export async function createMastra(): Promise<EngineAdapter> {
  let wfSeq = 0;
  return {
    async prepare(shape: Shape, body: TaskBody): Promise<Runner> {
      // biome-ignore lint/suspicious/noExplicitAny: steps are built at runtime, beyond Mastra's typed builder.
      let wf: any = createWorkflow({ id: `wf${wfSeq++}`, inputSchema: z.any(), outputSchema: Out });
      shape.stages.forEach((stage, s) => {
        const prevWidth = s === 0 ? 0 : shape.stages[s - 1].length;
        const steps = stage.map((id) =>
          createStep({
            id,
            inputSchema: z.any(),
            outputSchema: Out,
            execute: async ({ inputData }) => ({ v: await body(upstreamOf(inputData, prevWidth)) }),
          }),
        );
        wf = steps.length === 1 ? wf.then(steps[0]) : wf.parallel(steps);
      });
      wf.commit();
      return async () => {
        const run = await wf.createRunAsync();
        const res = await run.start({ inputData: {} });
        if (res.status !== 'success') throw new Error(`mastra run ${res.status}: ${String(res.error ?? '')}`);
        return res.result.v;
      };
    },
    async close() {},
  };
}
