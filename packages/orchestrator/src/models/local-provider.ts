import { fnv1a, OFFLINE_LABEL, sampleFromSchema } from './schema-sample.js';
import type { ModelProvider, ModelRequest, ModelResponse, ModelStreamChunk, ToolCall, ToolSpec } from './types.js';

/** Rough token estimate (≈ 4 characters a token) used when a provider reports no usage. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

const LABEL = OFFLINE_LABEL;

/**
 * The built-in `local` provider: answers deterministically with no network, so demos and tests run without
 * API keys. Every answer starts with a label so nobody mistakes it for a real model's output. Given tools, it
 * first calls each relevant one once (arguments generated from the tool's schema); given an output schema, it
 * answers with a value generated from that schema, seeded by the prompt's digest.
 */
export class LocalProvider implements ModelProvider {
  readonly id = 'local';
  readonly offline = true;

  async complete(req: ModelRequest, opts: { signal?: AbortSignal } = {}): Promise<ModelResponse> {
    opts.signal?.throwIfAborted();
    const prompt = req.messages.map((m) => m.content).join('\n');
    const inputTokens = estimateTokens(prompt);
    const digest = fnv1a(prompt);
    const calls = req.tools?.length ? this.toolCalls(req, req.tools, digest) : [];
    if (calls.length) {
      const args = calls.map((c) => JSON.stringify(c.arguments)).join('');
      return {
        text: '',
        model: req.model,
        usage: { inputTokens, outputTokens: estimateTokens(args) },
        finishReason: 'tool_calls',
        toolCalls: calls,
      };
    }
    const text = req.responseSchema
      ? JSON.stringify(
          sampleFromSchema(req.responseSchema.schema, { seed: digest, words: wordsOf(req), urls: urlsOf(req) }),
        )
      : this.answer(prompt, req.maxTokens, req);
    return { text, model: req.model, usage: { inputTokens, outputTokens: estimateTokens(text) }, finishReason: 'stop' };
  }

  async *stream(req: ModelRequest, opts: { signal?: AbortSignal } = {}): AsyncIterable<ModelStreamChunk> {
    const res = await this.complete(req, opts);
    const words = res.text.split(/(?<= )/);
    for (const w of words) {
      opts.signal?.throwIfAborted();
      if (w) yield { delta: w };
    }
    yield { delta: '', done: true, usage: res.usage, finishReason: res.finishReason, toolCalls: res.toolCalls };
  }

  /**
   * Tools named in the conversation are the relevant ones (all of them when none is named); each is called
   * once, so the loop always ends.
   */
  private toolCalls(req: ModelRequest, tools: ToolSpec[], digest: number): ToolCall[] {
    const called = new Set<string>();
    for (const m of req.messages) for (const c of m.toolCalls ?? []) called.add(c.name);
    const text = req.messages
      .filter((m) => m.role === 'system' || m.role === 'user')
      .map((m) => m.content.toLowerCase())
      .join('\n');
    const named = tools.filter((t) => mentions(text, t.name));
    const relevant = named.length ? named : tools;
    const step = req.messages.filter((m) => m.role === 'assistant' && m.toolCalls?.length).length;
    // One tool per step, in the order given, so later calls can use what earlier ones returned (URLs).
    const next = relevant.find((t) => !called.has(t.name));
    if (!next) return [];
    const args = sampleFromSchema(next.parameters, {
      seed: digest ^ fnv1a(next.name),
      words: wordsOf(req),
      urls: urlsOf(req),
    });
    return [{ id: `local_${step}_0`, name: next.name, arguments: args }];
  }

  private answer(prompt: string, maxTokens: number | undefined, req: ModelRequest): string {
    const lastUser = req.messages.filter((m) => m.role === 'user' || m.role === 'system').at(-1)?.content ?? prompt;
    const last = lastUser.trim().split('\n').filter(Boolean).at(-1) ?? '';
    const h = fnv1a(prompt).toString(16).padStart(8, '0');
    const used = [...new Set(req.messages.filter((m) => m.role === 'tool').map((m) => m.toolName ?? 'tool'))];
    const tools = used.length ? ` after calling ${used.join(', ')}` : '';
    const text = `${LABEL} ${summarise(last)}${tools} (digest ${h})`;
    return maxTokens ? text.slice(0, maxTokens * 4) : text;
  }
}

/** A tool counts as named when its name, or its part after a `server__` prefix, appears in the text. */
function mentions(text: string, name: string): boolean {
  const short = name.includes('__') ? name.slice(name.lastIndexOf('__') + 2) : name;
  return [name, short].some((n) =>
    new RegExp(`(^|[^a-z0-9_])${n.toLowerCase().replace(/[^a-z0-9_]/g, '\\$&')}($|[^a-z0-9_])`).test(text),
  );
}

/** URLs in tool results, in order of appearance (deduplicated). */
function urlsOf(req: ModelRequest): string[] {
  const text = req.messages
    .filter((m) => m.role === 'tool' && !m.isError)
    .map((m) => m.content)
    .join(' ');
  return [...new Set(text.match(/https?:\/\/[^\s"'<>)\]]+/g) ?? [])];
}

/** Words for generated strings: from the prompt and tool results, so values echo what the task was about. */
function wordsOf(req: ModelRequest): string[] {
  const src = req.messages
    .filter((m) => m.role !== 'system')
    .map((m) => m.content)
    .join(' ');
  return src
    .replace(/https?:\/\/\S+/g, ' ')
    .split(/[^\p{L}\p{N}_-]+/u)
    .filter((w) => w.length > 3 && !w.startsWith('local'));
}

function summarise(line: string): string {
  const words = line.replace(/\s+/g, ' ').trim().split(' ');
  return words.length > 24 ? `${words.slice(0, 24).join(' ')}…` : words.join(' ');
}
