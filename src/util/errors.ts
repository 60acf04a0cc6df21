/** Errors a user can act on. The CLI prints their message (never a stack) and exits with `exitCode`. */

export const EXIT = { ok: 0, stageFailed: 1, invalid: 2, interrupted: 130 } as const;

export class UserError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.invalid) {
    super(message);
    this.name = 'UserError';
  }
}

/** A problem in the pipeline file, located at file:line:col when the position is known. */
export class PipelineError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly col: number | undefined,
    readonly detail: string,
  ) {
    super(`${formatLocation(file, line, col)}: ${detail}`, EXIT.invalid);
    this.name = 'PipelineError';
  }
}

export function formatLocation(file: string, line?: number, col?: number): string {
  if (line === undefined) return file;
  return col === undefined ? `${file}:${line}` : `${file}:${line}:${col}`;
}

/** Several located problems reported at once. */
export class PipelineErrors extends UserError {
  constructor(readonly errors: PipelineError[]) {
    super(errors.map((e) => e.message).join('\n'), EXIT.invalid);
    this.name = 'PipelineErrors';
  }
}
