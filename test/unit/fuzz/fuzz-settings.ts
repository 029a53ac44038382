/**
 * Shared settings and arbitraries of the fuzz tests. CI runs them with a fixed seed and a
 * bounded count; `npm run fuzz` sets FUZZ_SEED=random and a long FUZZ_RUNS. The seed in use
 * is printed so that a failure can be replayed (`FUZZ_SEED=<n> FUZZ_RUNS=<n> npm run fuzz`,
 * or with `node --test` on the one file).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FlannelError } from '../../../src/errors.js';

const CI_SEED = 0x5eed13;
const CI_RUNS = 250;

function seedFromEnv(): number {
  const text = process.env.FUZZ_SEED;
  if (text === undefined || text === '') return CI_SEED;
  if (text === 'random') return Math.floor(Math.random() * 0x7fffffff);
  const n = Number(text);
  if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED=${JSON.stringify(text)}: want an integer or "random"`);
  return n;
}

function runsFromEnv(): number {
  const text = process.env.FUZZ_RUNS;
  if (text === undefined || text === '') return CI_RUNS;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`FUZZ_RUNS=${JSON.stringify(text)}: want a positive integer`);
  return n;
}

export const FUZZ_SEED = seedFromEnv();
export const FUZZ_RUNS = runsFromEnv();

if (process.env.FUZZ_SEED !== undefined && process.env.FUZZ_SEED !== '') {
  // Only when asked for (npm run fuzz): CI's fixed seed needs no replay hint.
  console.log(`# fuzz: FUZZ_SEED=${FUZZ_SEED} FUZZ_RUNS=${FUZZ_RUNS} (${process.argv[1] ?? ''})`);
}

/** fc.assert with this run's seed and count (`scale` for properties much slower or faster than usual). */
export function check<Ts extends [unknown, ...unknown[]]>(prop: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>, scale = 1): void | Promise<void> {
  const params = { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(FUZZ_RUNS * scale)), includeErrorInReport: true };
  return fc.assert(prop as fc.IProperty<Ts>, params);
}

/**
 * Runs `fn`; it may return or throw an error of `typed` (FlannelError unless told), and the
 * message then names `field` when one is given. Anything else thrown (TypeError, RangeError,
 * SyntaxError...) fails the property.
 */
export function expectTypedOrValue<T>(fn: () => T, opts: { typed?: new (...args: never[]) => Error; field?: (err: Error) => string | undefined } = {}): T | Error {
  try {
    return fn();
  } catch (err) {
    const typed = opts.typed ?? FlannelError;
    assert.ok(err instanceof typed, `threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message} (want ${typed.name})`);
    const field = opts.field?.(err);
    if (field !== undefined) assert.ok(err.message.includes(field), `error ${JSON.stringify(err.message)} does not name ${field}`);
    return err;
  }
}

/** Keys that would pollute prototypes if copied carelessly. */
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];

/** Any JSON value, with hostile keys, unicode, huge and odd numbers, and some depth. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53, 2 ** 64, 0.5, -1)),
    fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('', ' ', '\u2028', '<&>', '\ud800', '0.0.0.0', '::', '10.244.0.0/16')),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom(...HOSTILE_KEYS)), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** JSON text of a value, deeply nested arrays/objects (far past anything real). */
export const deepJsonText: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 100, max: 5000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => open.repeat(depth) + '1' + (open === '[' ? ']' : '}').repeat(depth));

/** Mutations of a valid text: truncation, a byte changed, a piece repeated or deleted. */
export function mutatedText(valid: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    valid,
    fc.tuple(valid, fc.nat()).map(([s, n]) => s.slice(0, s.length === 0 ? 0 : n % s.length)),
    fc.tuple(valid, fc.nat(), fc.string({ minLength: 1, maxLength: 3, unit: 'binary' })).map(([s, n, c]) => {
      const at = s.length === 0 ? 0 : n % s.length;
      return s.slice(0, at) + c + s.slice(at + 1);
    }),
    fc.tuple(valid, fc.nat(), fc.nat({ max: 8 })).map(([s, n, k]) => {
      const at = s.length === 0 ? 0 : n % s.length;
      return s.slice(0, at) + s.slice(at + k);
    }),
    fc.tuple(valid, fc.nat(), fc.nat({ max: 8 })).map(([s, n, k]) => {
      const at = s.length === 0 ? 0 : n % s.length;
      return s.slice(0, at) + s.slice(at, at + k).repeat(3) + s.slice(at + k);
    }),
  );
}

/** A JSON object that is `valid` with one field replaced by anything (wrong types, hostile values). */
export function withFieldReplaced(valid: fc.Arbitrary<Record<string, unknown>>, fields: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(valid, fc.constantFrom(...fields, ...HOSTILE_KEYS), anyJson).map(([obj, field, value]) => {
    const out: Record<string, unknown> = { ...obj };
    Object.defineProperty(out, field, { value, enumerable: true, writable: true, configurable: true });
    return out;
  });
}

export const ipv4 = fc.ipV4();
export const ipv6 = fc.ipV6();

/** A MAC address as flannel writes VtepMAC: six lower-case two-digit hex bytes. */
export const macText: fc.Arbitrary<string> = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'));
