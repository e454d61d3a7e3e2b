import { CodexError, ErrorCodes } from '../errors.js';
import { estimateTokens } from './local-provider.js';
import type { ChatMessage } from './types.js';

export { estimateTokens };

/** Per-message framing the chat formats add (role markers, separators): a small constant, as the providers document. */
const MESSAGE_OVERHEAD = 4;

/** Input tokens of a message list, estimated before sending (the provider's own count replaces it afterwards). */
export function countMessageTokens(messages: readonly ChatMessage[]): number {
  let n = 3;
  for (const m of messages) n += MESSAGE_OVERHEAD + estimateTokens(m.content);
  return n;
}

/** Shrinks text to about `targetTokens`; the built-in hook trims, a model-backed one can summarise. */
export type ContextSummariser = (text: string, targetTokens: number) => Promise<string>;

export interface FitInput {
  system?: string;
  prompt: string;
  context?: string;
  modelId: string;
  contextWindow: number;
  reserveOutputTokens: number;
  strategy: 'trim' | 'summarise' | 'fail';
  summarise?: ContextSummariser;
}

export interface FitResult {
  messages: ChatMessage[];
  inputTokens: number;
  trimmedTokens: number;
}

/**
 * Builds the messages for one call, fitting upstream context into the model's window. System prompt and the
 * task prompt are never cut: if they alone do not fit, the call fails with CONTEXT_OVERFLOW.
 */
export async function fitMessages(f: FitInput): Promise<FitResult> {
  const fixed: ChatMessage[] = [];
  if (f.system) fixed.push({ role: 'system', content: f.system });
  const budget = f.contextWindow - f.reserveOutputTokens;
  const base = countMessageTokens([...fixed, { role: 'user', content: f.prompt }]);
  if (base > budget) {
    throw new CodexError(
      ErrorCodes.CONTEXT_OVERFLOW,
      `Prompt needs ~${base} tokens but ${f.modelId} allows ${budget} after reserving ${f.reserveOutputTokens} for output`,
    );
  }
  let context = f.context ?? '';
  let trimmed = 0;
  const ctxTokens = estimateTokens(context);
  const room = budget - base - 8; // the blank-line join and trim marker
  if (ctxTokens > room) {
    if (f.strategy === 'fail') {
      throw new CodexError(
        ErrorCodes.CONTEXT_OVERFLOW,
        `Upstream context of ~${ctxTokens} tokens does not fit ${f.modelId} (room for ${room}); set models.context.strategy to 'trim' or 'summarise'`,
      );
    }
    context =
      f.strategy === 'summarise' && f.summarise
        ? await f.summarise(context, room)
        : trimMiddle(context, room, f.modelId);
    // A summariser that overshoots is trimmed too: the window is a hard limit.
    if (estimateTokens(context) > room) context = trimMiddle(context, room, f.modelId);
    trimmed = Math.max(0, ctxTokens - estimateTokens(context));
  }
  const user = context ? `${context}\n\n${f.prompt}` : f.prompt;
  const messages: ChatMessage[] = [...fixed, { role: 'user', content: user }];
  return { messages, inputTokens: countMessageTokens(messages), trimmedTokens: trimmed };
}

/** Keeps the start and the end of the text (where instructions and the latest results usually are). */
export function trimMiddle(text: string, targetTokens: number, modelId: string): string {
  const marker = `\n[… context trimmed to fit ${modelId} …]\n`;
  const keepChars = Math.max(0, targetTokens * 4 - marker.length);
  if (text.length <= keepChars) return text;
  const head = Math.floor(keepChars / 3);
  return text.slice(0, head) + marker + text.slice(text.length - (keepChars - head));
}
