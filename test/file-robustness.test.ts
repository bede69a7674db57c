// Loaders and savers against what users actually point them at: special files (/dev/zero,
// /dev/urandom, a FIFO, a directory), file-system errors (missing file or directory, symlink loops),
// checkpoints and IDX files whose headers declare more than they hold, and malformed arguments.
// Every failure is a SimsageError with a stable code that names the user's path.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import t, { type Test } from 'tap'

import {
  decodeIdx,
  EmbeddingIndex,
  encodeIdx,
  ErrorCodes,
  loadAnyTower,
  loadConvTower,
  loadTower,
  rankingTower,
  readIdx,
  saveTower,
  SimsageError,
} from '../lib/index.js'
import { probeFmaPeak, probeReadBandwidth } from '../lib/internal.js'
import { encodeSafetensors } from '../lib/io/safetensors.js'

type Loader = { name: string; load: (path: string) => Promise<unknown> }
const LOADERS: Loader[] = [
  { name: 'EmbeddingIndex.load', load: (p) => EmbeddingIndex.load(p) },
  { name: 'readIdx', load: (p) => readIdx(p) },
  { name: 'loadTower', load: (p) => loadTower(p) },
  { name: 'loadConvTower', load: (p) => loadConvTower(p) },
  { name: 'loadAnyTower', load: (p) => loadAnyTower(p) },
]

/** Settles within `ms` or fails (a hang is a failure, not a stuck test run). */
async function settleWithin<T>(p: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown }> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms)
  })
  try {
    return { value: await Promise.race([p, timeout]) }
  } catch (error) {
    return { error }
  } finally {
    clearTimeout(timer)
  }
}

/** Expects a SimsageError with `code` whose message names `path` (and nothing else rejected). */
async function rejectsCoded(t: Test, p: Promise<unknown>, code: string, path: string, what: string, ms = 5000) {
  const { error } = await settleWithin(p, ms)
  if (!(error instanceof SimsageError)) {
    t.fail(`${what}: expected a SimsageError ${code}, got ${error === undefined ? 'success' : String(error)}`)
    return undefined
  }
  t.equal(error.code, code, `${what}: ${error.message}`)
  t.ok(error.message.includes(path), `${what}: the message names ${path}`)
  t.notMatch(error.message, /\.tmp|\.\d{6,}|simsage-save-/, `${what}: no temporary file name in the message`)
  return error
}

t.test('special files are rejected, never read: /dev/zero, /dev/urandom, a FIFO, a directory', async (t) => {
  const dir = t.testdir({})
  const fifo = join(dir, 'fifo')
  const made = spawnSync('mkfifo', [fifo])
  const specials: [string, string][] = [
    ['/dev/zero', 'a character device that never ends'],
    ['/dev/urandom', 'a character device of random bytes'],
    [dir, 'a directory'],
  ]
  if (made.status === 0) specials.push([fifo, 'a FIFO with no writer'])
  else t.comment(`mkfifo unavailable (${made.error?.message ?? made.stderr}): FIFO case skipped`)
  for (const [path, what] of specials) {
    if (!existsSync(path)) {
      t.comment(`${path} does not exist here: skipped`)
      continue
    }
    for (const l of LOADERS) {
      const e = await rejectsCoded(t, l.load(path), ErrorCodes.IO, path, `${l.name}(${what})`)
      if (e) t.match(e.message, /not a regular file/, `${l.name}(${what}) says why`)
    }
  }
})

