// EmbeddingIndex.save / load: round trips, every kind of damage detected (format in
// lib/similarity/index-file.ts), and atomic replacement.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import t, { type Test } from 'tap'

import { EmbeddingIndex, ErrorCodes, SimsageError, type Metric } from '../lib/index.js'
import { mulberry32, permutation, randomMatrix } from './fixtures/random.js'
import { sameResults } from './fixtures/reference.js'

const METRICS: Metric[] = ['ip', 'cosine', 'l2']
const HEADER = 64
const DIGEST = 32

function build(dim: number, n: number, metric: Metric, seed = 1, metadata?: Record<string, unknown>): EmbeddingIndex {
  const rng = mulberry32(seed)
  const index = new EmbeddingIndex({ dim, metric, metadata })
  if (n > 0)
    index.add(
      permutation(rng, n).map((p) => p * 11 + 3),
      randomMatrix(rng, n, dim),
    )
  return index
}

/** Re-signs a file after editing it, so only the edit (not the checksum) can be what load rejects. */
function resign(buf: Buffer): Buffer {
  createHash('sha256')
    .update(buf.subarray(0, buf.length - DIGEST))
    .digest()
    .copy(buf, buf.length - DIGEST)
  return buf
}

/** Byte offsets of a saved file's regions (from its header). */
function layout(buf: Buffer) {
  const dim = buf.readUInt32LE(12)
  const count = Number(buf.readBigUInt64LE(24))
  const metaLen = buf.readUInt32LE(32)
  const vectors = Math.ceil((HEADER + metaLen) / 64) * 64
  const ids = vectors + count * dim * 4
  return { dim, count, metaLen, vectors, ids, digest: ids + count * 8 }
}

async function loadFails(t: Test, path: string, code: string, what: string) {
  await t.rejects(EmbeddingIndex.load(path), { code, constructor: SimsageError }, what)
}

t.test('save then load round-trips every metric bit-for-bit', async (t) => {
  const dir = t.testdir()
  for (const metric of METRICS) {
    for (const [dim, n] of [
      [1, 50],
      [1, 1],
      [3, 7], // count x dim odd: the ids start 4-byte (not 8-byte) aligned
      [17, 300],
      [17, 301],
      [768, 40],
      [16, 0],
    ]) {
      const metadata = {
        model: 'test-model',
        dim,
        normalised: metric === 'cosine',
        tags: ['a', 'ü'],
        nested: { x: 1.5 },
      }
      const index = build(dim, n, metric, dim + n, metadata)
      const path = join(dir, `${metric}-${dim}-${n}.idx`)
      await index.save(path)
      const loaded = await EmbeddingIndex.load(path)
      const label = `${metric} dim ${dim} n ${n}`
      t.equal(loaded.dim, dim, `${label}: dim`)
      t.equal(loaded.metric, metric, `${label}: metric`)
      t.equal(loaded.size, n, `${label}: size`)
      t.same(loaded.metadata, metadata, `${label}: metadata`)
      const rng = mulberry32(dim + n)
      const ids = n > 0 ? permutation(rng, n).map((p) => p * 11 + 3) : []
      t.ok(
        ids.every((id) => loaded.has(id)),
        `${label}: has() every id`,
      )
      t.notOk(loaded.has(1), `${label}: and no other`)
      const queries = randomMatrix(mulberry32(9), 7, dim)
      for (const k of [1, 10, n + 3]) {
        t.ok(
          sameResults(await loaded.search(queries, k), await index.search(queries, k)),
          `${label}: identical results, k ${k}`,
        )
      }
      // Saving the loaded index reproduces the file byte for byte.
      const again = join(dir, `again-${metric}-${dim}-${n}.idx`)
      await loaded.save(again)
      t.ok(readFileSync(again).equals(readFileSync(path)), `${label}: re-saving gives the same bytes`)
      index.dispose()
      loaded.dispose()
    }
  }
})

t.test('the file layout matches the documented format', async (t) => {
  const dir = t.testdir()
  const index = build(5, 3, 'cosine', 4, { m: 1 })
  const path = join(dir, 'a.idx')
  await index.save(path)
  const buf = readFileSync(path)
  t.equal(buf.subarray(0, 8).toString('latin1'), 'SSGIDX\r\n', 'magic')
  t.equal(buf.readUInt32LE(8), 4, 'version 4')
  t.equal(buf.readUInt32LE(12), 5, 'dim')
  t.equal(buf.readUInt32LE(16), 1, 'metric code of cosine')
  t.equal(buf.readUInt32LE(20) & 1, 1, 'unit-length flag')
  const l = layout(buf)
  t.equal(l.count, 3, 'count')
  t.equal(buf.subarray(HEADER, HEADER + l.metaLen).toString('utf8'), '{"m":1}', 'metadata JSON')
  t.equal(buf.readUInt32LE(36), 0, 'storage code of f32')
  t.ok(
    buf.subarray(40, 64).every((b) => b === 0),
    'reserved bytes are zero',
  )
  t.equal(l.vectors % 64, 0, 'vectors are 64-byte aligned')
  t.equal(buf.length, l.digest + DIGEST, 'size = vectors + ids + digest')
  const ids = [...new BigInt64Array(buf.buffer.slice(buf.byteOffset + l.ids, buf.byteOffset + l.ids + 24))]
    .map(Number)
    .sort((a, b) => a - b)
  t.same(ids, [3, 14, 25], 'ids stored as i64')
  const digest = createHash('sha256').update(buf.subarray(0, l.digest)).digest()
  t.ok(digest.equals(buf.subarray(l.digest)), 'SHA-256 trailer of everything before it')
  index.dispose()
})

