/** What every verb handler gets, and what it returns (the stdout document, if any). */
import type { CniEnv } from './cni-env.js';
import type { FlannelNetConf } from './net-conf.js';

export interface VerbContext {
  readonly conf: FlannelNetConf;
  readonly env: CniEnv;
  /** This process's environment, handed on to delegates. */
  readonly processEnv: NodeJS.ProcessEnv;
  readonly signal: AbortSignal;
  /** One line to stderr (the runtime's log); delegates' stderr goes there too. */
  readonly log: (line: string) => void;
  readonly stderr: (text: string) => void;
  /** When the plugin's main began, in ms since the process started (for the timing log line). */
  readonly startedMs?: number;
}

/** Resolves with the text for stdout (ADD's result), or undefined for verbs that print nothing. */
export type VerbHandler = (ctx: VerbContext) => Promise<string | undefined>;
