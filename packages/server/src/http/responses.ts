import { z } from 'zod';
import { executionSummaryShape, savedShape } from './shapes.js';

// Response shapes of the routes outside workflows and executions (auth, health, agents, models, analytics,
// collaboration, debugging), for the OpenAPI document. Shapes of the library's own records (profiles, debug
// snapshots, sessions) are loose: the fields named are checked, fields the library adds later pass.

const role = z.enum(['admin', 'member']);
const workflowRole = z.enum(['owner', 'editor', 'viewer']);
const int = z.number().int();

/** A response with no body (204). */
export const noContent = { description: 'No content', type: 'null' } as const;

/** A text body of `media` (YAML export, Prometheus metrics, SSE streams) in the document. */
export const textBody = (media: string, description: string) => ({
  description,
  content: { [media]: { schema: { type: 'string' } } },
});

export const healthShape = z.object({ status: z.literal('ok'), uptimeMs: z.number() });
export const readyShape = z.object({ status: z.literal('ready'), running: int });
export const notReadyShape = z.object({ status: z.enum(['starting', 'draining']) });

export const meShape = z.object({ user: z.object({ id: z.string(), role }) });
export const tokenInfoShape = z.object({
  id: z.string(),
  user: z.string(),
  role,
  name: z.string().optional(),
  createdAt: z.number(),
  lastUsedAt: z.number().optional(),
  revokedAt: z.number().optional(),
});
export const createdTokenShape = tokenInfoShape.extend({ token: z.string().describe('shown only here') });
export const accessEntryShape = z.object({
  seq: int,
  at: z.number(),
  userId: z.string().optional(),
  tokenId: z.string().optional(),
  ip: z.string(),
  method: z.string(),
  route: z.string().optional(),
  path: z.string(),
  status: int,
  outcome: z.enum(['ok', 'denied', 'rejected', 'error']),
});

/** A workflow export: YAML (default) or JSON text. */
export const exportBody = {
  description: 'The definition as a file',
  content: { 'text/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } } },
};

export const validatedShape = z.object({ valid: z.literal(true), workflowId: z.string(), taskCount: int });
const fieldChange = z.object({ field: z.string(), from: z.unknown(), to: z.unknown() });
export const diffShape = z.object({
  from: int,
  to: int,
  added: z.array(z.string()),
  removed: z.array(z.string()),
  changed: z.array(z.object({ taskId: z.string(), fields: z.array(fieldChange) })),
  workflow: z.array(fieldChange),
});
export const roleShape = z.object({ userId: z.string(), role: workflowRole });
export { savedShape };

export const cancelledShape = z.object({ executionId: z.string(), cancelled: z.boolean() });
export const resumedShape = executionSummaryShape;
export const profileShape = z.looseObject({
  executionId: z.string(),
  workflowId: z.string(),
  status: z.enum(['running', 'completed', 'failed', 'cancelled']),
  startedAt: z.number(),
  makespanMs: z.number(),
  taskCount: int,
  tasks: z.array(z.looseObject({})),
  totals: z.looseObject({ cost: z.number(), inputTokens: z.number(), outputTokens: z.number() }),
  source: z.enum(['events', 'store']),
});
export const transitionShape = z.looseObject({
  taskKey: z.string(),
  status: z.string(),
  attempt: int,
  at: z.number(),
});

const poolShape = z.looseObject({
  agentId: z.string(),
  capacity: z.number(),
  active: z.number(),
  waiting: z.number(),
  utilisation: z.number(),
});
export const agentShape = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().optional(),
  instructions: z.string().optional(),
  model: z.unknown().optional(),
  tools: z.array(z.string().optional()),
  hasHandler: z.boolean(),
  pool: poolShape.optional(),
});

