import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import { createAthenaClient, createGlueClient } from '../lib/clients';
import { createKafka } from '../lib/kafka';
import { PROJECT_ROOT, type Config } from '../lib/config';
import { Market, WINDOW_MINUTES, type Rankings } from './market';
import { LakeTopVolume, PipelineWatcher, TickFeed } from './sources';

/**
 * The dashboard's HTTP server: the page and its assets (uPlot from
 * node_modules, so it works offline), a server-sent-event stream per tab, and
 * small JSON endpoints. Bound to one address; every request's work is bounded.
 */

const PAGE_DIR = path.join(__dirname, 'page');
const UPLOT_DIR = path.join(PROJECT_ROOT, 'node_modules', 'uplot');
const STATIC: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(PAGE_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: path.join(PAGE_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: path.join(PAGE_DIR, 'style.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': {
    file: path.join(UPLOT_DIR, 'dist', 'uPlot.iife.min.js'),
    type: 'text/javascript; charset=utf-8',
  },
  '/vendor/uPlot.min.css': { file: path.join(UPLOT_DIR, 'dist', 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.LICENSE.txt': { file: path.join(UPLOT_DIR, 'LICENSE'), type: 'text/plain; charset=utf-8' },
};

/** Tabs served at once; more are refused (503) rather than slowing every tab down. */
const MAX_CLIENTS = 100;
/** A tab that has this much unsent stream is too slow: it is dropped (its EventSource reconnects). */
const MAX_UNSENT_BYTES = 1 << 20;
/** Slow-client drops listed in /healthz. */
const RECENT_DROPS = 10;
/** Trades sent per tape update at most (the newest). */
const TAPE_BATCH = 100;
const RANKED = 10;
/** New trades go out this often; everything else once a second. */
const TICK_MS = 100;
const ROUNDS_PER_SECOND = 1000 / TICK_MS;

interface StreamClient {
  response: http.ServerResponse;
  symbol?: string;
  windowMinutes: number;
  /** The last tick number sent. */
  seen: number;
  /** The last series version sent for the symbol. */
  seriesSentAt: number;
}

export interface DashboardOptions {
  config: Config;
  logger: Logger;
  /** Port to listen on (0: any free one); host is config.stack.listenHost. */
  port: number;
  host: string;
}

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

class BadRequest extends Error {}

function streamParameters(url: URL): { symbol?: string; windowMinutes: number } {
  const symbol = url.searchParams.get('symbol') ?? undefined;
  if (symbol !== undefined && (symbol.length === 0 || symbol.length > 64))
    throw new BadRequest('symbol: expected 1 to 64 characters');
  const window = url.searchParams.get('window') ?? '5';
  const windowMinutes = Number(window);
  if (!(WINDOW_MINUTES as readonly number[]).includes(windowMinutes))
    throw new BadRequest(
      `window: expected one of ${WINDOW_MINUTES.join(', ')} (minutes), got ${JSON.stringify(window)}`,
    );
  return { symbol, windowMinutes };
}

export async function startDashboard({ config, logger, port, host }: DashboardOptions): Promise<Dashboard> {
  const market = new Market();
  // The probe fails fast (no retries, short timeouts), so an outage shows within seconds.
  const probeKafka = createKafka(config, logger, { failFast: true });
  const feed = new TickFeed(probeKafka, createKafka(config, logger), config.kafka.topic, market, logger);
  const athena = createAthenaClient(config, 'analyst');
  const glue = createGlueClient(config, 'analyst');
  const pipeline = new PipelineWatcher(config, athena, logger);
  const lake = new LakeTopVolume(config, athena, glue, logger);
  const clients = new Set<StreamClient>();
  let slowClientsDropped = 0;
  /** The last few clients dropped for being slow (newest last), so an operator sees who. */
  const recentDrops: { at: string; client: string; unsentBytes: number }[] = [];

  /** Writes an event, or drops a client that cannot keep up. */
  function send(client: StreamClient, event: string, data: string) {
    if (client.response.writableLength > MAX_UNSENT_BYTES) {
      const { remoteAddress, remotePort } = client.response.socket ?? {};
      const drop = {
        at: new Date().toISOString(),
        client: `${remoteAddress}:${remotePort}`,
        unsentBytes: client.response.writableLength,
      };
      logger.warn(drop, 'dropping a slow dashboard client');
      slowClientsDropped += 1;
      recentDrops.push(drop);
      if (recentDrops.length > RECENT_DROPS) recentDrops.shift();
      clients.delete(client);
      client.response.destroy();
      return;
    }
    client.response.write(`event: ${event}\ndata: ${data}\n\n`);
  }

  const status = () => ({
    now: new Date().toISOString(),
    topic: config.kafka.topic,
    kafka: feed.status,
    temporal: pipeline.state.temporal,
    ticks: market.ticks,
    symbols: market.symbolCount,
    clients: clients.size,
    maxClients: MAX_CLIENTS,
  });

  /** What the server holds, for /healthz: every figure has a bound, so a long run shows it stays flat. */
  const sizes = () => {
    let unsentBytes = 0;
    for (const client of clients) unsentBytes = Math.max(unsentBytes, client.response.writableLength);
    return {
      market: market.sizes(),
      maxUnsentBytesPerClient: unsentBytes,
      unsentLimitBytes: MAX_UNSENT_BYTES,
      slowClientsDropped,
      recentDrops,
      lakeQueriesStarted: lake.queriesStarted,
      heapUsedBytes: process.memoryUsage().heapUsed,
    };
  };

  // Rankings are computed once per second per window, for every tab watching it.
  let rankings = new Map<number, string>();
  let rankedAt = 0;
  function rankingsFor(windowMinutes: number): string {
    if (Date.now() - rankedAt >= 1000) {
      rankings = new Map();
      rankedAt = Date.now();
    }
    let text = rankings.get(windowMinutes);
    if (text === undefined) {
      const ranked: Rankings = market.rankings(windowMinutes, Date.now(), RANKED);
      text = JSON.stringify(ranked);
      rankings.set(windowMinutes, text);
    }
    return text;
  }

  let round = 0;
  const streamer = setInterval(() => {
    round += 1;
    const statusText = JSON.stringify(status());
    const pipelineText = round % ROUNDS_PER_SECOND === 0 ? JSON.stringify(pipeline.state) : undefined;
    for (const client of clients) {
      const ticks = market.tapeSince(client.seen, TAPE_BATCH);
      client.seen = market.latest;
      if (ticks.length > 0) send(client, 'ticks', JSON.stringify(ticks));
      if (round % ROUNDS_PER_SECOND === 0) {
        send(client, 'status', statusText);
        send(client, 'pipeline', pipelineText as string);
        send(client, 'rankings', rankingsFor(client.windowMinutes));
        send(client, 'lake', JSON.stringify(lake.get(client.windowMinutes)));
        const series = client.symbol ? market.series(client.symbol) : undefined;
        if (series && series.last.receivedAt > client.seriesSentAt) {
          client.seriesSentAt = series.last.receivedAt;
          send(client, 'series', JSON.stringify(series));
        }
      }
    }
  }, TICK_MS);

  function openStream(request: http.IncomingMessage, response: http.ServerResponse, url: URL) {
    if (clients.size >= MAX_CLIENTS) {
      response.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' });
      response.end(`too many dashboard tabs open (${MAX_CLIENTS}); close one and reload\n`);
      return;
    }
    const { symbol, windowMinutes } = streamParameters(url);
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    const client: StreamClient = { response, symbol, windowMinutes, seen: market.latest, seriesSentAt: 0 };
    clients.add(client);
    // The first picture at once: status, pipeline, rankings, the tape and the symbol's series.
    response.write('retry: 1000\n\n');
    send(client, 'status', JSON.stringify(status()));
    send(client, 'pipeline', JSON.stringify(pipeline.state));
    send(client, 'rankings', rankingsFor(windowMinutes));
    send(client, 'lake', JSON.stringify(lake.get(windowMinutes)));
    send(client, 'ticks', JSON.stringify(market.tapeSince(0, TAPE_BATCH)));
    const series = symbol ? market.series(symbol) : undefined;
    if (series) {
      client.seriesSentAt = series.last.receivedAt;
      send(client, 'series', JSON.stringify(series));
    }
    request.on('close', () => clients.delete(client));
  }

  function json(response: http.ServerResponse, code: number, body: unknown) {
    response.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(JSON.stringify(body));
  }

  const server = http.createServer((request, response) => {
    try {
      const url = new URL(request.url ?? '/', 'http://dashboard');
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' });
        response.end(`method ${request.method} not allowed: the dashboard only serves GET\n`);
        return;
      }
      const asset = STATIC[url.pathname];
      if (asset) {
        response.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
        fs.createReadStream(asset.file)
          .on('error', (error) => {
            logger.error({ err: error, file: asset.file }, 'dashboard asset unreadable');
            response.destroy();
          })
          .pipe(response);
        return;
      }
      switch (url.pathname) {
        case '/events':
          return openStream(request, response, url);
        case '/healthz':
          return json(response, 200, { ...status(), sizes: sizes() });
        case '/api/symbols': {
          const prefix = url.searchParams.get('prefix') ?? '';
          if (prefix.length > 64) throw new BadRequest('prefix: expected at most 64 characters');
          return json(response, 200, market.find(prefix, 50));
        }
        default:
          response.writeHead(404, { 'content-type': 'text/plain' });
          response.end(`no such page: ${url.pathname}\n`);
      }
    } catch (error) {
      if (!(error instanceof BadRequest)) logger.error({ err: error }, 'dashboard request failed');
      if (response.headersSent) response.destroy();
      else json(response, error instanceof BadRequest ? 400 : 500, { error: (error as Error).message });
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  feed.start();
  pipeline.start();
  const address = server.address() as { port: number };
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}/`;
  return {
    url,
    async close() {
      clearInterval(streamer);
      for (const client of clients) client.response.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await feed.stop();
      await pipeline.stop();
      lake.stop();
      athena.destroy();
      glue.destroy();
    },
  };
}
