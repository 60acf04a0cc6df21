/** Paths a symlink leads out of the project: deps may lead into an `allow_outside` folder; outputs and logs never. */
import path from 'node:path';
import { isWithinFolder } from '../pipeline/paths.js';
import { escapeThroughSymlink } from '../util/containment.js';
import type { EngineContext } from './context.js';

export class EscapeError extends Error {}

export class EscapeCheck {
  private readonly linkMemo = new Map<string, string>();

  constructor(private readonly ctx: EngineContext) {}

  /** Throws EscapeError for a dep read through a symlink that leaves the project (and its allowed folders). */
  refuseReading(rel: string): void {
    const escaping = this.escaping([rel], true);
    if (escaping.length) throw new EscapeError(escapeMessage(escaping));
  }

  /** The message for outputs or logs that a symlink leads out of the project, if any. */
  writing(paths: string[]): string | undefined {
    const escaping = this.escaping(paths, false);
    return escaping.length ? escapeMessage(escaping) : undefined;
  }

  private escaping(paths: string[], reading: boolean): string[] {
    const allowed = reading ? this.ctx.project.pipeline.allowOutside ?? [] : [];
    return paths.flatMap((p) => {
      if (reading && path.isAbsolute(p)) return []; // an allow_outside dep, checked when the pipeline was loaded
      const target = escapeThroughSymlink(this.ctx.project.root, p, this.linkMemo);
      if (target === undefined || allowed.some((dir) => isWithinFolder(dir, target))) return [];
      return [`'${p}' leads outside the project through a symlink (to ${target})`];
    });
  }
}

function escapeMessage(escaping: string[]): string {
  return `${escaping.join('; ')}: pipe only reads and writes inside the project`;
}
