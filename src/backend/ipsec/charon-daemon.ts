import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '../../async/abortable-sleep.js';
import { errorMessage, FlannelError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { ViciClient } from './vici-client.js';

/** Debian's strongswan-charon puts the daemon here. */
export const CHARON = '/usr/lib/ipsec/charon';
const READY_TIMEOUT_MS = 10_000;
const RESTART_DELAY_MS = 1000;
const STOP_TIMEOUT_MS = 5000;

/**
 * The plugins charon loads: crypto for IKE and ESP proposals (openssl/gcm when installed, as
 * libstrongswan-standard-plugins; missing ones are skipped), kernel-netlink for XFRM, vici.
 * Not bypass-lan, which would install pass policies for locally attached networks.
 */
const PLUGINS = 'random nonce aes sha1 sha2 hmac gmp kdf curve25519 openssl gcm pem pkcs1 x509 pubkey kernel-netlink socket-default vici';

/** charon could not be started or did not answer on its VICI socket. */
export class CharonError extends FlannelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_IPSEC_CHARON', message, options);
  }
}

/** strongswan.conf for a charon of our own: its VICI socket, no routes of its own, log to stderr. */
export function charonConf(viciSocket: string): string {
  return [
    'charon {',
    `  load = ${PLUGINS}`,
    '  install_routes = no',
    '  install_virtual_ip = no',
    '  plugins {',
    `    vici { socket = unix://${viciSocket} }`,
    '  }',
    '  filelog { stderr { default = 1 ike = 1 } }',
    '}',
    '',
  ].join('\n');
}

export interface CharonOptions {
  /** Where its strongswan.conf, VICI socket and log go (one per host). */
  readonly runDir: string;
  readonly logger: Logger;
  /** The program (default Debian's /usr/lib/ipsec/charon). */
  readonly command?: string;
  /** Argv prefix, e.g. to run it in a namespace (tests). */
  readonly wrap?: readonly string[];
  /** Called after a restart, once the new charon answers, to load the secrets and connections again. */
  readonly onRestart?: (vici: ViciClient, signal: AbortSignal) => Promise<void>;
}

/**
 * charon as flanneld's child, as flannel runs it: started with STRONGSWAN_CONF pointing at a
 * config of ours, ready once VICI answers, restarted (and reloaded through `onRestart`) when it
 * dies, stopped with SIGTERM when the network stops. charon's pid file is its own fixed
 * /var/run/charon.pid: one charon per host (or per mount namespace).
 */
export class CharonDaemon {
  readonly vici: ViciClient;
  readonly confPath: string;
  readonly logPath: string;
  #child: ChildProcess | undefined;
  #stopping = false;
  #supervisor: Promise<void> | undefined;

  constructor(private readonly opts: CharonOptions) {
    this.confPath = join(opts.runDir, 'strongswan.conf');
    this.logPath = join(opts.runDir, 'charon.log');
    this.vici = new ViciClient(join(opts.runDir, 'charon.vici'));
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Starts charon and waits until it answers; then watches it until stop() or `signal`. */
  async start(signal: AbortSignal): Promise<void> {
    mkdirSync(this.opts.runDir, { recursive: true, mode: 0o700 });
    writeFileSync(this.confPath, charonConf(this.vici.socketPath), { mode: 0o600 });
    const { exited } = await this.#spawnReady(signal);
    this.#supervisor = this.#supervise(exited, signal);
    signal.addEventListener('abort', () => void this.stop(), { once: true });
  }

  async #spawnReady(signal: AbortSignal): Promise<{ exited: Promise<string> }> {
    await unlink(this.vici.socketPath).catch(() => {});
    const command = this.opts.command ?? CHARON;
    const out = openSync(this.logPath, 'a', 0o600);
    let child: ChildProcess;
    try {
      const argv = [...(this.opts.wrap ?? []), command];
      child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', out, out], env: { ...process.env, STRONGSWAN_CONF: this.confPath } });
    } finally {
      closeSync(out);
    }
    this.#child = child;
    const exited = new Promise<string>((resolve) => {
      child.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ENOENT' ? 'not found' : errorMessage(err)));
      child.once('exit', (code, sig) => resolve(sig ? `killed by ${sig}` : `exit status ${code ?? 0}`));
    });
    let ended: string | undefined;
    void exited.then((why) => (ended = why));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (ended === undefined && Date.now() < deadline) {
      try {
        await this.vici.version(signal);
        return { exited };
      } catch {
        await sleep(50, signal);
      }
    }
    if (ended === undefined) child.kill('SIGKILL');
    const tail = (await readFile(this.logPath, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-5).join(' | ');
    throw new CharonError(
      `ipsec: ${command} ${ended === 'not found' ? 'is not installed (install strongswan-charon)' : ended ? `ended (${ended})` : `did not answer on ${this.vici.socketPath} within ${READY_TIMEOUT_MS} ms`}${tail ? `: ${tail}` : ''}`,
    );
  }

  async #supervise(exited: Promise<string>, signal: AbortSignal): Promise<void> {
    for (;;) {
      const why = await exited;
      if (this.#stopping || signal.aborted) return;
      this.opts.logger.error(`ipsec: charon (pid ${this.#child?.pid ?? '?'}) ended (${why}); restarting in ${RESTART_DELAY_MS} ms`);
      try {
        await sleep(RESTART_DELAY_MS, signal);
        ({ exited } = await this.#spawnReady(signal));
        await this.opts.onRestart?.(this.vici, signal);
      } catch (err) {
        if (signal.aborted || this.#stopping) return;
        this.opts.logger.error(errorMessage(err));
        exited = Promise.resolve('failed to restart');
      }
    }
  }

  /** SIGTERM, then SIGKILL after a bound; charon removes its SAs and policies as it exits. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await gone;
      clearTimeout(timer);
    }
    await this.#supervisor;
  }
}
