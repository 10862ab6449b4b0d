// The sandbox ("pause") image, built here because no registry is reachable: a tiny static C program packed as
// an OCI image layout tarball that `ctr images import` accepts under the name localhost/pause:3.9.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PAUSE_IMAGE = 'localhost/pause:3.9';

const PAUSE_C = `#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
static void stop(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGINT, stop);
  signal(SIGTERM, stop);
  signal(SIGCHLD, reap);
  for (;;) pause();
}
`;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Builds (once per cache dir) and returns the path of pause-oci.tar. */
export function buildPauseImage(cacheDir: string): string {
  const out = join(cacheDir, 'pause-oci.tar');
  if (existsSync(out)) return out;
  const work = join(cacheDir, `pause-build-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, 'rootfs'), { recursive: true });
  mkdirSync(join(work, 'oci', 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(work, 'pause.c'), PAUSE_C);
  execFileSync('gcc', ['-static', '-O2', '-o', join(work, 'rootfs', 'pause'), join(work, 'pause.c')]);
  execFileSync('tar', [
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-C',
    join(work, 'rootfs'),
    '-cf',
    join(work, 'layer.tar'),
    'pause',
  ]);
  const layer = readFileSync(join(work, 'layer.tar'));
  const blob = (b: Buffer): string => {
    const d = sha(b);
    writeFileSync(join(work, 'oci', 'blobs', 'sha256', d), b);
    return d;
  };
  const layerDigest = blob(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/pause'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    }),
  );
  const configDigest = blob(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${configDigest}`,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: `sha256:${layerDigest}`,
          size: layer.length,
        },
      ],
    }),
  );
  const manifestDigest = blob(manifest);
  writeFileSync(join(work, 'oci', 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(work, 'oci', 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${manifestDigest}`,
          size: manifest.length,
          annotations: {
            'io.containerd.image.name': PAUSE_IMAGE,
            'org.opencontainers.image.ref.name': '3.9',
          },
        },
      ],
    }),
  );
  execFileSync('tar', ['-C', join(work, 'oci'), '-cf', `${out}.tmp`, 'oci-layout', 'index.json', 'blobs']);
  renameSync(`${out}.tmp`, out);
  rmSync(work, { recursive: true, force: true });
  return out;
}
