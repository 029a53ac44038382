/**
 * A stand-in for Amazon EC2's Query API and the instance metadata service (IMDSv2), for the
 * calls the aws-vpc backend makes (AWS_VPC_API_ACTIONS). Default export and `createStandin`:
 * the StandinFactory. One listener serves both: `POST /` is the EC2 API (as
 * AWS_ENDPOINT_URL_EC2 points the SDK to it), `/latest/...` is IMDS (as
 * AWS_EC2_METADATA_SERVICE_ENDPOINT does).
 *
 * Options (strings): accessKeyId (default AKIASTANDINEXAMPLE1), secretAccessKey (default
 * "standin-secret-key"), region (eu-west-1), vpcCidr (192.168.0.0/16: the main table's `local`
 * route), tables (comma list of extra route table IDs, default "rtb-0b2b2b2b"), subnetTable (the
 * table associated with the instances' subnet, default the first of `tables`; "" = none, so the
 * subnet uses the main table rtb-0a1a1a1a), routeLimit (routes per table, default 50 as AWS's).
 *
 * IMDS also serves an instance role's temporary credentials (ROLE_NAME), so the SDK's default
 * credential chain works with no AWS_ACCESS_KEY_ID at all.
 *
 * Instances: every address that asks IMDS for a token is an instance, `i-0<hex of its IPv4>`,
 * with one ENI `eni-0<hex>`, MAC `02:00:<ip bytes>`, that address as its private IP, in
 * subnet-0standin of vpc-0standin.
 *
 * Control (JSON; see StandinApp): `GET /state`; `POST /fault` with any of
 * `{ throttle: n }` (next n API calls: RequestLimitExceeded), `{ serverError: n }` (next n:
 * 500 InternalError), `{ outageMs: n }` (every API call for n ms: 503 Unavailable),
 * `{ dropMs: n }` (every API connection for n ms: reset, no answer), `{ routeLimit: n }`,
 * `{ clear: true }`; `POST /routes/add {table, destination, target}` (target eni-/i-/igw-/pcx-...);
 * `POST /routes/delete {table, destination}` (a route deleted by hand).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkSigV4 } from './sigv4-check.js';
import type { StandinApp, StandinFactory } from './standin-app.js';
import { readBody } from './request-body.js';

/** The EC2 API version the SDK speaks and every response's XML namespace (EC2 API Reference, "Query requests"). */
export const EC2_API_VERSION = '2016-11-15';
const EC2_NS = `http://ec2.amazonaws.com/doc/${EC2_API_VERSION}/`;
export const STANDIN_VPC = 'vpc-0standin';
export const STANDIN_SUBNET = 'subnet-0standin';
export const MAIN_TABLE = 'rtb-0a1a1a1a';
/** The instance role whose credentials IMDS hands out (the SDK's default chain ends there). */
export const ROLE_NAME = 'flannel-node-role';
export const ROLE_KEY = 'ASIASTANDINROLE00001';
const ROLE_TOKEN = 'standin-session-token';

export interface StandinRoute {
  destination: string;
  /** The target ID: eni-..., i-..., igw-..., pcx-..., or "local". */
  target: string;
  state: 'active' | 'blackhole';
  origin: 'CreateRouteTable' | 'CreateRoute';
}

interface Table {
  readonly id: string;
  readonly main: boolean;
  readonly subnets: string[];
  readonly routes: Map<string, StandinRoute>;
}

export interface StandinInstance {
  readonly id: string;
  readonly ip: string;
  readonly eni: string;
  readonly mac: string;
  sourceDestCheck: boolean;
}

interface Faults {
  throttle: number;
  serverError: number;
  outageUntil: number;
  dropUntil: number;
}

/** An API error as EC2 returns it (EC2 API Reference, "Error codes for the Amazon EC2 API"). */
class Ec2Fault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c);
}

type Xml = string | number | boolean | Xml[] | { [k: string]: Xml | undefined };

