import { EXIT_FAILURE, type CtlCommand } from './ctl-context.js';

/** Placeholder until the subcommand lands. */
export const statusCommand: CtlCommand = (ctx) => {
  ctx.stderr('flannelctl: not implemented yet\n');
  return Promise.resolve(EXIT_FAILURE);
};
