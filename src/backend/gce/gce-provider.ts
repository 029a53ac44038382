import type { GlobalOperationsClient, InstancesClient, NetworksClient, RoutesClient, protos } from '@google-cloud/compute';
import type { AuthClient, GoogleAuth } from 'google-auth-library';
import type { IPNetwork } from '../../ip/ip-network.js';
import type { Logger } from '../../log/logger.js';
import type { CloudProvider, CloudRoute, CloudRouteTable } from '../cloud/route-table.js';
import type { GceApiMethod } from './gce-api-methods.js';
import type { GceConfig } from './gce-config.js';
import { CloudApiError, RouteTableFullError } from '../cloud/cloud-errors.js';
import { translateGceError } from './gce-errors.js';
import { readInstanceMetadata } from './gce-metadata.js';
import { raceSignal } from '../../async/race-signal.js';

type IRoute = protos.google.cloud.compute.v1.IRoute;
type IOperation = protos.google.cloud.compute.v1.IOperation;

/** flannel's route priority (backend/gce/api.go); lower wins, 1000 is GCE's default. */
export const GCE_ROUTE_PRIORITY = 1000;

/**
 * flannel's route name: "flannel-" and the subnet with '.' and '/' as '-' (10.244.3.0/24 ->
 * flannel-10-244-3-0-24); ':' also becomes '-' so that an IPv6 subnet gives a valid name.
 */
export function gceRouteName(subnet: IPNetwork | string): string {
  return `flannel-${subnet.toString().replace(/[./:]/g, '-')}`;
}

export interface GceTiming {
  /** Deadline of one API call (the SDK's own retries are off: the shared loop retries). */
  readonly callTimeoutMs: number;
  /** How many globalOperations.wait rounds (each up to the API's own 2-minute deadline) before giving up. */
  readonly maxWaitRounds: number;
}

export const DEFAULT_GCE_TIMING: GceTiming = Object.freeze({ callTimeoutMs: 60_000, maxWaitRounds: 10 });

/**
 * Builds the gce provider: discovers project, zone, instance and network (options first, then
 * the metadata server), loads @google-cloud/compute (only now: a vxlan host never pays for it),
 * and resolves the instance's and network's selfLinks as flannel did (instances.get,
 * networks.get): a missing network or instance fails here with the name in the message.
 * Credentials: the SDK's Application Default Credentials chain (GOOGLE_APPLICATION_CREDENTIALS,
 * gcloud's ADC file, else the instance's service account through the metadata server).
 */
export async function openGceProvider(opts: {
  config: GceConfig;
  logger: Logger;
  signal: AbortSignal;
  timing?: Partial<GceTiming>;
}): Promise<CloudProvider> {
  const { config, logger, signal } = opts;
  const timing = { ...DEFAULT_GCE_TIMING, ...opts.timing };
  const ep = config.computeEndpoint;
  const sdk = await loadComputeClients();
  // Metadata first, then at once the credentials (no keep-alive connection to the metadata
  // server left idle across seconds of client construction), then the clients.
  const md = await readInstanceMetadata({ project: config.project === undefined, network: config.network === undefined });
  const project = config.project ?? md.project;
  const network = config.network ?? md.network;
  // One GoogleAuth (one token) for the four clients, told the project: without it the auth
  // library looks for one itself, spawning `gcloud config config-helper` (seconds, every start).
  const auth = new sdk.GoogleAuth({ projectId: project, scopes: [...sdk.RoutesClient.scopes] });
  const authClient = await checkCredentials(auth, signal);
  // REST transport (`fallback`), which is also what lets a plain http:// endpoint be used.
  const base = { fallback: true as const, auth, ...(ep ? { apiEndpoint: ep.host, port: ep.port, protocol: ep.protocol } : {}) };
  const clients = {
    routes: new sdk.RoutesClient(base),
    operations: new sdk.GlobalOperationsClient(base),
    instances: new sdk.InstancesClient(base),
    networks: new sdk.NetworksClient(base),
  };
  await initializeClients(clients, signal);
  // A token refused (401: revoked, or its key deleted) is marked expired, so that the next call
  // fetches a new one rather than sending the cached one for up to an hour.
  const api = new GceApi(clients, project, `network ${network}`, timing, () => authClient.setCredentials({ ...authClient.credentials, expiry_date: 1 }));
  logger.info(`project ${project}, zone ${md.zone}, instance ${md.instance}, network ${network}${ep ? `, Compute API at ${ep.url}` : ''}`);
  const [instanceLink, networkLink] = await Promise.all([api.instanceSelfLink(md.zone, md.instance, signal), api.networkSelfLink(network, signal)]);
  const table = new GceRouteTable(api, network, networkLink, instanceLink, logger);
  return { type: 'gce', instance: `${md.instance} in ${md.zone} (project ${project})`, tables: [table] };
}

