// prepack/postpack (PACKAGING.md §3): make the tarball build outside the repo.
// pre: copy core into vendor/goro-core, give both manifests concrete values for the
//      workspace-inherited fields, point the path dependency at the copy, make the package
//      its own workspace, and copy the root Cargo.lock. post: put the originals back.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const root = path.resolve(here, '../..');
const manifest = path.join(here, 'Cargo.toml');
const saved = path.join(here, '.Cargo.toml.orig');
const vendor = path.join(here, 'vendor');

function workspaceValues() {
  const out = execFileSync('cargo', ['metadata', '--no-deps', '--format-version', '1'], { cwd: root, encoding: 'utf8' });
  const pkg = JSON.parse(out).packages.find((p) => p.name === 'goro-core');
  return { version: pkg.version, edition: pkg.edition, license: pkg.license, 'rust-version': pkg.rust_version };
}

// The workspace's lints, for a manifest that is its own workspace: the compiler's only (the
// clippy ones matter to `make test`, not to a user's build).
const LINTS = '[lints.rust]\nunsafe_op_in_unsafe_fn = "deny"\nunexpected_cfgs = { level = "warn", check-cfg = [\'cfg(loom)\'] }';

function concrete(text, vals) {
  return text
    .replace(/^(version|edition|license|rust-version)\.workspace\s*=\s*true$/gm, (_, k) => `${k} = ${JSON.stringify(vals[k])}`)
    .replace(/^\[lints\]\nworkspace\s*=\s*true$/m, LINTS);
}

if (process.argv[2] === 'pre') {
  const vals = workspaceValues();
  fs.rmSync(vendor, { recursive: true, force: true });
  fs.mkdirSync(vendor);
  fs.cpSync(path.join(root, 'core'), path.join(vendor, 'goro-core'), {
    recursive: true,
    filter: (src) => !src.includes(`${path.sep}target`),
  });
  const coreToml = path.join(vendor, 'goro-core', 'Cargo.toml');
  fs.writeFileSync(coreToml, concrete(fs.readFileSync(coreToml, 'utf8'), vals));
  const orig = fs.readFileSync(manifest, 'utf8');
  fs.writeFileSync(saved, orig);
  let m = concrete(orig, vals).replace('path = "../../core"', 'path = "vendor/goro-core"');
  m += '\n[workspace]\n\n[profile.release]\ndebug = 0\n';
  fs.writeFileSync(manifest, m);
  fs.copyFileSync(path.join(root, 'Cargo.lock'), path.join(here, 'Cargo.lock'));
} else if (process.argv[2] === 'post') {
  if (fs.existsSync(saved)) fs.renameSync(saved, manifest);
  fs.rmSync(vendor, { recursive: true, force: true });
  fs.rmSync(path.join(here, 'Cargo.lock'), { force: true });
} else {
  console.error('usage: node scripts/pack.mjs pre|post');
  process.exit(2);
}
