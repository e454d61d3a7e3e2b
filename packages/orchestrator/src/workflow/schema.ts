import { z } from 'zod';

// The workflow definition format: the seed's shape plus conditions, loops, retries, timeouts, error policy and
// caching. This zod schema is the single source: types derive from it and `codexos schema` exports it as JSON Schema.

const ID = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
const id = z
  .string()
  .min(1)
  .max(128)
  .regex(ID, 'use letters, digits, _ . : - (not starting with . : -)')
  // Ids become keys of `outputs`, `tasks` and `ctx.deps`: names that touch prototypes are refused.
  .refine((v) => v !== '__proto__' && v !== 'constructor' && v !== 'prototype', 'reserved name');

/** Node clamps a timer above 2^31-1 ms to 1 ms: no timeout or delay may exceed it (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const timeoutMs = z.number().int().positive().max(MAX_TIMER_MS);
const delayMs = z.number().min(0).max(MAX_TIMER_MS);

export const retryPolicySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(100).optional().describe('Total attempts including the first'),
    initialDelayMs: delayMs.optional(),
    maxDelayMs: delayMs.optional(),
    backoffMultiplier: z.number().min(1).optional(),
    jitter: z.number().min(0).max(1).optional().describe('Fraction of the delay randomised, 0..1'),
  })
  .strict();

export const onErrorSchema = z.union([
  z.literal('fail').describe('The workflow fails (default)'),
  z.literal('continue').describe('The task is marked failed; dependents still run and see no output'),
  z.object({ fallback: id }).strict().describe('Run this task instead; its output stands in for the failed one'),
]);

export const modelRequirementsSchema = z
  .object({
    capabilities: z.array(z.string()).optional(),
    minContextWindow: z.number().int().positive().optional(),
    maxCostPerMTokens: z.number().positive().optional(),
    latency: z.enum(['low', 'normal', 'any']).optional(),
    prefer: z.array(z.string()).optional(),
    forbid: z.array(z.string()).optional(),
    model: z.string().optional(),
    maxTokens: z.number().int().positive().optional(),
    temperature: z.number().min(0).max(2).optional(),
  })
  .strict();

/** The agent id of approval tasks (reserved: approval tasks are decided by people through `signal`). */
export const HUMAN_AGENT = 'human';

export const approvalSchema = z
  .object({
    prompt: z.string().max(10_000).optional().describe('What the approver is asked'),
    roles: z.array(z.string().max(64)).max(16).optional().describe('Roles allowed to decide (default: anyone)'),
    timeoutMs: timeoutMs.optional(),
    onTimeout: z.enum(['approve', 'reject', 'fail']).optional().describe('Decision taken when the timeout passes'),
  })
  .strict();

export const taskSchema = z
  .object({
    id,
    name: z.string().max(500).optional(),
    agentId: id.optional().describe('Required, except on approval tasks'),
    type: z
      .enum(['sequential', 'parallel', 'approval'])
      .optional()
      .describe("`approval` waits for a human's decision; otherwise the author's intent only"),
    approval: approvalSchema.optional(),
    dependencies: z.array(id).optional(),
    description: z.string().max(10_000).optional(),
    input: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Task parameters; strings may hold {{ expression }} templates, `prompt` is sent to the model'),
    when: z.string().max(2000).optional().describe('Run only when this expression is truthy'),
    forEach: z.string().max(2000).optional().describe('Expression yielding a list: the task runs once per item'),
    while: z.string().max(2000).optional().describe('Repeat while this expression is truthy (checked before each run)'),
    maxIterations: z.number().int().min(1).max(100_000).optional(),
    retry: retryPolicySchema.optional(),
    timeoutMs: timeoutMs.optional(),
    onError: onErrorSchema.optional(),
    cache: z.boolean().optional().describe('Reuse the output of an identical earlier run of this task'),
    model: modelRequirementsSchema.optional().describe("Overrides the agent's model requirements for this task"),
    output: z
      .object({
        schema: z
          .record(z.string(), z.unknown())
          .describe('JSON Schema of the answer; the parsed, validated value is the task output'),
        name: z.string().max(64).optional(),
      })
      .strict()
      .optional()
      .describe('Structured output: the model answers JSON matching the schema (retried once when it does not)'),
  })
  .strict()
  .refine((t) => !(t.forEach && t.while), { message: 'a task cannot have both forEach and while', path: ['forEach'] })
  .refine((t) => t.agentId !== undefined || t.type === 'approval', {
    message: 'agentId is required',
    path: ['agentId'],
  })
  .refine((t) => t.approval === undefined || t.type === 'approval', {
    message: 'approval settings need type: approval',
    path: ['approval'],
  })
  // Approval tasks run no agent: they carry the reserved agent id `human` (no handler is ever called).
  .transform((t) => ({ ...t, agentId: t.agentId ?? HUMAN_AGENT }));

/** The zod schema of workflow definitions. */
export const workflowSchema = z
  .object({
    id,
    name: z.string().max(500),
    version: z.union([z.string(), z.number()]).transform(String).optional(),
    description: z.string().max(10_000).optional(),
    tasks: z.array(taskSchema).min(1, 'a workflow needs at least one task'),
    timeoutMs: timeoutMs.optional(),
    maxConcurrency: z.number().int().positive().optional(),
    defaults: z.object({ retry: retryPolicySchema.optional(), timeoutMs: timeoutMs.optional() }).strict().optional(),
    budget: z
      .object({ maxTokens: z.number().int().positive().optional(), maxCostUsd: z.number().positive().optional() })
      .strict()
      .optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** A workflow definition as written in TypeScript, JSON or YAML. */
export type WorkflowDefinitionInput = z.input<typeof workflowSchema>;
/** A validated workflow definition (defaults applied). */
export type WorkflowDefinition = z.output<typeof workflowSchema>;
/** One task of a validated workflow definition. */
export type TaskDefinition = z.output<typeof taskSchema>;
export type RetryPolicyInput = z.output<typeof retryPolicySchema>;
export type OnError = z.output<typeof onErrorSchema>;

/** JSON Schema (draft 2020-12) for editors: `codexos schema > workflow.schema.json`. */
export function workflowJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(workflowSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  // zod's refinements do not reach JSON Schema: state them as conditionals, so editors ask for agentId on every
  // task except `type: approval`, and accept `approval` settings only there.
  const task = (schema.properties as { tasks?: { items?: Record<string, unknown> } })?.tasks?.items;
  if (task) {
    const isApproval = { properties: { type: { const: 'approval' } }, required: ['type'] };
    task.allOf = [
      { if: isApproval, else: { required: ['agentId'], not: { required: ['approval'] } } },
      { not: { required: ['forEach', 'while'] } },
    ];
  }
  return { ...schema, $id: 'https://codexos.dev/schemas/workflow.json', title: 'CodexOS workflow' };
}
