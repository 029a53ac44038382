/**
 * One base class for every error flannel-ts raises on purpose. Each subclass has a stable
 * `code` that callers match on (never the message text) and carries its context as fields.
 */
export class FlannelError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration value is wrong: names the field and the value. */
export class ConfigError extends FlannelError {
  readonly field: string;
  readonly value: unknown;
  constructor(field: string, value: unknown, reason: string, options?: { cause?: unknown }) {
    super('ERR_CONFIG', `invalid network config: ${field}=${formatValue(value)}: ${reason}`, options);
    this.field = field;
    this.value = value;
  }
}

/** A command-line flag or FLANNELD_* variable is wrong. */
export class UsageError extends FlannelError {
  readonly flag: string;
  constructor(flag: string, message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
    this.flag = flag;
  }
}

/** An address or prefix that does not parse. */
export class AddressParseError extends FlannelError {
  readonly input: string;
  constructor(input: string, reason: string) {
    super('ERR_ADDRESS', `invalid address ${JSON.stringify(input)}: ${reason}`);
    this.input = input;
  }
}

/** No free subnet is left in [SubnetMin, SubnetMax]. */
export class SubnetExhaustedError extends FlannelError {
  constructor(range: string) {
    super('ERR_SUBNET_EXHAUSTED', `no free subnet left in ${range}`);
  }
}

/** The store (etcd, Kubernetes API) failed; `retryable` says whether trying again can help. */
export class StoreError extends FlannelError {
  readonly endpoint: string;
  readonly retryable: boolean;
  readonly status: number | undefined;
  constructor(
    code: string,
    endpoint: string,
    message: string,
    opts: { retryable: boolean; status?: number; cause?: unknown },
  ) {
    super(code, `${endpoint}: ${message}`, { cause: opts.cause });
    this.endpoint = endpoint;
    this.retryable = opts.retryable;
    this.status = opts.status;
  }
}

/** No usable interface or public address could be chosen. */
export class InterfaceError extends FlannelError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INTERFACE', message, options);
  }
}

export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An etcd watch asked for a revision that has been compacted away: re-list and diff. */
export class EtcdCompactedError extends FlannelError {
  readonly compactRevision: number;
  constructor(endpoint: string, compactRevision: number) {
    super('ERR_ETCD_COMPACTED', `${endpoint}: watch revision compacted (oldest kept: ${compactRevision})`);
    this.compactRevision = compactRevision;
  }
}

/** This host's lease disappeared from the store (expired, revoked or deleted). */
export class LeaseLostError extends FlannelError {
  readonly subnet: string;
  constructor(subnet: string, reason: string) {
    super('ERR_LEASE_LOST', `lease ${subnet} lost: ${reason}`);
    this.subnet = subnet;
  }
}

/**
 * A kernel (rtnetlink) operation failed. `op` is what was attempted ("replace route"),
 * `object` a readable description of what it was done to ("10.244.3.0/24 via 10.244.3.0 dev
 * flannel.1 onlink"), `errno`/`errnoName` what the kernel answered (e.g. 101, "ENETUNREACH").
 */
export class KernelError extends FlannelError {
  readonly op: string;
  readonly object: string;
  readonly errno: number;
  readonly errnoName: string;
  constructor(
    op: string,
    object: string,
    errno: number,
    errnoName: string,
    opts: { code?: string; detail?: string; cause?: unknown } = {},
  ) {
    super(opts.code ?? 'ERR_KERNEL', `${op} ${object}: ${errnoName}${opts.detail ? ` (${opts.detail})` : ''}`, {
      cause: opts.cause,
    });
    this.op = op;
    this.object = object;
    this.errno = errno;
    this.errnoName = errnoName;
  }
}

