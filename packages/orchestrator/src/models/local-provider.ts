import type { ModelProvider, ModelRequest, ModelResponse, ModelStreamChunk } from './types.js';

/** Rough token estimate (≈ 4 characters a token) used when a provider reports no usage. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.ceil(text.length / 4);
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const LABEL = '[local offline model]';

/**
 * The built-in `local` provider: answers deterministically with no network, so demos and tests run without
 * API keys. Every answer starts with a label so nobody mistakes it for a real model's output.
 */
export class LocalProvider implements ModelProvider {
  readonly id = 'local';
  readonly offline = true;

  async complete(req: ModelRequest, opts: { signal?: AbortSignal } = {}): Promise<ModelResponse> {
    opts.signal?.throwIfAborted();
    const prompt = req.messages.map((m) => m.content).join('\n');
    const text = this.answer(prompt, req.maxTokens);
    return {
      text,
      model: req.model,
      usage: { inputTokens: estimateTokens(prompt), outputTokens: estimateTokens(text) },
      finishReason: 'stop',
    };
  }

  async *stream(req: ModelRequest, opts: { signal?: AbortSignal } = {}): AsyncIterable<ModelStreamChunk> {
    const res = await this.complete(req, opts);
    const words = res.text.split(/(?<= )/);
    for (const w of words) {
      opts.signal?.throwIfAborted();
      yield { delta: w };
    }
    yield { delta: '', done: true, usage: res.usage, finishReason: 'stop' };
  }

  private answer(prompt: string, maxTokens?: number): string {
    const last = prompt.trim().split('\n').filter(Boolean).at(-1) ?? '';
    const h = fnv1a(prompt).toString(16).padStart(8, '0');
    const text = `${LABEL} ${summarise(last)} (digest ${h})`;
    return maxTokens ? text.slice(0, maxTokens * 4) : text;
  }
}

function summarise(line: string): string {
  const words = line.replace(/\s+/g, ' ').trim().split(' ');
  return words.length > 24 ? `${words.slice(0, 24).join(' ')}…` : words.join(' ');
}
