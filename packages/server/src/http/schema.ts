import { ErrorCodes } from '@codexos/multi-agent-orchestrator';
import type { FastifyInstance, FastifySchema } from 'fastify';
import { z } from 'zod';
import { ApiError } from './errors.js';
import { errorShape } from './shapes.js';

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

const toJson = (s: z.ZodType, io: 'input' | 'output') => {
  const js = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete js.$schema;
  return js;
};

/**
 * Route schemas may document responses with zod (`response: { 200: shape }`); Fastify then serialises with plain
 * JSON.stringify (the shapes describe, they do not filter).
 */
export function installResponseDocs(app: FastifyInstance): void {
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

/**
 * @fastify/swagger transform: zod parts of a route schema become JSON Schema (requests as sent, responses as
 * answered); every documented route also lists the shared error shape for 4XX/5XX.
 */
export function jsonSchemaTransform({ schema, url }: { schema: FastifySchema; url: string }) {
  if (!schema) return { schema, url };
  const out: Record<string, unknown> = { ...schema };
  for (const key of ['body', 'querystring', 'params', 'headers'] as const) {
    const part = (schema as Record<string, unknown>)[key];
    if (isZod(part)) out[key] = toJson(part, 'input');
  }
  const response: Record<string, unknown> = {};
  for (const [code, shape] of Object.entries((schema as { response?: Record<string, unknown> }).response ?? {}))
    response[code] = isZod(shape) ? toJson(shape, 'output') : shape;
  const err = { description: 'Error (one shape for every failure)', ...toJson(errorShape, 'output') };
  if (url.startsWith('/api/')) {
    response['4XX'] ??= err;
    response['5XX'] ??= err;
  }
  if (Object.keys(response).length) out.response = response;
  return { schema: out as FastifySchema, url };
}
