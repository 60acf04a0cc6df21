/** `svg`/`png`: the DOT source run through Graphviz (`dot`), argv only, no shell. */
import { execa } from 'execa';
import { UserError } from '../util/errors.js';

const INSTALL_HINT =
  'Graphviz is needed for --format svg/png but `dot` was not found. Install it with `apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` (macOS), or use --format dot|mermaid|html.';

export async function runGraphviz(dot: string, format: 'svg' | 'png', command = 'dot'): Promise<Buffer> {
  try {
    const result = await execa(command, [`-T${format}`], { input: dot, encoding: 'buffer', stripFinalNewline: false });
    return Buffer.from(result.stdout);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') throw new UserError(INSTALL_HINT, 1);
    const stderr = (error as { stderr?: Uint8Array }).stderr;
    throw new UserError(`Graphviz failed to render the graph: ${stderr ? Buffer.from(stderr).toString().trim() : String(error)}`, 1);
  }
}