interface GceClients {
  readonly routes: RoutesClient;
  readonly operations: GlobalOperationsClient;
  readonly instances: InstancesClient;
  readonly networks: NetworksClient;
}

/**
 * The SDK's auth library and the four v1 clients, each from its own module of @google-cloud/compute: the package's main
 * entry loads every client of v1, v1beta and v1small (measured here: 12 s of start-up and 180 MB
 * more than these four), so the backend imports the clients it uses by path (the package has no
 * "exports" map; the version is pinned).
 */
async function loadComputeClients() {
  const [a, r, o, i, n] = await Promise.all([
    // The SDK's own auth library (google-gax builds its GoogleAuth from it).
    import('google-auth-library'),
    import('@google-cloud/compute/build/src/v1/routes_client.js'),
    import('@google-cloud/compute/build/src/v1/global_operations_client.js'),
    import('@google-cloud/compute/build/src/v1/instances_client.js'),
    import('@google-cloud/compute/build/src/v1/networks_client.js'),
  ]);
  return { GoogleAuth: a.GoogleAuth, RoutesClient: r.RoutesClient, GlobalOperationsClient: o.GlobalOperationsClient, InstancesClient: i.InstancesClient, NetworksClient: n.NetworksClient };
}

/**
 * Gets the credentials (Application Default Credentials) and a first token: a missing service
 * account, an unreadable key file or a refused key fails here, as a credentials error.
 */
async function checkCredentials(auth: GoogleAuth, signal: AbortSignal): Promise<AuthClient> {
  try {
    const client = await raceSignal(auth.getClient(), signal);
    await raceSignal(client.getAccessToken(), signal);
    return client;
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw translateGceError(err, 'credentials (Application Default Credentials)');
  }
}

/**
 * Builds each client's REST stub. A client caches its first stub, failed or not, and re-throws a
 * failed one as an unhandled rejection from every later call; so the credentials are checked
 * before (checkCredentials), a failure here is a CloudApiError (the shared loop makes new clients
 * on the next attempt), and no method is called on a client without a stub.
 */
async function initializeClients(clients: GceClients, signal: AbortSignal): Promise<void> {
  try {
    await raceSignal(Promise.all(Object.values(clients).map((c: { initialize(): Promise<unknown> }) => c.initialize())), signal);
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw translateGceError(err, 'Compute API clients');
  }
}

/** The Compute API calls the backend makes: each one of GCE_API_METHODS, each error translated here. */
class GceApi {
  private readonly routes: RoutesClient;
  private readonly operations: GlobalOperationsClient;
  private readonly instances: InstancesClient;
  private readonly networks: NetworksClient;

  constructor(
    clients: GceClients,
    readonly project: string,
    /** For errors: the table as the loop names it. */
    readonly tableName: string,
    private readonly timing: GceTiming,
    private readonly dropToken: () => void,
  ) {
    ({ routes: this.routes, operations: this.operations, instances: this.instances, networks: this.networks } = clients);
  }

  private get callOptions() {
    // retry: null turns the SDK's own retries off; the shared loop's backoff decides.
    return { retry: null, timeout: this.timing.callTimeoutMs };
  }

