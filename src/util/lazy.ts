/**
 * Libraries loaded on first use, so an up-to-date run does not pay for modules it never calls
 * (a no-op of a big pipeline must stay close to Node's own start-up time).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Picomatch = typeof import('picomatch');
type Tinyglobby = typeof import('tinyglobby');

let picomatchModule: Picomatch | undefined;
let tinyglobbyModule: Tinyglobby | undefined;

export function picomatch(): Picomatch {
  return (picomatchModule ??= require('picomatch') as Picomatch);
}

export function globSync(pattern: string, options: import('tinyglobby').GlobOptions): string[] {
  tinyglobbyModule ??= require('tinyglobby') as Tinyglobby;
  return tinyglobbyModule.globSync(pattern, options);
}
