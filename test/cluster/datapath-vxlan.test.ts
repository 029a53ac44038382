/**
 * End-to-end data path of the vxlan backend, plain and with DirectRouting, over IPv4, IPv6 only
 * and dual stack (see datapath-scenario.ts for what each suite checks). Needs root.
 */
import { describeDatapath } from './datapath-scenario.js';

describeDatapath({ backend: 'vxlan', mode: 'v4' }, { iperf: true });
describeDatapath({ backend: 'vxlan', mode: 'v6' });
describeDatapath({ backend: 'vxlan', mode: 'dual' });
describeDatapath({ backend: 'vxlan', directRouting: true, mode: 'v4' }, { iperf: true });
describeDatapath({ backend: 'vxlan', directRouting: true, mode: 'v6' });
describeDatapath({ backend: 'vxlan', directRouting: true, mode: 'dual' });
