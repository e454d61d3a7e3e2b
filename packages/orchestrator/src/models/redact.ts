// Secrets never reach errors, logs or events: every message built from a provider response goes through here.
const GENERIC = [
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  /\bAIza[0-9A-Za-z_-]{20,}/g,
  /(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi,
  /([?&]key=)[^&\s"']+/gi,
];

/** Removes API keys and other secrets from text before it reaches errors, logs or events. */
export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    // Very short values would blank out ordinary words; real keys are long.
    if (secret && secret.length >= 6) this.secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
    for (const re of GENERIC)
      out = out.replace(re, (_m, prefix?: string) => `${typeof prefix === 'string' ? prefix : ''}[redacted]`);
    return out;
  }
}