  private async call<T>(method: GceApiMethod, resource: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.timing.callTimeoutMs)]);
    try {
      return await raceSignal(fn(), deadline);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (deadline.aborted) throw new CloudApiError('gce', `${method} ${resource}`, `no answer within ${this.timing.callTimeoutMs} ms`, { retryable: true, apiCode: 'DEADLINE_EXCEEDED', cause: err });
      const e = translateGceError(err, `${method} ${resource}`);
      if (e.apiCode === 'UNAUTHENTICATED') this.dropToken();
      throw e;
    }
  }

  async instanceSelfLink(zone: string, instance: string, signal: AbortSignal): Promise<string> {
    const res = `projects/${this.project}/zones/${zone}/instances/${instance}`;
    const [inst] = await this.call('compute.instances.get', res, signal, () => this.instances.get({ project: this.project, zone, instance }, this.callOptions));
    if (!inst.selfLink) throw new CloudApiError('gce', `compute.instances.get ${res}`, 'the instance has no selfLink', { retryable: false });
    return inst.selfLink;
  }

  async networkSelfLink(network: string, signal: AbortSignal): Promise<string> {
    const res = `projects/${this.project}/global/networks/${network}`;
    const [net] = await this.call('compute.networks.get', res, signal, () => this.networks.get({ project: this.project, network }, this.callOptions));
    if (!net.selfLink) throw new CloudApiError('gce', `compute.networks.get ${res}`, 'the network has no selfLink', { retryable: false });
    return net.selfLink;
  }

  /** routes.list with a filter on the network, every page (the SDK follows nextPageToken). */
  async listRoutes(networkLink: string, signal: AbortSignal): Promise<IRoute[]> {
    const res = `projects/${this.project}/global/routes`;
    return this.call('compute.routes.list', res, signal, async () => {
      const out: IRoute[] = [];
      const filter = `network = "${networkLink}"`;
      for await (const r of this.routes.listAsync({ project: this.project, filter, maxResults: 500 }, { ...this.callOptions, autoPaginate: false })) {
        signal.throwIfAborted();
        out.push(r);
      }
      return out;
    });
  }

  /** The route by name, or undefined when there is none. */
  async getRoute(name: string, signal: AbortSignal): Promise<IRoute | undefined> {
    try {
      const [r] = await this.call('compute.routes.get', this.routeRes(name), signal, () => this.routes.get({ project: this.project, route: name }, this.callOptions));
      return r;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async insertRoute(route: IRoute, signal: AbortSignal): Promise<void> {
    const name = route.name ?? '';
    const [lro] = await this.call('compute.routes.insert', this.routeRes(name), signal, () =>
      this.routes.insert({ project: this.project, routeResource: route }, this.callOptions),
    );
    await this.waitDone('compute.routes.insert', this.routeRes(name), lro.latestResponse as IOperation, signal);
  }

  /** Deletes the route; already gone is not an error. */
  async deleteRoute(name: string, signal: AbortSignal): Promise<void> {
    let lro;
    try {
      [lro] = await this.call('compute.routes.delete', this.routeRes(name), signal, () => this.routes.delete({ project: this.project, route: name }, this.callOptions));
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    await this.waitDone('compute.routes.delete', this.routeRes(name), lro.latestResponse as IOperation, signal, ['RESOURCE_NOT_FOUND']);
  }

  private routeRes(name: string): string {
    return `projects/${this.project}/global/routes/${name}`;
  }

  /**
   * Waits for a global Operation to be DONE (globalOperations.wait returns when it is, or at
   * its own deadline), then turns `error.errors[]` into a GceApiError: QUOTA_EXCEEDED names
   * the quota and its limit as the API words them.
   */
  private async waitDone(method: GceApiMethod, resource: string, first: IOperation | undefined, signal: AbortSignal, ignore: readonly string[] = []): Promise<void> {
    let op = first;
    for (let round = 0; op?.status !== 'DONE'; round++) {
      if (!op?.name) throw new CloudApiError('gce', `${method} ${resource}`, 'the API returned no operation', { retryable: true });
      if (round >= this.timing.maxWaitRounds) {
        throw new CloudApiError('gce', `${method} ${resource}`, `operation ${op.name} still ${op.status ?? 'unknown'} after ${round} waits`, {
          retryable: true,
          apiCode: 'DEADLINE_EXCEEDED',
        });
      }
      const name = op.name;
      [op] = await this.call('compute.globalOperations.wait', `projects/${this.project}/global/operations/${name}`, signal, () =>
        this.operations.wait({ project: this.project, operation: name }, this.callOptions),
      );
    }
    const errors = (op.error?.errors ?? []).filter((e) => !ignore.includes(e.code ?? ''));
    if (errors.length === 0) return;
    const text = errors.map((e) => `${e.code ?? 'UNKNOWN'}: ${e.message ?? ''}`).join('; ');
    const quota = errors.find((e) => e.code === 'QUOTA_EXCEEDED');
    if (quota) {
      // "Quota 'ROUTES' exceeded.  Limit: 250.0 globally." (the quota's name and limit, as the API words them)
      const limit = /Limit:\s*([0-9.]+)/.exec(quota.message ?? '');
      throw new RouteTableFullError(this.tableName, limit ? Math.round(Number(limit[1])) : undefined, `${method} ${resource}: ${text} (raise the project's ROUTES quota, free routes, or use vxlan)`);
    }
    throw new CloudApiError('gce', `${method} ${resource}`, `operation ${op.name ?? ''} failed: ${text}`, {
      retryable: errors.every((e) => e.code === 'INTERNAL_ERROR' || e.code === 'SERVICE_UNAVAILABLE'),
      apiCode: errors[0]?.code ?? undefined,
    });
  }
}

function isNotFound(err: unknown): boolean {
  return err instanceof CloudApiError && err.apiCode === 'NOT_FOUND';
}

/** The network's routes as the shared loop sees them: only flannel's (named flannel-*), in this network. */
class GceRouteTable implements CloudRouteTable {
  readonly name: string;

  constructor(
    private readonly api: GceApi,
    network: string,
    private readonly networkLink: string,
    private readonly instanceLink: string,
    private readonly logger: Logger,
  ) {
    this.name = `network ${network}`;
  }

  async list(signal: AbortSignal): Promise<CloudRoute[]> {
    const out: CloudRoute[] = [];
    for (const r of await this.api.listRoutes(this.networkLink, signal)) {
      // The filter is the API's; checked again here: nothing outside the network, nothing not named by flannel.
      if (r.network !== this.networkLink || !r.name?.startsWith('flannel-') || !r.destRange) continue;
      out.push({
        destination: r.destRange,
        targetsThisInstance: r.nextHopInstance === this.instanceLink,
        handle: r.name,
        target: r.nextHopInstance ?? r.nextHopIp ?? r.nextHopGateway ?? '(other next hop)',
      });
    }
    return out;
  }

  async put(destination: IPNetwork, signal: AbortSignal): Promise<void> {
    const name = gceRouteName(destination);
    const dest = destination.toString();
    const existing = await this.api.getRoute(name, signal);
    if (existing) {
      if (existing.network !== this.networkLink) {
        // Route names are per project: another network's flannel (another cluster on the same
        // range) owns this name. flannel replaced it; flannel-ts leaves it and says so.
        throw new CloudApiError('gce', `compute.routes.get ${this.api.project}/global/routes/${name}`, `the route name is taken by a route in ${existing.network ?? '(no network)'}, not ${this.networkLink}: another cluster with the same subnet in this project?`, {
          retryable: false,
          apiCode: 'ALREADY_EXISTS',
        });
      }
      if (existing.nextHopInstance === this.instanceLink && existing.destRange === dest) return;
      // Routes cannot be changed in place: delete, then insert (flannel's handleMatchingRoute).
      this.logger.info(`replacing route ${name} (${existing.destRange ?? '?'} via ${existing.nextHopInstance ?? existing.nextHopIp ?? '?'})`);
      await this.api.deleteRoute(name, signal);
    }
    this.logger.info(`inserting route ${name}: ${dest} via ${this.instanceLink}`);
    await this.api.insertRoute(
      { name, destRange: dest, network: this.networkLink, nextHopInstance: this.instanceLink, priority: GCE_ROUTE_PRIORITY, tags: [] },
      signal,
    );
  }

  async remove(route: CloudRoute, signal: AbortSignal): Promise<void> {
    const name = route.handle;
    if (!name?.startsWith('flannel-')) return; // never anything flannel did not name
    this.logger.info(`deleting route ${name} (${route.destination} via ${route.target})`);
    await this.api.deleteRoute(name, signal);
  }
}