export const modelShape = z.object({
  id: z.string(),
  provider: z.string(),
  capabilities: z.array(z.string()),
  contextWindow: z.number(),
  maxOutputTokens: z.number(),
  inputPricePerMTok: z.number(),
  outputPricePerMTok: z.number(),
  typicalLatencyMs: z.number().optional(),
  deprecated: z.boolean().optional(),
  offline: z.boolean().optional(),
  available: z.boolean(),
});
const totals = z.object({
  calls: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cost: z.number(),
  estimatedCalls: z.number(),
});
export const usageShape = z.object({ totals, byModel: z.record(z.string(), totals) });
export const limitsShape = z.object({
  providers: z.array(
    z.object({
      id: z.string(),
      configured: z.boolean(),
      available: z.boolean(),
      circuit: z.enum(['closed', 'open', 'half-open']).nullable(),
    }),
  ),
});
export const experimentShape = z.looseObject({ id: z.string() });

const costLine = z.object({
  key: z.string(),
  cost: z.number(),
  calls: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
});
export const costShape = z.object({
  currency: z.literal('USD'),
  from: z.number().optional(),
  to: z.number().optional(),
  total: z.number(),
  calls: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  byModel: z.array(costLine),
  byTask: z.array(costLine),
  byAgent: z.array(costLine),
  byWorkflow: z.array(costLine),
});
export const insightShape = z.looseObject({ timestamp: z.number() });

const participant = z.looseObject({ userId: z.string() });
export const sessionShape = z.looseObject({
  id: z.string(),
  workflowId: z.string(),
  createdBy: z.string(),
  createdAt: z.number(),
  version: z.number(),
  participants: z.array(participant),
  state: z.enum(['active', 'ended']),
});
export const lockShape = z.object({
  workflowId: z.string(),
  taskId: z.string(),
  holder: z.string(),
  acquiredAt: z.number(),
  expiresAt: z.number(),
});
export const collabStateShape = z.object({ session: sessionShape.nullable(), locks: z.array(lockShape) });
export const documentShape = z.looseObject({
  tasks: z.record(z.string(), z.unknown()),
  meta: z.record(z.string(), z.unknown()),
});
export const collabAuditShape = z.looseObject({ workflowId: z.string(), userId: z.string(), at: z.number() });

export const debugStartedShape = z.object({
  executionId: z.string(),
  workflowId: z.string(),
  status: z.literal('running'),
});
const breakpoint = z.object({
  taskId: z.string(),
  when: z.enum(['before', 'after']).optional(),
  condition: z.string().optional(),
});
export const debugSnapshotShape = z.object({
  executionId: z.string(),
  state: z.enum(['running', 'paused', 'stepping', 'completed', 'failed', 'cancelled']),
  paused: z
    .looseObject({
      at: z.number(),
      reason: z.enum(['breakpoint', 'step', 'manual', 'failure']),
      taskId: z.string().optional(),
    })
    .nullable(),
  breakpoints: z.array(breakpoint),
  pauseOnFailure: z.boolean(),
  edits: z.array(z.looseObject({ at: z.number(), kind: z.enum(['input', 'prompt', 'pin', 'breakpoints']) })),
  pins: z.array(z.string()),
  next: z.array(z.string()),
  waiting: z.array(z.looseObject({ name: z.string(), taskId: z.string() })),
  parent: z.object({ executionId: z.string(), fromTaskId: z.string() }).optional(),
});
export const abortedShape = z.object({ executionId: z.string(), aborted: z.literal(true) });
export const inspectionShape = z.looseObject({
  taskId: z.string(),
  agentId: z.string(),
  status: z.string(),
  prompt: z.string(),
  input: z.record(z.string(), z.unknown()),
  upstream: z.record(z.string(), z.unknown()),
  edited: z.boolean(),
  pinned: z.boolean(),
});
export const rerunShape = z.object({
  executionId: z.string(),
  workflowId: z.string(),
  version: int,
  startedBy: z.string(),
  startedAt: z.number(),
  interrupted: z.boolean(),
  status: z.literal('running'),
  parentExecutionId: z.string(),
  fromTaskId: z.string(),
});
export const decisionShape = z.object({
  executionId: z.string(),
  name: z.string(),
  decision: z.enum(['approve', 'reject']),
  recorded: z.boolean(),
});
export const signalShape = z.object({ executionId: z.string(), name: z.string(), recorded: z.boolean() });
export const approvalsShape = z.object({
  items: z.array(z.looseObject({ executionId: z.string(), workflowId: z.string(), name: z.string() })),
});
