import { FlannelError } from '../../errors.js';

/**
 * A VICI exchange with charon failed: malformed bytes (`ERR_VICI_PROTOCOL`), a command charon
 * does not know (`ERR_VICI_UNKNOWN_COMMAND`), a command it refused (`ERR_VICI_COMMAND`, with
 * charon's `errmsg`), or the socket went away (`ERR_VICI_SOCKET`).
 */
export class ViciError extends FlannelError {
  /** The command, or '' when the failure is not tied to one. */
  readonly command: string;
  constructor(code: 'ERR_VICI_PROTOCOL' | 'ERR_VICI_UNKNOWN_COMMAND' | 'ERR_VICI_COMMAND' | 'ERR_VICI_SOCKET', command: string, reason: string, options?: { cause?: unknown }) {
    super(code, `vici${command ? ` ${command}` : ''}: ${reason}`, options);
    this.command = command;
  }
}
