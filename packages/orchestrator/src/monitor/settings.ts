import type { DetectorSettings } from './types.js';

// Defaults chosen so a healthy run stays silent: every detector needs both a relative and an absolute margin.
/** Default margins of the bottleneck, insight and anomaly detectors, set so a healthy run raises nothing. */
export const DEFAULT_DETECTOR_SETTINGS: DetectorSettings = {
  criticalShare: 0.5,
  agentQueueMinMeanMs: 5,
  throttleShare: 0.1,
  parallelMinSavingMs: 10,
  cacheMinExecutions: 2,
  modelMinSamples: 5,
  modelMaxCostRatio: 0.7,
  modelMaxSuccessDrop: 0.02,
  modelMaxLatencyRatio: 1.25,
  batchMinCalls: 10,
  batchWindowMs: 1000,
  batchSmallTokens: 1000,
  anomalyWarmup: 5,
  anomalyMinScore: 3.5,
  anomalyMinRatio: 1.5,
  anomalyMinDeltaMs: 10,
  errorPatternMinCount: 3,
  trendMinPoints: 5,
  trendMinR2: 0.6,
  trendHorizonMs: 10 * 60_000,
  failureRateWindow: 100,
  failureRateMinTasks: 10,
};
