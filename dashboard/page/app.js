// The dashboard page: one EventSource to the server (reconnecting by itself), uPlot charts, plain DOM. Every
// text from the data goes in through textContent. The page keeps only what it shows: a bounded tape, the
// selected symbol's series (replaced, not appended) and the latest rankings and pipeline state.
'use strict';

const TAPE_ROWS = 50;
const params = new URLSearchParams(location.search);
const view = {
  symbol: params.get('symbol') || '',
  window: Number(params.get('window')) || 5,
  /** The user chose the symbol (the most active one is followed until then). */
  chosen: params.has('symbol'),
};
const state = {
  status: undefined,
  pipeline: undefined,
  streamDownSince: undefined,
  source: undefined,
  /** The server refused the stream (all its tabs taken): the page retries by itself. */
  waitingForSlot: undefined,
  retry: undefined,
};
/** A refused or closed stream is tried again this often (EventSource does not retry a 503 by itself). */
const RETRY_MS = 3000;

const $ = (selector) => document.querySelector(selector);
const el = (tag, text, className) => {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
};
const clock = (iso) => new Date(iso).toLocaleTimeString([], { hour12: false });
const fmt = (n, digits = 2) =>
  n === undefined || n === null || Number.isNaN(n)
    ? '–'
    : Number(n).toLocaleString(undefined, { maximumFractionDigits: digits });
const compact = (n) => Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 }).format(n);
const pct = (fraction) => `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(2)} %`;
const seconds = (s) => (s === undefined ? '–' : s < 90 ? `${s.toFixed(0)} s` : `${(s / 60).toFixed(1)} min`);

// ---------- charts ----------

function chartWidth(id) {
  return Math.max(300, $(id).clientWidth);
}

/** At least a minute of time axis, so that a few trades in one second are not stretched over it. */
function padTime(u, min, max) {
  const pad = Math.max(0, 60 - (max - min)) / 2;
  return [min - pad, max + pad];
}

const priceChart = new uPlot(
  {
    width: chartWidth('#price-chart'),
    height: 240,
    scales: { x: { time: true, range: padTime }, size: { range: (u, min, max) => [0, Math.max(1, max) * 4] } },
    axes: [
      { stroke: '#8a97a6', grid: { stroke: '#26313c' } },
      { stroke: '#8a97a6', grid: { stroke: '#26313c' }, size: 70 },
      { scale: 'size', side: 1, show: false },
    ],
    series: [
      {},
      { label: 'price', stroke: '#4aa3ff', width: 1.5, points: { show: false } },
      {
        label: 'size',
        scale: 'size',
        stroke: '#5d6b7a',
        fill: 'rgba(93,107,122,0.45)',
        paths: uPlot.paths.bars({ size: [0.6, 8] }),
        points: { show: false },
      },
    ],
  },
  [[], [], []],
  $('#price-chart'),
);

/** Candles drawn over an empty uPlot: bodies from open to close, wicks from low to high. */
function drawCandles(u) {
  const [times, open, high, low, close] = u.data;
  const ctx = u.ctx;
  const width = Math.max(2, Math.min(14, (u.bbox.width / Math.max(1, times.length)) * 0.6));
  ctx.save();
  for (let i = 0; i < times.length; i++) {
    const x = u.valToPos(times[i], 'x', true);
    const rising = close[i] >= open[i];
    ctx.strokeStyle = ctx.fillStyle = rising ? '#26a269' : '#e5534b';
    ctx.beginPath();
    ctx.moveTo(x, u.valToPos(high[i], 'y', true));
    ctx.lineTo(x, u.valToPos(low[i], 'y', true));
    ctx.stroke();
    const top = u.valToPos(Math.max(open[i], close[i]), 'y', true);
    const bottom = u.valToPos(Math.min(open[i], close[i]), 'y', true);
    ctx.fillRect(x - width / 2, top, width, Math.max(1, bottom - top));
  }
  ctx.restore();
}

const candleChart = new uPlot(
  {
    width: chartWidth('#candle-chart'),
    height: 200,
    scales: { x: { time: true } },
    axes: [
      { stroke: '#8a97a6', grid: { stroke: '#26313c' } },
      { stroke: '#8a97a6', grid: { stroke: '#26313c' }, size: 70 },
    ],
    series: [
      {},
      { label: 'open', show: false },
      { label: 'high', stroke: 'transparent', points: { show: false } },
      { label: 'low', stroke: 'transparent', points: { show: false } },
      { label: 'close', show: false },
    ],
    hooks: { draw: [drawCandles] },
  },
  [[], [], [], [], []],
  $('#candle-chart'),
);

window.addEventListener('resize', () => {
  priceChart.setSize({ width: chartWidth('#price-chart'), height: 240 });
  candleChart.setSize({ width: chartWidth('#candle-chart'), height: 200 });
});

