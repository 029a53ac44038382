/**
 * The nftables traffic manager (EnableNFTables): lists our table as JSON, compares it with the
 * rendered chains and, when they differ, rewrites them with one `nft -f -` transaction.
 * Nothing is touched when the rules are already right.
 */
import { errorMessage, ToolError } from '../../errors.js';
import type { Family } from '../../ip/ip-address.js';
import { RuleManagerBase, type RuleManagerOptions } from '../rule-manager-base.js';
import type { CallOptions } from '../traffic-manager.js';
import { FAMILIES } from '../traffic-spec.js';
import {
  forwardChain,
  masqChain,
  NFT_TABLES,
  renderNftCleanup,
  renderNftScript,
  renderRandomFullyProbe,
  type NftChainSpec,
} from './nft-rules.js';
import { chainMatches, parseNftTable, parseNftTables } from './nft-state.js';

export type NftManagerOptions = RuleManagerOptions;

export class NftTrafficManager extends RuleManagerBase {
  readonly mode = 'nftables' as const;
  private randomFully: Promise<boolean> | undefined;

  cleanup(opts: CallOptions = {}): Promise<void> {
    return this.exclusive(async () => {
      this.logger.info('Cleaning-up flannel tables...');
      for (const family of FAMILIES) this.desired[family] = {};
      try {
        await this.run(['nft', '-f', '-'], { stdin: renderNftCleanup(), signal: opts.signal, timeoutMs: this.timeoutMs });
      } catch (err) {
        if (err instanceof ToolError && err.code === 'ERR_TOOL_NOT_FOUND') {
          this.logger.v(2).info(`could not clean up nftables: ${err.message}`);
          return;
        }
        throw err;
      }
    });
  }

  /** Makes one family's table hold the wanted chains; names the table when it had to be rewritten. */
  protected async repair(family: Family, signal: AbortSignal | undefined): Promise<string[]> {
    const chains = await this.chainSpecs(family, signal);
    if (chains.length === 0) return [];
    if (await this.matches(family, chains, signal)) return [];
    const script = renderNftScript(family, chains);
    this.logger.v(6).info(`nft -f - <<\n${script}`);
    await this.run(['nft', '-f', '-'], { stdin: script, signal, timeoutMs: this.timeoutMs });
    return [`table ${NFT_TABLES[family].family} ${NFT_TABLES[family].name}`];
  }

  private async matches(family: Family, chains: readonly NftChainSpec[], signal: AbortSignal | undefined): Promise<boolean> {
    const t = NFT_TABLES[family];
    const opts = { signal, timeoutMs: this.timeoutMs };
    const tables = parseNftTables((await this.run(['nft', '-j', 'list', 'tables', t.family], opts)).stdout);
    if (!tables.some((x) => x.family === t.family && x.name === t.name)) return false;
    const listed = parseNftTable((await this.run(['nft', '-j', 'list', 'table', t.family, t.name], opts)).stdout);
    return chains.every((c) => chainMatches(c, listed.get(c.name)));
  }

  private async chainSpecs(family: Family, signal: AbortSignal | undefined): Promise<NftChainSpec[]> {
    const want = this.desired[family];
    const chains: NftChainSpec[] = [];
    if (want.masq) chains.push(masqChain(want.masq, want.masq.randomFully ?? (await this.probeRandomFully(signal))));
    if (want.forward) chains.push(forwardChain(want.forward));
    return chains;
  }

  /** Like flannel's checkRandomfully: a `masquerade fully-random` rule checked (`nft -c`), never committed. */
  private probeRandomFully(signal: AbortSignal | undefined): Promise<boolean> {
    this.randomFully ??= this.run(['nft', '-c', '-f', '-'], { stdin: renderRandomFullyProbe(), signal, timeoutMs: this.timeoutMs }).then(
      () => true,
      (err: unknown) => {
        if (signal?.aborted) {
          this.randomFully = undefined;
          throw err;
        }
        this.logger.warn(`nftables: random fully unsupported: ${errorMessage(err)}`);
        return false;
      },
    );
    return this.randomFully;
  }
}
