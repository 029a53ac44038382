import { ConfigError } from '../../errors.js';

/** The aws-vpc backend's options, as flannel documented them. */
export interface AwsVpcConfig {
  /** `RouteTableID` (one ID or a list); undefined = discover the table of the instance's subnet, else the VPC's main table. */
  readonly routeTableIds: readonly string[] | undefined;
}

/** A VPC route table ID as EC2 makes them: `rtb-` and 8 or 17 hex digits (any length accepted). */
const TABLE_ID = /^rtb-[0-9a-f]{1,32}$/;

function tableId(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new ConfigError(field, v, 'must be a route table ID string (rtb-...) or a list of them');
  if (!TABLE_ID.test(v)) throw new ConfigError(field, v, 'is not a VPC route table ID (want rtb- followed by hex digits, e.g. rtb-0123456789abcdef0)');
  return v;
}

/** Parses the `Backend` object of a `"Type": "aws-vpc"` config; errors name `Backend.RouteTableID` and the value. */
export function parseAwsVpcConfig(raw: Readonly<Record<string, unknown>>): AwsVpcConfig {
  const v = raw['RouteTableID'];
  if (v === undefined || v === null) return Object.freeze({ routeTableIds: undefined });
  if (Array.isArray(v)) {
    if (v.length === 0) throw new ConfigError('Backend.RouteTableID', v, 'is an empty list (omit it to discover the route table)');
    const ids = v.map((x, i) => tableId(x, `Backend.RouteTableID[${i}]`));
    const dup = ids.find((id, i) => ids.indexOf(id) !== i);
    if (dup !== undefined) throw new ConfigError('Backend.RouteTableID', v, `lists ${dup} twice`);
    return Object.freeze({ routeTableIds: Object.freeze(ids) });
  }
  return Object.freeze({ routeTableIds: Object.freeze([tableId(v, 'Backend.RouteTableID')]) });
}