// ---------- rendering ----------

function showSeries(series) {
  if (series.symbol !== view.symbol) return;
  priceChart.setData([series.times, series.prices, series.sizes]);
  const c = series.candles;
  candleChart.setData([
    c.map((k) => k.minute / 1000),
    c.map((k) => k.open),
    c.map((k) => k.high),
    c.map((k) => k.low),
    c.map((k) => k.close),
  ]);
  // A minute either side, so that one candle is not stretched over the whole axis.
  if (c.length > 0)
    candleChart.setScale('x', { min: c[0].minute / 1000 - 60, max: c[c.length - 1].minute / 1000 + 60 });
  const last = $('#last-price');
  last.textContent = `${fmt(series.last.price, 4)} at ${clock(series.last.ts)}`;
  last.dataset.symbol = series.symbol;
  last.dataset.price = String(series.last.price);
}

function rankingTable(table, entries, columns) {
  const rows = entries.map((entry) => {
    const row = el('tr');
    row.dataset.symbol = entry.symbol;
    row.append(el('td', entry.symbol));
    for (const [value, className] of columns(entry)) row.append(el('td', value, className));
    row.addEventListener('click', () => selectSymbol(entry.symbol, true));
    return row;
  });
  table.replaceChildren(...(entries.length === 0 ? [emptyRow('no ticks in this window')] : rows));
}

function emptyRow(text) {
  const row = el('tr');
  const cell = el('td', text, 'muted');
  cell.colSpan = 4;
  row.append(cell);
  return row;
}

function showRankings(r) {
  const change = (e) => [pct(e.change), e.change >= 0 ? 'up' : 'down'];
  rankingTable($('#rank-volume'), r.byVolume, (e) => [[compact(e.volume)], [fmt(e.last)]]);
  rankingTable($('#rank-trades'), r.byTrades, (e) => [[fmt(e.trades, 0)], [fmt(e.last)]]);
  const movers = [...r.gainers.slice(0, 5), ...r.losers.slice(0, 5)];
  rankingTable($('#rank-movers'), movers, (e) => [change(e), [fmt(e.last)]]);
  // Until the user picks one, follow the most active symbol; offer the top ones as chips.
  const chips = r.byTrades.slice(0, 8).map((e) => {
    const button = el('button', e.symbol, e.symbol === view.symbol ? 'active' : '');
    button.addEventListener('click', () => selectSymbol(e.symbol, true));
    return button;
  });
  $('#active').replaceChildren(...chips);
  if (!view.chosen && r.byTrades[0] && r.byTrades[0].symbol !== view.symbol) selectSymbol(r.byTrades[0].symbol, false);
}

/** The lake's answer for the window: labelled with its source and time, never passed off as live. */
function showLake(lake) {
  if (lake.windowMinutes !== view.window) return;
  const source = $('#lake-source');
  source.textContent = lake.at
    ? `${lake.source}; as of ${clock(lake.at)}, asked again at most once a minute`
    : `${lake.source}; asking…`;
  source.dataset.at = lake.at || '';
  const table = $('#lake-volume');
  if (lake.error) {
    table.replaceChildren(emptyRow(`the lake did not answer: ${lake.error}`));
    return;
  }
  if (!lake.at) return;
  rankingTable(table, lake.rows, (e) => [[compact(e.volume)], [fmt(e.trades, 0)]]);
  if (lake.rows.length === 0) table.replaceChildren(emptyRow('no rows in the lake for this window'));
}

function showTicks(ticks) {
  const body = $('#tape tbody');
  const rows = ticks.slice(-TAPE_ROWS).map((t) => {
    const row = el('tr');
    row.dataset.symbol = t.symbol;
    row.append(
      el('td', clock(t.ts)),
      el('td', t.symbol),
      el('td', fmt(t.price, 4)),
      el('td', compact(t.size)),
      el('td', `${t.partition}/${t.offset}`),
    );
    return row;
  });
  body.prepend(...rows.reverse());
  while (body.rows.length > TAPE_ROWS) body.deleteRow(-1);
}

function tile(id, value, detail, bad = false) {
  const node = $(id);
  node.querySelector('.value').textContent = value;
  node.querySelector('.detail').replaceChildren(...(Array.isArray(detail) ? detail : [el('span', detail ?? '')]));
  node.classList.toggle('bad', bad);
}

function link(text, href) {
  const a = el('a', text);
  a.href = href;
  a.target = '_blank';
  a.rel = 'noopener';
  return a;
}

