/**
 * The credentials sent with each request, from the connection's KubeAuth: nothing, a bearer
 * token, a token file (re-read when a minute old, as client-go's cached file token source; a
 * read failure keeps the last token), basic auth, or an exec plugin (run on first use, its
 * result kept until its expirationTimestamp). A 401 makes the token file and exec sources
 * forget what they had, so one retry with fresh credentials can help.
 */
import { readFile } from 'node:fs/promises';
import { StoreError, errorMessage } from '../../errors.js';
import { KubeErrorCode } from './kube-api.js';
import type { KubeAuth } from './kube-connection.js';
import { runExecPlugin, type ExecCredential } from './exec-credential.js';
import { raceSignal } from '../../async/race-signal.js';

export interface RequestCredentials {
  /** The Authorization header, if any. */
  readonly authorization?: string | undefined;
  /** A client certificate and key (PEM) from an exec plugin, used instead of the kubeconfig's. */
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
}

export interface CredentialSource {
  get(signal: AbortSignal): Promise<RequestCredentials>;
  /** The server answered 401 to `used`: forget them. True when fresh ones may differ (one retry is worth it). */
  rejected(used: RequestCredentials): boolean;
}

export const TOKEN_FILE_REFRESH_MS = 60_000;

export interface CredentialOptions {
  /** Bound of one exec plugin run. */
  readonly execTimeoutMs?: number;
  readonly now?: () => number;
  readonly runExec?: typeof runExecPlugin;
}

export function credentialSource(auth: KubeAuth, o: CredentialOptions = {}): CredentialSource {
  switch (auth.kind) {
    case 'none':
      return fixed({});
    case 'token':
      return fixed({ authorization: `Bearer ${auth.token}` });
    case 'basic':
      return fixed({ authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}` });
    case 'tokenFile':
      return new TokenFileSource(auth.path, o.now ?? Date.now);
    case 'exec': {
      const run = o.runExec ?? runExecPlugin;
      const timeoutMs = o.execTimeoutMs ?? 30_000;
      return new ExecSource((signal) => run(auth.exec, { signal, timeoutMs }), o.now ?? Date.now);
    }
  }
}

function fixed(c: RequestCredentials): CredentialSource {
  return { get: () => Promise.resolve(c), rejected: () => false };
}

class TokenFileSource implements CredentialSource {
  private current: RequestCredentials | undefined;
  private readAt = 0;
  private reading: Promise<RequestCredentials> | undefined;

  constructor(
    private readonly path: string,
    private readonly now: () => number,
  ) {}

  get(): Promise<RequestCredentials> {
    if (this.current && this.now() - this.readAt < TOKEN_FILE_REFRESH_MS) return Promise.resolve(this.current);
    this.reading ??= this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<RequestCredentials> {
    try {
      const token = (await readFile(this.path, 'utf8')).trim();
      if (token === '') throw new Error('the file is empty');
      this.current = { authorization: `Bearer ${token}` };
      this.readAt = this.now();
      return this.current;
    } catch (err) {
      // A token being rotated may be missing for a moment: the last one is still worth trying.
      if (this.current) return this.current;
      throw new StoreError(KubeErrorCode.config, this.path, `cannot read the token: ${errorMessage(err)}`, { retryable: true, cause: err });
    }
  }

  rejected(): boolean {
    this.readAt = 0;
    return true;
  }
}

class ExecSource implements CredentialSource {
  private cached: { cred: ExecCredential; creds: RequestCredentials } | undefined;
  private running: Promise<RequestCredentials> | undefined;

  constructor(
    private readonly run: (signal: AbortSignal) => Promise<ExecCredential>,
    private readonly now: () => number,
  ) {}

  get(signal: AbortSignal): Promise<RequestCredentials> {
    const c = this.cached;
    if (c && (c.cred.expiresAt === undefined || this.now() < c.cred.expiresAt)) return Promise.resolve(c.creds);
    // One run at a time, whoever asks; it is bounded by its own timeout, not by one caller's signal.
    this.running ??= this.refresh().finally(() => (this.running = undefined));
    return raceSignal(this.running, signal);
  }

  private async refresh(): Promise<RequestCredentials> {
    const cred = await this.run(new AbortController().signal);
    const creds: RequestCredentials = { authorization: cred.token === undefined ? undefined : `Bearer ${cred.token}`, cert: cred.cert, key: cred.key };
    this.cached = { cred, creds };
    return creds;
  }

  rejected(used: RequestCredentials): boolean {
    if (this.cached?.creds === used) this.cached = undefined;
    return true;
  }
}
