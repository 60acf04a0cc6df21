/** The one error type of the fetch stages: a message a user can act on, never a stack, never the token. */
import { EXIT, UserError } from '../util/errors.js';

export class FetchError extends UserError {
  /** true when the fetch stopped because its AbortSignal fired (Ctrl-C) */
  readonly interrupted: boolean;
  constructor(message: string, opts: { interrupted?: boolean } = {}) {
    super(message, opts.interrupted ? EXIT.interrupted : EXIT.stageFailed);
    this.name = 'FetchError';
    this.interrupted = opts.interrupted ?? false;
  }
}

/** Replace every occurrence of the secret in a text; a defensive second line behind "never put it there". */
export function redact(text: string, secret: string | undefined): string {
  if (!secret || secret.length < 4) return text;
  return text.split(secret).join('***');
}

export function describeCause(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    const code = cause && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : '';
    const inner = cause instanceof Error ? cause.message : '';
    return [err.message, code, inner].filter(Boolean).join(': ');
  }
  return String(err);
}
