/**
 * A stand-in for Tencent Cloud's VPC API 3.0 (the three actions flannel-ts calls) and the CVM
 * metadata service, on one listener, as a StandinFactory (see standin-app.ts). References:
 *   [SIGN]   Signature v3 (TC3-HMAC-SHA256): https://www.tencentcloud.com/document/api/215/38340
 *   [COMMON] API 3.0 request structure / common params (X-TC-* headers, POST / with a JSON body)
 *            and the common error codes (AuthFailure.*, RequestLimitExceeded, InternalError,
 *            UnsupportedRegion, InvalidAction ...): "Making API Requests" of the VPC API docs
 *   [DRT]    DescribeRouteTables, [CR] CreateRoutes https://www.tencentcloud.com/document/api/215/16724,
 *   [DR]     DeleteRoutes (VPC API 2017-03-12, "Route Table APIs")
 *   [QUOTA]  flannel Documentation/backends.md: "TencentCloud VPC limits the number of entries per
 *            route table to 50"; the API answers a create beyond the quota with `LimitExceeded`.
 *   [META]   CVM instance metadata: GET http://metadata.tencentyun.com/latest/meta-data/<path>,
 *            plain text, 404 for an unknown path (the paths flannel's tencentvpc.go reads).
 *
 * Options (strings): secretId, secretKey (the one key pair it knows), region (ap-guangzhou),
 * vpcId (vpc-flannel1), routeTableId (rtb-flannel1), quota (50), seedRoutes (JSON array of
 * {DestinationCidrBlock, GatewayType, GatewayId}), skewSeconds (300).
 *
 * Control (JSON over HTTP, separate listener):
 *   GET  /state                 {tables:[{RouteTableId,VpcId,routes:[Route]}], calls:{Action:n}, answered:{Code:n}}
 *   POST /fault {kind, count?, ms?}
 *        kind "throttle":  the next `count` API calls answer RequestLimitExceeded [COMMON]
 *        kind "internal":  the next `count` API calls answer InternalError [COMMON]
 *        kind "http5xx":   the next `count` API calls get HTTP 503 with a non-JSON body (a gateway failing)
 *        kind "outage":    for `ms` every API connection is reset without an answer (API unreachable)
 *        kind "clear":     all faults off
 *   POST /quota {limit}          routes per table from now on [QUOTA]
 *   POST /routes/delete {destination}   delete a route by hand (every route of that destination)
 *   POST /routes/add {DestinationCidrBlock, GatewayType, GatewayId}   add a route by hand
 *   POST /tables/delete {}       delete the route table (its VPC then has none)
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StandinApp, StandinFactory } from './standin-app.js';
import { readBody } from './request-body.js';

export interface TencentStandinRoute {
  RouteId: number;
  RouteItemId: string;
  DestinationCidrBlock: string;
  GatewayType: string;
  GatewayId: string;
  RouteDescription: string;
  Enabled: boolean;
  RouteType: 'USER' | 'NETD' | 'CCN';
  RouteTableId: string;
  DestinationIpv6CidrBlock: string;
  CreatedTime: string;
}

interface Table {
  RouteTableId: string;
  VpcId: string;
  routes: TencentStandinRoute[];
}

export interface TencentStandinState {
  tables: { RouteTableId: string; VpcId: string; routes: TencentStandinRoute[] }[];
  calls: Record<string, number>;
  answered: Record<string, number>;
}

class ApiFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const API_VERSION = '2017-03-12';
const SERVICE = 'vpc';
/** [DR]/[CR]: NORMAL_CVM and the other next-hop types the API accepts for GatewayType. */
const GATEWAY_TYPES = new Set(['CVM', 'VPN', 'DIRECTCONNECT', 'PEERCONNECTION', 'HAVIP', 'NAT', 'NORMAL_CVM', 'EIP', 'LOCAL_GATEWAY', 'CCN']);
const CIDR4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const sha256hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** A valid IPv4 CIDR with no host bits set, as the API requires of DestinationCidrBlock [CR]. */
function validCidr(text: string): boolean {
  const m = CIDR4.exec(text);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const len = Number(m[5]);
  if (octets.some((o) => o > 255) || len > 32) return false;
  const value = octets.reduce((acc, o) => acc * 256 + o, 0);
  const host = len === 32 ? 0 : 2 ** (32 - len);
  return host === 0 || value % host === 0;
}

