/**
 * File access shared by every format in lib/io (internal): opening only regular files, reads bounded
 * by sizes a header declared, atomic streaming writes, and file-system errors as coded
 * SimsageErrors that name the caller's path (never a temporary file's).
 */
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { type FileHandle, open, realpath, rename, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

import { ErrorCodes, SimsageError } from '../errors.js'
import { describe } from '../validate.js'

/** A path argument: a non-empty string (ERR_SIMSAGE_INVALID_ARGUMENT otherwise). */
export function checkPath(path: unknown, name = 'path'): string {
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0')) {
    throw new SimsageError(
      ErrorCodes.INVALID_ARGUMENT,
      `${name} must be a non-empty string without NUL bytes, got ${describe(path)}`,
    )
  }
  return path
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'a component of the path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  EEXIST: 'file exists',
  EBUSY: 'resource busy',
  EIO: 'input/output error',
}

/**
 * A file-system failure as a SimsageError: ENOENT → ERR_SIMSAGE_NOT_FOUND, anything else →
 * ERR_SIMSAGE_IO; the message names `path` (what the caller passed) and the action, the original
 * error is the cause. A SimsageError passes through unchanged.
 */
export function fsError(e: unknown, path: string, action: string): SimsageError {
  if (e instanceof SimsageError) return e
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  const reason = code ? `${REASONS[code] ?? 'file-system error'} (${code})` : String((e as Error)?.message ?? e)
  return new SimsageError(
    code === 'ENOENT' ? ErrorCodes.NOT_FOUND : ErrorCodes.IO,
    `cannot ${action} ${path}: ${reason}`,
    {
      cause: e,
    },
  )
}

/** What a non-regular file is, for messages. */
function kindOf(s: {
  isDirectory(): boolean
  isFIFO(): boolean
  isCharacterDevice(): boolean
  isBlockDevice(): boolean
  isSocket(): boolean
}): string {
  if (s.isDirectory()) return 'a directory'
  if (s.isFIFO()) return 'a FIFO'
  if (s.isCharacterDevice()) return 'a character device'
  if (s.isBlockDevice()) return 'a block device'
  if (s.isSocket()) return 'a socket'
  return 'not a plain file'
}

function notRegular(path: string, action: string, kind: string): SimsageError {
  return new SimsageError(ErrorCodes.IO, `cannot ${action} ${path}: not a regular file (${kind})`)
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer (forever). It changes
// nothing for regular files, the only kind read past the fstat below. Absent on Windows.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)

/** An open regular file and its size in bytes. */
export interface RegularFile {
  fh: FileHandle
  size: number
  path: string
  action: string
}

/**
 * Opens `path` for reading after checking, on the opened handle (fstat), that it is a regular file:
 * a directory, device, FIFO or socket is rejected with ERR_SIMSAGE_IO before any byte is read.
 */
export async function openRegular(path: string, action: string): Promise<RegularFile> {
  let fh: FileHandle
  try {
    fh = await open(path, READ_FLAGS)
  } catch (e) {
    throw fsError(e, path, action)
  }
  try {
    const s = await fh.stat()
    if (!s.isFile()) throw notRegular(path, action, kindOf(s))
    return { fh, size: s.size, path, action }
  } catch (e) {
    await fh.close().catch(() => {})
    throw fsError(e, path, action)
  }
}

/** Largest single read or write (Node's fs refuses one of 2 GiB or more). */
const IO_STEP = 1 << 30

/**
 * Reads exactly `length` bytes at `position` into `into` at `offset`, in steps of at most 1 GiB. A
 * file that ends early (it shrank after the size check) is an ERR_SIMSAGE_IO.
 */
export async function readExactly(
  f: RegularFile,
  into: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<void> {
  let done = 0
  while (done < length) {
    let n: number
    try {
      ;({ bytesRead: n } = await f.fh.read(into, offset + done, Math.min(IO_STEP, length - done), position + done))
    } catch (e) {
      throw fsError(e, f.path, f.action)
    }
    if (n === 0) {
      throw new SimsageError(ErrorCodes.IO, `cannot ${f.action} ${f.path}: the file shrank while it was being read`)
    }
    done += n
  }
}

/**
 * Reads a whole regular file, at most `maxBytes`: its size comes from fstat before anything is
 * allocated, and no read goes past it (a file that grows meanwhile is read to its old size).
 */
export async function readRegularFile(path: unknown, action: string, maxBytes = 2 ** 32): Promise<Buffer> {
  const p = checkPath(path)
  const f = await openRegular(p, action)
  try {
    if (f.size > maxBytes) {
      throw new SimsageError(
        ErrorCodes.UNSUPPORTED,
        `cannot ${action} ${p}: ${f.size} bytes is more than the ${maxBytes} this reader accepts`,
      )
    }
    const buf = Buffer.allocUnsafe(f.size)
    await readExactly(f, buf, 0, f.size, 0)
    return buf
  } finally {
    await f.fh.close().catch(() => {})
  }
}

/** Writes every byte of `data` (in steps of at most 1 GiB; a short write continues). */
async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let done = 0
  while (done < data.length) {
    const { bytesWritten } = await fh.write(data, done, Math.min(IO_STEP, data.length - done))
    done += bytesWritten
  }
}

/**
 * Writes a file atomically and streamed: `produce` hands chunks to `write` in order; they go to a
 * temporary file in the target's directory, which is fsynced and renamed over the target (a
 * symlink is followed, as write-file-atomic does). On any failure the temporary file is removed and
 * the target is untouched; the error names `path`, never the temporary file.
 */
export async function writeFileAtomic(
  path: unknown,
  action: string,
  produce: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  const p = checkPath(path)
  let target = p
  let mode = 0o666
  try {
    target = await realpath(p)
    const s = await stat(target)
    if (!s.isFile()) throw notRegular(p, action, kindOf(s))
    mode = s.mode & 0o7777
  } catch (e) {
    // A new file (or a dangling symlink, replaced like write-file-atomic does): write it at `path`.
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e, p, action)
  }
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  let fh: FileHandle | undefined
  let created = false
  try {
    fh = await open(tmp, 'wx', mode)
    created = true
    if (mode !== 0o666) await fh.chmod(mode)
    const out = fh
    await produce((chunk) => writeAll(out, chunk))
    await fh.sync()
    await fh.close()
    fh = undefined
    await rename(tmp, target)
    created = false
  } catch (e) {
    await fh?.close().catch(() => {})
    if (created) await unlink(tmp).catch(() => {})
    throw fsError(e, p, action)
  }
  // Make the rename itself durable; best effort (not every platform can fsync a directory).
  try {
    const dir = await open(dirname(target), 'r')
    await dir
      .sync()
      .catch(() => {})
      .finally(() => dir.close())
  } catch {}
}
