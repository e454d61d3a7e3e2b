import { z } from 'zod';

// The `execution` section: where tasks run. `in-process` (default) runs every attempt in the orchestrator;
// `distributed` sends attempts to BullMQ queues on the `redis` section's server, for `codexos worker` processes.

const rateSchema = z.object({ max: z.number().int().positive(), durationMs: z.number().int().positive() }).strict();

/** Flow control for one agent's tasks, enforced across every worker through Redis. */
export const flowRuleSchema = z
  .object({
    /** Tasks of this agent running at once, across all workers. */
    concurrency: z.number().int().positive().optional(),
    /** Starts of this agent's tasks per window, across all workers. */
    rateLimit: rateSchema.optional(),
    /** Expression over `input` (the workflow input), `params` (the task's input) and `item`: the flow key. */
    key: z.string().optional(),
    /** Tasks with one flow key running at once, across all workers. */
    keyConcurrency: z.number().int().positive().optional(),
    /** Starts per flow key per window, across all workers. */
    keyRateLimit: rateSchema.optional(),
    /** Expression giving the BullMQ priority of a task (1 is served first; omitted = no priority). */
    priority: z.union([z.number().int().min(1), z.string()]).optional(),
  })
  .strict();

/** zod schema of the `execution` config section (in-process or distributed mode, Redis timeout, flow rules, job retention). */
export const executionConfigSchema = z
  .object({
    mode: z.enum(['in-process', 'distributed']).default('in-process'),
    /** How long to wait for Redis before failing with an error naming host:port. */
    connectTimeoutMs: z.number().int().positive().default(3000),
    /** Per agent id: concurrency, rate limits, per-key limits and priority (distributed mode). */
    flow: z.record(z.string(), flowRuleSchema).default({}),
    /** Finished jobs kept (seconds) so a resuming orchestrator can pick up results of attempts already run. */
    keepJobsSeconds: z.number().int().positive().default(3600),
  })
  .strict();

/** The validated `execution` config section: where task attempts run and how distributed workers are flow-controlled. */
export type ExecutionConfig = z.output<typeof executionConfigSchema>;
/** Flow control for one agent's tasks across every worker: concurrency, rate limits, per-key limits and priority. */
export type FlowRule = z.output<typeof flowRuleSchema>;
