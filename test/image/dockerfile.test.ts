// The image is what tapper-image/Dockerfile says and what `make image` builds (no second
// recipe): make's command line builds that file with that tag; the image's history is the
// Dockerfile's last stage, instruction by instruction; its config is the stage's ENTRYPOINT,
// USER and WORKDIR; it holds today's dist/tapper.js; the runtime keeps only what docs/image.md
// lists (Node, the pcap addon, openssl, their shared libraries), no shell, no package manager,
// and stays within the 150 MB goal.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../cluster/paths.js';
import { CHECKOUT_IMAGE, VERSION, imageTestsSkip, listImage, podman, readFromImage } from './podman.js';

const skip = imageTestsSkip();
if (skip) process.stderr.write(`SKIPPING test/image/dockerfile.test.ts: ${skip}\n`);

const dockerfile = readFileSync(join(repoRoot, 'tapper-image', 'Dockerfile'), 'utf8');

/** The Dockerfile's instructions (continuations joined, comments dropped), stage by stage. */
function stages(): { from: string; instructions: { op: string; args: string }[] }[] {
  const lines = dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: { from: string; instructions: { op: string; args: string }[] }[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\S+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === 'FROM') out.push({ from: args!, instructions: [] });
    else out.at(-1)?.instructions.push({ op: op!.toUpperCase(), args: args! });
  }
  return out;
}

test('make image builds tapper-image/Dockerfile, tagged with the package version', () => {
  const r = spawnSync('make', ['-n', 'image'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const build = r.stdout.replace(/\\\n/g, ' ').split('\n').find((l) => /podman build /.test(l));
  assert.ok(build, `no podman build in make -n image:\n${r.stdout}`);
  assert.match(build, / -f tapper-image\/Dockerfile \.\s*$/);
  assert.match(build, new RegExp(` -t kubectl-tap/tapper:${VERSION.replace(/\./g, '\\.')} `));
  assert.match(build, new RegExp(` -t ${CHECKOUT_IMAGE} `), 'and the tag of this checkout, which the tests and the simulated kubelet run');
  assert.match(build, / --ignorefile tapper-image\/\.containerignore /);
  assert.match(build, / --pull=never /, 'the build never reaches a registry');
});

test('the Dockerfile has a build stage and a runtime stage from scratch', () => {
  const s = stages();
  assert.equal(s.length, 2);
  assert.match(s[0]!.from, /AS build$/);
  assert.equal(s[1]!.from, 'scratch');
  assert.ok(s[0]!.instructions.some((i) => i.op === 'RUN' && /libpcap-dev/.test(i.args)), 'the addon is built against libpcap-dev');
  assert.ok(s[0]!.instructions.some((i) => i.op === 'RUN' && /gcc .*capture\.c .*-lpcap .*-o \/rootfs\/app\/capture\.node/.test(i.args)), 'the addon is compiled into the runtime tree');
});

describe('the image make image built', { skip }, () => {
  test('its history is the Dockerfile\'s runtime stage, instruction by instruction', () => {
    const r = podman(['image', 'history', '--no-trunc', '--format', '{{.CreatedBy}}', CHECKOUT_IMAGE]);
    assert.equal(r.code, 0, `${r.stderr} (run \`make image\`)`);
    // newest first; buildah records each instruction as `/bin/sh -c #(nop) OP ARGS`
    const history = r.stdout.trim().split('\n').reverse().map((l) => l.replace(/^\/bin\/sh -c #\(nop\) /, ''));
    const runtime = stages()[1]!.instructions;
    const recorded = history.slice(-runtime.length);
    assert.deepEqual(recorded.map((l) => l.split(' ')[0]), runtime.map((i) => i.op));
    for (const [i, ins] of runtime.entries()) {
      if (ins.op === 'COPY') {
        // COPY is recorded by content digest and destination
        assert.equal(recorded[i]!.trim().split(' ').pop(), ins.args.trim().split(/\s+/).pop());
      } else if (ins.op === 'ARG') {
        assert.equal(recorded[i], `ARG ${ins.args.split('=')[0]}`); // recorded without its default
      } else if (ins.op !== 'LABEL') {
        assert.equal(recorded[i]!.replace(/\s+/g, ' ').trim(), `${ins.op} ${ins.args}`.replace(/\s+/g, ' ').trim());
      }
    }
  });

  test('its config: the ENTRYPOINT, USER and WORKDIR of the Dockerfile, the package version as label', () => {
    const r = podman(['image', 'inspect', '--format', '{{json .Config}}', CHECKOUT_IMAGE]);
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(r.stdout);
    const runtime = stages()[1]!.instructions;
    const value = (op: string) => runtime.find((i) => i.op === op)!.args;
    assert.deepEqual(config.Entrypoint, JSON.parse(value('ENTRYPOINT')));
    assert.equal(config.User, value('USER'));
    assert.equal(config.WorkingDir, value('WORKDIR'));
    assert.equal(config.Labels['org.opencontainers.image.version'], VERSION);
  });

  test('it holds the daemon dist/ holds now', () => {
    const inImage = readFromImage(CHECKOUT_IMAGE, 'app/tapper.js');
    assert.ok(inImage, 'no /app/tapper.js in the image');
    assert.ok(inImage.equals(readFileSync(join(repoRoot, 'dist', 'tapper.js'))), 'the image is older than dist/tapper.js: run `make image`');
  });

  test('the runtime keeps Node, the capture addon, openssl and their libraries: no shell, no package manager', () => {
    const files = listImage(CHECKOUT_IMAGE);
    for (const f of ['usr/local/bin/node', 'app/tapper.js', 'app/capture.node', 'usr/bin/openssl']) {
      assert.ok(files.includes(f), `${f} missing`);
    }
    for (const f of ['bin/sh', 'usr/bin/sh', 'bin/bash', 'usr/bin/apt-get', 'usr/bin/dpkg', 'usr/bin/gcc']) assert.ok(!files.includes(f), `${f} in the runtime`);
    const unexpected = files.filter((f) => !/^(app\/|usr\/lib\/x86_64-linux-gnu\/lib[^/]+\.so[.\d]*$|usr\/lib64\/ld-linux|usr\/local\/bin\/node$|usr\/bin\/openssl$|etc\/(passwd|group|ssl\/openssl\.cnf)$|usr\/lib\/ssl\/openssl\.cnf$|lib$|lib64$)/.test(f));
    assert.deepEqual(unexpected, [], 'files docs/image.md does not account for');
    assert.deepEqual(files.filter((f) => f.startsWith('app/')).sort(), ['app/capture.node', 'app/tapper.js'], 'the daemon and its addon, no node_modules');
  });

  test('it stays within the 150 MB goal', () => {
    const r = podman(['image', 'inspect', '--format', '{{.Size}}', CHECKOUT_IMAGE]);
    assert.equal(r.code, 0, r.stderr);
    const mb = Number(r.stdout.trim()) / 1e6;
    process.stderr.write(`image ${CHECKOUT_IMAGE}: ${mb.toFixed(1)} MB\n`);
    assert.ok(mb <= 150, `${mb.toFixed(1)} MB`);
  });
});
