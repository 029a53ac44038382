import type { CtlOptions, CtlStore } from './ctl-context.js';
import { UnsupportedError } from './ctl-errors.js';

/** Placeholder until the store lands. */
export function openKubeStore(_options: CtlOptions, _env?: unknown, _signal?: AbortSignal): Promise<CtlStore> {
  return Promise.reject(new UnsupportedError('kube-store', 'not implemented yet'));
}
