// LangGraph.js StateGraph: one node per task; a chain passes a single `value` channel, wider shapes write
// each stage's outputs into that stage's append channel and the next stage reads it.
import { Annotation, END, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import type { EngineAdapter, Runner, Shape, TaskBody } from '../types.ts';

export async function createLangGraph(opts: { checkpointer: boolean }): Promise<EngineAdapter> {
  let thread = 0;
  return {
    async prepare(shape: Shape, body: TaskBody): Promise<Runner> {
      const isChain = shape.stages.every((s) => s.length === 1);
      // biome-ignore lint/suspicious/noExplicitAny: node names are built at runtime, beyond LangGraph's typed builder.
      let g: any;
      if (isChain) {
        const State = Annotation.Root({ value: Annotation<number> });
        g = new StateGraph(State);
        shape.stages.forEach(([id], s) => {
          g.addNode(id, async (st: { value?: number }) => ({
            value: await body(s === 0 ? [] : [st.value as number]),
          }));
        });
      } else {
        const channels: Record<string, unknown> = {};
        shape.stages.forEach((_, s) => {
          channels[`s${s}`] = Annotation<number[]>({ reducer: (a, b) => a.concat(b), default: () => [] });
        });
        g = new StateGraph(Annotation.Root(channels as never) as never);
        shape.stages.forEach((stage, s) => {
          for (const id of stage) {
            g.addNode(id, async (st: Record<string, number[]>) => ({
              [`s${s}`]: [await body(s === 0 ? [] : st[`s${s - 1}`])],
            }));
          }
        });
      }
      const first = shape.stages[0];
      for (const id of first) g.addEdge(START, id);
      for (let s = 1; s < shape.stages.length; s++) {
        const prev = shape.stages[s - 1];
        for (const id of shape.stages[s]) g.addEdge(prev.length === 1 ? prev[0] : prev, id);
      }
      const last = shape.stages[shape.stages.length - 1];
      g.addEdge(last[0], END);
      const app = g.compile(opts.checkpointer ? { checkpointer: new MemorySaver() } : {});
      const recursionLimit = shape.stages.length + 10;
      const lastKey = `s${shape.stages.length - 1}`;
      return async () => {
        const out = await app.invoke({}, { recursionLimit, configurable: { thread_id: `t${thread++}` } });
        return isChain ? out.value : out[lastKey][0];
      };
    },
    async close() {},
  };
}
