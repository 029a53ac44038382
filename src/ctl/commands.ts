/**
 * flannelctl's subcommands: a table of names to lazily imported CtlCommands (each module is
 * loaded only when its subcommand runs, so `flannelctl docker-opts` loads no store client).
 */
import { errorMessage } from '../errors.js';
import type { CtlCommand } from './ctl-context.js';
import { CommandLoadError } from './ctl-errors.js';

export interface CommandEntry {
  /** One line for the usage text. */
  readonly summary: string;
  readonly load: () => Promise<CtlCommand>;
}


export const COMMANDS: Readonly<Record<string, CommandEntry>> = Object.freeze({
  config: {
    summary: 'config get|set|validate: the network config in the store',
    load: async () => (await import('./config-command.js')).configCommand,
  },
  leases: {
    summary: 'leases [gc -older-than <duration> [-apply]]: every lease (subnet, public IP, backend, VTEP/key, expiry)',
    load: async () => (await import('./leases-command.js')).leasesCommand,
  },
  reserve: {
    summary: "reserve add|rm <subnet> [-public-ip <ip>]: flannel's reservations (etcd keys without a TTL)",
    load: async () => (await import('./reserve-command.js')).reserveCommand,
  },
  status: {
    summary: "status: this host's agent over its health port (-healthz-port)",
    load: async () => (await import('./status-command.js')).statusCommand,
  },
  doctor: {
    summary: 'doctor: check this host against the store and the kernel, and say how to fix what is wrong',
    // A literal specifier, so that bundlers (the packaged executable) include doctor.
    load: () => loadDoctor('./doctor/doctor-command.js', () => import('./doctor/doctor-command.js')),
  },
  'docker-opts': {
    summary: "docker-opts [-f file] [-d file] [-c] [-i] [-k key] [-m]: Docker's options from subnet.env (mk-docker-opts.sh)",
    load: async () => (await import('./docker-opts-command.js')).dockerOptsCommand,
  },
});

/** `importer()`'s `doctorCommand`; a CommandLoadError naming `specifier` and why if it cannot be had. */
export async function loadDoctor(specifier: string, importer: () => Promise<{ doctorCommand?: unknown }>): Promise<CtlCommand> {
  let mod: { doctorCommand?: unknown };
  try {
    mod = await importer();
  } catch (err) {
    throw new CommandLoadError('doctor', `${specifier}: ${errorMessage(err)}`, { cause: err });
  }
  if (typeof mod.doctorCommand !== 'function') throw new CommandLoadError('doctor', `${specifier} does not export doctorCommand`);
  return mod.doctorCommand as CtlCommand;
}
