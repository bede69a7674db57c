/**
 * Training progress: a progress bar on a terminal (cli-progress), one plain line per epoch
 * otherwise (CI logs, pipes), or nothing.
 */
import cliProgress from 'cli-progress'

/** Receives progress events from a training loop. */
export interface ProgressSink {
  /** An epoch starts with `steps` optimizer steps. */
  start(epoch: number, epochs: number, steps: number): void
  /** One step done; `loss` is the running mean of the epoch. */
  tick(loss: number): void
  /** The epoch ended; `summary` is printed on its own line. */
  end(summary: string): void
}

/** Chooses a sink: a bar when `stream` is a TTY, plain lines otherwise; `false` prints nothing. */
export function progressSink(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  if (!enabled) return { start() {}, tick() {}, end() {} }
  if (!stream.isTTY) return { start() {}, tick() {}, end: (s) => void stream.write(`${s}\n`) }
  let bar: cliProgress.SingleBar | undefined
  let done = 0
  return {
    start(epoch, epochs, steps) {
      done = 0
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `epoch ${epoch}/${epochs} [{bar}] {value}/{total} steps | loss {loss} | {eta}s left`,
          hideCursor: true,
          clearOnComplete: true,
        },
        cliProgress.Presets.shades_classic,
      )
      bar.start(steps, 0, { loss: '-' })
    },
    tick(loss) {
      bar?.update(++done, { loss: loss.toFixed(4) })
    },
    end(summary) {
      bar?.stop()
      bar = undefined
      stream.write(`${summary}\n`)
    },
  }
}
