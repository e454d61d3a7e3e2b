import type { Insight } from '../types.js';

/** An insight before the monitor stamps it with the execution and time. */
export type InsightDraft = Omit<Insight, 'timestamp' | 'executionId' | 'workflowId'>;
