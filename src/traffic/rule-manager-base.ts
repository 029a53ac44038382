import { errorMessage } from '../errors.js';
import type { Family } from '../ip/ip-address.js';
import { runTool, type ToolRunner } from '../kernel/exec-tool.js';
import type { Logger } from '../log/logger.js';
import { runResyncLoop } from './resync-loop.js';
import type {
  CallOptions,
  ForwardRulesOptions,
  MasqRulesOptions,
  ResyncOptions,
  TrafficManager,
  TrafficMode,
} from './traffic-manager.js';
import { FAMILIES, forwardSpecs, masqSpecs, type FamilyRules } from './traffic-spec.js';

export interface RuleManagerOptions {
  readonly logger: Logger;
  /** How tools are run; tests pass a fake. */
  readonly run?: ToolRunner;
  /** Bound on each tool run (default 30 s). */
  readonly timeoutMs?: number;
}

/**
 * What the iptables and nftables managers share: the desired rules per family, one operation
 * at a time, ensure = record + repair, resync = repair every family. Subclasses say how one
 * family is repaired (read the kernel's rules, rewrite what drifted) and how to clean up.
 */
export abstract class RuleManagerBase implements TrafficManager {
  abstract readonly mode: TrafficMode;
  protected readonly logger: Logger;
  protected readonly run: ToolRunner;
  protected readonly timeoutMs: number | undefined;
  protected readonly desired: Record<Family, FamilyRules> = { 4: {}, 6: {} };
  private lock: Promise<unknown> = Promise.resolve();

  constructor(opts: RuleManagerOptions) {
    this.logger = opts.logger;
    this.run = opts.run ?? runTool;
    this.timeoutMs = opts.timeoutMs;
  }

  /** Brings one family's rules to the desired state; returns what had to be restored. */
  protected abstract repair(family: Family, signal: AbortSignal | undefined): Promise<string[]>;
  abstract cleanup(opts?: CallOptions): Promise<void>;

  ensureMasqRules(opts: MasqRulesOptions): Promise<boolean> {
    const specs = masqSpecs(opts);
    return this.exclusive(async () => {
      let changed = false;
      for (const spec of specs) {
        this.desired[spec.family].masq = spec;
        this.logger.info(`${this.mode}: setting up masking rules (IPv${spec.family}: ${spec.network.toString()}, subnet ${spec.subnet.toString()})`);
        if ((await this.repair(spec.family, opts.signal)).length > 0) changed = true;
      }
      return changed;
    });
  }

  ensureForwardRules(opts: ForwardRulesOptions): Promise<boolean> {
    const specs = forwardSpecs(opts);
    return this.exclusive(async () => {
      let changed = false;
      for (const spec of specs) {
        this.desired[spec.family].forward = spec;
        this.logger.info(`${this.mode}: setting up forward rules (IPv${spec.family}: accept ${spec.network.toString()})`);
        if ((await this.repair(spec.family, opts.signal)).length > 0) changed = true;
      }
      return changed;
    });
  }

  resync(opts: CallOptions = {}): Promise<string[]> {
    return this.exclusive(async () => {
      const restored: string[] = [];
      let firstError: unknown;
      for (const family of FAMILIES) {
        try {
          restored.push(...(await this.repair(family, opts.signal)));
        } catch (err) {
          firstError ??= err;
        }
      }
      if (firstError !== undefined && restored.length === 0) throw firstError;
      if (firstError !== undefined) this.logger.error(`failed to ensure ${this.mode} rules: ${errorMessage(firstError)}`);
      return restored;
    });
  }

  startResync(opts: ResyncOptions): Promise<void> {
    return runResyncLoop((signal) => this.resync({ signal }), {
      intervalSec: opts.intervalSec,
      signal: opts.signal,
      logger: opts.logger ?? this.logger,
      what: this.mode,
      onPass: opts.onPass,
    });
  }

  /** Runs operations one at a time (ensure, resync and cleanup never interleave). */
  protected exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }
}
