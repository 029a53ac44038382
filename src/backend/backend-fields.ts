import { ConfigError } from '../errors.js';

/** Readers for fields of the `Backend` object; errors name the field as `Backend.<Name>`. */
export function backendInt(raw: Readonly<Record<string, unknown>>, name: string, dflt: number, min: number, max: number): number {
  const v = raw[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ConfigError(`Backend.${name}`, v, 'must be an integer');
  if (v < min || v > max) throw new ConfigError(`Backend.${name}`, v, `must be between ${min} and ${max}`);
  return v;
}

export function backendBool(raw: Readonly<Record<string, unknown>>, name: string, dflt: boolean): boolean {
  const v = raw[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'boolean') throw new ConfigError(`Backend.${name}`, v, 'must be true or false');
  return v;
}

export function backendString(raw: Readonly<Record<string, unknown>>, name: string, dflt: string): string {
  const v = raw[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string') throw new ConfigError(`Backend.${name}`, v, 'must be a string');
  return v;
}
