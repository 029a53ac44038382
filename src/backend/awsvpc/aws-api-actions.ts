/**
 * Every EC2 API action the aws-vpc backend calls, as IAM names them: the README's IAM policy
 * lists exactly these (a unit test compares the two). Instance identity, region, ENI, subnet
 * and VPC come from the instance metadata service, which needs no permission.
 */
export const AWS_VPC_API_ACTIONS = [
  // Turns off the ENI's source/destination check, as flannel did (a failure is only a warning).
  'ec2:ModifyNetworkInterfaceAttribute',
  // Lists each table, and finds the table of the instance's subnet (or the VPC's main one) when RouteTableID is not set.
  'ec2:DescribeRouteTables',
  'ec2:CreateRoute',
  // When CreateRoute answers RouteAlreadyExists (the destination points elsewhere).
  'ec2:ReplaceRoute',
  'ec2:DeleteRoute',
] as const;

export type AwsVpcApiAction = (typeof AWS_VPC_API_ACTIONS)[number];
