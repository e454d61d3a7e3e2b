// The monitoring pillar's public API.

export { deriveProfile } from './derive-profile.js';
export { type ErrorPattern, normaliseMessage } from './error-patterns.js';
export { ExecutionMonitor, type MonitoringConfigInput } from './execution-monitor.js';
export { MemoryHistoryStore } from './history-store.js';
export { NetworkMeter } from './network-meter.js';
export { formatReport, reportJson } from './report.js';
export { ProcessResourceSource } from './resource-sampler.js';
export { DEFAULT_DETECTOR_SETTINGS } from './settings.js';
export { SqliteHistoryStore } from './sqlite-history-store.js';
export type {
  AgentProfile,
  Alert,
  AlertThresholds,
  Anomaly,
  Bottleneck,
  BottleneckKind,
  CatalogEntry,
  CatalogLookup,
  CostBreakdown,
  CostLine,
  CostQuery,
  CriticalPath,
  CriticalPathStep,
  DetectorSettings,
  ExecutionProfile,
  Insight,
  MonitorHistoryStore,
  MonitoringConfig,
  MonitorOptions,
  MonitorReport,
  Parallelism,
  ResourceSample,
  ResourceSource,
  ResourceSummary,
  StoredProfile,
  TaskProfile,
} from './types.js';
export { PROFILE_SCHEMA_VERSION } from './types.js';
