#!/usr/bin/env node
// The native addon at install time (npm's `install` hook) and for development (`npm run build:native`).
//
// Install (no arguments): in an installed package (no .git at the package root) the prebuilt binary
// in prebuilds/<platform>-<arch>/ is used when it loads (N-API: one binary for every Node >= 20), and
// nothing is compiled. Otherwise, or when asked, the addon is built from source, without the C++
// tests. In a git checkout (the repository's own `npm install`) it always builds from source, tests
// included. `--force` (npm run build:native) builds from source with the tests.
//
// Building from source: CMake (through cmake-js) is preferred; when nvcc is on the PATH it compiles
// the CUDA sources too (SIMSAGE_CUDA). Without CMake, node-gyp builds the CPU-only addon from
// binding.gyp. Both read native/sources.json, so they compile the same files.
//
// Environment:
//   SIMSAGE_BUILD_FROM_SOURCE=1    build from source even when a prebuild loads (also
//                                  `npm rebuild simsage --build-from-source`, npm_config_build_from_source)
//   SIMSAGE_BUILD=cmake|gyp        force a builder
//   SIMSAGE_CUDA=auto|on|off       passed to CMake (default auto: CUDA when nvcc is found)
//   SIMSAGE_TESTS=ON|OFF           build the C++ tests (default ON in a git checkout or with --force)
//   SIMSAGE_SKIP_BUILD=1           do nothing
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))

if (process.env.SIMSAGE_SKIP_BUILD === '1') {
  console.log('simsage: SIMSAGE_SKIP_BUILD=1, not building the native addon')
  process.exit(0)
}

const force = process.argv.includes('--force')
const truthy = (v) => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false'
const fromSource =
  force || truthy(process.env.SIMSAGE_BUILD_FROM_SOURCE) || truthy(process.env.npm_config_build_from_source)
const checkout = existsSync(join(root, '.git'))

if (!fromSource && !checkout) {
  const found = loadExisting()
  if (found.ok) {
    console.log(
      `simsage: using ${found.path} (nothing compiled; \`SIMSAGE_BUILD_FROM_SOURCE=1 npm rebuild simsage\` ` +
        'builds from source)',
    )
    process.exit(0)
  }
  console.log(`simsage: ${found.why}; building from source`)
}

/** Finds the addon node-gyp-build would load (a prebuild, or an earlier build) and loads it. */
function loadExisting() {
  let path
  try {
    path = require('node-gyp-build').resolve(root)
  } catch (e) {
    return { ok: false, why: `no prebuilt binary for this machine (${e.message.split('\n')[0]})` }
  }
  try {
    require(path)
    return { ok: true, path: relative(root, path) }
  } catch (e) {
    return { ok: false, why: `${relative(root, path)} does not load here (${e.message.split('\n')[0]})` }
  }
}

/** SIMSAGE_CUDA and SIMSAGE_TESTS as an existing CMake cache holds them (lower case), or undefined. */
function cachedOptions(file) {
  if (!existsSync(file)) return undefined
  const text = readFileSync(file, 'utf8')
  const get = (name) => new RegExp(`^${name}:\\w+=(.*)$`, 'm').exec(text)?.[1].trim().toLowerCase()
  return { SIMSAGE_CUDA: get('SIMSAGE_CUDA'), SIMSAGE_TESTS: get('SIMSAGE_TESTS') }
}

function has(cmd, args = ['--version']) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' })
  return r.status === 0
}

function run(cmd, args) {
  console.log(`simsage: ${cmd} ${args.join(' ')}`)
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env })
  if (r.error) throw r.error
  return r.status ?? 1
}

const forced = process.env.SIMSAGE_BUILD
const useCmake = forced ? forced === 'cmake' : has('cmake')
const jobs = String(Math.max(1, cpus().length))
let status
if (useCmake) {
  const cuda = process.env.SIMSAGE_CUDA ?? 'auto'
  const tests = process.env.SIMSAGE_TESTS ?? (force || checkout ? 'ON' : 'OFF')
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js')
  const options = [`--CDSIMSAGE_CUDA=${cuda}`, `--CDSIMSAGE_TESTS=${tests}`]
  // `cmake-js build` keeps an existing build/ cache as it is, so options that differ from the cached
  // ones (e.g. SIMSAGE_CUDA=on after an earlier auto build) need a `configure` first.
  const cached = cachedOptions(join(root, 'build', 'CMakeCache.txt'))
  if (cached && (cached.SIMSAGE_CUDA !== cuda.toLowerCase() || cached.SIMSAGE_TESTS !== tests.toLowerCase())) {
    status = run(process.execPath, [cmakeJs, 'configure', '--out', 'build', ...options])
    if (status !== 0) process.exit(status)
  }
  status = run(process.execPath, [cmakeJs, 'build', '--out', 'build', '--parallel', jobs, ...options])
} else {
  console.log('simsage: cmake not found, building the CPU-only addon with node-gyp')
  let gyp
  try {
    gyp = require.resolve('node-gyp/bin/node-gyp.js')
  } catch {
    gyp = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')
  }
  if (!existsSync(gyp)) {
    console.error(
      'simsage: no prebuilt binary loads here and neither CMake nor node-gyp is available to build from ' +
        'source: install CMake >= 3.19 and a C++17 compiler, then run `npm rebuild simsage`',
    )
    process.exit(1)
  }
  status = run(process.execPath, [gyp, 'rebuild', `--jobs=${jobs}`])
}
if (status !== 0) {
  console.error(
    `simsage: native build failed (exit ${status}); a build from source needs CMake >= 3.19 (or node-gyp) ` +
      'and a C++17 compiler',
  )
  process.exit(status)
}
