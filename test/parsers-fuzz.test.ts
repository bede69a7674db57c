// Property-based fuzzing of the TypeScript file parsers (the index file, safetensors, IDX): random
// bytes, valid files with random bit flips, byte overwrites, truncations and extensions, header
// fields set to edge values (with the checksum recomputed, so the damage reaches the decoder and,
// for index files, EmbeddingIndex.load), and safetensors headers replaced by random JSON. Each
// input must decode or throw a SimsageError with a stable code, within a time bound; never another
// exception, never a hang. A fixed seed and a random one (printed; replay with
// SIMSAGE_PARSER_SEED=<seed>).
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import t from 'tap'

import { EmbeddingIndex, SimsageError, decodeIdx, encodeIdx } from '../lib/index.js'
import { readIndexFile, writeIndexFile } from '../lib/io/index-file.js'
import { decodeSafetensors, encodeSafetensors } from '../lib/io/safetensors.js'
import { mulberry32, randomInt, type Rng } from './fixtures/random.js'

const CASES = 400
const SLOW_MS = 2000
// Open findings tolerated as `todo` (none now: the uncoded safetensors header errors of issue 8,
// defect 8, are fixed, so they fail as unexpected errors again).
const KNOWN: { parser: string; message: RegExp }[] = []

const dir = mkdtempSync(join(tmpdir(), 'simsage-parsers-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function bytes(rng: Rng, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => randomInt(rng, 256)))
}

/** A random damage to a valid file. */
function mutate(rng: Rng, good: Buffer): Buffer {
  const b = Buffer.from(good)
  switch (randomInt(rng, 5)) {
    case 0: // bit flips
      for (let i = 1 + randomInt(rng, 4); i > 0; i--) b[randomInt(rng, b.length)] ^= 1 << randomInt(rng, 8)
      return b
    case 1: // byte overwrites with edge values
      for (let i = 1 + randomInt(rng, 4); i > 0; i--)
        b[randomInt(rng, b.length)] = [0, 0xff, 0x7f, 0x80][randomInt(rng, 4)]
      return b
    case 2: // truncation
      return b.subarray(0, randomInt(rng, b.length))
    case 3: // extension
      return Buffer.concat([b, bytes(rng, 1 + randomInt(rng, 40))])
    default:
      {
        // a 4- or 8-byte field near the start set to an edge value
        const at = randomInt(rng, Math.min(64, b.length - 8))
        const v = [0, 1, 0xffffffff, 0x7fffffff, 0x80000000, 1 << 20, (1 << 20) + 1][randomInt(rng, 7)]
        if (randomInt(rng, 2)) b.writeUInt32LE(v >>> 0, at)
        else b.writeBigUInt64LE([0n, 1n, 2n ** 53n, 2n ** 64n - 1n, 2n ** 32n][randomInt(rng, 5)], at)
      }
      return b
  }
}

/** Index-file bytes with a recomputed checksum, so damage past the digest check is exercised. */
function resealed(b: Buffer): Buffer {
  if (b.length < 32) return b
  const out = Buffer.from(b)
  createHash('sha256')
    .update(out.subarray(0, out.length - 32))
    .digest()
    .copy(out, out.length - 32)
  return out
}

/** A valid index file's bytes, written by the library's own writer. */
async function validIndexFile(rng: Rng): Promise<Buffer> {
  const dim = 1 + randomInt(rng, 5)
  const count = randomInt(rng, 5)
  const metric = (['ip', 'cosine', 'l2'] as const)[randomInt(rng, 3)]
  const v = new Float32Array(count * dim)
  for (let i = 0; i < v.length; i++) v[i] = [0, 1, -1, 0.5, 1e-39, 3e38][randomInt(rng, 6)]
  const ids = new Float64Array(count)
  for (let i = 0; i < count; i++) ids[i] = randomInt(rng, 6)
  const path = join(dir, 'valid.ssg')
  await writeIndexFile(
    path,
    { dim, metric, normalized: metric === 'cosine', count, metadata: { m: randomInt(rng, 9) } },
    v,
    ids,
  )
  return readFileSync(path)
}

/** Reads index-file bytes through the streaming reader, keeping nothing. */
async function readIndexBytes(bytes: Buffer, i: number): Promise<void> {
  const path = join(dir, `r-${i}.ssg`)
  writeFileSync(path, bytes)
  await readIndexFile(path, { begin: () => {}, rows: async () => {} })
}

const JSON_VALUES: unknown[] = [null, 1, 'x', [], {}, true, [1, 2], { dtype: 'F32' }, { a: 1 }]
function randomHeader(rng: Rng): unknown {
  const pick = () => JSON_VALUES[randomInt(rng, JSON_VALUES.length)]
  switch (randomInt(rng, 4)) {
    case 0:
      return pick()
    case 1:
      return { w: pick(), __metadata__: pick() }
    case 2:
      return { w: { dtype: pick(), shape: pick(), data_offsets: pick() } }
    default:
      return { w: { dtype: 'F32', shape: [randomInt(rng, 3), 1e9 * randomInt(rng, 2) + 1], data_offsets: [0, 8] } }
  }
}

function validSafetensors(rng: Rng): Buffer {
  const n = 1 + randomInt(rng, 4)
  return encodeSafetensors({ w: { shape: [n, 2], data: new Float32Array(n * 2).fill(0.5) } }, { model: 'x' })
}

function validIdx(rng: Rng): Buffer {
  const shape = [1 + randomInt(rng, 3), 1 + randomInt(rng, 4)]
  const raw = encodeIdx(shape, new Uint8Array(shape[0] * shape[1]).fill(7))
  return randomInt(rng, 2) ? gzipSync(raw) : raw
}

interface Outcome {
  unexpected: string[]
  known: string[]
  coded: number
  ok: number
}

async function judge(parser: string, seed: number, i: number, o: Outcome, fn: () => unknown): Promise<void> {
  const start = performance.now()
  try {
    await fn()
    o.ok++
  } catch (e) {
    if (e instanceof SimsageError) o.coded++
    else {
      const msg = `${parser} seed ${seed} case ${i}: ${(e as Error)?.name}: ${(e as Error)?.message}`
      if (KNOWN.some((k) => k.parser === parser && k.message.test(String((e as Error)?.message)))) o.known.push(msg)
      else o.unexpected.push(msg)
    }
  }
  const ms = performance.now() - start
  if (ms > SLOW_MS) o.unexpected.push(`${parser} seed ${seed} case ${i}: took ${ms.toFixed(0)} ms`)
}

async function fuzz(seed: number): Promise<Record<string, Outcome>> {
  const rng = mulberry32(seed)
  const out: Record<string, Outcome> = {}
  for (const p of ['index', 'index-load', 'safetensors', 'idx']) out[p] = { unexpected: [], known: [], coded: 0, ok: 0 }
  for (let i = 0; i < CASES; i++) {
    const kind = randomInt(rng, 4)
    const raw = kind === 0 ? bytes(rng, randomInt(rng, 200)) : null
    // index file: raw bytes, damaged, damaged and resealed (also loaded into an index)
    const idxFile =
      raw ?? (kind === 1 ? mutate(rng, await validIndexFile(rng)) : resealed(mutate(rng, await validIndexFile(rng))))
    await judge('index', seed, i, out.index, () => readIndexBytes(idxFile, i))
    if (kind >= 2 && i % 4 === 0) {
      const path = join(dir, `f-${i}.ssg`)
      writeFileSync(path, idxFile)
      await judge('index-load', seed, i, out['index-load'], async () => (await EmbeddingIndex.load(path)).dispose())
    }
    // safetensors: raw bytes, damaged, or a random JSON header
    let st: Buffer
    if (raw) st = raw
    else if (kind === 3) {
      const json = Buffer.from(JSON.stringify(randomHeader(rng)))
      const head = Buffer.alloc(8)
      head.writeBigUInt64LE(BigInt(json.length))
      st = Buffer.concat([head, json, bytes(rng, 8 * randomInt(rng, 3))])
    } else st = mutate(rng, validSafetensors(rng))
    await judge('safetensors', seed, i, out.safetensors, () => decodeSafetensors(st))
    // IDX: raw bytes or damaged (plain or gzip)
    const idx = raw ?? mutate(rng, validIdx(rng))
    await judge('idx', seed, i, out.idx, () => decodeIdx(idx))
  }
  return out
}

const seeds = [0xf00d, Number(process.env.SIMSAGE_PARSER_SEED ?? Math.floor(Math.random() * 2 ** 31))]
for (const seed of seeds) {
  t.test(`parsers: every input decodes or throws a coded SimsageError (seed ${seed})`, async (t) => {
    const out = await fuzz(seed)
    for (const [parser, o] of Object.entries(out)) {
      t.same(
        o.unexpected.slice(0, 5),
        [],
        `${parser}: ${o.ok} decoded, ${o.coded} coded errors (replay: SIMSAGE_PARSER_SEED=${seed})`,
      )
      if (o.known.length)
        t.ok(false, `${parser}: ${o.known.length} uncoded errors of an open finding, e.g. ${o.known[0]}`, {
          todo: 'issue 8 defect 8 (file I/O): remove its KNOWN entry when fixed',
        })
    }
  })
}
