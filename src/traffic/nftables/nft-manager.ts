/**
 * The nftables traffic manager (EnableNFTables): lists our table as JSON, compares it with the
 * rendered chains and, when they differ, rewrites them with one `nft -f -` transaction.
 * Nothing is touched when the rules are already right.
 */
import { errorMessage, ToolError } from '../../errors.js';
import type { Family } from '../../ip/ip-address.js';
import { runTool, type ToolRunner } from '../../kernel/exec-tool.js';
import type { Logger } from '../../log/logger.js';
import { runResyncLoop } from '../resync-loop.js';
import type { CallOptions, ForwardRulesOptions, MasqRulesOptions, ResyncOptions, TrafficManager } from '../traffic-manager.js';
import { FAMILIES, forwardSpecs, masqSpecs, type FamilyRules } from '../traffic-spec.js';
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

export interface NftManagerOptions {
  readonly logger: Logger;
  /** How tools are run; tests pass a fake. */
  readonly run?: ToolRunner;
  /** Bound on each tool run (default 30 s). */
  readonly timeoutMs?: number;
}

export class NftTrafficManager implements TrafficManager {
  readonly mode = 'nftables' as const;
  private readonly logger: Logger;
  private readonly run: ToolRunner;
  private readonly timeoutMs: number | undefined;
  private readonly desired: Record<Family, FamilyRules> = { 4: {}, 6: {} };
  private randomFully: Promise<boolean> | undefined;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(opts: NftManagerOptions) {
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
        this.logger.info(`nftables: setting up masking rules (IPv${spec.family}: ${spec.network.toString()}, subnet ${spec.subnet.toString()})`);
        if (await this.repair(spec.family, opts.signal)) changed = true;
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
        this.logger.info(`nftables: setting up forward rules (IPv${spec.family}: accept ${spec.network.toString()})`);
        if (await this.repair(spec.family, opts.signal)) changed = true;
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
          if (await this.repair(family, opts.signal)) restored.push(`table ${NFT_TABLES[family].family} ${NFT_TABLES[family].name}`);
        } catch (err) {
          firstError ??= err;
        }
      }
      if (firstError !== undefined && restored.length === 0) throw firstError;
      if (firstError !== undefined) this.logger.error(`failed to ensure nftables rules: ${errorMessage(firstError)}`);
      return restored;
    });
  }

  startResync(opts: ResyncOptions): Promise<void> {
    return runResyncLoop((signal) => this.resync({ signal }), {
      intervalSec: opts.intervalSec,
      signal: opts.signal,
      logger: opts.logger ?? this.logger,
      what: 'nftables',
    });
  }

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

  /** Makes one family's table hold the wanted chains; true when it had to be rewritten. */
  private async repair(family: Family, signal: AbortSignal | undefined): Promise<boolean> {
    const chains = await this.chainSpecs(family, signal);
    if (chains.length === 0) return false;
    if (await this.matches(family, chains, signal)) return false;
    const script = renderNftScript(family, chains);
    this.logger.v(6).info(`nft -f - <<\n${script}`);
    await this.run(['nft', '-f', '-'], { stdin: script, signal, timeoutMs: this.timeoutMs });
    return true;
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

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }
}
