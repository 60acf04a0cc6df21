/** The `.pipe/` folder: created in one place, with a `.gitignore` so a user's repository never picks it up. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const ensured = new Set<string>();

/** Creates the state folder if needed and puts `.gitignore` (`*`) in it when it has none. */
export function ensureStateDir(stateDir: string): void {
  if (ensured.has(stateDir)) return;
  mkdirSync(stateDir, { recursive: true });
  const ignore = path.join(stateDir, '.gitignore');
  if (!existsSync(ignore)) writeFileSync(ignore, '# written by pipe: everything here is its state and cache\n*\n');
  ensured.add(stateDir);
}
