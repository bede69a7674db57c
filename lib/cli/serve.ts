/**
 * `simsage serve`: the HTTP service (lib/serve/). The implementation loads on first use.
 */
import type { Command } from 'commander'

import { integerOption, listOption } from './parse.js'

type Opts = Record<string, unknown>

/** Adds `serve`. */
export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description(
      'serve an index over HTTP: vector search, embeddings (ranking tower), user events and next-item recommendations (HierTCN), metrics',
    )
    .option('--index <file>', 'index file written by EmbeddingIndex.save / train hiertcn --export-index')
    .option('--model <dir>', 'directory with tower.safetensors (for /v1/embed) and/or hiertcn.safetensors (events)')
    .option('--demo', 'build (once, cached) and serve a small model and index from the data shipped in the repo')
    .option('--cache <dir>', 'cache directory of --demo (default $SIMSAGE_CACHE or ~/.cache/simsage)')
    .option('--port <n>', 'TCP port (0: any free one)', integerOption(0, 65535), 8080)
    .option('--host <addr>', 'address to bind (default loopback only)', '127.0.0.1')
    .option(
      '--shards <urls>',
      'run as a router: send each search to these shard servers (comma-separated URLs) and merge their top-k',
      listOption(
        'http(s) URLs',
        (x) => (/^https?:\/\/[^\s/]+$/.test(x) ? x.replace(/\/$/, '') : undefined),
        undefined,
        'bad URL',
      ),
    )
    .option('--redis <url>', 'keep user state in Redis (redis://host:port) instead of in process')
    .option('--token <secret>', 'bearer token required on /v1/* and /admin/* (admin routes are refused without one)')
    .option('--no-batching', 'one native call per request (no micro-batching)')
    .option('--watch', 'reload the index when its file changes')
    .option('--max-k <n>', 'largest k a request may ask', integerOption(1, 1 << 20), 1000)
    .option('--max-queries <n>', 'most vectors / input rows per request', integerOption(1, 1 << 16), 256)
    .option('--body-limit <bytes>', 'largest request body', integerOption(1024), 4 * 1024 * 1024)
    .option(
      '--max-users <n>',
      'users whose streaming state stays in process without --redis (least recently active dropped first)',
      integerOption(1, 2 ** 31 - 1),
      1_000_000,
    )
    .action(async (o: Opts) => {
      const { serveCommand } = await import('../serve/run.js')
      const token = (o.token as string | undefined) ?? process.env.SIMSAGE_TOKEN
      await serveCommand({
        index: o.index as string | undefined,
        model: o.model as string | undefined,
        shards: o.shards as string[] | undefined,
        demo: o.demo === true,
        cache: o.cache as string | undefined,
        port: o.port as number,
        host: o.host as string,
        redis: o.redis as string | undefined,
        token: token === '' ? undefined : token,
        batching: o.batching !== false,
        watch: o.watch === true,
        maxK: o.maxK as number,
        maxQueries: o.maxQueries as number,
        bodyLimit: o.bodyLimit as number,
        maxUsers: o.maxUsers as number,
      })
    })
}
