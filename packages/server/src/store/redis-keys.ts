import type { RedisStore } from '@codexos/multi-agent-orchestrator';

/** The ioredis client type, as the orchestrator's Redis store holds it. */
export type RedisClient = RedisStore['redis'];

/** Every key of the server's state under `<prefix>:srv:`, beside the orchestrator's own keys. */
export function serverKeys(prefix: string) {
  const p = `${prefix}:srv:`;
  return {
    workflow: (id: string) => `${p}wf:${id}`,
    versions: (id: string) => `${p}wfv:${id}`,
    /** Every workflow id, score 0, so ZRANGEBYLEX pages by id. */
    workflowIndex: `${p}wfs`,
    user: (id: string) => `${p}user:${id}`,
    token: (id: string) => `${p}tok:${id}`,
    /** `<createdAt padded>:<id>`, score 0: lexical order is (createdAt, id) order. */
    tokenIndex: `${p}toks`,
    rolesOf: (workflowId: string) => `${p}roles:wf:${workflowId}`,
    workflowsOf: (userId: string) => `${p}roles:user:${userId}`,
    auditSeq: `${p}audit:seq`,
    /** Score = seq, member = `<seq>\t<entry JSON>`. */
    audit: `${p}audit`,
    meta: `${p}meta`,
    /** Pub/sub channel: the id of each token as it is revoked. */
    revocations: `${p}tokens:revoked`,
    /** Hash: the run's pinned workflow version, who started it, interrupted flag, models. */
    run: (executionId: string) => `${p}run:${executionId}`,
    /** Set of run ids a shutdown interrupted (resumed on the next start of any server). */
    interruptedRuns: `${p}runs:interrupted`,
  };
}

/** Keys of one server deployment in Redis. */
export type ServerKeys = ReturnType<typeof serverKeys>;
