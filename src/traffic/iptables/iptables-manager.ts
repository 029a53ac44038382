/**
 * The iptables traffic manager: reads the current rules with iptables-save, plans the repair
 * with pure functions and applies it in one iptables-restore --noflush transaction per family.
 * Nothing is touched when the rules are already right (a restart changes nothing).
 */
import { errorMessage, ToolError } from '../../errors.js';
import type { Family } from '../../ip/ip-address.js';
import { runTool, type ToolRunner } from '../../kernel/exec-tool.js';
import type { Logger } from '../../log/logger.js';
import { runResyncLoop } from '../resync-loop.js';
import type { CallOptions, ForwardRulesOptions, MasqRulesOptions, ResyncOptions, TrafficManager } from '../traffic-manager.js';
import { FAMILIES, forwardSpecs, masqSpecs, type FamilyRules } from '../traffic-spec.js';
import { forwardChain, masqChain, type ChainSpec } from './iptables-rules.js';
import { chainDrift, isDrifted, parseIptablesSave, planCleanup, planRepair, type SavedTables } from './iptables-save.js';
import { hasRandomFully, hasRestoreWait, parseIptablesVersion, type IptablesVersion } from './iptables-version.js';

const TOOLS: Record<Family, { cli: string; save: string; restore: string }> = {
  4: { cli: 'iptables', save: 'iptables-save', restore: 'iptables-restore' },
  6: { cli: 'ip6tables', save: 'ip6tables-save', restore: 'ip6tables-restore' },
};

export interface IptablesManagerOptions {
  readonly logger: Logger;
  /** How tools are run; tests pass a fake. */
  readonly run?: ToolRunner;
  /** Bound on each tool run (default 30 s). */
  readonly timeoutMs?: number;
}

export class IptablesTrafficManager implements TrafficManager {
  readonly mode = 'iptables' as const;
  private readonly logger: Logger;
  private readonly run: ToolRunner;
  private readonly timeoutMs: number | undefined;
  private readonly desired: Record<Family, FamilyRules> = { 4: {}, 6: {} };
  private readonly versions = new Map<Family, Promise<IptablesVersion | undefined>>();
  private lock: Promise<unknown> = Promise.resolve();

  constructor(opts: IptablesManagerOptions) {
    this.logger = opts.logger;
    this.run = opts.run ?? runTool;
    this.timeoutMs = opts.timeoutMs;
  }

  ensureMasqRules(opts: MasqRulesOptions): Promise<boolean> {
    const specs = masqSpecs(opts);
    return this.exclusive(async () => {
      let changed = false;
      for (const spec of specs) {
        this.desired[spec.family].masq = spec;
        this.logger.info(`Setting up masking rules (IPv${spec.family}: ${spec.network.toString()}, subnet ${spec.subnet.toString()})`);
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
        this.logger.info(`Setting up forward rules (IPv${spec.family}: accept ${spec.network.toString()})`);
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
      if (firstError !== undefined) this.logger.error(`failed to ensure iptables rules: ${errorMessage(firstError)}`);
      return restored;
    });
  }

  startResync(opts: ResyncOptions): Promise<void> {
    return runResyncLoop((signal) => this.resync({ signal }), {
      intervalSec: opts.intervalSec,
      signal: opts.signal,
      logger: opts.logger ?? this.logger,
      what: 'iptables',
    });
  }

  cleanup(opts: CallOptions = {}): Promise<void> {
    return this.exclusive(async () => {
      this.logger.info('Cleaning-up iptables rules...');
      let firstError: unknown;
      for (const family of FAMILIES) {
        this.desired[family] = {};
        try {
          const saved = await this.save(family, ['nat', 'filter'], opts.signal);
          const payload = planCleanup(saved);
          if (payload) await this.restore(family, payload, opts.signal);
        } catch (err) {
          if (err instanceof ToolError && err.code === 'ERR_TOOL_NOT_FOUND') {
            this.logger.v(2).info(`could not clean up IPv${family} rules: ${err.message}`);
            continue;
          }
          firstError ??= err;
        }
      }
      if (firstError !== undefined) throw firstError;
    });
  }

  /** Brings one family's chains to the desired state; returns what had to be repaired. */
  private async repair(family: Family, signal: AbortSignal | undefined): Promise<string[]> {
    const chains = await this.chainSpecs(family, signal);
    if (chains.length === 0) return [];
    const tables = [...new Set(chains.map((c) => c.table))];
    const saved = await this.save(family, tables, signal);
    const drifts = chains.map((c) => chainDrift(c, saved)).filter(isDrifted);
    if (drifts.length === 0) return [];
    await this.restore(family, planRepair(drifts), signal);
    return drifts.map((d) => `${d.spec.table} ${d.spec.chain} (IPv${family})`);
  }

  private async chainSpecs(family: Family, signal: AbortSignal | undefined): Promise<ChainSpec[]> {
    const want = this.desired[family];
    const chains: ChainSpec[] = [];
    if (want.masq) {
      const randomFully = want.masq.randomFully ?? hasRandomFully(await this.version(family, signal));
      chains.push(masqChain(want.masq, randomFully));
    }
    if (want.forward) chains.push(forwardChain(want.forward));
    return chains;
  }

  private async save(family: Family, tables: readonly string[], signal: AbortSignal | undefined): Promise<SavedTables> {
    const all: SavedTables = new Map();
    for (const table of tables) {
      const { stdout } = await this.run([TOOLS[family].save, '-t', table], { signal, timeoutMs: this.timeoutMs });
      for (const [name, t] of parseIptablesSave(stdout)) all.set(name, t);
    }
    return all;
  }

  private async restore(family: Family, payload: string, signal: AbortSignal | undefined): Promise<void> {
    const wait = hasRestoreWait(await this.version(family, signal)) ? ['--wait'] : [];
    this.logger.v(6).info(`${TOOLS[family].restore} --noflush <<\n${payload}`);
    await this.run([TOOLS[family].restore, '--noflush', ...wait], { stdin: payload, signal, timeoutMs: this.timeoutMs });
  }

  /** `iptables --version`, asked once per family; undefined when it cannot be read. */
  private version(family: Family, signal: AbortSignal | undefined): Promise<IptablesVersion | undefined> {
    let v = this.versions.get(family);
    if (!v) {
      v = this.run([TOOLS[family].cli, '--version'], { signal, timeoutMs: this.timeoutMs }).then(
        ({ stdout }) => parseIptablesVersion(stdout),
        (err: unknown) => {
          if (signal?.aborted) {
            this.versions.delete(family);
            throw err;
          }
          this.logger.warn(`cannot read the ${TOOLS[family].cli} version, assuming no --random-fully: ${errorMessage(err)}`);
          return undefined;
        },
      );
      this.versions.set(family, v);
    }
    return v;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }
}
