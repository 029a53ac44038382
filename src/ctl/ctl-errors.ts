import { FlannelError } from '../errors.js';

/** What a subcommand cannot do in this store mode (e.g. reservations with -kube-subnet-mgr). */
export class UnsupportedError extends FlannelError {
  readonly mode: string;
  constructor(mode: string, message: string) {
    super('ERR_UNSUPPORTED', message);
    this.mode = mode;
  }
}

/** A subcommand module could not be loaded (e.g. doctor not built yet). */
export class CommandLoadError extends FlannelError {
  readonly command: string;
  constructor(command: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_COMMAND_LOAD', `flannelctl ${command}: cannot load the subcommand: ${reason}`, options);
    this.command = command;
  }
}