/** The caller's instance, as the metadata service sees it: a MAC made of its IPv4 address (52:54:00 is Tencent's KVM OUI). */
function macOf(remote: string | undefined): string {
  const v4 = (remote ?? '').replace(/^::ffff:/, '');
  const parts = v4.split('.').map((p) => Number(p) & 255);
  const tail = (parts.length === 4 ? parts.slice(1) : [0, 0, 1]).map((b) => b.toString(16).padStart(2, '0'));
  return `52:54:00:${tail.join(':')}`;
}

export class TencentStandin implements StandinApp {
  private readonly secretId: string;
  private readonly secretKey: string;
  private readonly region: string;
  private readonly vpcId: string;
  private readonly skewSeconds: number;
  private quota: number;
  private tables: Table[];
  private nextRouteId = 100_001;
  private readonly calls: Record<string, number> = {};
  private readonly answered: Record<string, number> = {};
  private throttle = 0;
  private internal = 0;
  private http5xx = 0;
  private outageUntil = 0;

  /** `now` drives the outage window only (so a test can let 10 s pass at once); signatures use the real clock. */
  constructor(
    options: Readonly<Record<string, string>>,
    private readonly now: () => number = Date.now,
  ) {
    this.secretId = options['secretId'] ?? 'AKIDflannelts0000000000000000000000';
    this.secretKey = options['secretKey'] ?? 'flannel-ts-standin-secret-key-00';
    this.region = options['region'] ?? 'ap-guangzhou';
    this.vpcId = options['vpcId'] ?? 'vpc-flannel1';
    this.quota = Number(options['quota'] ?? 50);
    this.skewSeconds = Number(options['skewSeconds'] ?? 300);
    const table: Table = { RouteTableId: options['routeTableId'] ?? 'rtb-flannel1', VpcId: this.vpcId, routes: [] };
    this.tables = [table];
    // [DRT]: every table has the system's local route for the VPC CIDR (RouteType NETD-like "LOCAL").
    this.addRoute(table, { DestinationCidrBlock: '172.16.0.0/16', GatewayType: 'LOCAL', GatewayId: 'Local' }, 'NETD');
    const seed = options['seedRoutes'] ? (JSON.parse(options['seedRoutes']) as Partial<TencentStandinRoute>[]) : [];
    for (const r of seed) this.addRoute(table, r, 'USER');
  }

  state(): TencentStandinState {
    return {
      tables: this.tables.map((t) => ({ RouteTableId: t.RouteTableId, VpcId: t.VpcId, routes: t.routes.map((r) => ({ ...r })) })),
      calls: { ...this.calls },
      answered: { ...this.answered },
    };
  }

  private addRoute(table: Table, r: Partial<TencentStandinRoute>, type: TencentStandinRoute['RouteType']): TencentStandinRoute {
    const id = this.nextRouteId++;
    const route: TencentStandinRoute = {
      RouteId: id,
      RouteItemId: `rti-${id.toString(36).padStart(8, '0')}`,
      DestinationCidrBlock: r.DestinationCidrBlock ?? '',
      GatewayType: r.GatewayType ?? 'NORMAL_CVM',
      GatewayId: r.GatewayId ?? '',
      RouteDescription: r.RouteDescription ?? '',
      Enabled: r.Enabled ?? true,
      RouteType: type,
      RouteTableId: table.RouteTableId,
      DestinationIpv6CidrBlock: '',
      CreatedTime: new Date().toISOString().replace('T', ' ').slice(0, 19),
    };
    table.routes.push(route);
    return route;
  }

