import { z } from 'zod';

// Response shapes for the OpenAPI document (the routes answer these; requests are validated by their own schemas).

export const errorShape = z.object({
  error: z.object({
    code: z.string().describe('CDX_ERR_*'),
    message: z.string(),
    path: z.string().optional().describe('The field at fault, e.g. body.definition.tasks[0].agentId'),
    issues: z
      .array(z.object({ path: z.string().optional(), taskId: z.string().optional(), message: z.string() }))
      .optional(),
    requestId: z.string(),
  }),
});

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });

export const workflowShape = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  version: z.number().int().describe('current version number'),
  taskCount: z.number().int(),
  createdAt: z.number(),
  updatedAt: z.number(),
  createdBy: z.string(),
  role: z.enum(['owner', 'editor', 'viewer']).optional(),
});

export const versionShape = z.object({
  workflowId: z.string(),
  version: z.number().int(),
  author: z.string(),
  createdAt: z.number(),
  message: z.string(),
  definition: z.record(z.string(), z.unknown()).optional(),
});

export const savedShape = z.object({ workflow: workflowShape, version: versionShape });

const status = z.enum(['pending', 'running', 'paused', 'waiting', 'interrupted', 'completed', 'failed', 'cancelled']);
const errorInfo = z.object({ code: z.string(), message: z.string() });
const usage = z.object({ inputTokens: z.number(), outputTokens: z.number() });

export const executionSummaryShape = z.object({
  executionId: z.string(),
  workflowId: z.string(),
  version: z.number().int().nullable(),
  status,
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  durationMs: z.number().optional(),
  error: errorInfo.optional(),
  startedBy: z.string().nullable(),
});

export const executionDetailShape = executionSummaryShape.extend({
  input: z.unknown(),
  output: z.record(z.string(), z.unknown()).optional(),
  usage,
  cost: z.number(),
  lastSeq: z.number().int(),
  tasks: z.array(
    z.object({
      taskKey: z.string(),
      taskId: z.string(),
      agentId: z.string().optional(),
      status: z.string(),
      attempts: z.number().int(),
      startedAt: z.number().optional(),
      finishedAt: z.number().optional(),
      durationMs: z.number().optional(),
      output: z.unknown().optional(),
      error: errorInfo.optional(),
      model: z.string().optional(),
      usage: usage.optional(),
      cost: z.number().optional(),
      prompt: z.string().optional(),
    }),
  ),
});

export const liveEventShape = z.object({
  seq: z.number().int(),
  type: z.string(),
  executionId: z.string(),
  workflowId: z.string(),
  at: z.number(),
  payload: z.unknown(),
});
