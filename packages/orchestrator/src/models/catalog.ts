import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CodexError, ErrorCodes } from '../errors.js';
import { DEFAULT_CATALOG } from './catalog-data.js';
import { type CatalogOverride, catalogModelSchema, catalogOverrideSchema } from './config.js';
import type { CatalogModel } from './types.js';

/** A catalog entry with derived fields the selector reads on its hot path. */
export interface IndexedModel extends CatalogModel {
  /** Bit set of capabilities (bit per capability name, see `ModelCatalog.capabilityMask`). */
  readonly capMask: bigint;
  /** Mean of input and output price per million tokens: the figure `maxCostPerMTokens` bounds. */
  readonly blendedPrice: number;
}

/** The models the layer knows: shipped entries, overridden or extended from config or a JSON file. */
export class ModelCatalog {
  private readonly models = new Map<string, IndexedModel>();
  private readonly bits = new Map<string, bigint>();
  private version = 0;

  constructor(entries: CatalogModel[] = DEFAULT_CATALOG) {
    for (const e of entries) this.set(e);
  }

  /** Monotonic counter bumped on every change, so caches keyed on it stay correct. */
  get revision(): number {
    return this.version;
  }

  get(id: string): IndexedModel | undefined {
    return this.models.get(id);
  }

  require(id: string): IndexedModel {
    const m = this.models.get(id);
    if (!m) throw new CodexError(ErrorCodes.MODEL_NOT_FOUND, `Model '${id}' is not in the catalog`);
    return m;
  }

  list(): IndexedModel[] {
    return [...this.models.values()];
  }

  /** Adds a model, or merges fields into the existing entry with the same id. */
  upsert(entry: CatalogOverride | CatalogModel): IndexedModel {
    const prev = this.models.get(entry.id);
    const merged = prev ? { ...stripDerived(prev), ...definedOnly(entry) } : entry;
    const full = catalogModelSchema.safeParse(merged);
    if (!full.success) {
      throw new CodexError(
        ErrorCodes.CONFIG_INVALID,
        `Catalog entry '${entry.id}' is incomplete or invalid: ${full.error.issues
          .map((i) => `${i.path.join('.')}: ${i.message}`)
          .join('; ')}`,
      );
    }
    return this.set(full.data as CatalogModel);
  }

  remove(id: string): boolean {
    this.version++;
    return this.models.delete(id);
  }

  /** Reads a JSON array of entries/overrides (same shape as `models.catalog.models`). */
  loadFile(path: string): void {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new CodexError(ErrorCodes.CONFIG_INVALID, `Cannot read catalog file '${path}': ${(err as Error).message}`);
    }
    const parsed = z.array(catalogOverrideSchema).safeParse(raw);
    if (!parsed.success)
      throw new CodexError(ErrorCodes.CONFIG_INVALID, `Catalog file '${path}' is invalid: ${parsed.error.message}`);
    for (const e of parsed.data) this.upsert(e);
  }

  /** Bit set for a list of capabilities; unknown capabilities get a bit no model has, so they never match. */
  capabilityMask(caps: readonly string[] | undefined): bigint {
    let mask = 0n;
    if (caps) for (const c of caps) mask |= this.bit(c);
    return mask;
  }

  /** Cost in USD of a call with these token counts on this model. */
  cost(modelId: string, inputTokens: number, outputTokens: number): number {
    const m = this.models.get(modelId);
    return m ? priceOf(m, inputTokens, outputTokens) : 0;
  }

  private set(e: CatalogModel): IndexedModel {
    const indexed: IndexedModel = {
      ...e,
      capMask: this.capabilityMask(e.capabilities),
      blendedPrice: (e.inputPricePerMTok + e.outputPricePerMTok) / 2,
    };
    this.models.set(e.id, indexed);
    this.version++;
    return indexed;
  }

  private bit(cap: string): bigint {
    let b = this.bits.get(cap);
    if (b === undefined) {
      b = 1n << BigInt(this.bits.size);
      this.bits.set(cap, b);
    }
    return b;
  }
}

/** The cost in USD of a call to a catalog model with the given token counts. */
export function priceOf(m: CatalogModel, inputTokens: number, outputTokens: number): number {
  return (inputTokens * m.inputPricePerMTok + outputTokens * m.outputPricePerMTok) / 1_000_000;
}

function stripDerived(m: IndexedModel): CatalogModel {
  const { capMask: _c, blendedPrice: _b, ...rest } = m;
  return rest;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
