import type { Bottleneck } from '../types.js';
import type { InsightDraft } from './types.js';

const ADVICE: Record<Bottleneck['kind'], (b: Bottleneck) => string> = {
  'critical-task': (b) =>
    `Speed up '${b.subject}' (faster model, smaller prompt, cache) or split it into parallel parts: it sets the run's duration.`,
  'agent-queue': (b) =>
    `Raise maxAgents or the concurrency for agent '${b.subject}': its tasks spend longer waiting than working.`,
  'provider-throttle': (b) =>
    `Raise the rate limits for '${b.subject}', spread load over another provider, or batch requests.`,
};

const TITLE: Record<Bottleneck['kind'], string> = {
  'critical-task': 'Bottleneck on the critical path',
  'agent-queue': 'Agent queue bottleneck',
  'provider-throttle': 'Provider throttled by rate limits',
};

export function bottleneckInsights(bottlenecks: Bottleneck[]): InsightDraft[] {
  return bottlenecks.map((b) => ({
    type: 'bottleneck',
    title: TITLE[b.kind],
    description: b.message,
    recommendation: ADVICE[b.kind](b),
    evidence: { kind: b.kind, ...b.evidence },
    severity: 'warning',
  }));
}
