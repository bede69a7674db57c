#!/usr/bin/env node
// Runs the C++ tests that the CMake build produced (build/). A node-gyp build has none: say so and
// succeed, since the tap suite still covers the addon.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const build = join(root, 'build')
if (!existsSync(join(build, 'CTestTestfile.cmake'))) {
  console.log('# C++ tests skipped: the addon was built with node-gyp (no CMake build in build/)')
  process.exit(0)
}
const r = spawnSync('ctest', ['--test-dir', build, '--output-on-failure'], { stdio: 'inherit' })
// A skipped test (exit 77: the CUDA tests without a GPU) printed its reason; ctest keeps it in its log.
const log = join(build, 'Testing', 'Temporary', 'LastTest.log')
if (existsSync(log)) {
  const reasons = [...readFileSync(log, 'utf8').matchAll(/^SKIP .*$/gm)].map((m) => m[0])
  for (const line of new Set(reasons)) console.log(`# ${line}`)
}
process.exit(r.status ?? 1)
