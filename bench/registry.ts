/**
 * The benchmark scenarios, by name, in the order `run.js` runs them by default. Explicit: a
 * new scenario is one file under scenarios/ and one line here.
 */
import type { Scenario } from './scenario.js';
import { coldStartHostgw1000, coldStartHostgw5000, coldStartVxlan1000, coldStartVxlan5000 } from './scenarios/cold-start.js';
import { rssIdle } from './scenarios/rss-idle.js';
import { startup3 } from './scenarios/startup-3.js';
import { startup5000 } from './scenarios/startup-5000.js';
import { teardown5000 } from './scenarios/teardown-5000.js';
import { convergence } from './scenarios/convergence.js';
import { throughputHostgw, throughputVxlan } from './scenarios/throughput.js';
import { idle5000 } from './scenarios/idle-5000.js';
import { cniLatency } from './scenarios/cni-latency.js';
import { kubeRss } from './scenarios/kube-rss.js';
import { wireguardPeers1000, wireguardPeers5000 } from './scenarios/wireguard-peers.js';
import { wireguardThroughput } from './scenarios/wireguard-throughput.js';
import { wireguardConvergence } from './scenarios/wireguard-convergence.js';
import { udpThroughput } from './scenarios/udp-throughput.js';

export const SCENARIOS: readonly Scenario[] = [
  startup3,
  startup5000,
  rssIdle,
  coldStartVxlan1000,
  coldStartVxlan5000,
  coldStartHostgw1000,
  coldStartHostgw5000,
  teardown5000,
  convergence,
  throughputVxlan,
  throughputHostgw,
  idle5000,
  cniLatency,
  kubeRss,
  wireguardPeers1000,
  wireguardPeers5000,
  wireguardThroughput,
  wireguardConvergence,
  udpThroughput,
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
