import { connect } from 'node:net';
import { join } from 'node:path';
import { errorMessage } from '../../errors.js';
import { publicKeyOf } from './wireguard-key.js';
import type { WgControl, WgDeviceSet, WgDeviceState } from '../../kernel/wg-types.js';
import { answerComplete, answerErrno, encodeSet, GET_REQUEST, parseGet } from './uapi-protocol.js';
import { WireguardDeviceError } from './wireguard-errors.js';

/** Where userspace WireGuard implementations put their UAPI sockets (fixed in wireguard-go). */
export const UAPI_SOCKET_DIR = '/var/run/wireguard';

export function uapiSocketPath(device: string, dir = UAPI_SOCKET_DIR): string {
  return join(dir, `${device}.sock`);
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * A device served by a userspace implementation (wireguard-go), configured over its UAPI socket.
 * One connection per request, as `wg` does.
 */
export class UapiControl implements WgControl {
  readonly implementation = 'userspace';

  constructor(
    readonly device: string,
    readonly socketPath = uapiSocketPath(device),
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  async get(opts: { signal?: AbortSignal } = {}): Promise<WgDeviceState> {
    const text = await this.exchange('get', GET_REQUEST, opts.signal);
    const state = parseGet(text);
    return state.privateKey ? { ...state, publicKey: publicKeyOf(state.privateKey) } : state;
  }

  async set(config: WgDeviceSet, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.exchange('set', encodeSet(config), opts.signal);
  }

  /** Whether something answers on the socket (a `get` that succeeds). */
  async alive(signal?: AbortSignal): Promise<boolean> {
    try {
      await this.exchange('get', GET_REQUEST, signal);
      return true;
    } catch {
      return false;
    }
  }

  private exchange(op: string, request: string, signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    return new Promise<string>((resolve, reject) => {
      const sock = connect(this.socketPath);
      const chunks: string[] = [];
      let tail = '';
      const finish = (err: Error | undefined, text?: string) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        sock.destroy();
        if (err) reject(err);
        else resolve(text ?? '');
      };
      const fail = (reason: string, cause?: unknown) =>
        finish(new WireguardDeviceError(this.device, op, 0, `${this.socketPath}: ${reason}`, { cause }));
      const onAbort = () => finish(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const timer = setTimeout(() => fail(`no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      sock.setEncoding('utf8');
      sock.on('error', (err) => fail(errorMessage(err), err));
      sock.on('end', () => fail('the connection closed before the answer ended'));
      sock.on('data', (d: string) => {
        chunks.push(d);
        // The answer's end is known from its last bytes; look only at those.
        tail = (tail + d).slice(-64);
        if (!answerComplete(tail)) return;
        const text = chunks.join('');
        const errno = answerErrno(text);
        if (errno !== 0) {
          finish(new WireguardDeviceError(this.device, op, Math.abs(errno), `the device answered errno=${errno}`));
          return;
        }
        finish(undefined, text);
      });
      sock.write(request);
    });
  }
}
