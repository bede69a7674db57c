/**
 * Lines of a text file (internal): opens a regular file through lib/io/fs.ts, gunzips it when it
 * starts with the gzip magic bytes (whatever its name), decodes strict UTF-8 and yields its lines a
 * chunk at a time, each with its 1-based line number. Lines end with LF or CRLF (the CR is
 * dropped); a UTF-8 byte-order mark at the start is dropped; a last line without a newline is
 * yielded when it is not empty. Memory is bounded by one chunk plus one line. Used by the CSV
 * reader (lib/data/csv.ts) and the JSONL reader (lib/data/jsonl.ts).
 */
import type { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'

import { ErrorCodes, SimsageError } from '../errors.js'
import { fsError, openRegular, readExactly } from './fs.js'

/** One line of text without its line end; `line` is 1-based. */
export interface TextLine {
  line: number
  text: string
}

/** Opens `path` as a byte stream, gunzipped when it starts with 1f 8b; `close` releases everything. */
async function openStream(path: string, action: string): Promise<{ stream: Readable; close: () => void }> {
  const f = await openRegular(path, action)
  let gzip = false
  try {
    if (f.size >= 2) {
      const magic = Buffer.alloc(2)
      await readExactly(f, magic, 0, 2, 0)
      gzip = magic[0] === 0x1f && magic[1] === 0x8b
    }
  } catch (e) {
    await f.fh.close().catch(() => {})
    throw e
  }
  const raw = f.fh.createReadStream({ start: 0, autoClose: true, highWaterMark: 1 << 16 })
  if (!gzip) return { stream: raw, close: () => raw.destroy() }
  const gunzip = createGunzip()
  raw.on('error', (e) => gunzip.destroy(e))
  raw.pipe(gunzip)
  return {
    stream: gunzip,
    close: () => {
      raw.unpipe(gunzip)
      gunzip.destroy()
      raw.destroy()
    },
  }
}

/** A stream error as a coded error: zlib's → CORRUPT_FILE, file-system's → via fsError. */
function streamError(e: unknown, path: string, action: string): SimsageError {
  if (e instanceof SimsageError) return e
  const code = (e as NodeJS.ErrnoException | undefined)?.code ?? ''
  if (code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
    return new SimsageError(
      ErrorCodes.CORRUPT_FILE,
      `cannot ${action} ${path}: corrupt or truncated gzip data (${(e as Error).message})`,
      { cause: e },
    )
  }
  return fsError(e, path, action)
}

/**
 * Yields the lines of `path` (plain or gzip), a chunk's worth at a time (one promise per chunk, not
 * per line). Invalid UTF-8 → MALFORMED_INPUT naming the line; a damaged gzip stream → CORRUPT_FILE.
 * The file is closed when the iteration ends, also when the caller stops early or throws.
 */
export async function* textLines(path: string, action: string): AsyncGenerator<TextLine[]> {
  const { stream, close } = await openStream(path, action)
  const decoder = new TextDecoder('utf-8', { fatal: true })
  let line = 0
  let rest = ''
  const emit = (text: string, out: TextLine[]): void => {
    line++
    if (text.charCodeAt(text.length - 1) === 13 /* \r */) text = text.slice(0, -1)
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    out.push({ line, text })
  }
  try {
    const it = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
    for (;;) {
      let r: IteratorResult<Buffer>
      try {
        r = await it.next()
      } catch (e) {
        throw streamError(e, path, action)
      }
      let text: string
      try {
        text = decoder.decode(r.done ? undefined : r.value, { stream: !r.done })
      } catch (e) {
        throw new SimsageError(
          ErrorCodes.MALFORMED_INPUT,
          `${path}:${line + 1}: not valid UTF-8 text (${(e as Error).message})`,
        )
      }
      text = rest + text
      const out: TextLine[] = []
      let from = 0
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        emit(text.slice(from, nl), out)
        from = nl + 1
      }
      rest = text.slice(from)
      if (r.done && rest.length > 0) emit(rest, out)
      if (out.length > 0) yield out
      if (r.done) break
    }
  } finally {
    close()
  }
}
