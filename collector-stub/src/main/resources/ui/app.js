// collector-stub web UI: plain ES2020, no framework, no build step.
// Everything that comes from the API is untrusted (apps choose their attribute values), so the DOM is
// only ever built with createElement + textContent, never by parsing HTML.
'use strict';

(() => {
  const REFRESH_MS = 5000;
  const LOG_LIMIT = 1000;
  // Metric points asked for at once, and kept per series: 30 exports are 5 minutes at the demo's 10 s.
  const METRIC_POINT_LIMIT = 20000;
  const POINTS_PER_SERIES = 30;
  // A CLIENT span without the server side of its call, this soon after the trace ended, is still waiting
  // for it (the callee's sidecar exports on its own schedule); later, the callee is taken as uninstrumented.
  const ARRIVING_MS = 10000;
  // After this, a span whose parent is missing is taken as lost, not late.
  const INCOMPLETE_MS = 60000;
  const TRACE_LIMITS = [20, 50, 100, 200];
  const INDENT_PX = 16;

  const state = {
    route: null,
    service: '',
    live: true,
    traceLimit: 50,
    // Bumped on every navigation so that answers to an older route's requests are dropped.
    token: 0,
    // Raw text of the last answer rendered for the current route: a refresh re-renders only when it
    // differs, which keeps scroll position, focus and elements stable while nothing changes.
    lastText: null,
    data: null,
    model: null,
    scrollToSelected: false,
    selectedSpan: null,
    collapsed: new Set(),
    expandedLogs: new Set(),
    errors: new Map(),
  };

  // ---------------------------------------------------------------- DOM helpers

  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    setProps(el, props);
    append(el, children);
    return el;
  }

  function svg(tag, props, ...children) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setProps(el, props);
    append(el, children);
    return el;
  }

  function setProps(el, props) {
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.setAttribute('class', v);
      else if (k === 'testid') el.setAttribute('data-testid', v);
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'style') {
        for (const [p, pv] of Object.entries(v)) {
          if (pv != null) el.style.setProperty(p, String(pv));
        }
      } else if (k.startsWith('on')) {
        // Event handlers only ever as functions: an on* attribute string would be script.
        if (typeof v === 'function') el.addEventListener(k.slice(2), v);
      } else el.setAttribute(k, v === true ? '' : String(v));
    }
  }

  function append(el, children) {
    for (const c of children) {
      if (c == null || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else if (c instanceof Node) el.appendChild(c);
      else el.appendChild(document.createTextNode(String(c)));
    }
  }

  const $ = (sel, root = document) => root.querySelector(sel);

  // Unlike replaceChildren, flattens arrays and skips null/false like h() does.
  function fill(el, ...children) {
    el.replaceChildren();
    append(el, children);
    return el;
  }

  // ---------------------------------------------------------------- formatting

  const pad = (n, w = 2) => String(n).padStart(w, '0');

  function fmtDate(d) {
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  function fmtClock(ms, millis = true) {
    if (!Number.isFinite(ms) || ms <= 0) return '—';
    const d = new Date(ms);
    const t = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    return millis ? `${t}.${pad(d.getMilliseconds(), 3)}` : t;
  }

  function fmtFull(ms) {
    if (!Number.isFinite(ms) || ms <= 0) return '';
    return `${fmtDate(new Date(ms))} ${fmtClock(ms)}`;
  }

  const isToday = (ms) => fmtDate(new Date(ms)) === fmtDate(new Date());

  const trim = (x, digits) => String(+x.toFixed(digits));

  function fmtDur(us) {
    if (!Number.isFinite(us)) return '—';
    if (us < 1000) return `${trim(us, us < 10 ? 1 : 0)} µs`;
    if (us < 1e6) return `${trim(us / 1000, us < 1e4 ? 2 : 1)} ms`;
    if (us < 6e7) return `${trim(us / 1e6, 2)} s`;
    const m = Math.floor(us / 6e7);
    return `${m}m ${Math.round((us - m * 6e7) / 1e6)}s`;
  }

  function fmtNum(v) {
    if (typeof v !== 'number') return v == null ? '—' : String(v);
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    const a = Math.abs(v);
    if (a >= 1000) return v.toLocaleString('en-US', { maximumFractionDigits: 1 });
    if (a >= 1) return trim(v, 3);
    if (a === 0) return '0';
    return String(+v.toPrecision(3));
  }

  function fmtBytes(v) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return fmtNum(v);
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    let x = Math.abs(v);
    while (x >= 1024 && i < units.length - 1) { x /= 1024; i += 1; }
    return `${v < 0 ? '-' : ''}${trim(x, x < 10 ? 2 : 1)} ${units[i]}`;
  }

  // OTel units: "1" means dimensionless and "{request}" is an annotation, not a unit.
  function unitSuffix(unit) {
    if (!unit || unit === '1') return '';
    return unit.replace(/^\{(.*)\}$/, '$1');
  }

  function fmtMetricValue(v, unit) {
    if (unit === 'By') return fmtBytes(v);
    const s = unitSuffix(unit);
    return s ? `${fmtNum(v)} ${s}` : fmtNum(v);
  }

  function fmtBound(le) {
    if (typeof le !== 'number') return String(le);
    const a = Math.abs(le);
    if (a >= 1e6) return `${trim(le / 1e6, 1)}M`;
    if (a >= 1e3) return `${trim(le / 1e3, 1)}k`;
    return fmtNum(le);
  }

  // Compact JSON for anything that is not already a string: bodies and attribute values may be
  // numbers, booleans, maps or arrays.
  function fmtValue(v) {
    if (typeof v === 'string') return v;
    if (v === undefined) return '';
    try { return JSON.stringify(v); } catch (e) { return String(v); }
  }

  const shortId = (id, n = 12) => (id && id.length > n ? `${id.slice(0, n)}…` : id || '');

  const PALETTE = ['#3b82f6', '#14b8a6', '#8b5cf6', '#f59e0b', '#22c55e', '#6366f1',
    '#06b6d4', '#d946ef', '#84cc16', '#0ea5e9', '#a16207', '#64748b'];

  // Red is kept for errors; a service keeps the same colour in every view.
  function serviceColor(name) {
    let x = 0;
    for (const ch of String(name)) x = (x * 31 + ch.codePointAt(0)) >>> 0;
    return PALETTE[x % PALETTE.length];
  }

  function svcChip(name, small) {
    return h('span', { class: small ? 'svc-chip small' : 'svc-chip', style: { '--svc': serviceColor(name) }, title: name },
      h('span', { class: 'svc-name' }, name));
  }

  // ---------------------------------------------------------------- routing

  function parseRoute() {
    const raw = location.hash.replace(/^#\/?/, '');
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'trace' && parts[1]) {
      return { view: 'trace', id: safeDecode(parts[1]), params };
    }
    if (parts[0] === 'traces' || parts[0] === 'logs' || parts[0] === 'metrics') {
      return { view: parts[0], params };
    }
    return null;
  }

  function safeDecode(s) {
    try { return decodeURIComponent(s); } catch (e) { return s; }
  }

  function hashFor(view, params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v) q.set(k, v);
    const qs = q.toString();
    return `#/${view}${qs ? `?${qs}` : ''}`;
  }

  const traceHash = (id, spanId) => `#/trace/${encodeURIComponent(id)}${spanId ? `?span=${encodeURIComponent(spanId)}` : ''}`;

  // Changes the URL without a hashchange (so without a re-mount) for filters typed in the page.
  function replaceHash(hash) {
    history.replaceState(null, '', hash);
    state.route = parseRoute();
    updateNav();
  }

  function onHashChange() {
    const route = parseRoute();
    if (!route) {
      location.replace(hashFor('traces', { service: state.service }));
      return;
    }
    const prev = state.route;
    state.route = route;
    if (route.view !== 'trace') state.service = route.params.get('service') || '';
    syncServiceSelect();
    updateNav();
    state.token += 1;
    state.lastText = null;
    const sameView = prev && prev.view === route.view && (route.view !== 'trace' || prev.id === route.id);
    if (sameView && views[route.view].sync) {
      views[route.view].sync(route);
    } else {
      state.data = null;
      state.selectedSpan = null;
      state.collapsed.clear();
      const root = $('#view');
      root.replaceChildren();
      views[route.view].mount(root, route);
      window.scrollTo(0, 0);
      $('main').scrollTop = 0;
    }
    load();
  }

  function updateNav() {
    const active = state.route && state.route.view === 'trace' ? 'traces' : state.route && state.route.view;
    for (const a of document.querySelectorAll('.sidenav a[data-view]')) {
      const v = a.getAttribute('data-view');
      a.setAttribute('href', hashFor(v, { service: state.service }));
      a.classList.toggle('active', v === active);
      if (v === active) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
  }

  // ---------------------------------------------------------------- fetching

  class HttpError extends Error {
    constructor(status, url) {
      super(`HTTP ${status}`);
      this.status = status;
      this.url = url;
    }
  }

  class NetworkError extends Error {}

  async function fetchText(url) {
    let res;
    try {
      res = await fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch (e) {
      throw new NetworkError(String(e && e.message));
    }
    if (!res.ok) throw new HttpError(res.status, url);
    return res.text();
  }

  function setError(key, msg) {
    if (msg) state.errors.set(key, msg); else state.errors.delete(key);
    const banner = $('[data-testid="error-banner"]');
    const text = [...state.errors.values()].join(' · ');
    $('.banner-text', banner).textContent = text;
    banner.hidden = !text;
  }

  function describe(err) {
    if (err instanceof HttpError) return `the server answered ${err.message}`;
    if (err instanceof SyntaxError) return 'the answer was not valid JSON';
    if (err instanceof NetworkError) return 'the collector is not reachable';
    console.error(err);
    return `the page could not show the answer (${err && err.message})`;
  }

  async function load() {
    const route = state.route;
    const token = state.token;
    const view = views[route.view];
    const url = view.url(route);
    try {
      let text;
      try {
        text = await fetchText(url);
      } catch (e) {
        if (!(e instanceof HttpError && e.status === 404 && view.notFound)) throw e;
        text = '\u0000404';
      }
      if (token !== state.token) return;
      setError('view', null);
      markUpdated();
      if (text === state.lastText) {
        // The same answer can still read differently now, e.g. a trace no longer "still arriving".
        if (view.stale && state.data && view.stale(state.data)) view.render(state.data, route);
        return;
      }
      state.lastText = text;
      if (text === '\u0000404') {
        view.notFound(route);
        return;
      }
      const body = JSON.parse(text);
      state.data = Array.isArray(body && body.data) ? body.data : [];
      view.render(state.data, route);
    } catch (e) {
      if (token !== state.token) return;
      setError('view', `Could not load ${url.split('?')[0]}: ${describe(e)}.`);
      const body = $('#view .view-body');
      // Replace "Loading…" only; data already on screen stays useful while the collector is away.
      if (state.lastText === null && body) {
        fill(body, emptyState('Nothing to show yet', state.live ? `Retrying every ${REFRESH_MS / 1000} s.` : 'Auto-refresh is paused.'));
      }
    }
  }

  async function loadServices() {
    try {
      const body = JSON.parse(await fetchText('api/services'));
      setError('services', null);
      const names = Array.isArray(body.data) ? body.data.filter((s) => typeof s === 'string') : [];
      fillServiceSelect(names);
    } catch (e) {
      setError('services', `Could not load services: ${describe(e)}.`);
    }
  }

  async function loadStats() {
    try {
      const s = JSON.parse(await fetchText('api/stats'));
      setError('stats', null);
      for (const k of ['spans', 'logs', 'metricPoints', 'requests', 'rejected']) {
        const el = $(`[data-testid="stat-${k}"]`);
        el.textContent = fmtNum(s[k]);
        el.classList.toggle('warn', k === 'rejected' && s[k] > 0);
      }
    } catch (e) {
      setError('stats', `Could not load stats: ${describe(e)}.`);
    }
  }

  function markUpdated() {
    $('[data-testid="last-updated"]').textContent = `Updated ${fmtClock(Date.now(), false)}`;
  }

  let knownServices = [];

  function fillServiceSelect(names) {
    if (names.join('\n') === knownServices.join('\n')) return syncServiceSelect();
    knownServices = names;
    syncServiceSelect();
  }

  function syncServiceSelect() {
    const sel = $('[data-testid="service-select"]');
    const names = knownServices.slice();
    // A shared link may name a service this collector has not seen (yet); keep it selectable.
    if (state.service && !names.includes(state.service)) names.push(state.service);
    const wanted = ['', ...names];
    const have = [...sel.options].map((o) => o.value);
    if (wanted.join('\n') !== have.join('\n')) {
      fill(sel, ...wanted.map((n) => h('option', { value: n }, n || 'All services')));
    }
    sel.value = state.service;
    sel.disabled = false;
  }

  function onServiceChange(ev) {
    state.service = ev.target.value;
    const r = state.route;
    if (!r || r.view === 'trace' || r.view === 'traces') {
      location.hash = hashFor('traces', { service: state.service });
    } else if (r.view === 'logs') {
      location.hash = hashFor('logs', { service: state.service, traceId: r.params.get('traceId') });
    } else {
      location.hash = hashFor('metrics', { service: state.service });
    }
  }

  function tick() {
    if (!state.live || document.hidden || !state.route) return;
    load();
    loadServices();
    loadStats();
  }

  function setLive(live) {
    state.live = live;
    const btn = $('[data-testid="refresh-toggle"]');
    btn.classList.toggle('paused', !live);
    btn.setAttribute('aria-pressed', String(!live));
    $('.refresh-label', btn).textContent = live ? 'Live' : 'Paused';
    btn.title = live ? `Auto-refresh every ${REFRESH_MS / 1000} s — click to pause` : 'Auto-refresh paused — click to resume';
    if (live) tick();
  }

  // ---------------------------------------------------------------- shared view pieces

  function emptyState(title, hint) {
    return h('div', { class: 'empty', testid: 'empty-state' },
      h('p', { class: 'empty-title' }, title),
      hint ? h('p', { class: 'empty-hint' }, hint) : null);
  }

  function kvTable(entries, testid) {
    if (!entries.length) return h('p', { class: 'muted small' }, 'none');
    return h('table', { class: 'kv', testid },
      h('tbody', null, entries.map(([k, v]) => h('tr', null,
        h('th', { scope: 'row' }, k),
        h('td', null, fmtValue(v))))));
  }

  const tagsToEntries = (tags) => (Array.isArray(tags) ? tags : []).map((t) => [t.key, t.value]);
  const objToEntries = (o) => (o && typeof o === 'object' ? Object.entries(o) : []);

  function pageHeader(title, ...rest) {
    return h('div', { class: 'page-head' }, h('h1', null, title), ...rest);
  }

  function scopeLabel() {
    return state.service ? ['service ', h('strong', null, state.service)] : ['all services'];
  }

  // ---------------------------------------------------------------- trace model

  function tagValue(span, key) {
    const t = (span.tags || []).find((x) => x && x.key === key);
    return t ? t.value : undefined;
  }

  function isError(span) {
    const err = tagValue(span, 'error');
    if (err === true || err === 'true') return true;
    const code = tagValue(span, 'otel.status_code');
    return typeof code === 'string' && code.toUpperCase() === 'ERROR';
  }

  // gRPC's status codes by number, as the RPC conventions record them in rpc.grpc.status_code.
  const GRPC_CODES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND',
    'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
    'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

  // An RPC span's call, or null: its system, service/method and status ("14 UNAVAILABLE").
  function rpcOf(span) {
    const system = tagValue(span, 'rpc.system');
    if (system === undefined) return null;
    const raw = tagValue(span, 'rpc.grpc.status_code');
    const code = raw === undefined || raw === '' ? NaN : Number(raw);
    const name = Number.isInteger(code) ? (GRPC_CODES[code] || 'code') : '';
    return {
      system: String(system),
      method: [tagValue(span, 'rpc.service'), tagValue(span, 'rpc.method')].filter((x) => x !== undefined).join('/'),
      ok: code === 0,
      status: Number.isInteger(code) ? `${code} ${name}` : '',
      short: Number.isInteger(code) ? name : '',
    };
  }

  function parentRef(span) {
    return (span.references || []).find((r) => r && r.refType === 'CHILD_OF');
  }

  // Microsecond numbers may arrive as strings (int64 in some JSON encoders); coerce once here.
  function normalizeSpan(s) {
    const logs = (Array.isArray(s.logs) ? s.logs : []).map((l) => ({ ...l, timestamp: Number(l && l.timestamp) || 0 }));
    return { ...s, startTime: Number(s.startTime) || 0, duration: Math.max(Number(s.duration) || 0, 0), logs };
  }

  function buildTrace(trace) {
    const spans = (Array.isArray(trace.spans) ? trace.spans : []).filter((s) => s && s.spanID).map(normalizeSpan);
    const procs = trace.processes || {};
    const byId = new Map(spans.map((s) => [s.spanID, s]));
    const children = new Map();
    const roots = [];
    for (const s of spans) {
      const ref = parentRef(s);
      // Orphans (parent never arrived, or dropped) are shown as roots.
      if (ref && ref.spanID !== s.spanID && byId.has(ref.spanID)) {
        if (!children.has(ref.spanID)) children.set(ref.spanID, []);
        children.get(ref.spanID).push(s);
      } else {
        roots.push(s);
      }
    }
    const byStart = (a, b) => (a.startTime - b.startTime) || String(a.spanID).localeCompare(String(b.spanID));
    roots.sort(byStart);
    for (const list of children.values()) list.sort(byStart);

    // Spans in a reference cycle are reachable from no root; show them as roots rather than lose them.
    const seen = new Set();
    const descendants = new Map();
    const walk = (s) => {
      if (seen.has(s.spanID)) return 0;
      seen.add(s.spanID);
      let n = 0;
      for (const c of children.get(s.spanID) || []) n += 1 + walk(c);
      descendants.set(s.spanID, n);
      return n;
    };
    roots.forEach(walk);
    for (const s of spans.slice().sort(byStart)) {
      if (!seen.has(s.spanID)) { roots.push(s); walk(s); }
    }

    let start = Infinity;
    let end = -Infinity;
    for (const s of spans) {
      start = Math.min(start, s.startTime);
      end = Math.max(end, s.startTime + (s.duration || 0));
    }
    if (!spans.length) { start = 0; end = 0; }
    const serviceOf = (s) => (procs[s.processID] && procs[s.processID].serviceName) || 'unknown';
    const services = [];
    for (const s of spans.slice().sort(byStart)) {
      const n = serviceOf(s);
      if (!services.includes(n)) services.push(n);
    }
    const root = roots.find((s) => !parentRef(s)) || roots[0] || null;
    const orphans = spans.filter((s) => { const ref = parentRef(s); return ref && !byId.has(ref.spanID); }).length;
    return {
      id: trace.traceID || (spans[0] && spans[0].traceID) || '',
      spans, procs, byId, children, roots, root, descendants, serviceOf, services,
      start, end, total: Math.max(end - start, 1),
      errorCount: spans.filter(isError).length,
      orphans,
      warnings: trace.warnings,
    };
  }

  // Whether more spans of the trace are still to come, and why: a span whose parent has not arrived (each
  // process exports on its own schedule), or, moments after the trace ended, a CLIENT span whose callee's
  // span has not. Null when nothing says a span is missing.
  function arrival(m) {
    const endedAgo = Date.now() - m.end / 1000;
    if (m.orphans && endedAgo >= INCOMPLETE_MS) {
      return { state: 'incomplete', text: 'incomplete',
        title: `${m.orphans} span${m.orphans === 1 ? '' : 's'} whose parent never arrived (lost, or not sampled)` };
    }
    if (m.orphans) {
      return { state: 'arriving', text: 'still arriving',
        title: `${m.orphans} span${m.orphans === 1 ? '' : 's'} whose parent has not arrived yet; this page refreshes every ${REFRESH_MS / 1000} s` };
    }
    const calls = m.spans.filter((s) => String(tagValue(s, 'span.kind') || '').toLowerCase() === 'client'
      && !(m.children.get(s.spanID) || []).length).length;
    if (calls && endedAgo < ARRIVING_MS) {
      return { state: 'arriving', text: 'still arriving',
        title: `${calls} call${calls === 1 ? '' : 's'} whose server side has not arrived yet (the trace ended ${Math.max(0, Math.round(endedAgo / 1000))} s ago)` };
    }
    return null;
  }

  function arrivalBadge(m, testid) {
    const a = arrival(m);
    return a ? h('span', { class: `arrival ${a.state}`, testid, title: a.title, 'data-state': a.state }, a.text) : null;
  }

  // ---------------------------------------------------------------- traces list

  const tracesView = {
    mount(root) {
      const limit = h('select', { class: 'compact', 'aria-label': 'How many traces', onchange: (e) => {
        state.traceLimit = Number(e.target.value);
        state.lastText = null;
        load();
      } }, TRACE_LIMITS.map((n) => h('option', { value: n }, `last ${n}`)));
      limit.value = String(state.traceLimit);
      const filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter by operation, service or trace id',
        testid: 'trace-filter', 'aria-label': 'Filter traces', oninput: () => tracesView.render(state.data || []) });
      root.append(
        pageHeader('Traces', h('p', { class: 'subtitle', testid: 'scope' }, 'Recent traces of ', ...scopeLabel(), ', newest first')),
        h('div', { class: 'toolbar' }, filter, limit),
        h('div', { id: 'traces-body', class: 'view-body' }, h('p', { class: 'loading' }, 'Loading traces…')));
      document.title = 'Traces · collector-stub';
    },
    sync(route) {
      fill($('[data-testid="scope"]'), 'Recent traces of ', ...scopeLabel(), ', newest first');
      void route;
    },
    stale(traces) {
      const models = traces.filter((t) => t && Array.isArray(t.spans)).map(buildTrace).filter((m) => m.spans.length);
      models.sort((a, b) => b.start - a.start);
      return arrivalKey(models) !== state.arrivalShown;
    },
    url() {
      const q = new URLSearchParams({ limit: String(state.traceLimit) });
      if (state.service) q.set('service', state.service);
      return `api/traces?${q}`;
    },
    render(traces) {
      const body = $('#traces-body');
      if (!body) return;
      const models = traces.filter((t) => t && Array.isArray(t.spans)).map(buildTrace).filter((m) => m.spans.length);
      models.sort((a, b) => b.start - a.start);
      const needle = ($('[data-testid="trace-filter"]').value || '').trim().toLowerCase();
      const shown = needle ? models.filter((m) => traceMatches(m, needle)) : models;
      if (!models.length) {
        fill(body, emptyState(state.service ? `No traces for ${state.service} yet` : 'No traces yet',
          'Point an OTLP exporter at this collector; spans show up here within a few seconds.'));
        return;
      }
      if (!shown.length) {
        fill(body, emptyState('No trace matches the filter'));
        return;
      }
      state.arrivalShown = arrivalKey(models);
      const maxDur = Math.max(...shown.map((m) => m.total));
      fill(body,
        h('div', { class: 'trace-list' },
          h('div', { class: 'trace-list-head' },
            h('span', null, 'Root span'), h('span', null, 'Duration'), h('span', null, 'Spans'), h('span', null, 'Started')),
          shown.map((m) => traceRow(m, maxDur))),
        h('p', { class: 'muted small foot' }, `${shown.length} of ${models.length} traces`));
    },
  };

  function arrivalKey(models) {
    return models.map((m) => { const a = arrival(m); return a ? a.state : ''; }).join(',');
  }

  function traceMatches(m, needle) {
    if (m.id.toLowerCase().includes(needle)) return true;
    if (m.services.some((s) => s.toLowerCase().includes(needle))) return true;
    return m.spans.some((s) => String(s.operationName || '').toLowerCase().includes(needle));
  }

  function traceRow(m, maxDur) {
    const root = m.root;
    const svc = m.serviceOf(root);
    const others = m.services.filter((s) => s !== svc);
    return h('a', { class: `trace-row${m.errorCount ? ' has-error' : ''}`, testid: 'trace-row',
      href: traceHash(m.id), 'data-trace-id': m.id },
    h('div', { class: 'tr-main' },
      h('div', { class: 'tr-title' },
        m.errorCount ? h('span', { class: 'error-mark', testid: 'error-mark', title: `${m.errorCount} span(s) with an error`, 'aria-label': 'error' }, '!') : null,
        svcChip(svc),
        h('span', { class: 'tr-op' }, root.operationName || '(unnamed)'),
        arrivalBadge(m, 'arriving-mark')),
      h('div', { class: 'tr-sub' },
        h('span', { class: 'mono' }, m.id),
        others.map((s) => svcChip(s, true)))),
    h('div', { class: 'tr-dur' },
      h('span', { class: 'num' }, fmtDur(m.total)),
      h('div', { class: 'track' }, h('div', { class: 'fill', style: { width: `${Math.max((m.total / maxDur) * 100, 1).toFixed(2)}%` } }))),
    h('div', { class: 'tr-spans' },
      h('span', { class: 'num' }, `${m.spans.length} span${m.spans.length === 1 ? '' : 's'}`),
      m.errorCount ? h('span', { class: 'err-count' }, `${m.errorCount} error${m.errorCount === 1 ? '' : 's'}`) : null),
    h('div', { class: 'tr-time', title: fmtFull(m.start / 1000) },
      h('span', { class: 'num' }, fmtClock(m.start / 1000)),
      isToday(m.start / 1000) ? null : h('span', { class: 'muted small' }, fmtDate(new Date(m.start / 1000)))));
  }

  // ---------------------------------------------------------------- trace waterfall

  const traceView = {
    mount(root, route) {
      state.selectedSpan = route.params.get('span');
      state.scrollToSelected = Boolean(state.selectedSpan);
      root.append(
        h('a', { class: 'back', href: hashFor('traces', { service: state.service }) }, '← Traces'),
        h('div', { id: 'trace-body', class: 'view-body' }, h('p', { class: 'loading' }, 'Loading trace…')));
      document.title = `Trace ${shortId(route.id, 8)} · collector-stub`;
    },
    url(route) {
      return `api/traces/${encodeURIComponent(route.id)}`;
    },
    stale() {
      return Boolean(state.model) && arrivalKey([state.model]) !== state.arrivalShown;
    },
    notFound(route) {
      fill($('#trace-body'), emptyState(`Trace ${route.id} not found`,
        'It may not have arrived yet, or it was evicted from the in-memory store. This page keeps checking.'));
    },
    render(data, route) {
      const trace = data.find((t) => t && t.traceID === route.id) || data[0];
      if (!trace || !Array.isArray(trace.spans) || !trace.spans.length) {
        traceView.notFound(route);
        return;
      }
      const m = buildTrace(trace);
      state.model = m;
      state.arrivalShown = arrivalKey([m]);
      if (state.selectedSpan && !m.byId.has(state.selectedSpan)) state.selectedSpan = null;
      const root = m.root;
      document.title = `${root.operationName} · trace ${shortId(m.id, 8)} · collector-stub`;
      fill($('#trace-body'),
        h('div', { class: 'page-head trace-head' },
          h('h1', null,
            m.errorCount ? h('span', { class: 'error-mark big', title: 'has errors' }, '!') : null,
            svcChip(m.serviceOf(root)), ' ', root.operationName || '(unnamed)', ' ', arrivalBadge(m, 'trace-arriving')),
          h('dl', { class: 'facts' },
            fact('Trace ID', h('span', { class: 'mono', testid: 'trace-id' }, m.id)),
            fact('Started', fmtFull(m.start / 1000)),
            fact('Duration', fmtDur(m.total)),
            fact('Spans', String(m.spans.length)),
            fact('Errors', h('span', { class: m.errorCount ? 'err-count' : '' }, String(m.errorCount))),
            fact('Services', h('span', { class: 'chips' }, m.services.map((s) => svcChip(s, true))))),
          h('div', { class: 'trace-actions' },
            h('a', { class: 'button', testid: 'trace-logs-link', href: hashFor('logs', { traceId: m.id }) }, 'Logs of this trace →'),
            h('button', { type: 'button', class: 'button ghost', onclick: () => { state.collapsed.clear(); renderWaterfall(); } }, 'Expand all'),
            h('button', { type: 'button', class: 'button ghost', onclick: () => {
              for (const [id, n] of m.descendants) if (n > 0) state.collapsed.add(id);
              for (const r of m.roots) state.collapsed.delete(r.spanID);
              renderWaterfall();
            } }, 'Collapse to top level'))),
        h('div', { id: 'waterfall' }));
      renderWaterfall();
      // A shared link to a span should land on it, even deep in a long trace.
      if (state.scrollToSelected) {
        state.scrollToSelected = false;
        const row = $('[data-testid="span-row"].selected');
        if (row) row.scrollIntoView({ block: 'center' });
      }
    },
  };

  function fact(label, value) {
    return h('div', null, h('dt', null, label), h('dd', null, value));
  }

  function pct(x) {
    return `${Math.min(Math.max(x, 0), 100).toFixed(3)}%`;
  }

  function renderWaterfall() {
    const m = state.model;
    const host = $('#waterfall');
    if (!m || !host) return;
    const ticks = [0, 0.25, 0.5, 0.75, 1];
    const rows = [];
    const walk = (s, depth) => {
      const kids = m.children.get(s.spanID) || [];
      rows.push(spanRow(m, s, depth, kids.length));
      if (s.spanID === state.selectedSpan) rows.push(spanDetails(m, s));
      if (!state.collapsed.has(s.spanID)) kids.forEach((k) => walk(k, depth + 1));
    };
    m.roots.forEach((r) => walk(r, 0));
    fill(host,
      h('div', { class: 'waterfall', testid: 'waterfall', role: 'tree' },
        h('div', { class: 'wf-head' },
          h('div', { class: 'wf-label-head' }, 'Service · operation'),
          h('div', { class: 'wf-axis', testid: 'time-axis' },
            ticks.map((t) => h('span', { class: `tick${t === 1 ? ' last' : ''}${t === 0 ? ' first' : ''}`, style: { left: pct(t * 100) } },
              t === 0 ? '0' : fmtDur(m.total * t))))),
        rows),
      h('p', { class: 'muted small foot' }, 'Click a span for its tags, resource and events. Bars are placed relative to the whole trace.'));
  }

  function spanRow(m, s, depth, kidCount) {
    const svc = m.serviceOf(s);
    const err = isError(s);
    const left = ((s.startTime - m.start) / m.total) * 100;
    // A zero-length span still gets a visible sliver (CSS adds a minimum pixel width too).
    const width = Math.max(((s.duration || 0) / m.total) * 100, 0.1);
    const collapsed = state.collapsed.has(s.spanID);
    const selected = state.selectedSpan === s.spanID;
    const select = () => {
      state.selectedSpan = selected ? null : s.spanID;
      replaceHash(traceHash(m.id, state.selectedSpan));
      renderWaterfall();
    };
    const caret = kidCount
      ? h('button', { type: 'button', class: 'caret', 'aria-label': collapsed ? 'Expand children' : 'Collapse children',
        'aria-expanded': String(!collapsed), onclick: (e) => {
          e.stopPropagation();
          if (collapsed) state.collapsed.delete(s.spanID); else state.collapsed.add(s.spanID);
          renderWaterfall();
        } }, collapsed ? '▸' : '▾')
      : h('span', { class: 'caret-space' });
    const durLabel = h('span', { class: 'span-dur' }, fmtDur(s.duration || 0));
    // Put the duration label on whichever side of the bar has room.
    if (left + width <= 82) {
      durLabel.style.setProperty('left', `calc(${pct(left + width)} + 6px)`);
    } else if (left >= 12) {
      durLabel.style.setProperty('right', `calc(${pct(100 - left)} + 6px)`);
    } else {
      durLabel.classList.add('inside');
      durLabel.style.setProperty('right', `calc(${pct(100 - left - width)} + 6px)`);
    }
    const events = (s.logs || []).map((l) => h('span', { class: 'event-mark', testid: 'span-event-mark',
      style: { left: pct(((l.timestamp - m.start) / m.total) * 100) }, title: eventName(l) }));
    return h('div', { class: `span-row${err ? ' error' : ''}${selected ? ' selected' : ''}`, testid: 'span-row',
      'data-span-id': s.spanID, 'data-depth': depth, role: 'treeitem', tabindex: 0, 'aria-selected': String(selected),
      'aria-level': depth + 1, onclick: select,
      onkeydown: (e) => {
        if (e.target !== e.currentTarget) return;
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(); }
      } },
    h('div', { class: 'span-label', style: { '--svc': serviceColor(svc) } },
      h('span', { class: 'indent', style: { width: `${depth * INDENT_PX}px` } }),
      caret,
      h('span', { class: 'svc-swatch' }),
      h('span', { class: 'span-service' }, svc),
      kindBadge(s),
      h('span', { class: 'span-op', title: s.operationName }, rowOperation(s)),
      rpcBadge(s),
      peerOf(s) ? h('span', { class: 'span-peer', testid: 'span-peer', title: `calls ${peerOf(s)}` }, `→ ${peerOf(s)}`) : null,
      collapsed ? h('span', { class: 'hidden-count' }, `+${m.descendants.get(s.spanID)}`) : null,
      isOrphan(m, s) ? h('span', { class: 'orphan', title: `parent span ${parentRef(s).spanID} is not in this trace` }, 'orphan') : null,
      err ? h('span', { class: 'error-mark small', title: 'error' }, '!') : null),
    h('div', { class: 'span-timeline' },
      h('div', { class: 'span-bar', testid: 'span-bar', style: { left: pct(left), width: pct(width), '--svc': serviceColor(svc) } }),
      events,
      durLabel));
  }

  // SERVER, CLIENT, …: which side of a call the span is, as the sidecars record it.
  function kindBadge(s) {
    const kind = tagValue(s, 'span.kind');
    if (!kind) return null;
    const k = String(kind).toUpperCase();
    return h('span', { class: `span-kind kind-${k.toLowerCase()}`, testid: 'span-kind', title: `span kind ${k}` }, k);
  }

  // An RPC span's system, and its status when the call failed ("grpc UNAVAILABLE"); the whole status on hover.
  function rpcBadge(s) {
    const rpc = rpcOf(s);
    if (!rpc) return null;
    return h('span', { class: `span-rpc${rpc.ok ? '' : ' rpc-failed'}`, testid: 'span-rpc',
      title: `${rpc.system} call ${rpc.method}${rpc.status ? `, status ${rpc.status}` : ''}` },
    `${rpc.system}${rpc.ok || !rpc.short ? '' : ` ${rpc.short}`}`);
  }

  // A row's operation: an RPC span's package.Service/Method without its package (the row is narrow; the
  // whole name is in the tooltip and the details).
  function rowOperation(s) {
    const name = s.operationName || '(unnamed)';
    const slash = name.indexOf('/');
    if (!rpcOf(s) || slash < 0) return name;
    const dot = name.lastIndexOf('.', slash);
    return dot < 0 ? name : name.slice(dot + 1);
  }

  // The service a CLIENT span calls: peer.service, else the address it called.
  function peerOf(s) {
    const peer = tagValue(s, 'peer.service');
    if (peer) return String(peer);
    const kind = String(tagValue(s, 'span.kind') || '').toLowerCase();
    const address = tagValue(s, 'server.address');
    return (kind === 'client' || kind === 'producer') && address ? String(address) : '';
  }

  function isOrphan(m, s) {
    const ref = parentRef(s);
    return Boolean(ref && !m.byId.has(ref.spanID));
  }

  function eventName(l) {
    const f = (l.fields || []).find((x) => x && x.key === 'event');
    return f ? String(f.value) : 'event';
  }

  function spanDetails(m, s) {
    const ref = parentRef(s);
    const proc = m.procs[s.processID] || {};
    const kind = tagValue(s, 'span.kind');
    const status = tagValue(s, 'otel.status_code');
    const statusMsg = tagValue(s, 'otel.status_description');
    const rpc = rpcOf(s);
    let parent = '— (root)';
    if (ref) parent = m.byId.has(ref.spanID) ? ref.spanID : `${ref.spanID} (not in this trace)`;
    const events = Array.isArray(s.logs) ? s.logs : [];
    const refs = Array.isArray(s.references) ? s.references : [];
    const warnings = Array.isArray(s.warnings) ? s.warnings : [];
    return h('div', { class: `span-details${isError(s) ? ' error' : ''}`, testid: 'span-details', 'data-span-id': s.spanID },
      h('div', { class: 'sd-head' },
        h('h2', null, s.operationName || '(unnamed)'),
        svcChip(m.serviceOf(s)),
        kind ? h('span', { class: 'badge' }, String(kind).toUpperCase()) : null,
        status ? h('span', { class: `badge ${String(status).toUpperCase() === 'ERROR' ? 'badge-error' : ''}` }, `status ${status}`) : null),
      h('dl', { class: 'facts' },
        fact('Span ID', h('span', { class: 'mono' }, s.spanID)),
        fact('Parent', h('span', { class: 'mono' }, parent)),
        fact('Trace ID', h('span', { class: 'mono' }, s.traceID || m.id)),
        fact('Kind', kind ? String(kind) : 'unspecified'),
        fact('Start', `+${fmtDur(s.startTime - m.start)}  (${fmtFull(s.startTime / 1000)})`),
        fact('Duration', fmtDur(s.duration || 0)),
        rpc ? fact('RPC', h('span', { class: 'mono' }, `${rpc.system} ${rpc.method}`)) : null,
        rpc && rpc.status ? fact(`${rpc.system === 'grpc' ? 'gRPC' : 'RPC'} status`, rpc.status) : null,
        statusMsg ? fact('Status message', String(statusMsg)) : null),
      h('div', { class: 'sd-grid' },
        h('section', null, h('h3', null, `Tags (${(s.tags || []).length})`), kvTable(tagsToEntries(s.tags), 'span-tags')),
        h('section', null,
          h('h3', null, 'Process / resource'),
          kvTable([['service.name', proc.serviceName || 'unknown'], ...tagsToEntries(proc.tags)], 'span-process'))),
      h('section', null,
        h('h3', null, `Events (${events.length})`),
        events.length
          ? h('ol', { class: 'events', testid: 'span-events' }, events.map((l) => h('li', null,
            h('div', { class: 'event-head' },
              h('span', { class: 'mono' }, `+${fmtDur(l.timestamp - m.start)}`),
              h('strong', null, eventName(l))),
            kvTable(tagsToEntries(l.fields).filter(([k]) => k !== 'event')))))
          : h('p', { class: 'muted small' }, 'none')),
      refs.length ? h('section', null, h('h3', null, 'References'),
        kvTable(refs.map((r) => [r.refType, `${r.spanID}${r.traceID && r.traceID !== m.id ? ` (trace ${r.traceID})` : ''}`]))) : null,
      warnings.length ? h('section', null, h('h3', null, 'Warnings'), h('ul', null, warnings.map((w) => h('li', null, String(w))))) : null);
  }

  // ---------------------------------------------------------------- logs

  const SEVERITIES = [
    { min: 1, name: 'TRACE' }, { min: 5, name: 'DEBUG' }, { min: 9, name: 'INFO' },
    { min: 13, name: 'WARN' }, { min: 17, name: 'ERROR' }, { min: 21, name: 'FATAL' },
  ];

  function severityOf(l) {
    let n = Number(l.severityNumber) || 0;
    if (!n && l.severityText) {
      const t = String(l.severityText).toUpperCase();
      const hit = SEVERITIES.find((s) => t.startsWith(s.name) || (s.name === 'WARN' && t.startsWith('WARNING')));
      if (hit) n = hit.min;
    }
    const level = SEVERITIES.slice().reverse().find((s) => n >= s.min);
    return { n, level: level ? level.name : '', text: l.severityText || (level ? level.name : '') };
  }

  const logTimeMs = (l) => (Number(l.timeUnixNano) || Number(l.observedTimeUnixNano) || 0) / 1e6;
  const logService = (l) => (l.resource && typeof l.resource['service.name'] === 'string' ? l.resource['service.name'] : '');
  const logKey = (l) => `${l.timeUnixNano}|${l.observedTimeUnixNano}|${l.traceId}|${l.spanId}|${fmtValue(l.body).slice(0, 80)}`;

  const logsView = {
    mount(root, route) {
      const traceInput = h('input', { type: 'search', class: 'filter mono', placeholder: 'Trace id', testid: 'log-trace-filter',
        'aria-label': 'Trace id', spellcheck: 'false', onchange: applyTraceFilter, onsearch: applyTraceFilter,
        onkeydown: (e) => { if (e.key === 'Enter') applyTraceFilter(); } });
      const search = h('input', { type: 'search', class: 'filter', placeholder: 'Search body and attributes',
        testid: 'log-search', 'aria-label': 'Search logs', oninput: () => logsView.render(state.data || []) });
      const sev = h('select', { class: 'compact', testid: 'log-severity', 'aria-label': 'Minimum severity',
        onchange: () => logsView.render(state.data || []) },
      h('option', { value: '0' }, 'any severity'),
      SEVERITIES.slice(1).map((s) => h('option', { value: s.min }, `${s.name} and above`)));
      root.append(
        pageHeader('Logs', h('p', { class: 'subtitle', testid: 'scope' })),
        h('div', { class: 'toolbar' }, traceInput, search, sev),
        h('div', { id: 'logs-body', class: 'view-body' }, h('p', { class: 'loading' }, 'Loading logs…')));
      document.title = 'Logs · collector-stub';
      logsView.sync(route);
    },
    sync(route) {
      const traceId = route.params.get('traceId') || '';
      const input = $('[data-testid="log-trace-filter"]');
      if (document.activeElement !== input) input.value = traceId;
      const scope = $('[data-testid="scope"]');
      fill(scope, 'Log records of ', ...scopeLabel(),
        traceId ? [' in trace ', h('a', { class: 'mono', href: traceHash(traceId) }, shortId(traceId, 16)), ' ',
          h('a', { class: 'clear', href: hashFor('logs', { service: state.service }) }, '(clear)')] : '',
        ' — newest first, by the time each record carries');
    },
    url(route) {
      const q = new URLSearchParams({ limit: String(LOG_LIMIT) });
      if (state.service) q.set('service', state.service);
      const traceId = route.params.get('traceId');
      if (traceId) q.set('traceId', traceId);
      return `api/logs?${q}`;
    },
    render(logs, route = state.route) {
      const body = $('#logs-body');
      if (!body) return;
      const minSev = Number($('[data-testid="log-severity"]').value) || 0;
      const needle = ($('[data-testid="log-search"]').value || '').trim().toLowerCase();
      const shown = byTimeNewestFirst(logs).filter((l) => l && (!minSev || severityOf(l).n >= minSev)
        && (!needle || logMatches(l, needle)));
      if (!logs.length) {
        const traceId = route.params.get('traceId');
        fill(body, emptyState(traceId ? 'No logs for this trace yet' : 'No logs yet',
          'Log records sent over OTLP show up here; records emitted inside a span carry its trace id.'));
        return;
      }
      if (!shown.length) {
        fill(body, emptyState('No log record matches the filters'));
        return;
      }
      const rows = [];
      for (const l of shown) {
        const key = logKey(l);
        const open = state.expandedLogs.has(key);
        rows.push(logRow(l, key, open));
        if (open) rows.push(logDetails(l));
      }
      fill(body,
        h('table', { class: 'logs', testid: 'log-table' },
          h('thead', null, h('tr', null,
            h('th', { class: 'c-time' }, 'Time'), h('th', { class: 'c-svc' }, 'Service'), h('th', { class: 'c-sev' }, 'Severity'),
            h('th', { class: 'c-body' }, 'Body'), h('th', { class: 'c-trace' }, 'Trace'))),
          h('tbody', null, rows)),
        h('p', { class: 'muted small foot' },
          `${shown.length} of ${logs.length} records${logs.length >= LOG_LIMIT ? ` (the newest ${LOG_LIMIT} to arrive)` : ''}, newest first.`));
    },
  };

  // Records arrive in batches from several forwarders, so arrival order is not time order: sort by the
  // record's time (its observed time when it has none), newest first; same time: the later arrival first.
  function byTimeNewestFirst(logs) {
    const at = (l) => (l ? Number(l.timeUnixNano) || Number(l.observedTimeUnixNano) || 0 : 0);
    return logs.map((l, i) => ({ l, i, t: at(l) }))
      .sort((a, b) => (b.t - a.t) || (b.i - a.i))
      .map((x) => x.l);
  }

  function applyTraceFilter() {
    const v = $('[data-testid="log-trace-filter"]').value.trim();
    const r = state.route;
    if ((r.params.get('traceId') || '') === v) return;
    replaceHash(hashFor('logs', { service: state.service, traceId: v }));
    logsView.sync(state.route);
    state.token += 1;
    state.lastText = null;
    load();
  }

  function logMatches(l, needle) {
    const hay = [fmtValue(l.body), l.traceId, l.severityText, logService(l),
      ...objToEntries(l.attributes).map(([k, v]) => `${k}=${fmtValue(v)}`)].join('\n').toLowerCase();
    return hay.includes(needle);
  }

  function logRow(l, key, open) {
    const sev = severityOf(l);
    const ms = logTimeMs(l);
    const svc = logService(l);
    const toggle = () => {
      if (state.expandedLogs.has(key)) state.expandedLogs.delete(key); else state.expandedLogs.add(key);
      logsView.render(state.data || []);
    };
    return h('tr', { class: `log-row${open ? ' open' : ''} lvl-${sev.level.toLowerCase() || 'none'}`, testid: 'log-row',
      tabindex: 0, 'aria-expanded': String(open), onclick: toggle,
      onkeydown: (e) => { if (e.target === e.currentTarget && e.key === 'Enter') toggle(); } },
    h('td', { class: 'c-time num', title: fmtFull(ms) },
      fmtClock(ms), isToday(ms) || !ms ? null : h('span', { class: 'muted small' }, ` ${fmtDate(new Date(ms))}`)),
    h('td', { class: 'c-svc' }, svc ? svcChip(svc, true) : h('span', { class: 'muted' }, '—')),
    h('td', { class: 'c-sev' }, h('span', { class: `sev sev-${sev.level.toLowerCase() || 'none'}`, testid: 'log-severity-badge' }, sev.text || '—')),
    h('td', { class: `c-body${typeof l.body === 'string' ? '' : ' mono'}` }, h('div', { class: 'ellipsis' }, fmtValue(l.body))),
    h('td', { class: 'c-trace' }, l.traceId
      ? h('a', { class: 'mono', testid: 'log-trace-link', href: traceHash(l.traceId, l.spanId), title: l.traceId,
        onclick: (e) => e.stopPropagation() }, shortId(l.traceId))
      : h('span', { class: 'muted' }, '—')));
  }

  function logDetails(l) {
    const body = typeof l.body === 'string' ? l.body : JSON.stringify(l.body, null, 2);
    const obs = Number(l.observedTimeUnixNano) / 1e6;
    return h('tr', { class: 'log-details-row' }, h('td', { colspan: 5 },
      h('div', { class: 'log-details', testid: 'log-details' },
        h('pre', { class: 'log-body' }, body === undefined ? '' : body),
        h('dl', { class: 'facts' },
          fact('Time', fmtFull(Number(l.timeUnixNano) / 1e6) || '— (not set)'),
          fact('Observed', fmtFull(obs) || '—'),
          fact('Severity', `${l.severityText || '—'} (${Number(l.severityNumber) || 0})`),
          fact('Trace ID', l.traceId ? h('a', { class: 'mono', href: traceHash(l.traceId, l.spanId) }, l.traceId) : '—'),
          fact('Span ID', h('span', { class: 'mono' }, l.spanId || '—')),
          l.traceId ? fact('', h('a', { href: hashFor('logs', { service: state.service, traceId: l.traceId }) }, 'Only this trace’s logs')) : null),
        h('div', { class: 'sd-grid' },
          h('section', null, h('h3', null, 'Attributes'), kvTable(objToEntries(l.attributes), 'log-attributes')),
          h('section', null, h('h3', null, 'Resource'), kvTable(objToEntries(l.resource), 'log-resource'))))));
  }

  // ---------------------------------------------------------------- metrics

  const metricsView = {
    mount(root, route) {
      const filter = h('input', { type: 'search', class: 'filter', placeholder: 'Filter by metric name', testid: 'metric-filter',
        'aria-label': 'Filter metrics', oninput: () => metricsView.render(state.data || []) });
      root.append(
        pageHeader('Metrics', h('p', { class: 'subtitle', testid: 'scope' })),
        h('div', { class: 'toolbar' }, filter),
        h('div', { id: 'metrics-body', class: 'view-body' }, h('p', { class: 'loading' }, 'Loading metrics…')));
      document.title = 'Metrics · collector-stub';
      metricsView.sync(route);
    },
    sync() {
      fill($('[data-testid="scope"]'), 'Latest point of each series of ', ...scopeLabel(),
        ', each process apart; request durations and errors first');
    },
    url() {
      const q = new URLSearchParams({ limit: String(METRIC_POINT_LIMIT), pointsPerSeries: String(POINTS_PER_SERIES) });
      if (state.service) q.set('service', state.service);
      return `api/metrics?${q}`;
    },
    render(metrics) {
      const body = $('#metrics-body');
      if (!body) return;
      const needle = ($('[data-testid="metric-filter"]').value || '').trim().toLowerCase();
      const cards = metricCards(metrics.filter((m) => m && m.name));
      const shown = cards.filter((c) => !needle || c.name.toLowerCase().includes(needle));
      if (!cards.length) {
        fill(body, emptyState(state.service ? `No metrics for ${state.service} yet` : 'No metrics yet',
          'Metrics arrive when an SDK’s metric reader exports (every 60 s by default) or is flushed.'));
        return;
      }
      if (!shown.length) {
        fill(body, emptyState('No metric matches the filter'));
        return;
      }
      fill(body, h('div', { class: 'metric-grid' }, shown.map(metricCard)));
    },
  };

  // One card per service and metric name. The API gives each process (resource) its own entry: three
  // sidecars of one service export same-named counters, and merged they would read as one zig-zag line.
  function metricCards(metrics) {
    const cards = new Map();
    for (const m of metrics) {
      const key = `${m.service}\u0000${m.name}`;
      if (!cards.has(key)) {
        cards.set(key, { name: m.name, service: m.service || '', type: m.type, unit: m.unit, description: m.description, series: [] });
      }
      const card = cards.get(key);
      const process = processOf(m.resource);
      for (const series of groupSeries(m.points)) card.series.push({ ...series, process });
    }
    const list = [...cards.values()];
    for (const c of list) {
      c.hiddenOverflow = c.series.filter(isEmptyOverflow).length;
      c.series = c.series.filter((x) => !isEmptyOverflow(x)).sort(bySeriesImportance);
      c.processes = new Set(c.series.map((x) => x.process.key)).size;
    }
    return list.sort((a, b) => (cardRank(a) - cardRank(b)) || a.name.localeCompare(b.name) || a.service.localeCompare(b.service));
  }

  // Which process a metric came from: the sidecar's name, the pod or host, else its instance id.
  function processOf(resource) {
    const r = resource && typeof resource === 'object' ? resource : {};
    const instance = typeof r['service.instance.id'] === 'string' ? r['service.instance.id'] : '';
    const parts = [r['sidecar.name'], r['k8s.pod.name'] || r['host.name']].filter((x) => typeof x === 'string' && x);
    const text = parts.length ? parts.join(' · ') : (instance ? `instance ${shortId(instance, 8)}` : '');
    const title = Object.entries(r).filter(([k]) => k !== 'service.name').map(([k, v]) => `${k}=${fmtValue(v)}`).join('\n');
    return { key: instance || text || title, text, title };
  }

  const ERRORISH = /error|fail|reject|drop|unrecovered|overflow|breaker|retr|eject/i;

  // What a newcomer looks for first: request durations (RED's R and D, errors by status), then anything
  // counting errors, then the rest.
  function cardRank(c) {
    if (/[._]max$/.test(c.name)) return 4;
    if (/request[._]duration/.test(c.name)) return /server/.test(c.name) ? 0 : 1;
    if (ERRORISH.test(c.name)) return 2;
    return 3;
  }

  function isErrorSeries(series) {
    const attrs = series.latest && series.latest.attributes ? series.latest.attributes : {};
    const status = Number(attrs['http.response.status_code'] || attrs.http_response_status_code);
    return status >= 500 || attrs['error.type'] !== undefined || attrs.outcome === 'rejected';
  }

  function bySeriesImportance(a, b) {
    return (isErrorSeries(b) - isErrorSeries(a)) || a.process.text.localeCompare(b.process.text)
      || seriesKey(a.latest.attributes).localeCompare(seriesKey(b.latest.attributes));
  }

  // The series recordings fold into once there are more label combinations than the limit: shown only
  // when something landed there.
  function isEmptyOverflow(series) {
    const attrs = objToEntries(series.latest && series.latest.attributes);
    const overflow = attrs.some(([k, v]) => v === '_OVERFLOW' || (k === 'otel.metric.overflow' && v === true));
    const empty = series.history.every((p) => (Number(p.value) || 0) === 0 && (Number(p.count) || 0) === 0);
    return overflow && empty;
  }

  function seriesKey(attrs) {
    return JSON.stringify(objToEntries(attrs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  // Points come oldest first; group them by attribute set so each series shows its latest point and its
  // history.
  function groupSeries(points) {
    const map = new Map();
    for (const p of Array.isArray(points) ? points : []) {
      if (!p) continue;
      const k = seriesKey(p.attributes);
      if (!map.has(k)) map.set(k, []);
      map.get(k).push(p);
    }
    return [...map.values()].map((ps) => {
      const sorted = ps.slice().sort((a, b) => (Number(a.timeUnixNano) || 0) - (Number(b.timeUnixNano) || 0));
      return { latest: sorted[sorted.length - 1], history: sorted };
    });
  }

  function metricCard(c) {
    return h('article', { class: 'metric-card', testid: 'metric-card', 'data-metric-name': c.name, 'data-metric-type': c.type,
      'data-service': c.service },
    h('header', null,
      c.service ? h('span', { testid: 'metric-service' }, svcChip(c.service, true)) : null,
      h('h2', { class: 'mono' }, c.name),
      h('span', { class: `badge type-${c.type}` }, c.type || 'unknown'),
      c.unit ? h('span', { class: 'badge ghost', title: 'unit' }, `unit ${c.unit}`) : null,
      h('span', { class: 'muted small' }, `${c.series.length} series${c.processes > 1 ? ` from ${c.processes} processes` : ''}`)),
    c.description ? h('p', { class: 'muted small desc' }, c.description) : null,
    c.series.length ? c.series.map((x) => seriesView(c, x)) : h('p', { class: 'muted small' }, 'no points'),
    c.hiddenOverflow ? h('p', { class: 'muted small hidden-overflow', testid: 'hidden-overflow' },
      `${c.hiddenOverflow} empty overflow series hidden (recordings beyond the series limit would land there)`) : null);
  }

  function attrChips(attrs) {
    const entries = objToEntries(attrs);
    if (!entries.length) return h('span', { class: 'muted small' }, 'no attributes');
    return entries.map(([k, v]) => h('span', { class: 'attr' }, h('span', { class: 'attr-k' }, k), h('span', { class: 'attr-v' }, fmtValue(v))));
  }

  function seriesView(m, s) {
    const p = s.latest;
    const ms = Number(p.timeUnixNano) / 1e6;
    const error = isErrorSeries(s);
    const attrs = h('div', { class: 'attrs' },
      s.process && s.process.text ? h('span', { class: 'process-chip', testid: 'metric-process', title: s.process.title }, s.process.text) : null,
      attrChips(p.attributes));
    const when = h('div', { class: 'muted small', title: fmtFull(ms) },
      `at ${fmtClock(ms)} · ${s.history.length} point${s.history.length === 1 ? '' : 's'} kept`);
    const isDistribution = Array.isArray(p.buckets) || ['histogram', 'exponentialHistogram', 'summary'].includes(m.type);
    const props = { class: `series${error ? ' error' : ''}`, testid: 'metric-series', 'data-error': String(error) };
    if (!isDistribution && p.value !== undefined) {
      return h('div', props,
        h('div', { class: 'series-info' }, attrs, when),
        h('div', { class: 'series-value' },
          bigValue(p.value, m.unit),
          sparkline(s.history, 'value')));
    }
    const stats = h('div', { class: 'hist-stats' },
      p.count !== undefined ? stat('count', fmtNum(p.count)) : null,
      p.sum !== undefined ? stat('sum', fmtMetricValue(p.sum, m.unit)) : null,
      typeof p.count === 'number' && p.count > 0 && typeof p.sum === 'number' ? stat('avg', fmtMetricValue(p.sum / p.count, m.unit)) : null,
      typeof p.min === 'number' ? stat('min', fmtMetricValue(p.min, m.unit)) : null,
      typeof p.max === 'number' ? stat('max', fmtMetricValue(p.max, m.unit)) : null,
      p.value !== undefined ? stat('value', fmtMetricValue(p.value, m.unit)) : null,
      Array.isArray(p.quantiles) ? p.quantiles.map((q) => stat(`p${trim((Number(q.quantile) || 0) * 100, 2)}`, fmtMetricValue(q.value, m.unit))) : null);
    let chart = null;
    if (Array.isArray(p.buckets) && p.buckets.length) chart = histogram(p.buckets, m.unit);
    else if (m.type !== 'summary') chart = h('div', { class: 'muted small no-buckets' }, 'no bucket data in this API answer');
    return h('div', props,
      h('div', { class: 'series-info' }, attrs, stats, sparkline(s.history, 'count'), when),
      chart);
  }

  function bigValue(v, unit) {
    if (unit === 'By') return h('span', { class: 'big-value num', testid: 'metric-value' }, fmtBytes(v));
    const suffix = unitSuffix(unit);
    return h('span', { class: 'big-value num', testid: 'metric-value' }, fmtNum(v),
      suffix ? h('span', { class: 'big-unit' }, ` ${suffix}`) : null);
  }

  function stat(label, value) {
    return h('div', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value num' }, value));
  }

  function histogram(buckets, unit) {
    const max = Math.max(1, ...buckets.map((b) => Number(b.count) || 0));
    const suffix = unitSuffix(unit);
    let lower = null;
    const bars = buckets.map((b) => {
      const c = Number(b.count) || 0;
      const range = lower === null ? `≤ ${fmtNum(b.le)}` : `(${fmtNum(lower)}, ${typeof b.le === 'number' ? fmtNum(b.le) : b.le}]`;
      lower = b.le;
      return h('div', { class: `hbar-col${c ? '' : ' zero'}`, title: `${range}${suffix ? ` ${suffix}` : ''}: ${fmtNum(c)}` },
        h('span', { class: 'hbar-count num' }, c ? fmtNum(c) : ''),
        h('div', { class: 'hbar-track' },
          h('div', { class: 'histogram-bar', testid: 'histogram-bar', 'data-le': String(b.le), 'data-count': String(c),
            style: { height: `${((c / max) * 100).toFixed(2)}%` } })),
        h('span', { class: 'hbar-le num' }, fmtBound(b.le)));
    });
    return h('div', { class: 'histogram', testid: 'histogram', 'aria-label': 'bucket counts' },
      h('div', { class: 'hbars' }, bars),
      h('div', { class: 'muted small hist-caption' }, `bucket upper bounds${suffix ? ` (${suffix})` : ''}, count per bucket`));
  }

  // The series over the points kept (the latest POINTS_PER_SERIES exports): a value, or a histogram's count.
  function sparkline(history, field) {
    const vals = history.map((p) => Number(p[field])).filter(Number.isFinite);
    if (vals.length < 2) return null;
    const w = 160;
    const hgt = 36;
    const min = Math.min(...vals);
    const max = Math.max(...vals);
    const span = max - min || 1;
    const pts = vals.map((v, i) => `${((i / (vals.length - 1)) * (w - 4) + 2).toFixed(1)},${(hgt - 2 - ((v - min) / span) * (hgt - 4)).toFixed(1)}`);
    return svg('svg', { class: 'sparkline', testid: 'sparkline', viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: 'img',
      'data-points': String(vals.length), 'aria-label': `last ${vals.length} ${field === 'count' ? 'counts' : 'values'}, from ${fmtNum(min)} to ${fmtNum(max)}` },
    svg('polyline', { points: pts.join(' '), fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5, 'stroke-linejoin': 'round' }),
    svg('circle', { cx: pts[pts.length - 1].split(',')[0], cy: pts[pts.length - 1].split(',')[1], r: 2.5, fill: 'currentColor' }));
  }

  // ---------------------------------------------------------------- start

  const views = { traces: tracesView, trace: traceView, logs: logsView, metrics: metricsView };

  function start() {
    $('[data-testid="service-select"]').addEventListener('change', onServiceChange);
    $('[data-testid="refresh-toggle"]').addEventListener('click', () => setLive(!state.live));
    $('.banner-close').addEventListener('click', () => { $('[data-testid="error-banner"]').hidden = true; });
    window.addEventListener('hashchange', onHashChange);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) tick(); });
    setLive(true);
    onHashChange();
    loadServices();
    loadStats();
    setInterval(tick, REFRESH_MS);
  }

  start();
})();