t.test('file-system errors are coded and name the user path', async (t) => {
  const dir = t.testdir({ sub: {} })
  const missing = join(dir, 'nope.bin')
  const loop = join(dir, 'loop')
  symlinkSync(loop, loop)
  for (const l of LOADERS) {
    const e = await rejectsCoded(t, l.load(missing), ErrorCodes.NOT_FOUND, missing, `${l.name}(missing file)`)
    t.equal((e?.cause as NodeJS.ErrnoException | undefined)?.code, 'ENOENT', `${l.name}: the cause is the ENOENT`)
    await rejectsCoded(t, l.load(join(dir, 'no-dir', 'x')), ErrorCodes.NOT_FOUND, join(dir, 'no-dir'), l.name)
    const e2 = await rejectsCoded(t, l.load(loop), ErrorCodes.IO, loop, `${l.name}(symlink loop)`)
    t.equal((e2?.cause as NodeJS.ErrnoException | undefined)?.code, 'ELOOP', `${l.name}: the cause is the ELOOP`)
  }

  const index = new EmbeddingIndex({ dim: 2 })
  index.add([1], new Float32Array([1, 2]))
  const model = rankingTower({ inputDim: 3, hidden: [], embeddingDim: 2 })
  const savers: { name: string; save: (p: string) => Promise<void> }[] = [
    { name: 'EmbeddingIndex.save', save: (p) => index.save(p) },
    { name: 'saveTower', save: (p) => saveTower(p, model, { inputDim: 3, hidden: [], embeddingDim: 2 }) },
  ]
  const before = readdirSync(dir).sort()
  for (const s of savers) {
    const intoMissing = join(dir, 'no-such-dir', 'out.bin')
    const e = await rejectsCoded(t, s.save(intoMissing), ErrorCodes.NOT_FOUND, intoMissing, `${s.name}(missing dir)`)
    t.ok(e?.cause, `${s.name}: the original error is the cause`)
    await rejectsCoded(t, s.save(join(dir, 'sub')), ErrorCodes.IO, join(dir, 'sub'), `${s.name}(onto a directory)`)
    await rejectsCoded(t, s.save(loop), ErrorCodes.IO, loop, `${s.name}(symlink loop)`)
    t.same(readdirSync(dir).sort(), before, `${s.name}: no temporary file left behind`)
    t.same(readdirSync(join(dir, 'sub')), [], `${s.name}: the directory is untouched`)
  }
  index.dispose()
})

/** A safetensors file with a ranking-tower header but arbitrary tensors / spec. */
function towerFile(spec: unknown, tensors: Record<string, { shape: number[]; data: Float32Array }>): Buffer {
  return encodeSafetensors(tensors, { format: 'simsage-ranking-tower', tower: JSON.stringify(spec) })
}

/** A raw safetensors file from a header object (no validation). */
function rawSafetensors(header: unknown, dataBytes = 0): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8')
  const out = Buffer.alloc(8 + json.length + dataBytes)
  out.writeBigUInt64LE(BigInt(json.length), 0)
  json.copy(out, 8)
  return out
}

t.test('loadTower validates the spec against the tensors before building anything', async (t) => {
  const dir = t.testdir({})
  const small = { inputDim: 4, hidden: [3], embeddingDim: 2 }
  const good = rankingTower(small, 1).state()
  const goodPath = join(dir, 'good.safetensors')
  writeFileSync(goodPath, towerFile(small, good))
  t.same((await loadTower(goodPath)).spec, small, 'a consistent checkpoint loads')

  const cases: [string, Buffer][] = [
    // 16,777,216-wide embedding on a 4-input tower: ~50 KB file, a 1 GB model if built first.
    ['embeddingDim 2^24', towerFile({ inputDim: 784, hidden: [16], embeddingDim: 16_777_216 }, good)],
    ['hidden [3e6]', towerFile({ inputDim: 4, hidden: [3e6], embeddingDim: 2 }, good)],
    ['spec that is a string', towerFile('tower', good)],
    ['spec with a negative width', towerFile({ inputDim: 4, hidden: [-3], embeddingDim: 2 }, good)],
    ['spec with hidden not a list', towerFile({ inputDim: 4, hidden: 3, embeddingDim: 2 }, good)],
    ['spec with a fractional width', towerFile({ inputDim: 4, hidden: [2.5], embeddingDim: 2 }, good)],
    ['spec that disagrees with the shapes', towerFile({ inputDim: 5, hidden: [3], embeddingDim: 2 }, good)],
    ['a null header', rawSafetensors(null)],
    ['an array header', rawSafetensors([1, 2])],
    ['a null tensor entry', rawSafetensors({ '0.weight': null })],
    ['a null __metadata__', rawSafetensors({ __metadata__: null })],
    ['metadata values that are not strings', rawSafetensors({ __metadata__: { format: 1 } })],
    ['a shape that is not a list', rawSafetensors({ w: { dtype: 'F32', shape: 'x', data_offsets: [0, 4] } }, 4)],
    ['a negative shape', rawSafetensors({ w: { dtype: 'F32', shape: [-1, -4], data_offsets: [0, 16] } }, 16)],
    [
      'overlapping tensors',
      rawSafetensors(
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
          c: { dtype: 'F32', shape: [1], data_offsets: [12, 16] },
          d: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        },
        16,
      ),
    ],
  ]
  for (const [what, bytes] of cases) {
    const path = join(dir, `${what.replace(/\W+/g, '-')}.safetensors`)
    writeFileSync(path, bytes)
    const t0 = performance.now()
    await rejectsCoded(t, loadTower(path), ErrorCodes.CORRUPT_FILE, path, what)
    const ms = performance.now() - t0
    t.ok(ms < 1000, `${what}: rejected in ${ms.toFixed(0)} ms (nothing allocated first)`)
  }
})

