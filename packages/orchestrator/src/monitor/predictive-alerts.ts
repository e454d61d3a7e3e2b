import { linearFit, round } from './stats.js';
import type { Alert, AlertThresholds, DetectorSettings } from './types.js';

// Threshold and predictive alerts for the four `alertThresholds`. Each series keeps its recent points; a
// straight-line fit that reaches the threshold within the horizon raises a `predictive` alert before the
// value gets there, the crossing itself a `threshold` alert. Each state is announced once, and re-armed only
// after the value falls back below 90 % of the threshold.

export type AlertMetric = keyof AlertThresholds;

type State = 'ok' | 'predicted' | 'breached';

class Series {
  readonly ts: number[] = [];
  readonly vs: number[] = [];
  state: State = 'ok';
  constructor(private readonly capacity: number) {}
  push(t: number, v: number): void {
    this.ts.push(t);
    this.vs.push(v);
    if (this.ts.length > this.capacity) {
      this.ts.shift();
      this.vs.shift();
    }
  }
}

const UNITS: Record<AlertMetric, (v: number) => string> = {
  taskFailureRate: (v) => `${round(v, 1)} %`,
  executionDuration: (v) => `${round(v)} ms`,
  memoryUsage: (v) => `${round(v / 1048576, 1)} MB`,
  cpuUsage: (v) => `${round(v, 1)} %`,
};

const LABELS: Record<AlertMetric, string> = {
  taskFailureRate: 'Task failure rate',
  executionDuration: 'Execution duration',
  memoryUsage: 'Memory usage (RSS)',
  cpuUsage: 'CPU usage',
};

export class PredictiveAlerts {
  private readonly series = new Map<string, Series>();

  constructor(
    private readonly thresholds: AlertThresholds,
    private readonly s: DetectorSettings,
    private readonly emit: (a: Alert) => void,
  ) {}

  /**
   * Adds one point of `metric` (optionally per `subject`, e.g. a workflow id) and raises what it implies.
   * Returns the alert raised, if any.
   */
  observe(metric: AlertMetric, at: number, value: number, subject = ''): Alert | undefined {
    const threshold = this.thresholds[metric];
    const key = subject ? `${metric}\u0000${subject}` : metric;
    let series = this.series.get(key);
    if (series === undefined) {
      series = new Series(Math.max(this.s.trendMinPoints * 4, 30));
      this.series.set(key, series);
    }
    series.push(at, value);
    const label = subject ? `${LABELS[metric]} (${subject})` : LABELS[metric];
    const fmt = UNITS[metric];

    if (value >= threshold) {
      if (series.state === 'breached') return undefined;
      series.state = 'breached';
      return this.raise({
        metric,
        value,
        threshold,
        kind: 'threshold',
        severity: 'critical',
        message: `${label} is ${fmt(value)}, above the ${fmt(threshold)} threshold`,
        timestamp: at,
      });
    }
    if (series.state === 'breached' && value < threshold * 0.9) series.state = 'ok';
    if (series.state === 'breached') return undefined;

    const eta = this.eta(series, threshold, at);
    if (eta === undefined) {
      if (series.state === 'predicted' && value < threshold * 0.9) series.state = 'ok';
      return undefined;
    }
    if (series.state === 'predicted') return undefined;
    series.state = 'predicted';
    return this.raise({
      metric,
      value,
      threshold,
      kind: 'predictive',
      severity: 'warning',
      etaMs: eta,
      message: `${label} is ${fmt(value)} and rising; at this trend it crosses ${fmt(threshold)} in about ${round(eta / 1000, 1)} s`,
      timestamp: at,
    });
  }

  /** A running execution approaching the duration threshold: no trend needed, time only moves forward. */
  elapsed(executionId: string, at: number, elapsedMs: number, already: number): { alert?: Alert; level: number } {
    const threshold = this.thresholds.executionDuration;
    if (elapsedMs >= threshold && already < 2) {
      return {
        level: 2,
        alert: this.raise({
          metric: 'executionDuration',
          value: elapsedMs,
          threshold,
          kind: 'threshold',
          severity: 'critical',
          message: `Execution ${executionId} has run ${round(elapsedMs)} ms, above the ${threshold} ms threshold`,
          timestamp: at,
        }),
      };
    }
    if (elapsedMs >= threshold * 0.8 && already < 1) {
      return {
        level: 1,
        alert: this.raise({
          metric: 'executionDuration',
          value: elapsedMs,
          threshold,
          kind: 'predictive',
          severity: 'warning',
          etaMs: threshold - elapsedMs,
          message: `Execution ${executionId} has run ${round(elapsedMs)} ms and will cross the ${threshold} ms threshold in ${round(threshold - elapsedMs)} ms if still running`,
          timestamp: at,
        }),
      };
    }
    return { level: already };
  }

  /** Time until the fitted line reaches `threshold`, when the fit is good, rising, and within the horizon. */
  private eta(series: Series, threshold: number, at: number): number | undefined {
    const n = series.ts.length;
    if (n < this.s.trendMinPoints) return undefined;
    const t0 = series.ts[0];
    const xs = series.ts.map((t) => t - t0);
    const fit = linearFit(xs, series.vs);
    if (fit.slope <= 0 || fit.r2 < this.s.trendMinR2) return undefined;
    const now = fit.intercept + fit.slope * (at - t0);
    const eta = (threshold - now) / fit.slope;
    if (!(eta > 0) || eta > this.s.trendHorizonMs) return undefined;
    return eta;
  }

  private raise(a: Alert): Alert {
    this.emit(a);
    return a;
  }
}
