/**
 * The iptables traffic manager: reads the current rules with iptables-save, plans the repair
 * with pure functions and applies it in one iptables-restore --noflush transaction per family.
 * Nothing is touched when the rules are already right (a restart changes nothing).
 */
import { errorMessage, ToolError } from '../../errors.js';
import type { Family } from '../../ip/ip-address.js';
import { RuleManagerBase, type RuleManagerOptions } from '../rule-manager-base.js';
import type { CallOptions } from '../traffic-manager.js';
import { FAMILIES } from '../traffic-spec.js';
import { forwardChain, masqChain, type ChainSpec } from './iptables-rules.js';
import { chainDrift, isDrifted, parseIptablesSave, planCleanup, planRepair, type SavedTables } from './iptables-save.js';
import { hasRandomFully, hasRestoreWait, parseIptablesVersion, type IptablesVersion } from './iptables-version.js';

const TOOLS: Record<Family, { cli: string; save: string; restore: string }> = {
  4: { cli: 'iptables', save: 'iptables-save', restore: 'iptables-restore' },
  6: { cli: 'ip6tables', save: 'ip6tables-save', restore: 'ip6tables-restore' },
};

export type IptablesManagerOptions = RuleManagerOptions;

export class IptablesTrafficManager extends RuleManagerBase {
  readonly mode = 'iptables' as const;
  private readonly versions = new Map<Family, Promise<IptablesVersion | undefined>>();

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
  protected async repair(family: Family, signal: AbortSignal | undefined): Promise<string[]> {
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
}
