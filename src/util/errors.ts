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

/** What the system said when a write (or a read) of pipe's own files failed, in words. */
const STORAGE_FAILURES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EFBIG: 'file too large',
  EIO: 'input/output error',
};

/** A filesystem error the user can act on (free space, fix permissions), not a bug of pipe. */
export function isStorageFailure(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code in STORAGE_FAILURES && !(err instanceof StorageError);
}

/** `what: no space left on device (ENOSPC)`: what could not be written and where, then why. */
export class StorageError extends UserError {
  readonly code: string;

  constructor(what: string, cause: NodeJS.ErrnoException) {
    super(`${what}: ${STORAGE_FAILURES[cause.code ?? ''] ?? cause.message} (${cause.code})`, EXIT.stageFailed);
    this.name = 'StorageError';
    this.code = cause.code ?? '';
  }
}

/** A storage failure reported with the path the system names (relative to the current folder). */
export function storageErrorOf(err: NodeJS.ErrnoException): StorageError {
  const where = err.path ? relativeToCwd(err.path) : undefined;
  const verb = /^(read|scandir|stat|lstat|open)$/.test(err.syscall ?? '') && err.code === 'EACCES' ? 'access' : 'write';
  return new StorageError(where ? `could not ${verb} ${where}` : `could not ${verb} to disk`, err);
}

function relativeToCwd(p: string): string {
  const cwd = process.cwd();
  return p.startsWith(cwd + '/') ? p.slice(cwd.length + 1) : p;
}
