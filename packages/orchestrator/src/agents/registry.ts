import { z } from 'zod';
import { CodexError, ErrorCodes } from '../errors.js';
import { modelRequirementsSchema } from '../workflow/schema.js';
import type { AgentDefinition } from './types.js';

const agentSchema = z
  .object({
    id: z.string().min(1).max(128),
    name: z.string().max(500).optional(),
    instructions: z.string().max(200_000).optional(),
    model: modelRequirementsSchema.optional(),
    tools: z
      .array(
        z.union([
          z.string().min(1),
          z.object({ name: z.string().min(1), description: z.string().optional() }).passthrough(),
        ]),
      )
      .optional(),
    output: z
      .object({
        // JSON Schema (data) or a zod schema (code), as for a task's output.
        schema: z.union([
          z.record(z.string(), z.unknown()),
          z.custom<object>((v) => typeof (v as { safeParse?: unknown })?.safeParse === 'function', 'a zod schema'),
        ]),
        name: z.string().optional(),
      })
      .optional(),
    maxSteps: z.number().int().positive().max(1000).optional(),
    handler: z
      .custom<AgentDefinition['handler']>(
        (v) => v === undefined || typeof v === 'function',
        'handler must be a function',
      )
      .optional(),
    concurrency: z.number().int().positive().optional(),
    healthCheck: z
      .custom<AgentDefinition['healthCheck']>(
        (v) => v === undefined || typeof v === 'function',
        'healthCheck must be a function',
      )
      .optional(),
  })
  .passthrough();

/** Agents by id. Registration validates the definition so the engine can trust it. */
export class AgentRegistry {
  private readonly agents = new Map<string, AgentDefinition>();

  register(def: AgentDefinition): AgentDefinition {
    const r = agentSchema.safeParse(def);
    if (!r.success) {
      const issues = r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new CodexError(
        ErrorCodes.AGENT_INVALID,
        `Invalid agent "${(def as { id?: unknown })?.id ?? '?'}": ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        { issues },
      );
    }
    this.agents.set(def.id, def);
    return def;
  }

  has(id: string): boolean {
    return this.agents.has(id);
  }

  get(id: string): AgentDefinition {
    const a = this.agents.get(id);
    if (!a) throw new CodexError(ErrorCodes.AGENT_UNKNOWN, `Unknown agent "${id}"`);
    return a;
  }

  list(): AgentDefinition[] {
    return [...this.agents.values()];
  }

  unregister(id: string): boolean {
    return this.agents.delete(id);
  }
}
