/**
 * Exec credential plugins ("client-go credential plugins",
 * https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins):
 * the kubeconfig's users[].user.exec command is run with its args and env (added to ours) and
 * KUBERNETES_EXEC_INFO holding an ExecCredential request (spec.interactive false, spec.cluster
 * when provideClusterInfo); standard input is closed, as flanneld has no terminal. Its standard
 * output must be an ExecCredential of the same apiVersion whose status holds a token, or
 * clientCertificateData and clientKeyData (PEM), and optionally expirationTimestamp (RFC 3339).
 */
import { StoreError, errorMessage } from '../../errors.js';
import { KubeErrorCode } from './kube-api.js';
import type { ExecConfig } from './kube-connection.js';

export interface ExecCredential {
  readonly token?: string | undefined;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  /** ms since the epoch; undefined: valid until the server refuses it. */
  readonly expiresAt?: number | undefined;
}

/** Output beyond this is an error (a plugin printing a megabyte is broken). */
const MAX_OUTPUT = 1 << 20;

function fail(exec: ExecConfig, message: string, retryable: boolean, cause?: unknown): StoreError {
  return new StoreError(KubeErrorCode.config, `${exec.where}`, `exec plugin ${JSON.stringify(exec.command)}: ${message}`, { retryable, cause });
}

/** The KUBERNETES_EXEC_INFO the plugin gets. */
export function execInfo(exec: ExecConfig): string {
  const spec: Record<string, unknown> = { interactive: false };
  if (exec.provideClusterInfo && exec.cluster) spec['cluster'] = exec.cluster;
  return JSON.stringify({ apiVersion: exec.apiVersion, kind: 'ExecCredential', spec });
}

/** Runs the plugin once and reads its ExecCredential. */
export async function runExecPlugin(exec: ExecConfig, opts: { signal: AbortSignal; timeoutMs: number; baseEnv?: NodeJS.ProcessEnv }): Promise<ExecCredential> {
  const { spawn } = await import('node:child_process');
  const env: NodeJS.ProcessEnv = { ...(opts.baseEnv ?? process.env) };
  for (const e of exec.env) env[e.name] = e.value;
  env['KUBERNETES_EXEC_INFO'] = execInfo(exec);
  const signal = AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]);
  let size = 0;
  const { stdout, stderr, code, error } = await new Promise<{ stdout: string; stderr: string; code: number | null; error?: Error }>((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let settled = false;
    const done = (code: number | null, error?: Error) => {
      if (settled) return;
      settled = true;
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, error });
    };
    const child = spawn(exec.command, [...exec.args], { env, stdio: ['ignore', 'pipe', 'pipe'], signal });
    child.stdout?.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_OUTPUT) child.kill('SIGKILL');
      else out.push(c);
    });
    child.stderr?.on('data', (c: Buffer) => {
      if (err.reduce((n, b) => n + b.length, 0) < 4096) err.push(c);
    });
    child.on('error', (e) => done(null, e));
    child.on('close', (code) => done(code));
  });
  opts.signal.throwIfAborted();
  const tail = stderr.trim().slice(-500);
  if (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw fail(exec, `not found${exec.installHint ? `; ${exec.installHint.trim()}` : ''}`, false, error);
    }
    if (error.name === 'AbortError') throw fail(exec, `did not finish within ${opts.timeoutMs} ms`, true, error);
    throw fail(exec, errorMessage(error), true, error);
  }
  if (size > MAX_OUTPUT) throw fail(exec, `wrote more than ${MAX_OUTPUT} bytes`, false);
  if (code !== 0) throw fail(exec, `exited with ${code}${tail ? `: ${tail}` : ''}`, true);
  return parseExecCredential(exec, stdout);
}

/** Reads the plugin's output (an ExecCredential of exec.apiVersion). */
export function parseExecCredential(exec: ExecConfig, stdout: string): ExecCredential {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch (err) {
    throw fail(exec, `output is not JSON: ${errorMessage(err)}`, false, err);
  }
  const d = doc as { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> | null } | null;
  if (d === null || typeof d !== 'object') throw fail(exec, 'output is not an ExecCredential object', false);
  if (d.kind !== 'ExecCredential') throw fail(exec, `output has kind ${JSON.stringify(d.kind)}, want "ExecCredential"`, false);
  if (d.apiVersion !== exec.apiVersion) throw fail(exec, `output has apiVersion ${JSON.stringify(d.apiVersion)}, want ${JSON.stringify(exec.apiVersion)}`, false);
  const s = d.status;
  if (s === null || typeof s !== 'object') throw fail(exec, 'output has no status', false);
  const str = (k: string): string | undefined => {
    const v = s[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw fail(exec, `status.${k} must be a string`, false);
    return v;
  };
  const token = str('token');
  const certText = str('clientCertificateData');
  const keyText = str('clientKeyData');
  if ((certText === undefined) !== (keyText === undefined)) throw fail(exec, 'status has only one of clientCertificateData and clientKeyData: give both', false);
  if (token === undefined && certText === undefined) throw fail(exec, 'status has neither a token nor clientCertificateData and clientKeyData', false);
  const expiry = str('expirationTimestamp');
  let expiresAt: number | undefined;
  if (expiry !== undefined) {
    expiresAt = Date.parse(expiry);
    if (!Number.isFinite(expiresAt)) throw fail(exec, `status.expirationTimestamp ${JSON.stringify(expiry)} is not an RFC 3339 time`, false);
  }
  return {
    token,
    cert: certText === undefined ? undefined : Buffer.from(certText, 'utf8'),
    key: keyText === undefined ? undefined : Buffer.from(keyText, 'utf8'),
    expiresAt,
  };
}
