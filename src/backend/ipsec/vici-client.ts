import { connect } from 'node:net';
import { errorMessage } from '../../errors.js';
import { ViciError } from './vici-errors.js';
import { decodeViciPacket, encodeViciPacket, ViciFramer, ViciPacketType, type ViciMessage, type ViciPacket } from './vici-protocol.js';

const DEFAULT_TIMEOUT_MS = 10_000;

/** What one command returned: its response, and the events of `collect` streamed before it. */
export interface ViciResult {
  readonly response: ViciMessage;
  readonly events: readonly ViciMessage[];
}

/** An IKE connection as `load-conn` takes it (the subset flannel uses; values in strongSwan's notation). */
export interface ViciConnection {
  readonly localAddrs: readonly string[];
  readonly remoteAddrs: readonly string[];
  readonly proposals: readonly string[];
  /** `yes` to force UDP encapsulation of ESP. */
  readonly encap: boolean;
  readonly child: {
    readonly name: string;
    readonly localTs: readonly string[];
    readonly remoteTs: readonly string[];
    readonly espProposals: readonly string[];
    /** What charon does when the connection is loaded: `trap` installs policies and negotiates on traffic, `start` at once. */
    readonly startAction: 'trap' | 'start' | 'none';
    /** Whether charon installs the XFRM policies (flannel says no and installs them itself). */
    readonly installPolicy: boolean;
  };
}

/**
 * A small client of charon's VICI socket. One connection per command (as swanctl does), so a
 * restarted charon needs no reconnection logic. Commands answer `success`/`errmsg`; a `no` is
 * a ViciError `ERR_VICI_COMMAND` carrying charon's errmsg.
 */