t.test('damaged files are rejected', async (t) => {
  const dir = t.testdir()
  const index = build(9, 20, 'l2', 5, { note: 'x' })
  const good = join(dir, 'good.idx')
  await index.save(good)
  const orig = readFileSync(good)
  const l = layout(orig)
  let n = 0
  const variant = (edit: (b: Buffer) => Buffer | void) => {
    const b = Buffer.from(orig)
    const out = edit(b) ?? b
    const p = join(dir, `bad-${n++}.idx`)
    writeFileSync(p, out)
    return p
  }
  const flip = (at: number) => variant((b) => void (b[at] ^= 0x10))
  const C = ErrorCodes.CORRUPT_FILE

  await loadFails(t, flip(l.vectors + 5), C, 'a flipped byte in the vectors')
  await loadFails(t, flip(l.digest - 1), C, 'a flipped byte in the ids')
  await loadFails(t, flip(HEADER + 2), C, 'a flipped byte in the metadata')
  await loadFails(t, flip(40), C, 'a flipped reserved header byte')
  await loadFails(t, flip(20), C, 'a flipped flags byte')
  await loadFails(t, flip(12), C, 'a flipped dim byte')
  await loadFails(t, flip(16), C, 'a flipped metric byte')
  await loadFails(t, flip(24), C, 'a flipped count byte')
  await loadFails(t, flip(32), C, 'a flipped metadata-length byte')
  await loadFails(t, flip(orig.length - 1), C, 'a flipped checksum byte')
  await loadFails(t, flip(0), C, 'wrong magic')
  await loadFails(
    t,
    variant((b) => void b.write('SSGIDX\n\n', 0, 'latin1')),
    C,
    'magic mangled by text-mode conversion',
  )

  for (const cut of [
    0,
    1,
    8,
    40,
    HEADER,
    HEADER + l.metaLen,
    l.vectors,
    l.vectors + 7,
    l.ids,
    l.digest,
    orig.length - 1,
  ]) {
    await loadFails(
      t,
      variant((b) => b.subarray(0, cut)),
      C,
      `truncated to ${cut} of ${orig.length} bytes`,
    )
  }
  await loadFails(
    t,
    variant((b) => Buffer.concat([b, Buffer.from([0])])),
    C,
    'one trailing byte',
  )
  await loadFails(
    t,
    variant((b) => Buffer.concat([b, b])),
    C,
    'the file twice over',
  )

  // Well-formed checksums around bad content: the structure checks themselves must catch these.
  await loadFails(
    t,
    variant((b) => resign((b.writeUInt32LE(3, 16), b))),
    C,
    'metric code 3 (re-signed)',
  )
  await loadFails(
    t,
    variant((b) => resign((b.writeUInt32LE(0, 12), b))),
    C,
    'dim 0 (re-signed)',
  )
  await loadFails(
    t,
    variant((b) => resign((b.writeBigUInt64LE(21n, 24), b))),
    C,
    'count one too high (re-signed)',
  )
  await loadFails(
    t,
    variant((b) => resign((b.writeBigInt64LE(-4n, l.ids), b))),
    C,
    'a negative id (re-signed)',
  )
  await loadFails(
    t,
    variant((b) => resign((b.writeBigInt64LE(2n ** 53n, l.ids), b))),
    C,
    'an id of 2**53 (re-signed)',
  )
  await loadFails(
    t,
    variant((b) => resign((b.writeBigInt64LE(b.readBigInt64LE(l.ids + 8), l.ids), b))),
    C,
    'a repeated id (re-signed)',
  )
  await loadFails(
    t,
    variant((b) => resign((b.writeFloatLE(NaN, l.vectors + 4), b))),
    C,
    'a NaN vector value (re-signed)',
  )
  await loadFails(
    t,
    variant((b) => resign((b.writeFloatLE(-Infinity, l.vectors), b))),
    C,
    'an infinite vector value (re-signed)',
  )
  await loadFails(
    t,
    variant((b) => resign((b.write('[', HEADER, 'utf8'), b))),
    C,
    'metadata that is not JSON (re-signed)',
  )
  await loadFails(
    t,
    variant((b) => resign((b.write('[1,2,3]'.padEnd(l.metaLen, ' '), HEADER, 'utf8'), b))),
    C,
    'metadata that is not an object (re-signed)',
  )

  await loadFails(
    t,
    variant((b) => void b.writeUInt32LE(5, 8)),
    ErrorCodes.UNSUPPORTED,
    'format version 5',
  )
  await loadFails(
    t,
    variant((b) => resign((b.writeUInt32LE(5, 8), b))),
    ErrorCodes.UNSUPPORTED,
    'format version 5 (re-signed)',
  )
  await loadFails(
    t,
    variant((b) => void b.writeUInt32LE(0, 8)),
    ErrorCodes.UNSUPPORTED,
    'format version 0',
  )

  const text = join(dir, 'text.idx')
  writeFileSync(text, 'hello, this is not an index'.repeat(10))
  await loadFails(t, text, C, 'a text file')

  // The original still loads: the damage tests did not depend on a bad original.
  const ok = await EmbeddingIndex.load(good)
  t.equal(ok.size, 20, 'the undamaged file loads')
  ok.dispose()
  index.dispose()
})

