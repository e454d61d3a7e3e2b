import type { ErrorInfo } from '../errors.js';

// Recurring errors grouped by a normalised message: ids, numbers, quoted values, URLs and hex digests are
// replaced by placeholders so "timeout after 3012 ms on req 8f3a…" and "… 2990 ms on req 11bc…" group together.

/** An error message with numbers and ids replaced by placeholders, so similar errors group together. */
export function normaliseMessage(message: string): string {
  return message
    .replace(/https?:\/\/\S+/g, '<url>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>')
    .replace(/\b\d{1,3}(\.\d{1,3}){3}\b/g, '<ip>')
    .replace(/(["'`])(?:(?!\1).){1,200}\1/g, '<str>')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi, '<hex>')
    .replace(/\d+(\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

/** A recurring error: its code, normalised message, count, first/last occurrence and where it happened. */
export interface ErrorPattern {
  code: string;
  pattern: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  executions: string[];
  tasks: string[];
  /** Count at which it was last reported; reported again at each doubling. */
  reportedAt: number;
}

const MAX_PATTERNS = 1000;
const MAX_IDS = 20;

export class ErrorPatterns {
  private readonly patterns = new Map<string, ErrorPattern>();

  /** Records an error; returns the pattern when it just crossed a reporting threshold. */
  record(
    err: ErrorInfo,
    at: number,
    minCount: number,
    executionId?: string,
    taskId?: string,
  ): ErrorPattern | undefined {
    const pattern = normaliseMessage(err.message);
    const key = `${err.code}\u0000${pattern}`;
    let p = this.patterns.get(key);
    if (p === undefined) {
      if (this.patterns.size >= MAX_PATTERNS) {
        const oldest = this.patterns.keys().next().value;
        if (oldest !== undefined) this.patterns.delete(oldest);
      }
      p = { code: err.code, pattern, count: 0, firstSeen: at, lastSeen: at, executions: [], tasks: [], reportedAt: 0 };
      this.patterns.set(key, p);
    }
    p.count++;
    p.lastSeen = at;
    if (executionId !== undefined && p.executions.length < MAX_IDS && !p.executions.includes(executionId))
      p.executions.push(executionId);
    if (taskId !== undefined && p.tasks.length < MAX_IDS && !p.tasks.includes(taskId)) p.tasks.push(taskId);
    const due = p.reportedAt === 0 ? p.count >= minCount : p.count >= p.reportedAt * 2;
    if (!due) return undefined;
    p.reportedAt = p.count;
    return p;
  }

  list(): ErrorPattern[] {
    return [...this.patterns.values()].sort((a, b) => b.count - a.count);
  }
}