function showPipeline(p) {
  const temporalDown = !p.temporal.up;
  const replays = p.replays.map((r) => {
    const line = el('div');
    const progress = r.progress;
    line.append(
      link(r.workflowId, r.url),
      el(
        'span',
        progress
          ? ` ${fmt(progress.rowsPerSecond, 0)} rows/s · ${fmt(progress.sent, 0)} sent` +
              (progress.fraction !== undefined ? ` · ${(progress.fraction * 100).toFixed(0)} %` : '')
          : ' (no answer to its progress query)',
      ),
    );
    return line;
  });
  tile('#tile-replays', temporalDown ? '?' : String(p.replays.length), replays);

  const consumers = p.consumers.filter((c) => c.progress);
  const lag = consumers.reduce((sum, c) => sum + c.progress.lag, 0);
  const partitions = consumers.flatMap((c) =>
    c.progress.partitions.map((q) => el('div', `${c.progress.topic} p${q.partition}: lag ${fmt(q.lag, 0)}`)),
  );
  const lagTile = $('#tile-lag');
  lagTile.dataset.lag = consumers.length === 0 || temporalDown ? '' : String(lag);
  tile('#tile-lag', consumers.length === 0 ? 'no consumer' : fmt(lag, 0), partitions, temporalDown);
  const buffered = consumers.reduce((sum, c) => sum + c.progress.buffered, 0);
  tile(
    '#tile-buffered',
    consumers.length === 0 ? '–' : fmt(buffered, 0),
    consumers.map((c) => link(c.workflowId, c.url)),
  );
  const since = consumers.map((c) => c.secondsSinceFlush).filter((s) => s !== undefined);
  tile('#tile-flush', since.length ? seconds(Math.min(...since)) : '–', 'newest flush of any partition');
  const deadLetters = consumers.reduce((sum, c) => sum + c.progress.totals.deadLetters, 0);
  tile('#tile-dlq', consumers.length ? fmt(deadLetters, 0) : '–', 'npm run dlq -- list', deadLetters > 0);

  const lake = p.lake;
  const freshness = lake.newestTs ? (Date.now() - Date.parse(lake.newestTs)) / 1000 : undefined;
  tile(
    '#tile-lake',
    lake.error ? 'unknown' : seconds(freshness),
    lake.error ? `${lake.source}: ${lake.error}` : `${lake.source}; newest ${lake.newestTs ?? 'none'}`,
    Boolean(lake.error),
  );
  const crawl = p.crawl;
  const crawlDetail = crawl ? [link(crawl.workflowId, crawl.url)] : 'no crawl yet (npm run crawl)';
  tile(
    '#tile-crawler',
    crawl ? (crawl.progress ? crawl.progress.phase : crawl.status.toLowerCase()) : '–',
    crawlDetail,
    crawl && crawl.status === 'FAILED',
  );
  const up = p.workers.filter((w) => w.up).length;
  tile(
    '#tile-workers',
    `${up}/${p.workers.length} up`,
    p.workers.map((w) => el('div', `${w.name}: ${w.up ? `up, ${fmt(w.slotsUsed, 0)} slots busy` : 'no answer'}`)),
    up < p.workers.length,
  );

  const rows = p.recent.map((w) => {
    const row = el('tr');
    const name = el('td');
    name.append(link(w.workflowId, w.url));
    row.append(
      name,
      el('td', w.type),
      el('td', w.status.toLowerCase()),
      el('td', w.startTime ? clock(w.startTime) : ''),
    );
    return row;
  });
  $('#recent').replaceChildren(...(rows.length ? rows : [emptyRow(temporalDown ? 'Temporal unreachable' : 'none')]));
}

/** What is missing, said plainly; panels fed by a missing source are greyed out rather than shown as live. */
function showBanners() {
  const banners = [];
  const s = state.status;
  if (state.waitingForSlot)
    banners.push([
      `Waiting for a free slot: the dashboard serves at most ${state.waitingForSlot.max} tabs and all are open; ` +
        `retrying every ${RETRY_MS / 1000} s`,
      false,
    ]);
  else if (state.streamDownSince)
    banners.push(['Dashboard server unreachable since ' + clock(state.streamDownSince) + ', reconnecting', false]);
  if (s && !s.kafka.up)
    banners.push([
      `Kafka unreachable since ${clock(s.kafka.downSince)}, retrying (${s.kafka.error || 'no answer'})`,
      false,
    ]);
  else if (s && s.kafka.note) banners.push([`Kafka: ${s.kafka.note}`, true]);
  if (s && !s.temporal.up && s.temporal.downSince)
    banners.push([`Temporal unreachable since ${clock(s.temporal.downSince)}, retrying`, false]);
  const p = state.pipeline;
  for (const queue of p && p.temporal.up ? p.taskQueues.filter((q) => q.idle) : [])
    banners.push([
      `No workers on ${queue.name}: no poll ` +
        (queue.lastPolledAt ? `since ${clock(queue.lastPolledAt)}` : `for ${p.noWorkerSeconds} s or more`) +
        '; its workflows wait until one starts (npm run stack -- up --workers)',
      false,
    ]);
  if (p && p.temporal.up && p.workers.length && p.workers.every((w) => !w.up))
    banners.push(['No worker answers on its metrics port: start them with npm run stack -- up --workers', true]);
  $('#banners').replaceChildren(
    ...banners.map(([text, note]) => {
      const node = el('div', text, note ? 'banner note' : 'banner');
      node.dataset.kind = note ? 'note' : 'outage';
      return node;
    }),
  );
  const kafkaStale = Boolean(state.streamDownSince || (s && !s.kafka.up));
  for (const id of ['#market', '#rankings', '#tape-panel']) $(id).classList.toggle('stale', kafkaStale);
  $('#pipeline').classList.toggle('stale', Boolean(state.streamDownSince || (s && !s.temporal.up)));
  const pill = $('#stream-state');
  pill.textContent = state.waitingForSlot
    ? 'waiting'
    : state.streamDownSince
      ? 'disconnected'
      : s && s.kafka.up && s.kafka.consuming
        ? 'live'
        : 'degraded';
  pill.className = `pill ${state.streamDownSince || (s && !s.kafka.up) ? 'down' : pill.textContent === 'live' ? 'live' : ''}`;
}