/** The kernel object looked up does not exist (ENODEV, ENOENT, ESRCH, EADDRNOTAVAIL). */
export class KernelNotFoundError extends KernelError {
  constructor(
    op: string,
    object: string,
    errno: number,
    errnoName: string,
    opts: { detail?: string; cause?: unknown } = {},
  ) {
    super(op, object, errno, errnoName, {
      code: 'ERR_KERNEL_NOT_FOUND',
      detail: opts.detail ?? 'not found',
      cause: opts.cause,
    });
  }
}

/**
 * Some requests of a pipelined batch failed. Carries every failure (each a KernelError naming
 * its object); `errno`/`errnoName` are those of the first. `total` is the batch size.
 */
export class KernelBatchError extends KernelError {
  readonly failures: readonly KernelError[];
  readonly total: number;
  constructor(op: string, failures: readonly KernelError[], total: number) {
    const first = failures[0];
    super(op, `${failures.length} of ${total} objects`, first?.errno ?? 0, first?.errnoName ?? 'UNKNOWN', {
      code: 'ERR_KERNEL_BATCH',
      detail: first ? `first: ${first.message}` : undefined,
      cause: first,
    });
    this.failures = failures;
    this.total = total;
  }
}

/**
 * An external tool (iptables-restore, nft, ...) failed. `argv` is the command line, `exitCode`
 * its status (null when killed by `signal` or when it never started), `stderr` what it said
 * (trimmed, bounded). Codes: ERR_TOOL (non-zero exit), ERR_TOOL_NOT_FOUND (not installed),
 * ERR_TOOL_TIMEOUT (killed after its time bound).
 */
export class ToolError extends FlannelError {
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stderr: string;
  constructor(
    argv: readonly string[],
    opts: { code?: string; exitCode?: number | null; signal?: string | null; stderr?: string; reason?: string; cause?: unknown },
  ) {
    const stderr = (opts.stderr ?? '').trim().slice(0, 4000);
    const status = opts.reason ?? (opts.exitCode != null ? `exit status ${opts.exitCode}` : `killed by ${opts.signal ?? 'signal'}`);
    super(opts.code ?? 'ERR_TOOL', `${argv.join(' ')}: ${status}${stderr ? `: ${stderr}` : ''}`, { cause: opts.cause });
    this.argv = argv;
    this.exitCode = opts.exitCode ?? null;
    this.signal = opts.signal ?? null;
    this.stderr = stderr;
  }
}

/**
 * A CNI plugin failure, reported to the runtime as the spec's error JSON: `cniCode` is the
 * spec's well-known code (1 incompatible version, 3 unknown container, 4 invalid environment,
 * 5 I/O failure, 6 decoding failure, 7 invalid network config, 11 try again later, 50/51 not
 * available) or a plugin code >= 100; `details` is the longer explanation.
 */
export class CniError extends FlannelError {
  readonly cniCode: number;
  readonly details: string | undefined;
  constructor(cniCode: number, msg: string, opts: { details?: string; cause?: unknown } = {}) {
    super('ERR_CNI', msg, { cause: opts.cause });
    this.cniCode = cniCode;
    this.details = opts.details;
  }
}

/**
 * Data from outside that does not decode (a store value, a kernel reply, a Node object):
 * `source` says what was read, `field` which part of it is wrong, `value` what it held.
 */
export class MalformedInputError extends FlannelError {
  readonly source: string;
  readonly field: string;
  readonly value: unknown;
  constructor(source: string, field: string, value: unknown, reason: string, options?: { cause?: unknown }) {
    super('ERR_MALFORMED_INPUT', `${source}: ${field}=${formatValue(value).slice(0, 200)}: ${reason}`, options);
    this.source = source;
    this.field = field;
    this.value = value;
  }
}

/**
 * A remote lease refused because it would take traffic that is not its own (a subnet outside
 * the network or overlapping another host's, this host's public IP): `lease` names it.
 */
export class LeaseRefusedError extends FlannelError {
  readonly lease: string;
  readonly reason: string;
  constructor(lease: string, reason: string) {
    super('ERR_LEASE_REFUSED', `refusing lease ${lease}: ${reason}`);
    this.lease = lease;
    this.reason = reason;
  }
}
