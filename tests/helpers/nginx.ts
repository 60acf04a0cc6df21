/**
 * A real nginx serving WebDAV PUT/GET/HEAD on a free loopback port, in a scratch folder, as a team cache
 * (Bazel HTTP-cache layout: blobs/cas/..., blobs/ac/...). Started in the foreground and stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/** One nginx for the test file: started before its tests, stopped after them; call inside the test's module scope. */
export function nginxForThisFile(): () => Nginx {
  let nginx: Nginx | undefined;
  beforeAll(async () => {
    nginx = await startNginx();
  });
  afterAll(async () => {
    await nginx?.stop();
  });
  return () => nginx!;
}

/** The team-cache tests' pipeline: a folder output, a file read from it, a file after that (executable with `executable`). */
export function teamCachePipeline(executable = false): string {
  return `version: 1
stages:
  gen:
    cmd: sh -c 'mkdir -p data && echo one > data/a.txt && seq 1 60000 > data/big.bin && echo gen >> ran.log'
    deps: [input.txt]
    outs: [data]
  count:
    cmd: sh -c 'wc -c data/big.bin data/a.txt > count.txt && cat input.txt >> count.txt && echo count >> ran.log'
    deps: [data, input.txt]
    outs: [count.txt]
  tail:
    cmd: sh -c 'cat count.txt input.txt > final.txt${executable ? ' && chmod +x final.txt' : ''} && echo tail >> ran.log'
    deps: [count.txt]
    outs: [final.txt]
`;
}

export interface Nginx {
  url: string;
  port: number;
  /** the folder nginx serves: blobs live at `${root}/<prefix>/cas/<sha256>` */
  root: string;
  pid: number;
  stop(): Promise<void>;
  /** relative paths of everything stored under the served prefix */
  files(sub: 'cas' | 'ac'): string[];
  file(rel: string): string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

const PREFIX = 'pipe';

export async function startNginx(): Promise<Nginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'pipe-nginx-'));
  for (const d of ['blobs', 'tmp/body', 'tmp/p', 'tmp/f', 'tmp/u', 'tmp/s']) mkdirSync(path.join(dir, d), { recursive: true });
  const port = await freePort();
  writeFileSync(path.join(dir, 'nginx.conf'), `daemon off;
worker_processes 1;
user root;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/p; fastcgi_temp_path ${dir}/tmp/f; uwsgi_temp_path ${dir}/tmp/u; scgi_temp_path ${dir}/tmp/s;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/blobs;
    client_max_body_size 0;
    log_not_found off;
    location / { dav_methods PUT DELETE; create_full_put_path on; dav_access user:rw group:r all:r; }
  }
}
`);
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/${PREFIX}`;
  await waitUntilUp(url, child);
  const root = path.join(dir, 'blobs', PREFIX);
  let stopped = false;
  return {
    url,
    port,
    root,
    pid: child.pid!,
    async stop() {
      if (stopped) return;
      stopped = true;
      const exited = new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(child.pid!, 'SIGQUIT');
        } catch {
          /* already stopped (a test stopped it) */
        }
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
    files(sub) {
      try {
        return readdirSync(path.join(root, sub));
      } catch {
        return [];
      }
    },
    file(rel) {
      return path.join(root, rel);
    },
  };
}

async function waitUntilUp(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    try {
      await fetch(`${url}/`, { method: 'HEAD' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error('nginx did not start');
}
