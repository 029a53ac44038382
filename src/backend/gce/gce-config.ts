import { ConfigError } from '../../errors.js';
import { backendString } from '../backend-fields.js';

/**
 * The gce backend's options. flannel's gce backend had none (it read the project, network and
 * instance from the metadata server); `Project` and `Network` override that discovery (a Shared
 * VPC host project, a network other than nic0's), and `ComputeEndpoint` points the Compute API
 * client at another endpoint (a private endpoint, a test stand-in), which the Node SDK offers
 * only as a constructor setting (`GOOGLE_CLOUD_UNIVERSE_DOMAIN` changes the domain only).
 */
export interface GceConfig {
  /** The project that owns the network and its routes; undefined = the metadata server's project-id. */
  readonly project: string | undefined;
  /** The VPC network's name; undefined = the network of the instance's first interface (nic0). */
  readonly network: string | undefined;
  /** The Compute API endpoint; undefined = the SDK's default (https://compute.<universe domain>). */
  readonly computeEndpoint: ComputeEndpoint | undefined;
}

export interface ComputeEndpoint {
  readonly protocol: 'http' | 'https';
  readonly host: string;
  readonly port: number;
  /** For logs: the endpoint as configured. */
  readonly url: string;
}

// Project IDs: 6 to 30 lower-case letters, digits or hyphens, starting with a letter and not
// ending with a hyphen; legacy domain-scoped IDs carry a `domain:` prefix
// (https://cloud.google.com/resource-manager/docs/creating-managing-projects).
const PROJECT_ID = /^(?:[a-z0-9][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
// Resource names (networks, routes): RFC 1035 labels, 1 to 63 characters
// (https://cloud.google.com/compute/docs/naming-resources).
const RESOURCE_NAME = /^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$/;

export function parseGceConfig(raw: Readonly<Record<string, unknown>>): GceConfig {
  const project = optional(raw, 'Project');
  if (project !== undefined && !PROJECT_ID.test(project)) {
    throw new ConfigError('Backend.Project', project, 'must be a GCE project ID (6-30 lower-case letters, digits or hyphens, starting with a letter)');
  }
  const network = optional(raw, 'Network');
  if (network !== undefined && !RESOURCE_NAME.test(network)) {
    throw new ConfigError('Backend.Network', network, 'must be a VPC network name (1-63 lower-case letters, digits or hyphens, starting with a letter)');
  }
  const endpoint = optional(raw, 'ComputeEndpoint');
  return Object.freeze({ project, network, computeEndpoint: endpoint === undefined ? undefined : parseEndpoint(endpoint) });
}

function optional(raw: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const v = backendString(raw, name, '');
  return v === '' ? undefined : v;
}

function parseEndpoint(text: string): ComputeEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw new ConfigError('Backend.ComputeEndpoint', text, 'must be a URL such as https://compute.googleapis.com', { cause: err });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('Backend.ComputeEndpoint', text, 'must be an http:// or https:// URL');
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new ConfigError('Backend.ComputeEndpoint', text, 'must be a scheme, host and optional port only (the SDK adds /compute/v1/...)');
  }
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const port = url.port === '' ? (protocol === 'http' ? 80 : 443) : Number(url.port);
  // The SDK builds `<protocol>://<host>:<port>/compute/v1/...`: an IPv6 literal keeps its brackets.
  return Object.freeze({ protocol, host: url.hostname, port, url: `${protocol}://${url.host}` });
}
