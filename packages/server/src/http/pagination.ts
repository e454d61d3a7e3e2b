import { z } from 'zod';
import type { Page } from '../types.js';

// Cursor pagination for every list: the cursor is an opaque base64url of the last item's sort key.

export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
});

export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): unknown[] | undefined {
  if (!cursor) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Pages an in-memory list already in order, with the item's index as the cursor. */
export function pageArray<T>(all: readonly T[], limit: number, cursor: string | undefined): Page<T> {
  const start = Number(decodeCursor(cursor)?.[0] ?? 0) || 0;
  const items = all.slice(start, start + limit);
  const next = start + items.length;
  return { items, nextCursor: next < all.length ? encodeCursor([next]) : null };
}
