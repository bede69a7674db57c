#!/usr/bin/env node
// Checks (default) or applies (--fix) clang-format over every C++/CUDA source under native/, with the
// repo's .clang-format. The clang-format binary comes from the `clang-format` npm package (a dev
// dependency), so no system package is needed. Exit 1 when a file is not formatted.
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(join(root, 'package.json'))
const fix = process.argv.includes('--fix')

function sources(dir) {
  const out = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...sources(p))
    else if (/\.(h|cpp|inl|cu|cuh)$/.test(e.name)) out.push(p)
  }
  return out.sort()
}

const files = sources(join(root, 'native'))
const bin = join(dirname(require.resolve('clang-format/package.json')), 'index.js')
const args = fix ? ['-i', '--style=file'] : ['--dry-run', '-Werror', '--style=file']
const r = spawnSync(process.execPath, [bin, ...args, ...files], { cwd: root, encoding: 'utf8' })
if (r.error) throw r.error
if (r.status !== 0) {
  const bad = new Set(
    [...(r.stderr ?? '').matchAll(/^(\S+?):\d+:\d+: (?:error|warning)/gm)].map((m) => relative(root, m[1])),
  )
  console.error(`clang-format: ${bad.size} file(s) need formatting (npm run format):\n  ${[...bad].join('\n  ')}`)
  process.exit(1)
}
console.log(`clang-format: ${files.length} native files ${fix ? 'formatted' : 'clean'}`)