export class ViciClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  async version(signal?: AbortSignal): Promise<ViciMessage> {
    return (await this.request('version', {}, { signal })).response;
  }

  /** Loads (or replaces) a shared secret: `type` IKE, the secret, the identities it is for (none = any). */
  async loadShared(id: string, secret: string, owners: readonly string[], signal?: AbortSignal): Promise<void> {
    await this.command('load-shared', { id, type: 'IKE', data: secret, owners: [...owners] }, signal);
  }

  async loadConn(name: string, conn: ViciConnection, signal?: AbortSignal): Promise<void> {
    await this.command('load-conn', { [name]: connectionMessage(conn) }, signal);
  }

  async unloadConn(name: string, signal?: AbortSignal): Promise<void> {
    await this.command('unload-conn', { name }, signal);
  }

  /** Starts a child SA; `timeoutMs` 0 returns at once (charon negotiates in the background). */
  async initiate(ike: string, child: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.command('initiate', { ike, child, timeout: String(timeoutMs) }, signal);
  }

  /** Deletes an IKE SA and its children; `force` skips waiting for the peer's answer. */
  async terminate(ike: string, signal?: AbortSignal): Promise<void> {
    await this.command('terminate', { ike, force: 'yes', timeout: '-1' }, signal);
  }

  /** The IKE SAs charon has, each as `{ <name>: {...} }` (the `list-sa` events). */
  async listSas(signal?: AbortSignal): Promise<readonly ViciMessage[]> {
    return (await this.request('list-sas', {}, { signal, collect: 'list-sa' })).events;
  }

  /** The names of the connections charon has loaded (the `list-conn` events). */
  async listConns(signal?: AbortSignal): Promise<string[]> {
    const { events } = await this.request('list-conns', {}, { signal, collect: 'list-conn' });
    return events.flatMap((e) => Object.keys(e));
  }

  /** A command that answers `success`; a `no` throws with charon's errmsg. */
  async command(name: string, message: ViciMessage, signal?: AbortSignal): Promise<ViciMessage> {
    const { response } = await this.request(name, message, { signal });
    if (response['success'] !== 'yes') {
      const why = typeof response['errmsg'] === 'string' ? response['errmsg'] : `success=${String(response['success'])}`;
      throw new ViciError('ERR_VICI_COMMAND', name, why);
    }
    return response;
  }

  /** One command on a fresh connection; with `collect`, registers for that event first and gathers its events. */
  request(command: string, message: ViciMessage, opts: { signal?: AbortSignal | undefined; collect?: string } = {}): Promise<ViciResult> {
    const { signal, collect } = opts;
    signal?.throwIfAborted();
    return new Promise<ViciResult>((resolve, reject) => {
      const sock = connect(this.socketPath);
      const framer = new ViciFramer();
      const events: ViciMessage[] = [];
      let registered = collect === undefined;
      let settled = false;
      const finish = (err: Error | undefined, response?: ViciMessage) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        sock.destroy();
        if (err) reject(err);
        else resolve({ response: response ?? {}, events });
      };
      const fail = (code: 'ERR_VICI_PROTOCOL' | 'ERR_VICI_SOCKET' | 'ERR_VICI_UNKNOWN_COMMAND', reason: string, cause?: unknown) =>
        finish(new ViciError(code, command, reason, { cause }));
      const onAbort = () => finish(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      const timer = setTimeout(() => fail('ERR_VICI_SOCKET', `${this.socketPath}: no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      const handle = (p: ViciPacket) => {
        if (!registered) {
          if (p.type === ViciPacketType.EVENT_CONFIRM) {
            registered = true;
            sock.write(encodeViciPacket(ViciPacketType.CMD_REQUEST, command, message));
          } else if (p.type === ViciPacketType.EVENT_UNKNOWN) fail('ERR_VICI_UNKNOWN_COMMAND', `charon has no event ${collect ?? ''}`);
          else fail('ERR_VICI_PROTOCOL', `packet type ${p.type} while registering for ${collect ?? ''}`);
          return;
        }
        switch (p.type) {
          case ViciPacketType.EVENT:
            if (p.name === collect && p.message) events.push(p.message);
            return;
          case ViciPacketType.CMD_RESPONSE:
            finish(undefined, p.message);
            return;
          case ViciPacketType.CMD_UNKNOWN:
            fail('ERR_VICI_UNKNOWN_COMMAND', 'charon does not know this command');
            return;
          default:
            fail('ERR_VICI_PROTOCOL', `unexpected packet type ${p.type}`);
        }
      };
      sock.on('error', (err) => fail('ERR_VICI_SOCKET', `${this.socketPath}: ${errorMessage(err)}`, err));
      sock.on('end', () => fail('ERR_VICI_SOCKET', `${this.socketPath}: the connection closed before the answer`));
      sock.on('data', (chunk: Buffer) => {
        try {
          for (const body of framer.push(chunk)) {
            handle(decodeViciPacket(body));
            if (settled) return;
          }
        } catch (err) {
          finish(err instanceof Error ? err : new Error(String(err)));
        }
      });
      sock.write(
        collect === undefined
          ? encodeViciPacket(ViciPacketType.CMD_REQUEST, command, message)
          : encodeViciPacket(ViciPacketType.EVENT_REGISTER, collect),
      );
    });
  }
}

function connectionMessage(c: ViciConnection): ViciMessage {
  return {
    version: '2',
    local_addrs: [...c.localAddrs],
    remote_addrs: [...c.remoteAddrs],
    proposals: [...c.proposals],
    encap: c.encap ? 'yes' : 'no',
    // As flannel: keep retrying IKE for ever; rekey the child hourly, restart it on dead peer.
    keyingtries: '0',
    local: { auth: 'psk' },
    remote: { auth: 'psk' },
    children: {
      [c.child.name]: {
        local_ts: [...c.child.localTs],
        remote_ts: [...c.child.remoteTs],
        esp_proposals: [...c.child.espProposals],
        start_action: c.child.startAction,
        close_action: 'trap',
        dpd_action: 'restart',
        rekey_time: '1h',
        mode: 'tunnel',
        policies: c.child.installPolicy ? 'yes' : 'no',
      },
    },
  };
}
