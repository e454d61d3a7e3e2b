import { describe, expect, it } from 'vitest';
import { decodeWire, encodeWire } from '../../src/queue/bullmq/wire.js';
import { encodeValue } from '../../src/store/codec.js';

// Values in jobs and replies travel as JSON when JSON gives back exactly the same value, else in the stores'
// v8 encoding; whatever the form, the value that arrives is the value that was sent.

const roundTrip = (v: unknown) => decodeWire(encodeWire(v, 'value'));

describe('wire encoding of task values', () => {
  it('sends plain JSON data as JSON text and gets the same value back', () => {
    const plain = { n: 1, s: 'x', b: true, z: null, list: [1, 'two', { three: 3 }], nested: { a: { b: [] } } };
    const wire = encodeWire(plain, 'value');
    expect(wire.startsWith('~')).toBe(true);
    expect(JSON.parse(wire.slice(1))).toEqual(plain);
    expect(roundTrip(plain)).toEqual(plain);
    for (const v of [0, 42.5, -3, 'text', '', false, null, [], {}]) {
      expect(encodeWire(v, 'value').startsWith('~')).toBe(true);
      expect(roundTrip(v)).toEqual(v);
    }
  });

  it('sends what JSON would change in the v8 encoding, and it arrives intact', () => {
    const sparse: unknown[] = [1];
    sparse[2] = 3;
    const withExtra = Object.assign([1, 2], { extra: true });
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
    }
    const cases: unknown[] = [
      undefined,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      10n,
      new Date(1_700_000_000_000),
      new Map([['k', 1]]),
      new Set([1, 2]),
      { a: undefined },
      { when: new Date(0) },
      [1, undefined],
      sparse,
      withExtra,
      new Point(1, 2),
      new Uint8Array([1, 2, 3]),
    ];
    for (const v of cases) {
      const wire = encodeWire(v, 'value');
      expect(wire.startsWith('~'), String(v)).toBe(false);
      const back = roundTrip(v);
      if (typeof v === 'number') expect(Object.is(back, v)).toBe(true);
      else expect(back).toEqual(v);
    }
    expect(roundTrip({ a: undefined })).toHaveProperty('a', undefined);
    expect(roundTrip(new Date(5))).toBeInstanceOf(Date);
    expect(Object.hasOwn(roundTrip(sparse) as unknown[], 1)).toBe(false);
  });

  it('keeps cycles and very deep values (v8 path)', () => {
    const cyc: Record<string, unknown> = { name: 'loop' };
    cyc.self = cyc;
    const back = roundTrip(cyc) as Record<string, unknown>;
    expect(back.self).toBe(back);
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(encodeWire(deep, 'value').startsWith('~')).toBe(false);
    expect(roundTrip(deep)).toEqual(deep);
  });

  it('reads the base64 v8 payloads that earlier releases sent', () => {
    const old = encodeValue({ n: 7, when: new Date(3) }).toString('base64');
    expect(decodeWire(old)).toEqual({ n: 7, when: new Date(3) });
    expect(decodeWire(encodeValue(5).toString('base64'))).toBe(5);
  });

  it('refuses a value that cannot be stored with a typed error naming it', () => {
    expect(() => encodeWire({ ok: 1, fn: () => 1 }, 'output of task "t"')).toThrowError(
      expect.objectContaining({
        code: 'CDX_ERR_VALUE_NOT_SERIALIZABLE',
        message: expect.stringContaining('output of task "t"'),
      }),
    );
  });
});
