// The two build descriptions (CMakeLists.txt for cmake-js, binding.gyp for node-gyp) must compile the
// same sources: both read native/sources.json, and every native source file is listed there.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

import t from 'tap'

const root = join(import.meta.dirname, '..')
const sources = JSON.parse(readFileSync(join(root, 'native/sources.json'), 'utf8'))
const groups = ['core', 'avx2', 'avx512', 'cuda', 'cuda_stub', 'addon', 'tests']

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? walk(p) : [relative(root, p)]
  })
}

t.test('every listed source exists', async (t) => {
  for (const g of groups) {
    t.ok(Array.isArray(sources[g]), `group ${g} is a list`)
    for (const f of sources[g]) t.ok(existsSync(join(root, f)), `${g}: ${f} exists`)
  }
})

t.test('every native source file is listed exactly once', async (t) => {
  const listed = groups.flatMap((g) => sources[g] as string[])
  t.equal(new Set(listed).size, listed.length, 'no file is listed twice')
  // native/bench/ and native/fuzz/ are CMake-only targets behind options (SIMSAGE_BENCH, SIMSAGE_FUZZ).
  const onDisk = walk(join(root, 'native')).filter(
    (f) => /\.(cpp|cu)$/.test(f) && !f.startsWith('native/bench/') && !f.startsWith('native/fuzz/'),
  )
  for (const f of onDisk) t.ok(listed.includes(f), `${f} is in native/sources.json`)
})

t.test('CMakeLists.txt reads every group and both flag sets from sources.json', async (t) => {
  const cmake = readFileSync(join(root, 'CMakeLists.txt'), 'utf8')
  t.match(cmake, /native\/sources\.json/)
  for (const g of groups) t.match(cmake, new RegExp(`simsage_json_list\\(\\w+ ${g}\\)`), `reads ${g}`)
  t.match(cmake, /simsage_json_flags\(FLAGS_AVX2 avx2\)/)
  t.match(cmake, /simsage_json_flags\(FLAGS_AVX512 avx512\)/)
  const code = cmake
    .split('\n')
    .map((l) => l.replace(/#.*/, ''))
    .join('\n')
  t.notMatch(code, /-march=native/, 'never -march=native')
})

t.test('binding.gyp reads the CPU groups and flags from sources.json', async (t) => {
  const gyp = readFileSync(join(root, 'binding.gyp'), 'utf8')
  t.match(gyp, /require\('\.\/native\/sources\.json'\)/)
  for (const g of ['core', 'avx2', 'avx512', 'cuda_stub', 'addon'])
    t.match(gyp, new RegExp(`<\\(srcs\\)\\.${g}\\.join`), `reads ${g}`)
  t.match(gyp, /<\(srcs\)\.flags\.avx2/)
  t.match(gyp, /<\(srcs\)\.flags\.avx512/)
  t.notMatch(gyp, /-march=native/, 'never -march=native')
  t.notMatch(gyp, /\.(cpp|cu)"/, 'lists no source file by hand')
})

t.test('the per-ISA flags never include -march', async (t) => {
  for (const set of Object.values(sources.flags) as string[][]) for (const f of set) t.notMatch(f, /^-march/)
})
