// Engine registry: name → factory. Imports are lazy so each child process loads only the engine it measures.
import type { EngineFactory } from '../types.ts';

export const ENGINES: Record<string, EngineFactory> = {
  bare: async () => (await import('./bare.ts')).createBare(),
  'codexos-memory': async () => (await import('./codexos.ts')).createCodexOS({ store: 'memory' }),
  'codexos-sqlite': async () => (await import('./codexos.ts')).createCodexOS({ store: 'sqlite' }),
  langgraph: async () => (await import('./langgraph.ts')).createLangGraph({ checkpointer: false }),
  'langgraph-memorysaver': async () => (await import('./langgraph.ts')).createLangGraph({ checkpointer: true }),
  mastra: async () => (await import('./mastra.ts')).createMastra(),
  'bullmq-flow': async () => (await import('./bullmq-flow.ts')).createBullFlow(),
  'bullmq-queue': async () => (await import('./bullmq-queue.ts')).createBullQueue(),
};

/** Column order and labels in the report. */
export const ENGINE_LABELS: Record<string, string> = {
  'codexos-memory': 'CodexOS (memory)',
  'codexos-sqlite': 'CodexOS (SQLite)',
  bare: 'bare Promise DAG',
  langgraph: 'LangGraph.js 1.7.3',
  'langgraph-memorysaver': 'LangGraph + MemorySaver',
  mastra: 'Mastra 0.24.9',
  'bullmq-flow': 'BullMQ 6.7 FlowProducer',
  'bullmq-queue': 'BullMQ queue + client DAG',
};
