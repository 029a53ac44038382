import { FlannelError } from '../../errors.js';

/**
 * The private key file cannot be used: unreadable, not a regular file, or not a base64
 * 32-byte key. Names the file, never its content.
 */
export class WireguardKeyError extends FlannelError {
  readonly file: string;
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super('ERR_WIREGUARD_KEY', `wireguard: private key file ${file}: ${reason}`, options);
    this.file = file;
  }
}

/** wireguard-go is needed (the kernel has no WireGuard) but cannot be run. */
export class WireguardGoError extends FlannelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_WIREGUARD_GO', message, options);
  }
}

/**
 * A WireGuard device refused a configuration or a query: `device` is its name, `op` what was
 * asked (`set`, `get`), `errno` the device's answer (0 when the failure was not an errno).
 */
export class WireguardDeviceError extends FlannelError {
  readonly device: string;
  readonly op: string;
  readonly errno: number;
  constructor(device: string, op: string, errno: number, reason: string, options?: { cause?: unknown }) {
    super('ERR_WIREGUARD_DEVICE', `wireguard: ${op} on ${device}: ${reason}`, options);
    this.device = device;
    this.op = op;
    this.errno = errno;
  }
}
