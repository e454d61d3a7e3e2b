export { type RedisKeys, redisKeys } from './keys.js';
export { RedisStore } from './redis-store.js';
export type { RedisConnection, RedisStoreOptions } from './types.js';