t.test('rankingTower rejects a spec it cannot build, with a code', async (t) => {
  for (const spec of [
    { inputDim: 784, hidden: [3e6], embeddingDim: 2 },
    { inputDim: 0, hidden: [], embeddingDim: 2 },
    { inputDim: 4, hidden: [0], embeddingDim: 2 },
    { inputDim: 4, hidden: null, embeddingDim: 2 },
  ]) {
    t.throws(
      () => rankingTower(spec as never),
      { code: ErrorCodes.INVALID_ARGUMENT },
      `rankingTower(${JSON.stringify(spec)})`,
    )
  }
})

t.test('IDX: gzip output is capped by the header; bad arguments are coded', async (t) => {
  // Header says 10 x 28 x 28 values, then 256 MiB of zeros (about 256 KB of gzip: 256 members of
  // 1 MiB each). The decoder must stop after the declared bytes, not inflate all of it.
  const declared = encodeIdx([10, 28, 28], new Uint8Array(10 * 28 * 28))
  const mib = gzipSync(Buffer.alloc(1 << 20))
  const bomb = Buffer.concat([gzipSync(declared), ...Array.from({ length: 256 }, () => mib)])
  const dir = t.testdir({})
  const path = join(dir, 'bomb-idx3-ubyte.gz')
  writeFileSync(path, bomb)
  const before = process.memoryUsage().arrayBuffers
  const t0 = performance.now()
  const e = await rejectsCoded(t, readIdx(path), ErrorCodes.CORRUPT_FILE, path, 'readIdx(gzip bomb)')
  t.match(e?.message ?? '', /more than (its|the) header declares/, 'says the data exceeds the header')
  t.throws(() => decodeIdx(bomb), { code: ErrorCodes.CORRUPT_FILE, message: /header declares/ }, 'decodeIdx too')
  const grew = process.memoryUsage().arrayBuffers - before
  t.ok(grew < 64 << 20, `memory held by buffers grew ${(grew / 2 ** 20).toFixed(1)} MiB`)
  t.ok(performance.now() - t0 < 2000, 'and quickly')

  // A gzip file whose header is fine and whose data matches still decodes.
  const gz = join(dir, 'ok-idx3-ubyte.gz')
  writeFileSync(gz, gzipSync(declared))
  t.same((await readIdx(gz)).shape, [10, 28, 28], 'a matching gzip file decodes')

  for (const bad of ['abc', null, 42, [0, 0, 8, 1], { length: 4 }]) {
    t.throws(() => decodeIdx(bad as never), { code: ErrorCodes.INVALID_TYPE }, `decodeIdx(${JSON.stringify(bad)})`)
  }
  for (const bad of ['', 42, null]) {
    await t.rejects(readIdx(bad as never), { code: ErrorCodes.INVALID_ARGUMENT }, `readIdx(${JSON.stringify(bad)})`)
    await t.rejects(loadTower(bad as never), { code: ErrorCodes.INVALID_ARGUMENT }, `loadTower(${JSON.stringify(bad)})`)
  }
})

t.test('malformed arguments elsewhere are coded', async (t) => {
  const index = new EmbeddingIndex({ dim: 2 })
  for (const ids of [{ length: -1 }, { length: 1.5 }, { length: 2 ** 53 }, { length: Number.NaN }]) {
    t.throws(() => index.add(ids as never, new Float32Array(0)), SimsageError, `add(${JSON.stringify(ids)})`)
    t.throws(() => index.remove(ids as never), SimsageError, `remove(${JSON.stringify(ids)})`)
  }
  index.dispose()
  for (const seconds of [1e9, 61, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1']) {
    t.throws(() => probeFmaPeak({ seconds: seconds as never }), SimsageError, `probeFmaPeak({ seconds: ${seconds} })`)
  }
  t.throws(() => probeFmaPeak({ simd: 'mmx' as never }), { code: ErrorCodes.INVALID_ARGUMENT }, 'unknown simd')
  const data = new Float32Array(16)
  for (const o of [{ passes: 0 }, { passes: 1e9 }, { passes: 1.5 }, { threads: 0 }, { threads: 1e6 }]) {
    t.throws(() => probeReadBandwidth(data, o), SimsageError, `probeReadBandwidth(${JSON.stringify(o)})`)
  }
})
