import type { StoreMetrics } from '../metrics/agent-metrics.js';
import { flanneldUsage, parseFlanneldOptions, type FlanneldOptions } from '../cli/flanneld-options.js';
import { ConfigError, FlannelError, InterfaceError, UsageError, errorMessage } from '../errors.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createEtcdSubnetManager } from '../subnet/etcd/create-etcd-manager.js';
import type { DaemonConfig } from './daemon-config.js';
import { runDaemon } from './daemon.js';
import { versionLine } from '../build-info.js';
import { ColdPageRelease, loadPagesAddon, releaseIntervalMs } from '../memory/cold-page-release.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface MainIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

/** flanneld: parses the command line, wires the parts, runs until SIGTERM/SIGINT. Returns the exit code. */
export async function flanneldMain(argv: readonly string[], env: NodeJS.ProcessEnv, io: MainIO): Promise<number> {
  let opts: FlanneldOptions;
  try {
    const parsed = parseFlanneldOptions(argv, env);
    if ('help' in parsed) {
      io.stdout(parsed.usage);
      return EXIT_OK;
    }
    if ('version' in parsed) {
      io.stdout(`${versionLine()}\n`);
      return EXIT_OK;
    }
    opts = parsed;
  } catch (err) {
    if (err instanceof UsageError) {
      // As Go's flag package: the error, then the usage text.
      io.stderr(`${err.message}\n${flanneldUsage()}`);
      return EXIT_USAGE;
    }
    throw err;
  }

  const log = createLogger({ verbosity: opts.verbosity, sink: { write: io.stderr } });
  log.info(`flannel-ts ${versionLine()} starting (pid ${process.pid})`);
  if (opts.cleanup) return cleanupMain(opts, log);
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    log.info(`received ${sig}, shutting down (the lease is kept)`);
    ac.abort(new Error(sig));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    await runDaemon(toDaemonConfig(opts), daemonDeps(opts, env, log, ac.signal), ac.signal);
    log.info('exiting cleanly');
    return EXIT_OK;
  } catch (err) {
    if (ac.signal.aborted) {
      log.info('exiting cleanly');
      return EXIT_OK;
    }
    if (err instanceof ConfigError || err instanceof InterfaceError) {
      log.error(err.message);
      return EXIT_FAILURE;
    }
    log.error(err instanceof FlannelError ? err.message : `unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : errorMessage(err)}`);
    return EXIT_FAILURE;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

function toDaemonConfig(o: FlanneldOptions): DaemonConfig {
  return {
    ifaces: o.ifaces,
    ifaceRegexes: o.ifaceRegexes,
    ifaceCanReach: o.ifaceCanReach,
    publicIP: o.publicIp,
    publicIPv6: o.publicIpv6,
    subnetFile: o.subnetFile,
    subnetLeaseRenewMarginMin: o.subnetLeaseRenewMarginMin,
    ipMasq: o.ipMasq,
    iptablesForwardRules: o.iptablesForwardRules,
    iptablesResyncSec: o.iptablesResyncSec,
    healthzIP: o.healthzIp,
    healthzPort: o.healthzPort,
  };
}

function daemonDeps(o: FlanneldOptions, env: NodeJS.ProcessEnv, log: Logger, signal: AbortSignal) {
  return {
    logger: log,
    coldPages: new ColdPageRelease({ intervalMs: releaseIntervalMs(env), load: loadPagesAddon, logger: log.child('memory') }, signal),
    interfaces: async () => new (await import('../net/system-interfaces.js')).SystemInterfaces(),
    createSubnetManager: (knownBackends: readonly string[], metrics: StoreMetrics) =>
      o.kubeSubnetMgr ? kubeSubnetManager(o, env, knownBackends, log, metrics) : createEtcdSubnetManager({
        client: {
          endpoints: o.etcdEndpoints,
          caFile: o.etcdCaFile,
          certFile: o.etcdCertfile,
          keyFile: o.etcdKeyfile,
          username: o.etcdUsername,
          password: o.etcdPassword,
        },
        prefix: o.etcdPrefix,
        leaseTtlSeconds: Math.ceil(o.subnetLeaseTtlMs / 1000),
        knownBackends,
        logger: log.child('etcd'),
        metrics,
      }),
  };
}

/** -kube-subnet-mgr: the Kubernetes API as the store (the client library loads only here). */
async function kubeSubnetManager(o: FlanneldOptions, env: NodeJS.ProcessEnv, knownBackends: readonly string[], log: Logger, metrics: StoreMetrics) {
  const { createKubeSubnetManager } = await import('../subnet/kube/create-kube-manager.js');
  return createKubeSubnetManager({
    connection: {
      apiUrl: o.kubeApiUrl,
      kubeconfigFile: o.kubeconfigFile,
      serviceHost: env.KUBERNETES_SERVICE_HOST,
      servicePort: env.KUBERNETES_SERVICE_PORT,
    },
    env,
    netConfPath: o.netConfigPath,
    annotationPrefix: o.kubeAnnotationPrefix,
    setNodeNetworkUnavailable: o.setNodeNetworkUnavailable,
    knownBackends,
    logger: log.child('kube'),
    metrics,
  });
}


/** `flanneld -cleanup`: removes devices, routes and rules; exit 1 if anything could not be removed. */
async function cleanupMain(o: FlanneldOptions, log: Logger): Promise<number> {
  const [{ NetlinkKernel }, { cleanupAllTrafficRules }, { runCleanup }] = await Promise.all([
    import('../kernel/kernel-ops.js'),
    import('../traffic/create-traffic-manager.js'),
    import('./cleanup.js'),
  ]);
  const kernel = new NetlinkKernel();
  try {
    const failures = await runCleanup(
      o.subnetFile,
      { kernel, logger: log, cleanupTraffic: (signal) => cleanupAllTrafficRules({ logger: log, signal }) },
      AbortSignal.timeout(30_000),
    );
    return failures === 0 ? EXIT_OK : EXIT_FAILURE;
  } finally {
    kernel.close();
  }
}
