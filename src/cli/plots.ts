/** pipe plots: placeholder until the plots page lands. */
import type { GlobalOptions } from './options.js';
export async function plotsCommand(_words: string[], _opts: { set: string[]; output?: string }, _globals: GlobalOptions): Promise<void> {
  throw new Error('not yet');
}
