// info(), the global settings and the machine probes (the SIMSAGE_* environment overrides are in
// test/slow/info-env.test.ts).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import t from 'tap'

import { info, setBackend, setSimd, setThreads, topk, type SimdLevel } from '../lib/index.js'
import { probeFmaPeak, probeReadBandwidth } from '../lib/internal.js'

const root = join(import.meta.dirname, '..')
const ALL: SimdLevel[] = ['scalar', 'avx2', 'avx512']
const initial = info()
const hasCuda = initial.backendsAvailable.includes('cuda')

t.teardown(() => {
  setSimd('auto')
  setThreads(initial.threads)
})

t.test('info() fields', async (t) => {
  const i = info()
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  t.equal(i.version, pkg.version, 'version is package.json version')
  t.ok(ALL.includes(i.simd), `simd '${i.simd}' is a known level`)
  t.ok(i.simdSupported.includes(i.simd), 'simd is a supported level')
  t.ok(i.simdSupported.includes('scalar'), 'scalar is always supported')
  t.same(
    i.simdSupported,
    ALL.filter((l) => i.simdSupported.includes(l)),
    'supported levels are listed lowest first, no unknown names',
  )
  t.ok(Number.isInteger(i.threads) && i.threads >= 1, `threads ${i.threads} >= 1`)
  t.ok(Number.isInteger(i.cores) && i.cores >= 1, `cores ${i.cores} >= 1`)
  t.type(i.cpu.vendor, 'string')
  t.type(i.cpu.brand, 'string')
  // The extension bits agree with the kernel's view of the CPU (Linux), each gated on its SIMD level.
  if (process.platform === 'linux' && process.arch === 'x64') {
    const line =
      readFileSync('/proc/cpuinfo', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('flags')) ?? ''
    const flags = new Set(line.split(/\s+/))
    const has512 = i.simdSupported.includes('avx512')
    t.same(
      i.cpu.extensions,
      {
        avx512Bf16: has512 && flags.has('avx512_bf16'),
        avx512Vnni: has512 && flags.has('avx512_vnni'),
        avxVnni: i.simdSupported.includes('avx2') && flags.has('avx_vnni'),
      },
      'cpu.extensions match /proc/cpuinfo',
    )
  } else {
    t.type(i.cpu.extensions.avx512Vnni, 'boolean')
  }
  t.ok(i.backendsAvailable.includes('cpu'), "'cpu' is always available")
  t.ok(i.backendsAvailable.includes(i.backendActive), 'the active backend is available')
  t.type(i.cuda.built, 'boolean')
  t.type(i.cuda.message, 'string')
  t.ok(Array.isArray(i.cuda.devices))
  if (hasCuda) {
    t.ok(i.cuda.built, 'cuda available implies built')
    t.ok(i.cuda.devices.length >= 1, 'with at least one device')
  } else {
    t.equal(i.backendActive, 'cpu', 'no CUDA device: the active backend is cpu')
    t.ok(i.cuda.message.length > 0, `and cuda.message says why: "${i.cuda.message}"`)
    t.same(i.cuda.devices, [], 'no devices listed')
  }
})

t.test('setBackend: cpu forces the CPU, cuda and auto use a device only when one answers', async (t) => {
  t.teardown(() => void setBackend('auto'))
  t.equal(setBackend('cpu'), 'cpu')
  t.equal(info().backendActive, 'cpu')
  t.equal(setBackend('cuda'), hasCuda ? 'cuda' : 'cpu', 'cuda without a device runs on the CPU')
  t.equal(setBackend('auto'), hasCuda ? 'cuda' : 'cpu')
  t.equal(info().backendActive, hasCuda ? 'cuda' : 'cpu')
  t.throws(() => setBackend('gpu' as 'cuda'), { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' })
})

t.test('setSimd sets supported levels, steps down from unsupported ones, and restores auto', async (t) => {
  const supported = info().simdSupported
  const best = supported[supported.length - 1]
  t.equal(setSimd('auto'), best, "'auto' picks the best supported level")
  for (const level of ALL) {
    const want = supported.includes(level)
      ? level
      : [...supported].reverse().find((l) => ALL.indexOf(l) < ALL.indexOf(level))
    t.equal(setSimd(level), want, `setSimd('${level}') sets ${want}`)
    t.equal(info().simd, want, 'info() reports it')
    const r = topk(new Float32Array(16), new Float32Array(64), { dim: 16, k: 1 })
    t.equal(r.ran.simd, want, 'and searches run on it')
  }
  if (supported.length === ALL.length)
    t.comment('this CPU supports every level: the step-down branch is not exercised here')
  t.equal(setSimd('auto'), best, 'auto restores the best level')
  t.equal(info().simd, best)
})

t.test('setThreads sets the default threads per call', async (t) => {
  t.equal(setThreads(1), 1)
  t.equal(info().threads, 1, 'info() reports 1')
  const corpus = new Float32Array(200_000 * 8).fill(0.5)
  t.equal(topk(new Float32Array(8 * 4), corpus, { dim: 8, k: 1 }).ran.threads, 1, 'a call without threads runs on 1')
  t.equal(setThreads(3), 3)
  t.equal(info().threads, 3, 'info() reports 3')
  t.equal(setThreads(256), 256, 'up to 256')
  t.equal(setThreads(initial.threads), initial.threads, 'restored')
})

t.test('probes report positive numbers', async (t) => {
  const fma = probeFmaPeak({ seconds: 0.02 })
  t.ok(fma.gflops > 0 && Number.isFinite(fma.gflops), 'FMA peak is a positive number')
  t.ok(info().simdSupported.includes(fma.simd), 'measured on a supported level')
  t.ok(fma.fmasPerIteration >= 8, 'the loop counts its FMAs per iteration')
  const check = probeFmaPeak({ seconds: 0.02, variant: 'intrinsics' })
  t.ok(check.gflops > 0 && check.simd === fma.simd, 'the second probe runs at the same level')
  t.throws(() => probeFmaPeak({ variant: 'x' as never }), { code: 'ERR_SIMSAGE_INVALID_ARGUMENT' })
  const bw = probeReadBandwidth(new Float32Array(1 << 20), { passes: 1 })
  t.ok(bw.gbPerSec > 0 && Number.isFinite(bw.gbPerSec), 'read bandwidth is a positive number')
  t.throws(() => probeReadBandwidth(new Float64Array(4) as never), { code: 'ERR_SIMSAGE_INVALID_TYPE' })
})