  // ---------------------------------------------------------------- API and metadata listener

  handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET' && req.url?.startsWith('/latest/meta-data/')) {
      this.metadata(req, res);
      return;
    }
    void this.api(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: String(err) });
    });
  }

  /** [META]: the three paths flannel reads, for the calling instance (known by its source address). */
  private metadata(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').slice('/latest/meta-data/'.length);
    const mac = macOf(req.socket.remoteAddress);
    let body: string | undefined;
    if (path === 'placement/region') body = this.region;
    else if (path === 'mac') body = mac;
    else if (path === `network/interfaces/macs/${mac}/vpc-id`) body = this.vpcId;
    else if (path === `network/interfaces/macs/${mac}/local-ipv4`) body = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(body);
  }

  private async api(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.now() < this.outageUntil) {
      this.count('reset');
      // The API is unreachable: the connection is reset, no answer at all.
      req.socket.destroy();
      return;
    }
    const body = await readBody(req);
    const requestId = randomUUID();
    const action = String(req.headers['x-tc-action'] ?? '');
    this.calls[action] = (this.calls[action] ?? 0) + 1;
    if (this.http5xx > 0) {
      this.http5xx--;
      this.count('HTTP 503');
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html><body>503 Service Temporarily Unavailable</body></html>');
      return;
    }
    try {
      // [COMMON]: API 3.0 is POST / (or GET) with the action, version, region and timestamp in X-TC-* headers.
      if (req.method !== 'POST' || (req.url ?? '/') !== '/') throw new ApiFailure('InvalidParameter', `only POST / is served here, not ${req.method} ${req.url}`);
      this.authenticate(req, body);
      if (this.throttle > 0) {
        this.throttle--;
        throw new ApiFailure('RequestLimitExceeded', 'Your current request times equals to `100` in a second, which exceeds the frequency limit `100` for a second. Please reduce the frequency of calls.');
      }
      if (this.internal > 0) {
        this.internal--;
        throw new ApiFailure('InternalError', 'An internal error has occurred. Retry your request, but if the problem persists, contact us.');
      }
      const version = String(req.headers['x-tc-version'] ?? '');
      if (version !== API_VERSION) throw new ApiFailure('NoSuchVersion', `The requested version \`${version}\` of API \`${action}\` does not exist.`);
      const region = String(req.headers['x-tc-region'] ?? '');
      if (region !== this.region) throw new ApiFailure('UnsupportedRegion', `The region \`${region}\` is not supported by this stand-in (it serves \`${this.region}\`).`);
      let params: Record<string, unknown>;
      try {
        params = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
      } catch {
        throw new ApiFailure('InvalidParameter', 'The request body is not valid JSON.');
      }
      const out = this.dispatch(action, params);
      this.count('OK');
      sendJson(res, 200, { Response: { ...out, RequestId: requestId } });
    } catch (err) {
      if (!(err instanceof ApiFailure)) throw err;
      this.count(err.code);
      // [COMMON]: errors are HTTP 200 with Response.Error {Code, Message} and the RequestId.
      sendJson(res, 200, { Response: { Error: { Code: err.code, Message: err.message }, RequestId: requestId } });
    }
  }

  private count(code: string): void {
    this.answered[code] = (this.answered[code] ?? 0) + 1;
  }

  /**
   * [SIGN]: Authorization = "TC3-HMAC-SHA256 Credential=<SecretId>/<Date>/<service>/tc3_request,
   * SignedHeaders=<h1;h2>, Signature=<hex>". The server recomputes the signature:
   *   CanonicalRequest = Method \n URI \n QueryString \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
   *     (CanonicalHeaders: each signed header "name:value\n", name and value lower-cased and trimmed)
   *   StringToSign = "TC3-HMAC-SHA256" \n Timestamp \n <Date>/<service>/tc3_request \n hex(sha256(CanonicalRequest))
   *   SecretDate = HMAC("TC3" + SecretKey, Date); SecretService = HMAC(SecretDate, service);
   *   SecretSigning = HMAC(SecretService, "tc3_request"); Signature = hex(HMAC(SecretSigning, StringToSign))
   * Date is the UTC date of X-TC-Timestamp; a timestamp off by more than 5 minutes is
   * AuthFailure.SignatureExpire; an unknown SecretId AuthFailure.SecretIdNotFound; a signature
   * that does not match AuthFailure.SignatureFailure; a malformed header AuthFailure.InvalidAuthorization.
   * The host is signed without its port (the SDK signs the URL's hostname; the real API is on the default port).
   */
  private authenticate(req: IncomingMessage, body: Buffer): void {
    const auth = String(req.headers['authorization'] ?? '');
    const m = /^TC3-HMAC-SHA256 Credential=([^/\s]+)\/(\d{4}-\d{2}-\d{2})\/([a-z0-9-]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) throw new ApiFailure('AuthFailure.InvalidAuthorization', 'Authorization header format is invalid: want TC3-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...');
    const [, secretId, date, service, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string];
    const timestamp = Number(req.headers['x-tc-timestamp']);
    if (!Number.isInteger(timestamp)) throw new ApiFailure('MissingParameter', 'The request is missing a required parameter `X-TC-Timestamp`.');
    if (Math.abs(Date.now() / 1000 - timestamp) > this.skewSeconds) throw new ApiFailure('AuthFailure.SignatureExpire', 'Signature expired. Timestamp is off by more than 5 minutes.');
    if (new Date(timestamp * 1000).toISOString().slice(0, 10) !== date) throw new ApiFailure('AuthFailure.SignatureFailure', 'The provided credentials could not be validated: the credential date is not the date of X-TC-Timestamp.');
    if (service !== SERVICE) throw new ApiFailure('AuthFailure.SignatureFailure', `The provided credentials could not be validated: the credential scope names service \`${service}\`, this is \`${SERVICE}\`.`);
    const names = signedHeaders.split(';');
    if (!names.includes('content-type') || !names.includes('host')) throw new ApiFailure('AuthFailure.InvalidAuthorization', 'SignedHeaders must include content-type and host.');
    if (secretId !== this.secretId) throw new ApiFailure('AuthFailure.SecretIdNotFound', 'The SecretId is not found, please ensure that your SecretId is correct.');
    const headerValue = (name: string): string => {
      const raw = req.headers[name];
      const v = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().toLowerCase();
      return name === 'host' ? v.replace(/:\d+$/, '') : v;
    };
    const canonicalHeaders = names.map((n) => `${n}:${headerValue(n)}\n`).join('');
    const canonicalRequest = ['POST', '/', '', canonicalHeaders, signedHeaders, sha256hex(body)].join('\n');
    const stringToSign = ['TC3-HMAC-SHA256', String(timestamp), `${date}/${service}/tc3_request`, sha256hex(canonicalRequest)].join('\n');
    const kDate = hmac(`TC3${this.secretKey}`, date);
    const kService = hmac(kDate, service);
    const kSigning = hmac(kService, 'tc3_request');
    const expected = createHmac('sha256', kSigning).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
      throw new ApiFailure('AuthFailure.SignatureFailure', 'The provided credentials could not be validated. Please check your signature is correct.');
    }
  }

  private dispatch(action: string, params: Record<string, unknown>): Record<string, unknown> {
    switch (action) {
      case 'DescribeRouteTables':
        return this.describeRouteTables(params);
      case 'CreateRoutes':
        return this.createRoutes(params);
      case 'DeleteRoutes':
        return this.deleteRoutes(params);
      default:
        throw new ApiFailure('InvalidAction', `The requested action \`${action}\` is not served by this stand-in.`);
    }
  }

  private tableView(t: Table): Record<string, unknown> {
    return {
      VpcId: t.VpcId,
      RouteTableId: t.RouteTableId,
      RouteTableName: 'default',
      AssociationSet: [],
      RouteSet: t.routes.map((r) => ({ ...r })),
      Main: true,
      CreatedTime: '2026-01-01 00:00:00',
      TagSet: [],
      LocalCidrForCcn: [],
    };
  }

  private findTable(params: Record<string, unknown>): Table {
    const id = params['RouteTableId'];
    if (typeof id !== 'string' || id === '') throw new ApiFailure('MissingParameter', 'The request is missing a required parameter `RouteTableId`.');
    if (!/^rtb-[0-9a-z]{8}$/.test(id)) throw new ApiFailure('InvalidParameterValue.Malformed', `The parameter value \`${id}\` of RouteTableId is malformed.`);
    const t = this.tables.find((x) => x.RouteTableId === id);
    if (!t) throw new ApiFailure('ResourceNotFound', `The resource \`${id}\` does not exist.`);
    return t;
  }

  /**
   * [DRT]: RouteTableIds (exact IDs: an unknown one is ResourceNotFound) or Filters
   * (vpc-id, route-table-id: no match is an empty set), not both; Offset/Limit (default 20).
   */
  private describeRouteTables(params: Record<string, unknown>): Record<string, unknown> {
    const ids = params['RouteTableIds'];
    const filters = params['Filters'];
    if (ids !== undefined && filters !== undefined) throw new ApiFailure('InvalidParameter.Coexist', 'The parameters RouteTableIds and Filters cannot be specified at the same time.');
    let found = this.tables;
    if (Array.isArray(ids)) {
      found = ids.map((id) => {
        const t = this.tables.find((x) => x.RouteTableId === id);
        if (!t) throw new ApiFailure('ResourceNotFound', `The resource \`${String(id)}\` does not exist.`);
        return t;
      });
    } else if (Array.isArray(filters)) {
      for (const f of filters as { Name?: unknown; Values?: unknown }[]) {
        const values = Array.isArray(f.Values) ? f.Values.map(String) : [];
        if (f.Name === 'vpc-id') found = found.filter((t) => values.includes(t.VpcId));
        else if (f.Name === 'route-table-id') found = found.filter((t) => values.includes(t.RouteTableId));
        else throw new ApiFailure('InvalidParameterValue', `The filter name \`${String(f.Name)}\` is not supported.`);
      }
    }
    const offset = Number(params['Offset'] ?? 0);
    const limit = Number(params['Limit'] ?? 20);
    return { TotalCount: found.length, RouteTableSet: found.slice(offset, offset + limit).map((t) => this.tableView(t)) };
  }

  /**
   * [CR]: adds Routes to RouteTableId. Each needs a valid DestinationCidrBlock, a known
   * GatewayType and a GatewayId; a destination already routed is InvalidParameterValue.Duplicate;
   * more routes than the table's quota is LimitExceeded [QUOTA]. All or nothing.
   */
  private createRoutes(params: Record<string, unknown>): Record<string, unknown> {
    const table = this.findTable(params);
    const routes = params['Routes'];
    if (!Array.isArray(routes) || routes.length === 0) throw new ApiFailure('MissingParameter', 'The request is missing a required parameter `Routes`.');
    const wanted = routes as Partial<TencentStandinRoute>[];
    for (const r of wanted) {
      if (typeof r.DestinationCidrBlock !== 'string' || !validCidr(r.DestinationCidrBlock)) {
        throw new ApiFailure('InvalidParameterValue.Malformed', `The parameter value \`${String(r.DestinationCidrBlock)}\` of DestinationCidrBlock is malformed.`);
      }
      if (typeof r.GatewayType !== 'string' || !GATEWAY_TYPES.has(r.GatewayType)) throw new ApiFailure('InvalidParameterValue', `The GatewayType \`${String(r.GatewayType)}\` is not supported.`);
      if (typeof r.GatewayId !== 'string' || r.GatewayId === '') throw new ApiFailure('MissingParameter', 'The request is missing a required parameter `GatewayId`.');
      if (table.routes.some((x) => x.DestinationCidrBlock === r.DestinationCidrBlock)) {
        throw new ApiFailure('InvalidParameterValue.Duplicate', `The destination \`${r.DestinationCidrBlock}\` is already routed in \`${table.RouteTableId}\`.`);
      }
    }
    if (table.routes.length + wanted.length > this.quota) {
      throw new ApiFailure('LimitExceeded', `The number of routes of route table \`${table.RouteTableId}\` would exceed its quota of ${this.quota}.`);
    }
    for (const r of wanted) this.addRoute(table, r, 'USER');
    return { TotalCount: wanted.length, RouteTableSet: [this.tableView(table)] };
  }

  /** [DR]: deletes Routes (by RouteId, or RouteItemId) from RouteTableId; an unknown route is ResourceNotFound; all or nothing. */
  private deleteRoutes(params: Record<string, unknown>): Record<string, unknown> {
    const table = this.findTable(params);
    const routes = params['Routes'];
    if (!Array.isArray(routes) || routes.length === 0) throw new ApiFailure('MissingParameter', 'The request is missing a required parameter `Routes`.');
    const hits = (routes as { RouteId?: unknown; RouteItemId?: unknown }[]).map((r) => {
      const hit = table.routes.find((x) => (r.RouteId !== undefined && x.RouteId === Number(r.RouteId)) || (r.RouteItemId !== undefined && x.RouteItemId === r.RouteItemId));
      if (!hit) throw new ApiFailure('ResourceNotFound', `The route \`${String(r.RouteId ?? r.RouteItemId)}\` does not exist in \`${table.RouteTableId}\`.`);
      if (hit.RouteType !== 'USER') throw new ApiFailure('UnsupportedOperation.SystemRoute', `The route \`${hit.RouteId}\` is a system route and cannot be deleted.`);
      return hit;
    });
    table.routes = table.routes.filter((x) => !hits.includes(x));
    return { RouteSet: hits.map((r) => ({ ...r })) };
  }

  // ---------------------------------------------------------------- control listener

  control(req: IncomingMessage, res: ServerResponse): void {
    void readBody(req).then((buf) => {
      let body: Record<string, unknown> = {};
      try {
        body = buf.length > 0 ? (JSON.parse(buf.toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        sendJson(res, 400, { error: 'body is not JSON' });
        return;
      }
      const route = `${req.method} ${req.url}`;
      const table = this.tables[0];
      switch (route) {
        case 'GET /state':
          sendJson(res, 200, this.state());
          return;
        case 'POST /fault': {
          const count = Number(body['count'] ?? 1);
          const kind = body['kind'];
          if (kind === 'throttle') this.throttle = count;
          else if (kind === 'internal') this.internal = count;
          else if (kind === 'http5xx') this.http5xx = count;
          else if (kind === 'outage') this.outageUntil = this.now() + Number(body['ms'] ?? 0);
          else if (kind === 'clear') this.throttle = this.internal = this.http5xx = this.outageUntil = 0;
          else {
            sendJson(res, 400, { error: `unknown fault kind ${JSON.stringify(kind)}` });
            return;
          }
          sendJson(res, 200, { ok: true });
          return;
        }
        case 'POST /quota':
          this.quota = Number(body['limit']);
          sendJson(res, 200, { ok: true });
          return;
        case 'POST /routes/delete': {
          if (!table) break;
          const before = table.routes.length;
          table.routes = table.routes.filter((r) => r.DestinationCidrBlock !== body['destination']);
          sendJson(res, 200, { deleted: before - table.routes.length });
          return;
        }
        case 'POST /routes/add':
          if (!table) break;
          sendJson(res, 200, this.addRoute(table, body as Partial<TencentStandinRoute>, 'USER'));
          return;
        case 'POST /tables/delete':
          this.tables = [];
          sendJson(res, 200, { ok: true });
          return;
      }
      sendJson(res, 404, { error: `no control ${route}` });
    });
  }
}

export const createStandin: StandinFactory = (options) => new TencentStandin(options);
