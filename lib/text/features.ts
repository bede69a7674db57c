/**
 * Text featurisation: {@link tokenize} (one text → its tokens as strings, for inspection) and
 * {@link featurize} (many texts → token hashes in CSR form, native). Both normalise with
 * {@link normalizeText} and emit, per word w_i in order: the character trigrams of "#" w_i "#",
 * the word, and the bigram "w_{i-1} w_i" (i ≥ 1).
 */
import { callNative, ErrorCodes, SimsageError } from '../errors.js'
import { binding } from '../native/binding.js'
import { checkBool, checkThreads, describe } from '../validate.js'
import { hashToken, type TokenKind } from './hash.js'
import { isWordCodePoint, normalizeText } from './normalize.js'
import { checkSeed, checkText, checkTexts } from './validate.js'

/** Options of {@link tokenize} and {@link featurize}. */
export interface FeaturizeOptions {
  /** Hash seed, an integer in [0, 2^53) (default 0). */
  seed?: number
  /** Emit character trigrams (default true). */
  trigrams?: boolean
  /** Emit word unigrams (default true). */
  words?: boolean
  /** Emit word bigrams (default true). */
  bigrams?: boolean
  /** Threads for {@link featurize} (default: the library default). */
  threads?: number
}

/** One token of {@link tokenize}. */
export interface Token {
  /** The token's text: "#ab", "abc", "bc#" (trigrams), "abc" (word), "abc def" (bigram). */
  text: string
  kind: TokenKind
  /** Its 64-bit hash with the options' seed (what {@link featurize} stores). */
  hash: bigint
}

/**
 * Tokens of many texts in CSR form: text i owns tokens offsets[i] .. offsets[i+1] − 1. One text
 * is one field (one segment) of {@link HashEmbeddingBag.forward}.
 */
export interface TextFeatures {
  /** Number of texts (segments). */
  readonly count: number
  /** count + 1 token offsets. */
  readonly offsets: Int32Array
  /** 64-bit token hashes (lane lo = the low 32 bits, hi = the high 32 bits). */
  readonly hashes: BigUint64Array
  /** Token kinds: 0 trigram, 1 word, 2 bigram ({@link TokenKinds}). */
  readonly kinds: Uint8Array
  /** The hash seed the tokens were hashed with. */
  readonly seed: number
}

interface ResolvedOptions {
  seed: number
  trigrams: boolean
  words: boolean
  bigrams: boolean
  threads: number | undefined
}

/** Validates featurisation options (internal; HashEmbeddingBag stores them). */
export function resolveFeaturizeOptions(options: unknown): ResolvedOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new SimsageError(ErrorCodes.INVALID_ARGUMENT, `options must be an object, got ${describe(options)}`)
  }
  const o = (options ?? {}) as FeaturizeOptions
  return {
    seed: checkSeed(o.seed ?? 0),
    trigrams: checkBool(o.trigrams ?? true, 'trigrams'),
    words: checkBool(o.words ?? true, 'words'),
    bigrams: checkBool(o.bigrams ?? true, 'bigrams'),
    threads: checkThreads(o.threads),
  }
}

/**
 * The tokens of one text, in the featuriser's order, with their hashes (plain TypeScript; use
 * {@link featurize} for batches). Throws ERR_SIMSAGE_INVALID_ARGUMENT for a non-string or empty text.
 */
export function tokenize(text: string, options?: FeaturizeOptions): Token[] {
  checkText(text)
  const o = resolveFeaturizeOptions(options)
  const words: string[] = []
  let cur = ''
  for (const ch of normalizeText(text)) {
    if (isWordCodePoint(ch.codePointAt(0) as number)) {
      cur += ch
    } else if (cur) {
      words.push(cur)
      cur = ''
    }
  }
  if (cur) words.push(cur)
  const out: Token[] = []
  const add = (t: string, kind: TokenKind) => out.push({ text: t, kind, hash: hashToken(t, kind, o.seed) })
  words.forEach((w, i) => {
    if (o.trigrams) {
      const m = ['#', ...w, '#']
      for (let t = 0; t + 3 <= m.length; t++) add(m[t] + m[t + 1] + m[t + 2], 'trigram')
    }
    if (o.words) add(w, 'word')
    if (o.bigrams && i > 0) add(`${words[i - 1]} ${w}`, 'bigram')
  })
  return out
}

/**
 * Featurises many texts at once (native): normalise each ({@link normalizeText}), split into
 * words, emit trigrams / words / bigrams and hash them. Throws ERR_SIMSAGE_INVALID_ARGUMENT for a
 * non-array, a non-string or an empty (whitespace-only) text, or bad options. A text with no word
 * character (e.g. "!!!") has no tokens.
 */
export function featurize(texts: readonly string[], options?: FeaturizeOptions): TextFeatures {
  checkTexts(texts)
  const o = resolveFeaturizeOptions(options)
  return featurizeNormalized(texts.map(normalizeText), o)
}

/** Joined texts above this many UTF-16 code units go to the native side one string each. */
const JOIN_LIMIT = 1 << 26

/** featurize without the checks, on normalised texts (internal). */
export function featurizeNormalized(texts: string[], o: ResolvedOptions): TextFeatures {
  const offsets = new Int32Array(texts.length + 1)
  let n = 0
  for (let i = 0; i < texts.length; i++) {
    n += texts[i].length
    offsets[i + 1] = n
  }
  const input = n <= JOIN_LIMIT ? { text: texts.join(''), offsets } : { texts }
  const r = callNative(() =>
    binding().textFeaturize({
      ...input,
      seed: o.seed,
      trigrams: o.trigrams,
      words: o.words,
      bigrams: o.bigrams,
      ...(o.threads !== undefined ? { threads: o.threads } : {}),
    }),
  )
  return { count: texts.length, offsets: r.offsets, hashes: r.hashes, kinds: r.kinds, seed: o.seed }
}
