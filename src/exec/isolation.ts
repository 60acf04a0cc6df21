/** Network isolation for stages: a fresh network namespace (`unshare --net`), where the platform allows it. */
import { spawnSync } from 'node:child_process';
import { UserError } from '../util/errors.js';

let checked: boolean | undefined;

/** Throws a clear error when stages cannot be cut off from the network here. */
export function requireNetworkIsolation(why: string): void {
  if (checked) return;
  if (process.platform !== 'linux') {
    throw new UserError(`${why} needs Linux network namespaces (unshare --net); this platform (${process.platform}) has none`);
  }
  const probe = spawnSync('unshare', ['--net', '--', 'true'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    const detail = probe.error ? (probe.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'unshare is not installed (apt-get install util-linux)' : probe.error.message : probe.stderr.trim().split('\n')[0];
    throw new UserError(`${why} needs 'unshare --net', which failed here: ${detail}. Run as root, or enable unprivileged user namespaces.`);
  }
  checked = true;
}
