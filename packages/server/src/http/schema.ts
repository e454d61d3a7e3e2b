import { ErrorCodes } from '@codexos/multi-agent-orchestrator';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { z } from 'zod';
import { ApiError } from './errors.js';

// Route schemas are zod: the same definition validates requests (this compiler) and becomes JSON Schema for
// OpenAPI (jsonSchemaTransform). A failed check is a 400 naming the field: `body.input`, `query.limit`.

const PART: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

export function installZodCompilers(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const zs = schema as unknown as z.ZodType;
    const prefix = PART[httpPart ?? 'body'] ?? String(httpPart);
    return (data: unknown) => {
      const r = zs.safeParse(data);
      if (r.success) return { value: r.data };
      const issues = r.error.issues.map((i) => ({
        path: [prefix, ...i.path.map(String)].join('.'),
        message: i.message,
      }));
      const first = issues[0];
      return {
        error: new ApiError(400, ErrorCodes.VALIDATION, `${first.path}: ${first.message}`, { issues }),
      };
    };
  });
}

const isZod = (v: unknown): v is z.ZodType => v instanceof z.ZodType;

/** @fastify/swagger transform: zod parts of a route schema become JSON Schema (request shapes, as sent). */
export function jsonSchemaTransform({ schema, url }: { schema: FastifySchema; url: string }) {
  if (!schema) return { schema, url };
  const out: Record<string, unknown> = { ...schema };
  for (const key of ['body', 'querystring', 'params', 'headers'] as const) {
    const part = (schema as Record<string, unknown>)[key];
    if (isZod(part)) {
      const js = z.toJSONSchema(part, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
        string,
        unknown
      >;
      delete js.$schema;
      out[key] = js;
    }
  }
  return { schema: out as FastifySchema, url };
}