t.test('loading a missing file', async (t) => {
  await t.rejects(
    EmbeddingIndex.load(join(t.testdir(), 'nope.idx')),
    { code: ErrorCodes.NOT_FOUND },
    'rejects with ERR_SIMSAGE_NOT_FOUND',
  )
  await t.rejects(EmbeddingIndex.load(''), { code: ErrorCodes.INVALID_ARGUMENT }, 'an empty path is an argument error')
  await t.rejects(EmbeddingIndex.load(t.testdir()), { code: ErrorCodes.IO }, 'a directory rejects with ERR_SIMSAGE_IO')
})

t.test('save is atomic', async (t) => {
  const dir = t.testdir({ sub: {} })
  const path = join(dir, 'index.idx')

  const big = build(33, 500, 'ip', 11, { v: 'big' })
  await big.save(path)
  const bigBytes = readFileSync(path)

  // Saving a smaller index over it replaces the file whole (no leftover tail from the old one).
  const small = build(3, 4, 'l2', 12, { v: 'small' })
  await small.save(path)
  const ref = join(dir, 'sub', 'fresh.idx')
  await small.save(ref)
  t.ok(readFileSync(path).equals(readFileSync(ref)), 'the replaced file is byte-identical to a fresh save')
  t.ok(statSync(path).size < bigBytes.length, 'and shorter than the old one')
  const loaded = await EmbeddingIndex.load(path)
  t.same(
    [loaded.dim, loaded.metric, loaded.size, loaded.metadata],
    [3, 'l2', 4, { v: 'small' }],
    'and loads as the new index',
  )
  loaded.dispose()
  await big.save(path)
  t.ok(readFileSync(path).equals(bigBytes), 'saving the big one back restores its bytes')

  const listing = () => readdirSync(dir).sort()
  const before = listing()

  // A save into a directory that does not exist fails and creates nothing.
  const missing = join(dir, 'no-such-dir', 'index.idx')
  await t.rejects(small.save(missing), { code: ErrorCodes.NOT_FOUND }, 'saving into a missing directory rejects')
  t.notOk(existsSync(join(dir, 'no-such-dir')), 'the directory was not created')
  t.same(listing(), before, 'no temporary file left behind')

  // A save whose final rename fails (the target is a non-empty directory) leaves no temporary file.
  mkdirSync(join(dir, 'occupied.idx'))
  writeFileSync(join(dir, 'occupied.idx', 'keep'), 'x')
  await t.rejects(small.save(join(dir, 'occupied.idx')), 'saving onto a directory rejects')
  t.same(readdirSync(join(dir, 'occupied.idx')), ['keep'], 'the directory is untouched')
  t.same(listing(), [...before, 'occupied.idx'].sort(), 'no temporary file left behind')

  // A save that fails while encoding (metadata that cannot be serialised) leaves the old file intact.
  const broken = build(3, 4, 'l2', 13)
  broken.metadata = { n: 1n }
  await t.rejects(broken.save(path), 'a save with unserialisable metadata rejects')
  t.ok(readFileSync(path).equals(bigBytes), 'the old file is intact')
  broken.dispose()

  // So does a save of a disposed index.
  small.dispose()
  await t.rejects(small.save(path), { code: ErrorCodes.DISPOSED })
  t.ok(readFileSync(path).equals(bigBytes), 'the old file is intact after a disposed save')
  t.same(listing(), [...before, 'occupied.idx'].sort(), 'and no temporary files anywhere')
  big.dispose()

  await t.rejects(
    build(3, 1, 'ip').save(''),
    { code: ErrorCodes.INVALID_ARGUMENT },
    'an empty path is an argument error',
  )
})
