/**
 * `cache.link`: how a file's content gets between the workspace and the object store.
 *   reflink   a clone sharing the disk blocks until either side is written (btrfs, XFS, APFS...);
 *             where the filesystem cannot clone, a copy, said once
 *   hardlink  one inode under two names, made read-only so an in-place edit fails (EACCES) instead of
 *             altering the store; executables and cross-device pairs are copied (said once)
 *   copy      an independent copy
 * Without `cache.link`: a clone where the filesystem can, else a copy, silently.
 */
import { constants } from 'node:fs';
import { chmod, copyFile, link, stat } from 'node:fs/promises';

export const LINK_MODES = ['reflink', 'hardlink', 'copy'] as const;
export type LinkMode = (typeof LINK_MODES)[number];

/** read-only for everyone: what a hardlinked output and every stored object are */
export const READ_ONLY = 0o444;

/** errno codes by which a filesystem says it cannot clone a file (or not between these two places) */
const NO_CLONE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'ENOSYS', 'ENOTTY']);
/** errno codes by which link(2) says it cannot link these two names (another filesystem, too many links, not allowed) */
const NO_LINK = new Set(['EXDEV', 'EMLINK', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP']);

export type Placed = 'linked' | 'copied';

/** Puts a file's content under a new name in the configured way; says each fallback once per process. */
export class FilePlacer {
  private readonly said = new Set<string>();

  constructor(readonly mode: LinkMode | undefined, private readonly notice: (text: string) => void) {}

  get hardlinks(): boolean {
    return this.mode === 'hardlink';
  }

  /**
   * Makes `dest` (a name that must not exist) hold the content of `src`. 'linked': dest is src's inode, made
   * read-only; 'copied': dest is a file of its own (a clone or a copy) whose mode the caller sets.
   * `linkable` false (an executable, a file with other names) copies even in hardlink mode.
   */
  async place(src: string, dest: string, linkable: boolean): Promise<Placed> {
    if (this.mode === 'hardlink' && linkable && (await this.tryLink(src, dest))) return 'linked';
    await this.copy(src, dest);
    return 'copied';
  }

  /** Links dest to src (read-only); false, having said why once, when the filesystem refuses. */
  async tryLink(src: string, dest: string): Promise<boolean> {
    try {
      await link(src, dest);
    } catch (err) {
      const code = codeOf(err);
      if (!code || !NO_LINK.has(code)) throw err;
      this.sayOnce(`link-${code}`, `pipe: cache.link: hardlink: cannot hardlink ${code === 'EXDEV' ? 'between .pipe/cache and an output on another filesystem' : `here (${code})`}; copying those files instead`);
      return false;
    }
    // a chmod that changes nothing would still change the ctime, and with it every stat key of the inode
    if (((await stat(dest)).mode & 0o7777) !== READ_ONLY) await chmod(dest, READ_ONLY);
    return true;
  }

  private async copy(src: string, dest: string): Promise<void> {
    if (this.mode === 'copy' || this.mode === 'hardlink') return copyFile(src, dest, constants.COPYFILE_EXCL);
    if (this.mode === undefined) return copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    try {
      await copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
    } catch (err) {
      const code = codeOf(err);
      if (!code || !NO_CLONE.has(code)) throw err;
      this.sayOnce(`clone-${code}`, `pipe: cache.link: reflink: this filesystem cannot ${code === 'EXDEV' ? 'clone between .pipe/cache and an output on another filesystem' : `clone files (${code}; ext4 and overlayfs cannot, btrfs and XFS can)`}; copying instead (cache.link: hardlink shares one read-only file)`);
      await copyFile(src, dest, constants.COPYFILE_EXCL);
    }
  }

  private sayOnce(key: string, text: string): void {
    if (this.said.has(key)) return;
    this.said.add(key);
    this.notice(text);
  }
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
