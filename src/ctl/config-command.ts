/**
 * flannelctl config get|set|validate: the network config document in the store (etcd
 * `<prefix>/config`; kube mode: net-conf.json at -net-config-path, read-only).
 *   get                 prints the stored document (-o json: the document as JSON)
 *   set <file|->        validates as flanneld does, writes nothing if invalid, else stores it as given
 *   validate [file|-]   prints what flanneld would use, defaults filled in, or flanneld's error
 */
import { readFile } from 'node:fs/promises';
import { unknownConfigFields } from '../config/network-config.js';
import { ConfigError, UsageError, errorMessage } from '../errors.js';
import { commandUsage, parseCommandArgs } from './command-flags.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CtlCommand, type CtlContext } from './ctl-context.js';
import { effectiveConfig } from './effective-config.js';
import { renderJSON, renderTable } from './output.js';

const USAGE = commandUsage('config', ['config get', 'config set <file>|-', 'config validate [<file>|-]'], []);

export const configCommand: CtlCommand = async (ctx, args, signal) => {
  const p = parseCommandArgs([], args);
  if (p.help) {
    ctx.stdout(USAGE);
    return EXIT_OK;
  }
  const [verb, source, extra] = p.args;
  if (extra !== undefined || (verb === 'get' && source !== undefined)) {
    ctx.stderr(`flannelctl config: unexpected argument ${JSON.stringify(extra ?? source)}\n${USAGE}`);
    return EXIT_USAGE;
  }
  switch (verb) {
    case 'get':
      return configGet(ctx, signal);
    case 'set':
      if (source === undefined) {
        ctx.stderr(`flannelctl config set: missing the file to read (or - for standard input)\n${USAGE}`);
        return EXIT_USAGE;
      }
      return configSet(ctx, source, signal);
    case 'validate':
      return configValidate(ctx, source, signal);
    default:
      ctx.stderr(`flannelctl config: ${verb === undefined ? 'missing the action' : `unknown action ${JSON.stringify(verb)}`} (get, set or validate)\n${USAGE}`);
      return EXIT_USAGE;
  }
};

const mode = (ctx: CtlContext) => (ctx.options.kubeSubnetMgr ? 'kube' : 'etcd');

async function configGet(ctx: CtlContext, signal: AbortSignal): Promise<number> {
  const store = await ctx.store(signal);
  const stored = await store.getConfig(signal);
  if (!stored) {
    ctx.stderr(`flannelctl config get: no network config: ${missingWhere(ctx)}\n`);
    return EXIT_FAILURE;
  }
  if (ctx.options.output === 'json') {
    try {
      ctx.stdout(renderJSON(JSON.parse(stored.text)));
    } catch (err) {
      ctx.stderr(`flannelctl config get: the ${stored.source} is not JSON (${errorMessage(err)}); printed as stored\n`);
      ctx.stdout(stored.text.endsWith('\n') ? stored.text : `${stored.text}\n`);
      return EXIT_FAILURE;
    }
  } else {
    ctx.stdout(stored.text.endsWith('\n') ? stored.text : `${stored.text}\n`);
  }
  return EXIT_OK;
}

async function configSet(ctx: CtlContext, source: string, signal: AbortSignal): Promise<number> {
  const text = await readSource(ctx, source, signal);
  if (text === undefined) return EXIT_FAILURE;
  if (!(await check(ctx, text, 'config set'))) return EXIT_FAILURE;
  const store = await ctx.store(signal);
  const stored = await store.putConfig(text, signal);
  if (ctx.options.output === 'json') ctx.stdout(renderJSON({ written: stored.source }));
  else ctx.stdout(`network config written to ${stored.source}; agents read it when they start\n`);
  return EXIT_OK;
}

async function configValidate(ctx: CtlContext, source: string | undefined, signal: AbortSignal): Promise<number> {
  let text: string | undefined;
  let from: string;
  if (source === undefined) {
    const stored = await (await ctx.store(signal)).getConfig(signal);
    if (!stored) {
      ctx.stderr(`flannelctl config validate: no network config: ${missingWhere(ctx)}\n`);
      return EXIT_FAILURE;
    }
    text = stored.text;
    from = stored.source;
  } else {
    text = await readSource(ctx, source, signal);
    if (text === undefined) return EXIT_FAILURE;
    from = source === '-' ? 'standard input' : `file ${source}`;
  }
  const result = await check(ctx, text, 'config validate');
  if (!result) return EXIT_FAILURE;
  if (ctx.options.output === 'json') {
    ctx.stdout(renderJSON(result.document));
  } else {
    const rows: string[][] = [];
    for (const [k, v] of Object.entries(result.document)) {
      if (k === 'Backend') continue;
      rows.push([k, String(v)]);
    }
    for (const [k, v] of Object.entries(result.document['Backend'] as Record<string, unknown>)) rows.push([`Backend.${k}`, typeof v === 'string' ? v : JSON.stringify(v)]);
    ctx.stdout(`valid (${from}, ${mode(ctx)} mode); flanneld would use:\n${renderTable(['FIELD', 'VALUE'], rows)}`);
    if (!result.backendChecked) ctx.stdout(`note: the fields of backend ${JSON.stringify(result.config.backendType)} are checked by the agent only\n`);
  }
  return EXIT_OK;
}

/** flanneld's validation; on failure prints flanneld's message (same text) and returns undefined. */
async function check(ctx: CtlContext, text: string, what: string): Promise<Awaited<ReturnType<typeof effectiveConfig>> | undefined> {
  try {
    const result = await effectiveConfig(text, mode(ctx));
    const unknown = unknownConfigFields(JSON.parse(text) as Record<string, unknown>);
    if (unknown.length > 0) ctx.stderr(`flannelctl ${what}: warning: fields flannel does not know (ignored): ${unknown.join(', ')}\n`);
    return result;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    ctx.stderr(`${err.message}\n`);
    return undefined;
  }
}

async function readSource(ctx: CtlContext, source: string, signal: AbortSignal): Promise<string | undefined> {
  try {
    return source === '-' ? await ctx.readStdin(signal) : await readFile(source, { encoding: 'utf8', signal });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new UsageError('file', `cannot read ${source === '-' ? 'standard input' : JSON.stringify(source)}: ${errorMessage(err)}`, { cause: err });
  }
}

function missingWhere(ctx: CtlContext): string {
  const o = ctx.options;
  return o.kubeSubnetMgr ? `file ${o.kube.netConfigPath} does not exist (-net-config-path)` : `etcd key ${o.etcd.prefix.replace(/\/+$/, '')}/config does not exist (-etcd-prefix)`;
}