/** Renders EC2's XML: objects become elements, arrays become `<item>` lists. */
function toXml(v: Xml): string {
  if (Array.isArray(v)) return v.map((x) => `<item>${toXml(x)}</item>`).join('');
  if (typeof v === 'object') return Object.entries(v).map(([k, x]) => (x === undefined ? '' : `<${k}>${toXml(x)}</${k}>`)).join('');
  return xmlEscape(String(v));
}

function ipv4Hex(ip: string): string {
  return ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('');
}

/** An IPv4 CIDR with no host bits, else undefined. */
function parseCidr(text: string): { base: number; len: number } | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) return undefined;
  const o = m.slice(1, 5).map(Number);
  const len = Number(m[5]);
  if (o.some((x) => x > 255) || len > 32) return undefined;
  const base = ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
  const mask = len === 0 ? 0 : (~0 << (32 - len)) >>> 0;
  return (base & mask) >>> 0 === base ? { base, len } : undefined;
}

export class Ec2Standin implements StandinApp {
  readonly tables = new Map<string, Table>();
  readonly instances = new Map<string, StandinInstance>();
  readonly counts: Record<string, number> = {};
  authFailures = 0;
  /** Requests with a good signature, by access key ID. */
  readonly signedBy: Record<string, number> = {};
  routeLimit: number;
  private readonly faults: Faults = { throttle: 0, serverError: 0, outageUntil: 0, dropUntil: 0 };
  private readonly tokens = new Map<string, { expires: number; ip: string }>();
  private readonly secrets: Map<string, string>;
  private readonly region: string;
  private assoc = 0;

  constructor(options: Readonly<Record<string, string>> = {}) {
    this.secrets = new Map([
      [options['accessKeyId'] ?? 'AKIASTANDINEXAMPLE1', options['secretAccessKey'] ?? 'standin-secret-key'],
      [ROLE_KEY, randomBytes(20).toString('base64url')],
    ]);
    this.region = options['region'] ?? 'eu-west-1';
    this.routeLimit = Number(options['routeLimit'] ?? 50);
    const vpcCidr = options['vpcCidr'] ?? '192.168.0.0/16';
    const extra = (options['tables'] ?? 'rtb-0b2b2b2b').split(',').filter((t) => t !== '');
    const subnetTable = options['subnetTable'] ?? extra[0] ?? '';
    for (const id of [MAIN_TABLE, ...extra]) {
      const routes = new Map<string, StandinRoute>([[vpcCidr, { destination: vpcCidr, target: 'local', state: 'active', origin: 'CreateRouteTable' }]]);
      this.tables.set(id, { id, main: id === MAIN_TABLE, subnets: id === subnetTable ? [STANDIN_SUBNET] : [], routes });
    }
  }

  /** The instance behind an IPv4 address (made on first sight, as if it had been launched). */
  instanceFor(ip: string): StandinInstance {
    let inst = this.instances.get(ip);
    if (!inst) {
      const hex = ipv4Hex(ip);
      const mac = `02:00:${hex.match(/../g)!.join(':')}`;
      inst = { id: `i-0${hex}`, ip, eni: `eni-0${hex}`, mac, sourceDestCheck: true };
      this.instances.set(ip, inst);
    }
    return inst;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const work = url.startsWith('/latest/') ? this.imds(req, res, url) : this.api(req, res);
    work.catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  }

  // --- IMDSv2 (EC2 User Guide, "Use the Instance Metadata Service to access instance metadata") ---

