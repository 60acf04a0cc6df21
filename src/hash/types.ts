export interface TreeEntry {
  /** POSIX path relative to the folder */
  path: string;
  hash: string;
  size: number;
  exec: boolean;
}

export interface PathHash {
  kind: 'file' | 'dir' | 'missing';
  /** file: content digest; dir: digest over sorted (relpath, exec bit, file hash); missing: '' */
  hash: string;
  /** total bytes */
  size: number;
  /** file only: the owner exec bit, so a restore can bring it back (not part of `hash`) */
  exec?: boolean;
  /** dir only: every regular file below (symlinks followed), sorted by path */
  entries?: TreeEntry[];
}
