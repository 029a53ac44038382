/**
 * Every Tencent Cloud VPC API 3.0 action flannel-ts's tencent-vpc backend calls, and nothing
 * else: the README's CAM policy lists exactly these (a unit test checks the two agree).
 */
export const TENCENT_VPC_API_ACTIONS = ['DescribeRouteTables', 'CreateRoutes', 'DeleteRoutes'] as const;

export type TencentVpcAction = (typeof TENCENT_VPC_API_ACTIONS)[number];

/** The VPC API's service name (in the endpoint, the CAM action prefix and the TC3 credential scope). */
export const TENCENT_VPC_SERVICE = 'vpc';
/** The VPC API version flannel's Go SDK client (vpc/v20170312) speaks. */
export const TENCENT_VPC_API_VERSION = '2017-03-12';
/**
 * flannel's Documentation/backends.md: "TencentCloud VPC limits the number of entries per route
 * table to 50". The API's own `LimitExceeded` answer is what flannel-ts acts on; this number is
 * what the error names.
 */
export const TENCENT_ROUTE_TABLE_LIMIT = 50;
/** flannel's route: the next hop is a CVM, named by its private IP (GatewayId). */
export const TENCENT_GATEWAY_TYPE = 'NORMAL_CVM';
