#!/usr/bin/env node
// Builds the native addon at install time. CMake (through cmake-js) is preferred: it also builds
// the C++ tests and, when nvcc is present, the CUDA sources. Without CMake, node-gyp builds the
// CPU-only addon from binding.gyp. Both read native/sources.json, so they compile the same files.
//
// Environment: SIMSAGE_BUILD=cmake|gyp forces a builder; SIMSAGE_CUDA=auto|on|off is passed to CMake;
// SIMSAGE_SKIP_BUILD=1 skips the build (e.g. packaging).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { cpus } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))

if (process.env.SIMSAGE_SKIP_BUILD === '1') {
  console.log('simsage: SIMSAGE_SKIP_BUILD=1, not building the native addon')
  process.exit(0)
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
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js')
  status = run(process.execPath, [cmakeJs, 'build', '--out', 'build', '--parallel', jobs, `--CDSIMSAGE_CUDA=${cuda}`])
} else {
  console.log('simsage: cmake not found, building the CPU-only addon with node-gyp')
  let gyp
  try {
    gyp = require.resolve('node-gyp/bin/node-gyp.js')
  } catch {
    gyp = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js')
  }
  if (!existsSync(gyp)) {
    console.error('simsage: neither cmake nor node-gyp is available; install CMake >= 3.19')
    process.exit(1)
  }
  status = run(process.execPath, [gyp, 'rebuild', `--jobs=${jobs}`])
}
if (status !== 0) {
  console.error(`simsage: native build failed (exit ${status})`)
  process.exit(status)
}
