#!/usr/bin/env node
// Builds the prebuilt binary that the package ships (`npm run build:prebuild`; `npm pack` runs it as
// `prepack`): the N-API addon for this platform and architecture, CPU only (CUDA off: the portable
// binary must not depend on a CUDA toolkit version; a CUDA build is a build from source), no C++
// tests, baseline x86-64 with the AVX2/AVX-512 kernels chosen at run time (never -march=native),
// stripped. The C++ runtime (libstdc++) stays a shared library: linking it statically would pull in
// newer glibc symbols (arc4random, glibc 2.36) and raise the glibc the binary needs.
//
// The build runs in build-prebuild/ (so it never disturbs the development build in build/) with the
// same CMakeLists.txt and cmake-js as a build from source. The result goes where node-gyp-build looks,
// named as prebuildify names N-API builds:
//   prebuilds/<platform>-<arch>/simsage.napi[.glibc|.musl].node
// (prebuildify itself drives only node-gyp, whose `rebuild` would download Node's headers from
// nodejs.org; cmake-js takes the N-API headers from the node-api-headers package instead).
//
// Environment: SIMSAGE_SKIP_PREBUILD=1 does nothing (a source-only tarball).
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))

if (process.env.SIMSAGE_SKIP_PREBUILD === '1') {
  console.log('simsage prebuild: SIMSAGE_SKIP_PREBUILD=1, no prebuilt binary made')
  process.exit(0)
}

/** glibc or musl, as node-gyp-build tells them apart (Linux only). */
function libc() {
  if (process.platform !== 'linux') return undefined
  const header = /** @type {{ glibcVersionRuntime?: string }} */ (process.report.getReport().header)
  return header.glibcVersionRuntime ? 'glibc' : 'musl'
}

function run(cmd, args) {
  console.log(`simsage prebuild: ${cmd} ${args.join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (r.error) throw r.error
  if (r.status !== 0) {
    console.error(`simsage prebuild: ${cmd} exited with ${r.status}`)
    process.exit(r.status ?? 1)
  }
}

const started = Date.now()
const out = 'build-prebuild'
const cmakeArgs = ['--CDSIMSAGE_CUDA=off', '--CDSIMSAGE_TESTS=OFF', '--CDCMAKE_BUILD_TYPE=Release']
const cmakeJs = require.resolve('cmake-js/bin/cmake-js')
const jobs = String(Math.max(1, cpus().length))
// `configure` first: `cmake-js build` alone keeps an existing build-prebuild/ cache and its options.
run(process.execPath, [cmakeJs, 'configure', '--out', out, ...cmakeArgs])
run(process.execPath, [cmakeJs, 'build', '--out', out, '--parallel', jobs, ...cmakeArgs])

const built = join(root, out, 'Release', 'simsage.node')
const tuple = `${process.platform}-${process.arch}`
const dir = join(root, 'prebuilds', tuple)
const name = ['simsage', 'napi', libc()].filter(Boolean).join('.')
const dest = join(dir, `${name}.node`)
rmSync(dir, { recursive: true, force: true })
mkdirSync(dir, { recursive: true })
copyFileSync(built, dest)
if (process.platform === 'linux' || process.platform === 'darwin') {
  const strip = spawnSync('strip', process.platform === 'darwin' ? ['-Sx', dest] : ['--strip-all', dest])
  if (strip.status !== 0) console.log('simsage prebuild: strip not available, binary left unstripped')
}

// The binary must load in a fresh process; say which glibc and libstdc++ it needs.
const check = spawnSync(
  process.execPath,
  [
    '-e',
    `const b = require(${JSON.stringify(dest)}); const i = b.info(); console.log(i.simdBest + ', CUDA built: ' + i.cudaBuilt)`,
  ],
  { encoding: 'utf8' },
)
if (check.status !== 0) {
  console.error(`simsage prebuild: ${dest} does not load:\n${check.stderr}`)
  process.exit(1)
}
let needs = ''
const syms = spawnSync('objdump', ['-T', dest], { encoding: 'utf8' })
if (syms.status === 0) {
  for (const lib of ['GLIBC', 'GLIBCXX']) {
    const versions = [...syms.stdout.matchAll(new RegExp(`\\(${lib}_([0-9.]+)\\)`, 'g'))].map((m) =>
      m[1].split('.').map(Number),
    )
    const cmp = (a, b) => {
      for (let i = 0; i < Math.max(a.length, b.length); i++)
        if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0)
      return 0
    }
    const top = versions.sort(cmp).at(-1)
    if (top) needs += `, needs ${lib} >= ${top.join('.')}`
  }
}
const kib = (statSync(dest).size / 1024).toFixed(0)
console.log(
  `simsage prebuild: ${relative(root, dest)} (${kib} KiB${needs}; best SIMD here ${check.stdout.trim()}) in ` +
    `${((Date.now() - started) / 1000).toFixed(1)} s`,
)
