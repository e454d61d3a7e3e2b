// The monitoring pillar's public API.
export { ExecutionMonitor, type MonitoringConfigInput } from './execution-monitor.js';
export { formatReport, reportJson } from './report.js';
export { MemoryHistoryStore } from './history-store.js';
export { SqliteHistoryStore } from './sqlite-history-store.js';
export { deriveProfile } from './derive-profile.js';
export { normaliseMessage, type ErrorPattern } from './error-patterns.js';
export { ProcessResourceSource } from './resource-sampler.js';
export { NetworkMeter } from './network-meter.js';
export { DEFAULT_DETECTOR_SETTINGS } from './settings.js';
export { PROFILE_SCHEMA_VERSION } from './types.js';
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
  MonitorOptions,
  MonitorReport,
  MonitoringConfig,
  Parallelism,
  ResourceSample,
  ResourceSource,
  ResourceSummary,
  StoredProfile,
  TaskProfile,
} from './types.js';