// ---------- the stream ----------

function connect() {
  clearTimeout(state.retry);
  if (state.source) state.source.close();
  const query = new URLSearchParams({ window: String(view.window) });
  if (view.symbol) query.set('symbol', view.symbol);
  // Each connection starts with the server's whole tape.
  $('#tape tbody').replaceChildren();
  const source = new EventSource(`/events?${query}`);
  state.source = source;
  source.onopen = () => {
    state.streamDownSince = undefined;
    state.waitingForSlot = undefined;
    showBanners();
  };
  source.onerror = () => {
    // EventSource reconnects by itself (retry: 1 s from the server) after a dropped stream, but not after a
    // refusal (a 503 when every slot is taken): then the page asks why and tries again itself.
    state.streamDownSince = state.streamDownSince || new Date().toISOString();
    if (source.readyState === EventSource.CLOSED) {
      state.retry = setTimeout(connect, RETRY_MS);
      fetch('/healthz')
        .then((response) => (response.ok ? response.json() : undefined))
        .then((health) => {
          state.waitingForSlot = health && health.clients >= health.maxClients ? { max: health.maxClients } : undefined;
          showBanners();
        })
        .catch(() => undefined);
    }
    showBanners();
  };
  const on = (event, handler) => source.addEventListener(event, (e) => handler(JSON.parse(e.data)));
  on('status', (s) => {
    state.status = s;
    $('#topic').textContent = `topic ${s.topic} · ${fmt(s.symbols, 0)} symbols`;
    $('#tick-count').textContent = fmt(s.ticks, 0);
    showBanners();
  });
  on('ticks', showTicks);
  on('series', showSeries);
  on('rankings', showRankings);
  on('lake', showLake);
  on('pipeline', (p) => {
    state.pipeline = p;
    showPipeline(p);
    showBanners();
  });
}

function selectSymbol(symbol, chosen) {
  view.symbol = symbol;
  view.chosen = view.chosen || chosen;
  $('#symbol-name').textContent = symbol;
  $('#symbol-input').value = symbol;
  priceChart.setData([[], [], []]);
  candleChart.setData([[], [], [], [], []]);
  const last = $('#last-price');
  last.textContent = '';
  last.dataset.symbol = '';
  last.dataset.price = '';
  syncUrl();
  connect();
}

function syncUrl() {
  const query = new URLSearchParams({ window: String(view.window) });
  if (view.chosen && view.symbol) query.set('symbol', view.symbol);
  history.replaceState(null, '', `?${query}`);
}

for (const button of document.querySelectorAll('#windows button')) {
  button.classList.toggle('active', Number(button.dataset.window) === view.window);
  button.addEventListener('click', () => {
    view.window = Number(button.dataset.window);
    for (const other of document.querySelectorAll('#windows button'))
      other.classList.toggle('active', other === button);
    syncUrl();
    connect();
  });
}

const input = $('#symbol-input');
input.addEventListener('input', async () => {
  const response = await fetch(`/api/symbols?prefix=${encodeURIComponent(input.value.slice(0, 64))}`);
  if (!response.ok) return;
  const options = (await response.json()).map((symbol) => {
    const option = el('option');
    option.value = symbol;
    return option;
  });
  $('#symbol-list').replaceChildren(...options);
});
input.addEventListener('change', () => {
  const symbol = input.value.trim();
  if (symbol && symbol.length <= 64) selectSymbol(symbol, true);
});

if (view.symbol) selectSymbol(view.symbol, view.chosen);
else connect();
// Ages (since the last flush, lake freshness) stay true between updates.
setInterval(() => state.pipeline && showPipeline(state.pipeline), 1000);
