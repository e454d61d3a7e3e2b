/** Tool-call arguments arrive as JSON text on OpenAI's wire: parsed when they parse, else kept as text. */
export function parseArgs(raw: string | undefined): unknown {
  if (!raw) return {};
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** Tool results go back to the model as text. */
export function toolResultText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v ?? null);
}
