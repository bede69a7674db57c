#!/usr/bin/env node
// Writes the small Fashion-MNIST subset shipped in data/fashion-mnist-small/ (used by tests and the
// default demo): the first `perClass` images of each class from each split, in original order,
// gzip IDX. Usage: node scripts/make-fashion-subset.mjs <full-dir> [trainPerClass=200] [testPerClass=50]
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'

import { decodeIdx, encodeIdx } from '../dist/lib/io/idx.js'
import { readFileSync } from 'node:fs'

const [src, trainPer = '200', testPer = '50'] = process.argv.slice(2)
if (!src) throw new Error('usage: make-fashion-subset.mjs <full-dir> [trainPerClass] [testPerClass]')
const out = join(import.meta.dirname, '..', 'data', 'fashion-mnist-small')
for (const [prefix, per] of [
  ['train', Number(trainPer)],
  ['t10k', Number(testPer)],
]) {
  const img = decodeIdx(readFileSync(join(src, `${prefix}-images-idx3-ubyte.gz`)))
  const lbl = decodeIdx(readFileSync(join(src, `${prefix}-labels-idx1-ubyte.gz`)))
  const dim = img.shape[1] * img.shape[2]
  const taken = new Array(10).fill(0)
  const rows = []
  for (let i = 0; i < lbl.data.length; i++) {
    if (taken[lbl.data[i]] < per) {
      taken[lbl.data[i]]++
      rows.push(i)
    }
  }
  const images = new Uint8Array(rows.length * dim)
  const labels = new Uint8Array(rows.length)
  rows.forEach((r, j) => {
    images.set(img.data.subarray(r * dim, (r + 1) * dim), j * dim)
    labels[j] = lbl.data[r]
  })
  const opts = { level: 9, mtime: 0 }
  writeFileSync(
    join(out, `${prefix}-images-idx3-ubyte.gz`),
    gzipSync(encodeIdx([rows.length, img.shape[1], img.shape[2]], images), opts),
  )
  writeFileSync(join(out, `${prefix}-labels-idx1-ubyte.gz`), gzipSync(encodeIdx([rows.length], labels), opts))
  console.log(`${prefix}: ${rows.length} images`)
}
