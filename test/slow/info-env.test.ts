// The SIMSAGE_* environment overrides, read once when the addon loads: each case in a child process.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

import t from 'tap'

import { info } from '../../lib/index.js'

const root = join(import.meta.dirname, '..', '..')
const initial = info()
const hasCuda = initial.backendsAvailable.includes('cuda')

/** info() in a fresh process with `env` added. */
function childInfo(env: Record<string, string>): ReturnType<typeof info> {
  const url = pathToFileURL(join(root, 'lib', 'index.ts')).href
  const code = `import(${JSON.stringify(url)}).then((m) => process.stdout.write(JSON.stringify(m.info())))`
  const base = { ...process.env }
  for (const k of ['SIMSAGE_SIMD', 'SIMSAGE_THREADS', 'SIMSAGE_BACKEND']) delete base[k]
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: root,
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  })
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`)
  return JSON.parse(r.stdout)
}

t.test('environment overrides in a child process', async (t) => {
  const plain = childInfo({})
  t.equal(plain.simd, initial.simdSupported[initial.simdSupported.length - 1], 'no override: the best level')
  t.equal(plain.threads, initial.cores, 'no override: threads = cores')

  t.equal(childInfo({ SIMSAGE_SIMD: 'scalar' }).simd, 'scalar', 'SIMSAGE_SIMD=scalar')
  const avx2 = childInfo({ SIMSAGE_SIMD: 'avx2' }).simd
  t.equal(avx2, initial.simdSupported.includes('avx2') ? 'avx2' : 'scalar', 'SIMSAGE_SIMD=avx2 (or its step-down)')
  t.equal(childInfo({ SIMSAGE_SIMD: 'bogus' }).simd, plain.simd, 'an unknown SIMSAGE_SIMD falls back to auto')

  t.equal(childInfo({ SIMSAGE_THREADS: '1' }).threads, 1, 'SIMSAGE_THREADS=1')
  t.equal(childInfo({ SIMSAGE_THREADS: '3' }).threads, 3, 'SIMSAGE_THREADS=3')
  t.equal(childInfo({ SIMSAGE_THREADS: '0' }).threads, initial.cores, 'SIMSAGE_THREADS=0 is ignored')

  const cuda = childInfo({ SIMSAGE_BACKEND: 'cuda' })
  if (hasCuda) {
    t.equal(cuda.backendActive, 'cuda', 'SIMSAGE_BACKEND=cuda with a device: cuda')
  } else {
    t.equal(cuda.backendActive, 'cpu', 'SIMSAGE_BACKEND=cuda without a device loads fine and runs on cpu')
    t.ok(cuda.cuda.message.length > 0, 'and says why')
  }
  t.equal(childInfo({ SIMSAGE_BACKEND: 'cpu' }).backendActive, 'cpu', 'SIMSAGE_BACKEND=cpu')
})
