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

/** `codexos worker` processes the pool starts and stops on this machine (distributed mode). */
export const localWorkersSchema = z
  .object({
    /** Most worker processes at once. */
    max: z.number().int().positive(),
    /** Fewest: started with the pool and restarted when one dies. */
    min: z.number().int().min(0).default(1),
    /** Tasks per agent one process runs at once (its `--concurrency`): instances / this = processes wanted. */
    concurrency: z.number().int().positive().default(4),
    /** The agents module the processes load (`--agents`). */
    agents: z.string().optional(),
    /** How to start `codexos`: the program and its leading arguments; `worker` and its flags are appended. */
    command: z.array(z.string().min(1)).min(1).default(['codexos']),
    /** More `codexos worker` flags, after the generated ones (e.g. `['--config', 'codexos.yaml']`). */
    args: z.array(z.string()).default([]),
    /** A stopping process finishes its running tasks; after this long it is killed (its tasks are retried). */
    stopGraceMs: z.number().int().positive().default(30_000),
  })
  .strict()
  .refine((w) => w.min <= w.max, { message: 'min must be <= max' });

/** zod schema of the `execution` config section (in-process or distributed mode, Redis timeout, flow rules, job retention). */
export const executionConfigSchema = z
  .object({
    mode: z.enum(['in-process', 'distributed']).default('in-process'),
    /** How long to wait for Redis before failing with an error naming host:port. */
    connectTimeoutMs: z.number().int().positive().default(3000),
    /** Per agent id: concurrency, rate limits, per-key limits and priority (distributed mode). */
    flow: z.record(z.string(), flowRuleSchema).default({}),
    /**
     * How long attempts' results (and failed jobs) are kept, in seconds, so an orchestrator that missed a reply or
     * resumed a run picks up the results of attempts already run.
     */
    keepJobsSeconds: z.number().int().positive().default(3600),
    /**
     * Where tasks of model-backed agents (no code handler) run: on workers started with `--config` or
     * `--model-agents` (default), or in the orchestrator. Agents with tools, or a zod output schema, run on a worker
     * only when it registered the same agent itself (their tools and schemas are code), else in the orchestrator.
     */
    modelTasks: z.enum(['workers', 'orchestrator']).default('workers'),
    /** Local `codexos worker` processes the agent pool starts on scale-up and stops on scale-down. */
    localWorkers: localWorkersSchema.optional(),
  })
  .strict();

/** The validated `execution` config section: where task attempts run and how distributed workers are flow-controlled. */
export type ExecutionConfig = z.output<typeof executionConfigSchema>;
/** Flow control for one agent's tasks across every worker: concurrency, rate limits, per-key limits and priority. */
export type FlowRule = z.output<typeof flowRuleSchema>;
/** Local worker processes the pool manages: how many, how each is started, how long one may take to stop. */
export type LocalWorkersConfig = z.output<typeof localWorkersSchema>;
