import type { AppliedUpdate, ConflictStrategy, Participant, Role, SessionInfo, StrategyName } from './types.js';

// One editing session of a workflow: who takes part, which strategy resolves conflicts, the op version and the
// recent applied ops (the "concurrent" window strategies see).

const RECENT_LIMIT = 1000;

export class Session {
  readonly participants = new Map<string, Participant>();
  version = 0;
  recent: AppliedUpdate[] = [];
  lastActivityAt: number;
  state: 'active' | 'ended' = 'active';

  constructor(
    readonly id: string,
    readonly workflowId: string,
    readonly strategy: ConflictStrategy,
    readonly createdBy: string,
    readonly createdAt: number,
  ) {
    this.lastActivityAt = createdAt;
  }

  get strategyName(): StrategyName {
    return this.strategy.name;
  }

  touch(now: number, userId?: string): void {
    this.lastActivityAt = now;
    if (userId) {
      const p = this.participants.get(userId);
      if (p) p.lastActiveAt = now;
    }
  }

  addParticipant(userId: string, role: Role, now: number): { participant: Participant; isNew: boolean } {
    const cur = this.participants.get(userId);
    if (cur) {
      cur.role = role;
      return { participant: cur, isNew: false };
    }
    const participant: Participant = {
      userId,
      role,
      joinedAt: now,
      lastActiveAt: now,
      connections: 0,
      activity: { kind: 'idle' },
    };
    this.participants.set(userId, participant);
    return { participant, isNew: true };
  }

  record(updates: AppliedUpdate[]): void {
    for (const u of updates) this.recent.push(u);
    if (this.recent.length > RECENT_LIMIT * 2) this.recent = this.recent.slice(-RECENT_LIMIT);
  }

  concurrentSince(baseVersion: number): AppliedUpdate[] {
    const out: AppliedUpdate[] = [];
    for (let i = this.recent.length - 1; i >= 0 && this.recent[i].version > baseVersion; i--) out.push(this.recent[i]);
    return out.reverse();
  }

  info(): SessionInfo {
    return {
      id: this.id,
      workflowId: this.workflowId,
      strategy: this.strategyName,
      createdBy: this.createdBy,
      createdAt: this.createdAt,
      lastActivityAt: this.lastActivityAt,
      version: this.version,
      participants: [...this.participants.values()].map((p) => ({ ...p })),
      state: this.state,
    };
  }
}