  private async imds(req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
    await readBody(req);
    const ip = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const path = url.split('?')[0]!;
    if (path === '/latest/api/token') {
      // The token is asked for with PUT and a TTL of 1..21600 s; a request with X-Forwarded-For is refused.
      if (req.method !== 'PUT') return this.text(res, 405, 'Method Not Allowed');
      if (req.headers['x-forwarded-for'] !== undefined) return this.text(res, 403, 'Forbidden');
      const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return this.text(res, 400, 'Bad Request');
      const token = randomBytes(24).toString('base64url');
      this.tokens.set(token, { expires: Date.now() + ttl * 1000, ip });
      this.instanceFor(ip);
      res.writeHead(200, { 'content-type': 'text/plain', 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
      res.end(token);
      return;
    }
    if (req.method !== 'GET') return this.text(res, 405, 'Method Not Allowed');
    // HttpTokens=required: a GET without a valid session token is 401 Unauthorized.
    const token = req.headers['x-aws-ec2-metadata-token'];
    const session = typeof token === 'string' ? this.tokens.get(token) : undefined;
    if (!session || session.expires < Date.now()) return this.text(res, 401, 'Unauthorized');
    const value = this.metadata(this.instanceFor(session.ip), path.replace(/^\/latest\/meta-data\//, ''));
    if (value === undefined) return this.text(res, 404, 'Not Found');
    this.text(res, 200, value);
  }

  /** The instance metadata categories used ("Instance metadata categories" in the EC2 User Guide). */
  private metadata(inst: StandinInstance, path: string): string | undefined {
    // The instance role's temporary credentials ("Retrieve security credentials from instance
    // metadata"): iam/security-credentials/ lists the role, .../<role> is the JSON document.
    const creds = 'iam/security-credentials/';
    if (path === creds) return ROLE_NAME;
    if (path === `${creds}${ROLE_NAME}`) {
      return JSON.stringify({
        Code: 'Success',
        LastUpdated: new Date().toISOString(),
        Type: 'AWS-HMAC',
        AccessKeyId: ROLE_KEY,
        SecretAccessKey: this.secrets.get(ROLE_KEY),
        Token: ROLE_TOKEN,
        Expiration: new Date(Date.now() + 6 * 3600_000).toISOString(),
      });
    }
    const macs = 'network/interfaces/macs/';
    if (path.startsWith(macs) && path.length > macs.length) {
      const [mac, key] = path.slice(macs.length).split('/', 2) as [string, string | undefined];
      if (mac !== inst.mac) return undefined;
      const values: Record<string, string> = {
        'interface-id': inst.eni,
        'local-ipv4s': inst.ip,
        'subnet-id': STANDIN_SUBNET,
        'vpc-id': STANDIN_VPC,
        'device-number': '0',
        mac: inst.mac,
      };
      return key === undefined || key === '' ? Object.keys(values).join('\n') : values[key];
    }
    const values: Record<string, string> = {
      'instance-id': inst.id,
      mac: inst.mac,
      'local-ipv4': inst.ip,
      'placement/region': this.region,
      'placement/availability-zone': `${this.region}a`,
      [macs]: `${inst.mac}/`,
    };
    return values[path];
  }

  private text(res: ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  }

  // --- EC2 Query API (EC2 API Reference, "Make API requests": Action, Version, form-encoded) ---

  private async api(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (Date.now() < this.faults.dropUntil) {
      req.socket.destroy();
      return;
    }
    const requestId = randomBytes(16).toString('hex').replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5');
    try {
      const params = new URLSearchParams(new URL(req.url ?? '/', 'http://standin').search);
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
      const action = params.get('Action') ?? '';
      this.counts[action] = (this.counts[action] ?? 0) + 1;
      if (Date.now() < this.faults.outageUntil) throw new Ec2Fault(503, 'Unavailable', 'The server is overloaded and can\'t handle the request.');
      // Every request is signed with SigV4 (EC2 API Reference, "Authenticate requests"); a bad or
      // unknown key is AuthFailure (401), a malformed Authorization header IncompleteSignature.
      const sig = checkSigV4(req.method ?? 'GET', req.url ?? '/', req.headers, body, this.secrets);
      // Temporary (role) credentials come with their session token (X-Amz-Security-Token).
      if (sig.ok && sig.accessKeyId === ROLE_KEY && req.headers['x-amz-security-token'] !== ROLE_TOKEN) {
        this.authFailures++;
        throw new Ec2Fault(401, 'AuthFailure', 'AWS was not able to validate the provided access credentials (session token)');
      }
      if (!sig.ok) {
        this.authFailures++;
        throw new Ec2Fault(sig.code === 'AuthFailure' ? 401 : 400, sig.code, sig.message);
      }
      this.signedBy[sig.accessKeyId] = (this.signedBy[sig.accessKeyId] ?? 0) + 1;
      // Throttling (EC2 API Reference, "Request throttling"): RequestLimitExceeded; the SDKs
      // classify it by its code, whatever the status (503 here, as EC2 answers rate throttling).
      if (this.faults.throttle > 0) {
        this.faults.throttle--;
        throw new Ec2Fault(503, 'RequestLimitExceeded', 'Request limit exceeded.');
      }
      if (this.faults.serverError > 0) {
        this.faults.serverError--;
        throw new Ec2Fault(500, 'InternalError', 'An internal error has occurred.');
      }
      // Version is required with every Query API request ("Query requests for Amazon EC2").
      if (params.get('Version') !== EC2_API_VERSION) throw new Ec2Fault(400, 'InvalidParameterValue', `Version ${params.get('Version') ?? ''} is not supported`);
      const result = this.action(action, params);
      res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}">${toXml({ requestId, ...result })}</${action}Response>`);
    } catch (err) {
      if (!(err instanceof Ec2Fault)) throw err;
      // The error response of the Query API: Response/Errors/Error/{Code,Message}, RequestID.
      res.writeHead(err.status, { 'content-type': 'text/xml;charset=UTF-8' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`);
    }
  }

  private action(action: string, p: URLSearchParams): { [k: string]: Xml } {
    switch (action) {
      case 'DescribeRouteTables':
        return { routeTableSet: this.describeRouteTables(p) };
      case 'CreateRoute':
        return this.createRoute(p);
      case 'ReplaceRoute':
        return this.replaceRoute(p);
      case 'DeleteRoute':
        return this.deleteRoute(p);
      case 'ModifyNetworkInterfaceAttribute':
        return this.modifyEni(p);
      default:
        throw new Ec2Fault(400, 'InvalidAction', `The action ${action} is not valid for this web service.`);
    }
  }

  private table(id: string | null): Table {
    const t = id ? this.tables.get(id) : undefined;
    if (!t) throw new Ec2Fault(400, 'InvalidRouteTableID.NotFound', `The routeTable ID '${id ?? ''}' does not exist`);
    return t;
  }

  /** `Name.N` list parameters (Query API lists are 1-based). */
  private list(p: URLSearchParams, prefix: string): string[] {
    const out: string[] = [];
    for (let i = 1; p.has(`${prefix}.${i}`); i++) out.push(p.get(`${prefix}.${i}`)!);
    return out;
  }

  /**
   * DescribeRouteTables (EC2 API Reference): RouteTableId.N (an unknown one:
   * InvalidRouteTableID.NotFound) and Filter.N.Name/Value.M (filters AND, values OR; the
   * route.* filters select tables having such a route, all of whose routes are returned).
   * Answers routeTableSet/item with routeSet and associationSet. No pagination (MaxResults).
   */
  private describeRouteTables(p: URLSearchParams): Xml {
    const ids = this.list(p, 'RouteTableId');
    for (const id of ids) this.table(id);
    const filters: { name: string; values: string[] }[] = [];
    for (let i = 1; p.has(`Filter.${i}.Name`); i++) filters.push({ name: p.get(`Filter.${i}.Name`)!, values: this.list(p, `Filter.${i}.Value`) });
    const matches = (t: Table, f: { name: string; values: string[] }): boolean => {
      switch (f.name) {
        case 'association.subnet-id':
          return t.subnets.some((s) => f.values.includes(s));
        case 'association.main':
          return f.values.includes(String(t.main));
        case 'vpc-id':
          return f.values.includes(STANDIN_VPC);
        case 'route-table-id':
          return f.values.includes(t.id);
        case 'route.destination-cidr-block':
          return [...t.routes.keys()].some((d) => f.values.includes(d));
        case 'route.state':
          return [...t.routes.values()].some((r) => f.values.includes(r.state));
        default:
          throw new Ec2Fault(400, 'InvalidParameterValue', `The filter '${f.name}' is invalid`);
      }
    };
    const tables = [...this.tables.values()].filter((t) => (ids.length === 0 || ids.includes(t.id)) && filters.every((f) => matches(t, f)));
    return tables.map((t) => ({
      routeTableId: t.id,
      vpcId: STANDIN_VPC,
      ownerId: '111122223333',
      routeSet: [...t.routes.values()].map((r) => ({ destinationCidrBlock: r.destination, ...this.targetXml(r.target), state: r.state, origin: r.origin })),
      associationSet: [
        ...(t.main ? [{ routeTableAssociationId: `rtbassoc-0main`, routeTableId: t.id, main: true, associationState: { state: 'associated' } }] : []),
        ...t.subnets.map((s) => ({ routeTableAssociationId: `rtbassoc-0${++this.assoc}`, routeTableId: t.id, subnetId: s, main: false, associationState: { state: 'associated' } })),
      ],
      propagatingVgwSet: [],
      tagSet: [],
    }));
  }

  private targetXml(target: string): { [k: string]: Xml } {
    if (target.startsWith('eni-')) {
      const inst = [...this.instances.values()].find((i) => i.eni === target);
      return inst ? { instanceId: inst.id, instanceOwnerId: '111122223333', networkInterfaceId: target } : { networkInterfaceId: target };
    }
    if (target.startsWith('i-')) return { instanceId: target };
    if (target.startsWith('pcx-')) return { vpcPeeringConnectionId: target };
    if (target.startsWith('nat-')) return { natGatewayId: target };
    return { gatewayId: target };
  }

  /** The route's target from CreateRoute/ReplaceRoute parameters; an unknown ENI or instance is an error. */
  private target(p: URLSearchParams): string {
    const eni = p.get('NetworkInterfaceId');
    if (eni) {
      if (![...this.instances.values()].some((i) => i.eni === eni)) throw new Ec2Fault(400, 'InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${eni}' does not exist`);
      return eni;
    }
    const inst = p.get('InstanceId');
    if (inst) {
      const found = [...this.instances.values()].find((i) => i.id === inst);
      if (!found) throw new Ec2Fault(400, 'InvalidInstanceID.NotFound', `The instance ID '${inst}' does not exist`);
      return found.eni;
    }
    const gw = p.get('GatewayId');
    if (gw) return gw;
    throw new Ec2Fault(400, 'MissingParameter', 'The request must contain a route target (NetworkInterfaceId, InstanceId, GatewayId...)');
  }

  private destination(p: URLSearchParams): string {
    const d = p.get('DestinationCidrBlock');
    if (!d) throw new Ec2Fault(400, 'MissingParameter', 'The request must contain the parameter destinationCidrBlock');
    if (!parseCidr(d)) throw new Ec2Fault(400, 'InvalidParameterValue', `Value (${d}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`);
    return d;
  }

  /**
   * CreateRoute (EC2 API Reference): RouteAlreadyExists for a taken destination,
   * RouteLimitExceeded past the table's limit (VPC quota "Routes per route table", 50 by default).
   */
  private createRoute(p: URLSearchParams): { [k: string]: Xml } {
    const t = this.table(p.get('RouteTableId'));
    const dst = this.destination(p);
    const target = this.target(p);
    if (t.routes.has(dst)) throw new Ec2Fault(400, 'RouteAlreadyExists', `The route identified by ${dst} already exists.`);
    if (t.routes.size >= this.routeLimit) throw new Ec2Fault(400, 'RouteLimitExceeded', `The maximum number of routes has been reached.`);
    t.routes.set(dst, { destination: dst, target, state: 'active', origin: 'CreateRoute' });
    return { return: true };
  }

  /** ReplaceRoute (EC2 API Reference): InvalidRoute.NotFound when there is no route of that destination. */
  private replaceRoute(p: URLSearchParams): { [k: string]: Xml } {
    const t = this.table(p.get('RouteTableId'));
    const dst = this.destination(p);
    const target = this.target(p);
    const r = t.routes.get(dst);
    if (!r) throw new Ec2Fault(400, 'InvalidRoute.NotFound', `There is no route defined for '${dst}' in the route table. Use CreateRoute instead.`);
    if (r.target === 'local') throw new Ec2Fault(400, 'InvalidParameterValue', `cannot replace local route ${dst} in route table ${t.id}`);
    t.routes.set(dst, { destination: dst, target, state: 'active', origin: 'CreateRoute' });
    return { return: true };
  }

  /** DeleteRoute (EC2 API Reference): InvalidRoute.NotFound when absent; the `local` route cannot be deleted. */
  private deleteRoute(p: URLSearchParams): { [k: string]: Xml } {
    const t = this.table(p.get('RouteTableId'));
    const dst = this.destination(p);
    const r = t.routes.get(dst);
    if (!r) throw new Ec2Fault(400, 'InvalidRoute.NotFound', `no route with destination-cidr-block ${dst} in route table ${t.id}`);
    if (r.target === 'local') throw new Ec2Fault(400, 'InvalidParameterValue', `cannot remove local route ${dst} in route table ${t.id}`);
    t.routes.delete(dst);
    return { return: true };
  }

  /** ModifyNetworkInterfaceAttribute (EC2 API Reference) with SourceDestCheck.Value; an unknown ENI: InvalidNetworkInterfaceID.NotFound. */
  private modifyEni(p: URLSearchParams): { [k: string]: Xml } {
    const eni = p.get('NetworkInterfaceId');
    const inst = [...this.instances.values()].find((i) => i.eni === eni);
    if (!inst) throw new Ec2Fault(400, 'InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${eni ?? ''}' does not exist`);
    const v = p.get('SourceDestCheck.Value');
    if (v !== 'true' && v !== 'false') throw new Ec2Fault(400, 'InvalidParameterCombination', 'No attribute specified.');
    inst.sourceDestCheck = v === 'true';
    return { return: true };
  }

  // --- control ---

  state(): unknown {
    return {
      tables: [...this.tables.values()].map((t) => ({ id: t.id, main: t.main, subnets: t.subnets, routes: [...t.routes.values()] })),
      instances: [...this.instances.values()],
      counts: this.counts,
      authFailures: this.authFailures,
      signedBy: this.signedBy,
      routeLimit: this.routeLimit,
    };
  }

  control(req: IncomingMessage, res: ServerResponse): void {
    readBody(req)
      .then((body) => {
        const input = body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
        const out = this.controlAction(`${req.method ?? ''} ${(req.url ?? '').split('?')[0]}`, input);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(out ?? {}));
      })
      .catch((err: unknown) => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: String(err) }));
      });
  }

  controlAction(what: string, input: Record<string, unknown>): unknown {
    const num = (k: string) => {
      const v = input[k];
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${k}: want a non-negative integer`);
      return v;
    };
    const str = (k: string) => {
      const v = input[k];
      if (typeof v !== 'string' || v === '') throw new Error(`${k}: want a string`);
      return v;
    };
    switch (what) {
      case 'GET /state':
        return this.state();
      case 'POST /fault':
        if (input['clear'] === true) Object.assign(this.faults, { throttle: 0, serverError: 0, outageUntil: 0, dropUntil: 0 });
        if ('throttle' in input) this.faults.throttle = num('throttle');
        if ('serverError' in input) this.faults.serverError = num('serverError');
        if ('outageMs' in input) this.faults.outageUntil = Date.now() + num('outageMs');
        if ('dropMs' in input) this.faults.dropUntil = Date.now() + num('dropMs');
        if ('routeLimit' in input) this.routeLimit = num('routeLimit');
        return { ok: true };
      case 'POST /routes/add': {
        const t = this.table(str('table'));
        const dst = str('destination');
        t.routes.set(dst, { destination: dst, target: str('target'), state: input['state'] === 'blackhole' ? 'blackhole' : 'active', origin: 'CreateRoute' });
        return { ok: true };
      }
      case 'POST /routes/delete': {
        const t = this.table(str('table'));
        return { deleted: t.routes.delete(str('destination')) };
      }
      default:
        throw new Error(`unknown control request ${what}`);
    }
  }
}

export const createStandin: StandinFactory = (options) => new Ec2Standin(options);
export default createStandin;
