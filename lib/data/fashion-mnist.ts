/**
 * Loads Fashion-MNIST (or MNIST) from a directory of the four standard IDX files, gzip or plain:
 * `{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { ErrorCodes, SimsageError } from '../errors.js'
import { readIdx } from '../io/idx.js'
import { packageRoot } from '../native/binding.js'

/**
 * Absolute path of the Fashion-MNIST subset shipped inside the package (3,000 training and 1,000
 * test images, gzip IDX): `loadFashionMnist(fashionMnistSmallPath, 'train')` works from an installed
 * package as well as from a clone, whatever the current directory.
 */
export const fashionMnistSmallPath: string = join(rootOrGuess(), 'data', 'fashion-mnist-small')

/** The package root; if it cannot be found (a bundler moved this file), the directory two levels up. */
function rootOrGuess(): string {
  try {
    return packageRoot()
  } catch {
    return fileURLToPath(new URL('../..', import.meta.url))
  }
}

/** Images as rows of floats in [0, 1] and their class labels. */
export interface LabeledImages {
  /** n x dim row-major pixels scaled to [0, 1]. */
  images: Float32Array
  /** n class labels. */
  labels: Int32Array
  n: number
  /** Pixels per image (784 for 28 x 28). */
  dim: number
}

/** Class names of Fashion-MNIST, by label. */
export const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const

function find(dir: string, stem: string): string {
  for (const name of [`${stem}.gz`, stem]) {
    const p = join(dir, name)
    if (existsSync(p)) return p
  }
  throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `no ${stem}[.gz] in ${dir}`)
}

/** Loads one split ('train' or 'test'). */
export async function loadFashionMnist(dir: string, split: 'train' | 'test'): Promise<LabeledImages> {
  const prefix = split === 'train' ? 'train' : 't10k'
  const imgPath = find(dir, `${prefix}-images-idx3-ubyte`)
  const lblPath = find(dir, `${prefix}-labels-idx1-ubyte`)
  const [img, lbl] = await Promise.all([readIdx(imgPath), readIdx(lblPath)])
  if (img.shape.length !== 3)
    throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${imgPath}: expected 3 dimensions, got ${img.shape.length}`)
  if (lbl.shape.length !== 1)
    throw new SimsageError(ErrorCodes.CORRUPT_FILE, `${lblPath}: expected 1 dimension, got ${lbl.shape.length}`)
  const n = img.shape[0]
  if (lbl.shape[0] !== n) {
    throw new SimsageError(
      ErrorCodes.DIM_MISMATCH,
      `${imgPath} has ${n} images but ${lblPath} has ${lbl.shape[0]} labels`,
    )
  }
  const dim = img.shape[1] * img.shape[2]
  const images = new Float32Array(n * dim)
  for (let i = 0; i < images.length; i++) images[i] = img.data[i] / 255
  return { images, labels: Int32Array.from(lbl.data), n, dim }
}

/** Keeps only the rows whose label is in `classes` (order preserved). */
export function filterClasses(set: LabeledImages, classes: readonly number[]): LabeledImages {
  const keep = new Set(classes)
  const rows: number[] = []
  for (let i = 0; i < set.n; i++) if (keep.has(set.labels[i])) rows.push(i)
  const images = new Float32Array(rows.length * set.dim)
  const labels = new Int32Array(rows.length)
  rows.forEach((r, j) => {
    images.set(set.images.subarray(r * set.dim, (r + 1) * set.dim), j * set.dim)
    labels[j] = set.labels[r]
  })
  return { images, labels, n: rows.length, dim: set.dim }
}
