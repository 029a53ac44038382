import { ConfigError } from '../../errors.js';
import { backendString } from '../backend-fields.js';
import { splitFields } from './command-line.js';
import type { ExtensionCommandField } from './extension-command.js';

/** The extension backend's options: four command strings, each empty when not configured. */
export type ExtensionConfig = Readonly<Record<ExtensionCommandField, string>>;

export const EXTENSION_COMMAND_FIELDS: readonly ExtensionCommandField[] = ['PreStartupCommand', 'PostStartupCommand', 'SubnetAddCommand', 'SubnetRemoveCommand'];

/**
 * Reads the four commands. Each must be a string; one that is set but holds only white space
 * names no program (Go flannel would crash on it) and is an error naming the field.
 */
export function parseExtensionConfig(raw: Readonly<Record<string, unknown>>): ExtensionConfig {
  const out = {} as Record<ExtensionCommandField, string>;
  for (const field of EXTENSION_COMMAND_FIELDS) {
    const v = backendString(raw, field, '');
    if (v !== '' && splitFields(v).length === 0) throw new ConfigError(`Backend.${field}`, v, 'names no program to run');
    out[field] = v;
  }
  return Object.freeze(out);
}
