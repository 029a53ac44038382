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
