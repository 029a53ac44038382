/**
 * The benchmark scenarios, by name, in the order `run.js` runs them by default. Explicit: a
 * new scenario is one file under scenarios/ and one line here.
 */
import type { Scenario } from './scenario.js';
import { rssIdle } from './scenarios/rss-idle.js';
import { startup3 } from './scenarios/startup-3.js';
import { startup5000 } from './scenarios/startup-5000.js';

export const SCENARIOS: readonly Scenario[] = [startup3, startup5000, rssIdle];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
