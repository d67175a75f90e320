// Mandi console: the platform team's view of every tenant's checkout health, plugin
// deployments, plugin runs and event stream. Plain script, no dependencies: the Mandi server
// embeds and serves it as is.
'use strict';

(() => {
  const TOKEN_KEY = 'mandi.console.admin-token';
  const HOOKS = ['cart-transform', 'pricing', 'validation', 'fulfillment', 'payment'];
  const OUTCOMES = ['ok', 'skipped', 'failed'];
  const REFRESH_MS = 5000;
  const RECONNECT_MS = 2000;
  const MAX_EVENTS = 200;
  const SVG_NS = 'http://www.w3.org/2000/svg';

  // ---------------------------------------------------------------- DOM helpers

  const $ = (selector) => document.querySelector(selector);

  // Builds elements from data without ever parsing it as HTML: plugin logs, errors and
  // configs are written by tenants, so every string goes in as a text node or attribute.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value == null || value === false) continue;
      if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child == null || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
    return node;
  }

  const th = (...labels) => el('thead', {}, el('tr', {}, labels.map((l) => el('th', {}, l))));
  const pre = (text) => el('pre', { class: 'json' }, text);
  const json = (value) => JSON.stringify(value, null, 2);
  const clip = (text, n) => (text && text.length > n ? `${text.slice(0, n - 1)}…` : text || '');

  function panel(title, body, extra) {
    return el('section', { class: 'panel' },
      el('header', { class: 'panel-head' }, el('h2', {}, title), extra), body);
  }

  function kv(label, value) {
    return [el('dt', {}, label), el('dd', { class: 'mono' }, value == null || value === '' ? '–' : value)];
  }

  function badge(text, kind, title) {
    return el('span', { class: `badge badge-${kind}`, title }, text);
  }

  // ---------------------------------------------------------------- formatting

  const pad = (n) => String(n).padStart(2, '0');

  // Local time; today's times as HH:MM:SS, older ones with their date.
  function fmtTime(ms) {
    if (ms == null) return '–';
    const d = new Date(ms);
    const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    if (d.toDateString() === new Date().toDateString()) return hms;
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
  }

  const fmtMs = (v) => (v == null ? '–' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
  const fmtRate = (v) => (v == null ? '–' : Number(v).toFixed(1));
  const fmtInt = (n) => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
  const fmtPct = (r) => (r == null || !Number.isFinite(r) ? '–' : `${(r * 100).toFixed(r < 0.1 ? 2 : 1)}%`);
  const fmtDuration = (us) => (us == null ? '–' : (us / 1000).toFixed(us < 10000 ? 3 : 1));
  const shortDigest = (d) => (d ? String(d).replace(/^sha256:/, '').slice(0, 12) : '–');
  const failedShare = (q) => (q && q.count ? fmtPct(q.failed / q.count) : '–');
  const versionLabel = (live) => (live ? `v${live.version} ${shortDigest(live.plugin_digest)}` : 'default');
  const tenantHref = (id) => `#/tenants/${encodeURIComponent(id)}`;

  function setTitle(text) {
    $('#page-title').textContent = text;
    document.title = `${text} · Mandi console`;
  }

  function setUpdated(ms) {
    $('#updated').textContent = `updated ${fmtTime(ms || Date.now())}`;
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  // Mandi answers errors as {"error":{"code","message"}}; a proxy in between may not.
  async function errorOf(res) {
    let code = `http-${res.status}`;
    let message = res.statusText || 'request failed';
    try {
      const body = await res.json();
      if (body && body.error) {
        code = body.error.code || code;
        message = body.error.message || message;
      }
    } catch (_) { /* not JSON: keep the HTTP status */ }
    return new ApiError(res.status, code, message);
  }

  async function api(path, { method = 'GET', signal } = {}) {
    const res = await fetch(path, {
      method, signal, cache: 'no-store',
      headers: { Authorization: `Bearer ${token()}`, Accept: 'application/json' },
    });
    if (!res.ok) {
      const err = await errorOf(res);
      if (res.status === 401) expire(err.message);
      throw err;
    }
    return res.status === 204 ? null : res.json();
  }

  const describe = (e) => (e instanceof ApiError ? `${e.code}: ${e.message}` : (e && e.message) || String(e));
  // Aborts (leaving a page) and 401s (already back at the login form) need no message.
  const isQuiet = (e) => (e && e.name === 'AbortError') || (e instanceof ApiError && e.status === 401);

  function errorLine() {
    return el('p', { class: 'section-error', role: 'alert', hidden: true });
  }

  function showError(line, e) {
    if (isQuiet(e)) return;
    line.textContent = describe(e);
    line.hidden = false;
  }

  function clearError(line) {
    line.hidden = true;
    line.textContent = '';
  }

  function notify(message, kind = 'ok') {
    const notice = $('#notice');
    notice.textContent = message;
    notice.className = `notice notice-${kind}`;
    notice.hidden = false;
  }

  // ---------------------------------------------------------------- page lifetime

  // Everything a page starts (polls, requests, the event stream) hangs off one scope, so
  // leaving the page stops all of it at once.
  function makeScope() {
    const controller = new AbortController();
    const timers = new Set();
    const scope = {
      signal: controller.signal,
      get alive() { return !controller.signal.aborted; },
      later(ms, fn) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (scope.alive) fn();
        }, ms);
        timers.add(timer);
      },
      // The next poll is scheduled only once the previous answer is in, so a slow server
      // never has requests piling up.
      poll(ms, fn) {
        const tick = async () => {
          try { await fn(); } catch (e) { if (!isQuiet(e)) console.error(e); }
          scope.later(ms, tick);
        };
        tick();
      },
      sleep(ms) {
        return new Promise((resolve) => {
          scope.later(ms, resolve);
          controller.signal.addEventListener('abort', resolve, { once: true });
        });
      },
      teardown() {
        controller.abort();
        timers.forEach(clearTimeout);
        timers.clear();
      },
    };
    return scope;
  }

  let current = null;

  function leavePage() {
    if (current) current.teardown();
    current = null;
    const dialog = $('#confirm');
    if (dialog.open) dialog.close();
  }

  // ---------------------------------------------------------------- login

  function showLogin(message) {
    leavePage();
    $('#app').hidden = true;
    $('#login-view').hidden = false;
    $('#login-error').textContent = message || '';
    $('#token').focus();
  }

  function expire(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(message || 'Your session has ended: log in again.');
  }

  async function onLogin(event) {
    event.preventDefault();
    const input = $('#token');
    const button = $('#login');
    const error = $('#login-error');
    const value = input.value.trim();
    error.textContent = '';
    if (!value) {
      error.textContent = 'Enter the admin token.';
      return;
    }
    button.disabled = true;
    let res;
    try {
      // The tenant list is the cheapest call that proves the token.
      res = await fetch('/admin/tenants', {
        cache: 'no-store', headers: { Authorization: `Bearer ${value}`, Accept: 'application/json' },
      });
    } catch (e) {
      error.textContent = `Cannot reach Mandi: ${describe(e)}`;
      return;
    } finally {
      button.disabled = false;
    }
    if (!res.ok) {
      const err = await errorOf(res);
      error.textContent = res.status === 401 ? err.message : describe(err);
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, value);
    input.value = '';
    enter();
  }

  function enter() {
    $('#login-view').hidden = true;
    $('#app').hidden = false;
    route();
  }

  // ---------------------------------------------------------------- routing

  function route() {
    if (!token()) {
      showLogin();
      return;
    }
    leavePage();
    $('#notice').hidden = true;
    $('#updated').textContent = '';
    const main = $('#view');
    main.replaceChildren();
    const match = /^#\/tenants\/([^/?#]+)\/?$/.exec(location.hash);
    let tenant = null;
    if (match) {
      try { tenant = decodeURIComponent(match[1]); } catch (_) { tenant = null; }
    }
    current = tenant ? tenantPage(main, tenant) : glancePage(main);
  }

  // ---------------------------------------------------------------- sparklines

  // Lines share one scale (the highest value of any), so failures read as a part of calls.
  // A null value (a minute without a p99, say) breaks the line rather than faking a zero.
  function sparkline(lines, width, height, label) {
    const root = svg('svg', {
      class: 'spark', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label,
    });
    const values = lines.flatMap((l) => l.values.filter((v) => v != null));
    const max = Math.max(1, ...values);
    root.append(svg('line', { class: 'spark-base', x1: 0, x2: width, y1: height - 0.5, y2: height - 0.5 }));
    for (const line of lines) {
      const n = line.values.length;
      const step = n > 1 ? (width - 2) / (n - 1) : 0;
      let points = [];
      const flush = () => {
        if (points.length) root.append(svg('polyline', { class: line.cls, points: points.join(' ') }));
        points = [];
      };
      line.values.forEach((v, i) => {
        if (v == null) return flush();
        points.push(`${(1 + i * step).toFixed(1)},${(height - 1 - (v / max) * (height - 2)).toFixed(1)}`);
      });
      flush();
    }
    const title = svg('title', {});
    title.textContent = `${label} (peak ${fmtInt(max)} per minute)`;
    root.prepend(title);
    return root;
  }

  function quoteSpark(series, width, height) {
    return sparkline([
      { values: series.map((m) => m.count), cls: 'line' },
      { values: series.map((m) => m.failed), cls: 'line-bad' },
    ], width, height, 'Quotes per minute, failed in red');
  }

  function hookSpark(series, width, height, withFailures) {
    const lines = [{ values: series.map((m) => m.count), cls: 'line' }];
    if (withFailures) {
      lines.push({ values: series.map((m) => m.degraded), cls: 'line-warn' });
      lines.push({ values: series.map((m) => m.failed), cls: 'line-bad' });
    }
    return sparkline(lines, width, height,
      withFailures ? 'Calls per minute, degraded in amber, failed in red' : 'Calls per minute');
  }

  // ---------------------------------------------------------------- health figures

  // Remembers what each figure read at the last refresh, so the ones that moved can flash.
  function tracker(previous, next, prefix) {
    return (key, text) => {
      const id = `${prefix}|${key}`;
      next.set(id, text);
      const moved = previous.has(id) && previous.get(id) !== text;
      return el('span', { class: moved ? 'changed' : null }, text);
    };
  }

  function breakerBadge(state) {
    const known = ['closed', 'half-open', 'open'].includes(state);
    return badge(known ? state : 'unknown', `breaker-${known ? state : 'unknown'}`,
      known ? `circuit breaker ${state}` : 'breaker state unknown on this node');
  }

  function rolloutBadges(rollouts) {
    return (rollouts || []).map((r) => badge(
      `${r.status}${r.sample_percent != null ? ` ${r.sample_percent}%` : ''}`,
      r.status === 'canary' ? 'canary' : 'shadow',
      `${r.status} deployment ${r.deployment_id}`));
  }

  function liveTitle(live) {
    return live ? `${live.plugin_digest} · ${live.failure_policy} · ${live.deployment_id}` : 'platform default';
  }

  function fetchHealth(scope) {
    return api('/admin/health?minutes=60', { signal: scope.signal });
  }

  // ---------------------------------------------------------------- tenants at a glance

  function glancePage(main) {
    const scope = makeScope();
    setTitle('Tenants at a glance');
    const error = errorLine();
    const body = el('tbody');
    const empty = el('p', { class: 'muted', hidden: true }, 'No tenants yet.');
    main.append(panel('Tenants', [error,
      el('table', { id: 'tenants', class: 'grid glance' },
        th('Tenant', 'Quotes/min', 'p50 ms', 'p99 ms', 'Failed', 'Rejected', 'Quotes, last hour', 'Hooks'), body),
      empty], el('span', { class: 'muted' }, 'quotes/min: mean over the last 5 minutes')));

    let seen = new Map();
    scope.poll(REFRESH_MS, async () => {
      try {
        const health = await fetchHealth(scope);
        const next = new Map();
        body.replaceChildren(...health.tenants.map((t) => glanceRow(t, tracker(seen, next, t.id))));
        seen = next;
        empty.hidden = health.tenants.length > 0;
        clearError(error);
        setUpdated(health.now);
      } catch (e) {
        showError(error, e);
      }
    });
    return scope;
  }

  function glanceRow(t, fig) {
    const q = t.quotes || {};
    return el('tr', { 'data-tenant': t.id },
      el('td', { class: 'tenant' },
        el('div', { class: 'tenant-name' }, t.name || t.id),
        el('a', { href: tenantHref(t.id), class: 'mono' }, t.id)),
      el('td', { class: 'num' }, fig('qpm', fmtRate(t.quotes_per_minute))),
      el('td', { class: 'num' }, fig('p50', fmtMs(q.p50_ms))),
      el('td', { class: 'num' }, fig('p99', fmtMs(q.p99_ms))),
      el('td', { class: 'num', title: `${fmtInt(q.failed)} of ${fmtInt(q.count)} quotes failed` },
        fig('failed', failedShare(q))),
      el('td', { class: 'num', title: `${fmtInt(q.rejected)} of ${fmtInt(q.count)} quotes refused by a plugin's rules` },
        fig('rejected', fmtPct(q.rejection_rate))),
      el('td', {}, quoteSpark(t.series || [], 120, 24)),
      el('td', { class: 'hooks' },
        el('div', { class: 'hook-list' }, (t.hooks || []).map((h) => hookChip(h, fig)))));
  }

  function hookChip(h, fig) {
    const key = `hook:${h.hook}`;
    return el('div', { class: 'hook', 'data-hook': h.hook },
      el('div', { class: 'hook-head' },
        el('strong', {}, h.hook),
        el('span', { class: 'mono muted', title: liveTitle(h.live) }, versionLabel(h.live)),
        breakerBadge(h.breaker),
        rolloutBadges(h.rollouts)),
      el('div', { class: 'hook-figs' },
        el('span', { title: `${fmtInt(h.failed)} of ${fmtInt(h.count)} calls failed` },
          'fail ', fig(`${key}:fail`, fmtPct(h.failure_rate))),
        el('span', { title: `${fmtInt(h.rejected)} of ${fmtInt(h.count)} calls refused by the plugin's rules` },
          'rej ', fig(`${key}:rej`, fmtPct(h.rejection_rate))),
        el('span', { title: `${fmtInt(h.degraded)} of ${fmtInt(h.count)} calls degraded` },
          'degr ', fig(`${key}:degr`, fmtPct(h.degraded_rate))),
        el('span', {}, 'p99 ', fig(`${key}:p99`, fmtMs(h.p99_ms)), ' ms'),
        hookSpark(h.series || [], 72, 16, false)));
  }

  // ---------------------------------------------------------------- a tenant's page

  function tenantPage(main, id) {
    const scope = makeScope();
    setTitle(id);
    const base = `/admin/tenants/${encodeURIComponent(id)}`;
    const healthError = errorLine();
    const health = el('div', { class: 'health' }, el('p', { class: 'muted' }, 'Loading…'));
    const deployments = el('div', { id: 'deployments' });
    const runs = el('div', { id: 'runs' });
    const events = el('div', { id: 'events' });
    const streamState = el('span', { class: 'pill pill-connecting' }, 'connecting');

    main.append(
      el('nav', { class: 'crumbs' }, el('a', { href: '#/' }, '← All tenants')),
      panel('Health', [healthError, health], el('span', { class: 'muted' }, 'last 60 minutes')),
      el('div', { class: 'columns' },
        panel('Deployments', deployments),
        panel('Live events', events, streamState)),
      panel('Run history', runs));

    const deploys = deploymentsSection(deployments, base, scope);
    runsSection(runs, base, scope);
    // A plugin event means the deployments changed: show it without waiting for a reload.
    eventsSection(events, streamState, base, scope, (ev) => {
      if (String(ev.kind).startsWith('plugin.')) deploys.soon();
    });

    let seen = new Map();
    let titled = false;
    scope.poll(REFRESH_MS, async () => {
      try {
        const answer = await fetchHealth(scope);
        const t = answer.tenants.find((x) => x.id === id);
        const next = new Map();
        if (t) {
          if (!titled && t.name && t.name !== t.id) setTitle(`${t.name} (${t.id})`);
          titled = true;
          health.replaceChildren(...healthDetail(t, answer.minutes, tracker(seen, next, id)));
        } else {
          health.replaceChildren(el('p', { class: 'muted' }, 'No health figures for this tenant.'));
        }
        seen = next;
        clearError(healthError);
        setUpdated(answer.now);
      } catch (e) {
        showError(healthError, e);
      }
    });
    return scope;
  }

  function stat(label, value, unit, title) {
    const known = value.textContent !== '–';
    return el('div', { class: 'stat', title },
      el('div', { class: 'stat-value' }, value, unit && known ? el('small', {}, unit) : null),
      el('div', { class: 'stat-label' }, label));
  }

  function healthDetail(t, minutes, fig) {
    const q = t.quotes || {};
    return [
      el('div', { class: 'health-top' },
        el('div', { class: 'stats' },
          stat('quotes/min (5 min mean)', fig('qpm', fmtRate(t.quotes_per_minute))),
          stat(`quotes (${minutes} min)`, fig('count', fmtInt(q.count))),
          stat('failed', fig('failed', failedShare(q)), null, `${fmtInt(q.failed)} failed`),
          stat('p50', fig('p50', fmtMs(q.p50_ms)), 'ms'),
          stat('p99', fig('p99', fmtMs(q.p99_ms)), 'ms')),
        el('figure', { class: 'chart' },
          quoteSpark(t.series || [], 560, 64),
          el('figcaption', {}, `Quotes per minute over ${minutes} minutes; failed in red`))),
      el('div', { class: 'hook-cards' }, (t.hooks || []).map((h) => hookCard(h, fig))),
    ];
  }

  function hookCard(h, fig) {
    const key = `hook:${h.hook}`;
    const live = h.live;
    return el('div', { class: 'hook-card', 'data-health-hook': h.hook },
      el('div', { class: 'hook-head' },
        el('strong', {}, h.hook),
        el('span', { class: 'mono muted', title: liveTitle(live) }, versionLabel(live)),
        live ? el('span', { class: 'muted' }, live.failure_policy) : null,
        breakerBadge(h.breaker),
        rolloutBadges(h.rollouts)),
      el('div', { class: 'hook-figs' },
        el('span', {}, 'calls ', fig(`${key}:calls`, fmtInt(h.count))),
        el('span', {}, 'failed ', fig(`${key}:failed`, fmtInt(h.failed)),
          ' (', fig(`${key}:fail`, fmtPct(h.failure_rate)), ')'),
        el('span', { title: 'refusals the plugin chose (its own error): business rules, not failures' },
          'rejected ', fig(`${key}:rejected`, fmtInt(h.rejected)),
          ' (', fig(`${key}:rej`, fmtPct(h.rejection_rate)), ')'),
        el('span', {}, 'degraded ', fig(`${key}:degraded`, fmtInt(h.degraded)),
          ' (', fig(`${key}:degr`, fmtPct(h.degraded_rate)), ')'),
        el('span', {}, 'p50 ', fig(`${key}:p50`, fmtMs(h.p50_ms)), ' ms'),
        el('span', {}, 'p99 ', fig(`${key}:p99`, fmtMs(h.p99_ms)), ' ms')),
      hookSpark(h.series || [], 330, 44, true));
  }

  // ---------------------------------------------------------------- deployments

  function deploymentsSection(root, base, scope) {
    const open = new Set(); // deployments whose config is shown, kept across reloads
    const error = errorLine();
    const body = el('div', {}, el('p', { class: 'muted' }, 'Loading…'));
    root.append(error, body);
    let loads = 0;
    let queued = false;

    async function load() {
      const mine = ++loads;
      try {
        const list = await api(`${base}/deployments`, { signal: scope.signal });
        if (mine !== loads) return; // a later reload overtook this answer
        clearError(error);
        const byHook = new Map();
        for (const d of list) {
          if (!byHook.has(d.hook)) byHook.set(d.hook, []);
          byHook.get(d.hook).push(d);
        }
        const order = [...HOOKS.filter((h) => byHook.has(h)), ...[...byHook.keys()].filter((h) => !HOOKS.includes(h))];
        body.replaceChildren(...(order.length
          ? order.map((hook) => group(hook, byHook.get(hook)))
          : [el('p', { class: 'muted' }, 'No deployments: every hook runs the platform default.')]));
      } catch (e) {
        showError(error, e);
      }
    }

    function group(hook, list) {
      const activeAt = list.findIndex((d) => d.status === 'active');
      const active = activeAt >= 0 ? list[activeAt] : null;
      // The service rolls back to the newest superseded deployment older than the active one.
      const target = active ? list.slice(activeAt + 1).find((d) => d.status === 'superseded') : null;
      const button = target ? el('button', { type: 'button', class: 'rollback', 'data-hook': hook },
        `Roll back to v${target.version}`) : null;
      if (button) button.addEventListener('click', () => rollback(hook, active, target, button));
      return el('div', { class: 'deploy-group', 'data-hook': hook },
        el('div', { class: 'group-head' },
          el('h3', {}, hook),
          el('span', { class: 'muted' }, active ? `v${active.version} active` : 'platform default'),
          button),
        el('table', { class: 'grid deploys' },
          th('Ver', 'Status', 'Digest', 'Policy', 'Created', 'Test carts', ''),
          el('tbody', {}, list.map(deploymentRows))));
    }

    function deploymentRows(d) {
      const shown = open.has(d.id);
      const details = el('tr', { class: 'config-row', hidden: !shown },
        el('td', { colspan: 7 }, deploymentDetails(d)));
      const toggle = el('button', { type: 'button', class: 'link', 'aria-expanded': String(shown) },
        shown ? 'hide config' : 'config');
      toggle.addEventListener('click', () => {
        const show = details.hidden;
        details.hidden = !show;
        toggle.setAttribute('aria-expanded', String(show));
        toggle.textContent = show ? 'hide config' : 'config';
        if (show) open.add(d.id); else open.delete(d.id);
      });
      const status = `${d.status}${d.sample_percent != null ? ` ${d.sample_percent}%` : ''}`;
      return [
        el('tr', { class: 'deployment', 'data-status': d.status, 'data-version': d.version, 'data-deployment': d.id },
          el('td', { class: 'num' }, `v${d.version}`),
          el('td', {}, badge(status, `status-${d.status}`)),
          el('td', { class: 'mono', title: d.plugin_digest }, shortDigest(d.plugin_digest)),
          el('td', {}, d.failure_policy || '–'),
          el('td', { title: new Date(d.created_at).toString() }, fmtTime(d.created_at)),
          el('td', {}, testCarts(d.test_carts)),
          el('td', { class: 'right' }, toggle)),
        details,
      ];
    }

    async function rollback(hook, active, target, button) {
      const yes = await confirmDialog(`Roll back ${hook}? v${active.version} stops serving and ` +
        `v${target.version} becomes active again.`);
      if (!yes || !scope.alive) return;
      button.disabled = true;
      try {
        const record = await api(`${base}/deployments/${encodeURIComponent(hook)}/rollback`,
          { method: 'POST', signal: scope.signal });
        notify(`${hook} rolled back: v${record.version} is active again`);
      } catch (e) {
        if (isQuiet(e)) return;
        notify(`${hook} not rolled back: ${describe(e)}`, 'error');
        button.disabled = false;
      }
      load();
    }

    load();
    return {
      // Events arrive in bursts (a replay on connect): one reload for the lot.
      soon() {
        if (queued) return;
        queued = true;
        scope.later(400, () => { queued = false; load(); });
      },
    };
  }

  function testCarts(tc) {
    if (!tc) return el('span', { class: 'muted' }, '–');
    const ok = tc.passed === tc.run;
    return el('span', { class: ok ? 'good' : 'bad', title: tc.forced ? 'deployed despite failing test carts' : null },
      `${tc.passed}/${tc.run} passed${tc.forced ? ' (forced)' : ''}`);
  }

  function deploymentDetails(d) {
    const failures = d.test_carts && d.test_carts.failures;
    return el('div', { class: 'details' },
      el('dl', { class: 'kv' }, kv('Deployment', d.id), kv('Plugin', d.plugin_digest)),
      el('h4', {}, 'Config'), pre(json(d.config ?? {})),
      d.limits ? [el('h4', {}, 'Limits'), pre(json(d.limits))] : null,
      d.canary ? [el('h4', {}, 'Canary rules'), pre(json(d.canary))] : null,
      failures && failures.length ? [el('h4', {}, 'Test cart failures'), pre(json(failures))] : null);
  }

  function confirmDialog(text) {
    const dialog = $('#confirm');
    if (dialog.open) dialog.close();
    $('#confirm-text').textContent = text;
    dialog.returnValue = '';
    dialog.showModal();
    // The safe answer has the focus, so a stray Enter does not roll back.
    $('#confirm-no').focus();
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    });
  }

  // ---------------------------------------------------------------- run history

  function select(id, options) {
    return el('select', { id }, options.map(([value, label]) => el('option', { value }, label)));
  }

  function runsSection(root, base, scope) {
    const hook = select('runs-hook', [['', 'all hooks'], ...HOOKS.map((h) => [h, h])]);
    const outcome = select('runs-outcome', [['', 'all outcomes'], ...OUTCOMES.map((o) => [o, o])]);
    const error = errorLine();
    const body = el('tbody');
    const empty = el('p', { class: 'muted', hidden: true }, 'No runs recorded.');
    root.append(
      el('div', { class: 'filters' },
        el('label', {}, 'Hook ', hook), el('label', {}, 'Outcome ', outcome),
        el('span', { class: 'muted' }, 'newest 50; click a run for its logs and input')),
      error,
      el('table', { class: 'grid runs' },
        th('#', 'Time', 'Hook', 'Outcome', 'ms', 'Fuel (of budget)', 'Mem KiB', 'Error'), body),
      empty);

    // Runs never change once recorded, so each is built once and reused: an expanded run
    // stays expanded, and its input stays loaded, across refreshes.
    const rows = new Map();
    let loads = 0;

    async function refresh() {
      const mine = ++loads;
      const query = new URLSearchParams({ limit: '50' });
      if (hook.value) query.set('hook', hook.value);
      if (outcome.value) query.set('outcome', outcome.value);
      try {
        const runs = await api(`${base}/runs?${query}`, { signal: scope.signal });
        if (mine !== loads) return; // a filter change overtook this answer
        clearError(error);
        const keep = new Set(runs.map((r) => r.id));
        for (const id of [...rows.keys()]) if (!keep.has(id)) rows.delete(id);
        body.replaceChildren(...runs.flatMap((r) => {
          if (!rows.has(r.id)) rows.set(r.id, runRows(r));
          return rows.get(r.id);
        }));
        empty.hidden = runs.length > 0;
      } catch (e) {
        showError(error, e);
      }
    }

    function runRows(r) {
      const cell = el('td', { colspan: 8 });
      const detail = el('tr', { class: 'run-detail', hidden: true }, cell);
      let built = false;
      const toggle = () => {
        detail.hidden = !detail.hidden;
        row.classList.toggle('open', !detail.hidden);
        row.setAttribute('aria-expanded', String(!detail.hidden));
        if (!detail.hidden && !built) {
          built = true;
          cell.append(runDetails(r));
        }
      };
      const fuel = fmtInt(r.fuel_used) + (r.fuel_budget ? ` (${fmtPct(r.fuel_used / r.fuel_budget)})` : '');
      const row = el('tr', {
        class: `run outcome-${r.outcome}`, 'data-run': r.id, tabindex: 0, 'aria-expanded': 'false',
        onclick: toggle,
        onkeydown: (e) => {
          if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); }
        },
      },
      el('td', { class: 'num' }, r.id),
      el('td', {}, fmtTime(r.created_at)),
      el('td', {}, r.hook),
      el('td', {}, badge(r.outcome, `outcome-${r.outcome}`)),
      el('td', { class: 'num' }, fmtDuration(r.duration_us)),
      el('td', { class: 'num' }, fuel),
      el('td', { class: 'num' }, r.peak_memory_bytes == null ? '–' : fmtInt(r.peak_memory_bytes / 1024)),
      el('td', { class: 'err', title: runError(r) || null }, runError(r)));
      return [row, detail];
    }

    function runDetails(r) {
      const logs = r.logs || [];
      const input = pre('Loading input…');
      loadInput(r.id, input);
      return el('div', { class: 'details' },
        el('dl', { class: 'kv' },
          kv('Request', r.request_id),
          kv('Deployment', r.deployment_id),
          kv('Plugin', r.plugin_digest),
          kv('Input digest', r.input_digest),
          kv('Fuel', `${fmtInt(r.fuel_used)}${r.fuel_budget ? ` of ${fmtInt(r.fuel_budget)}` : ''}`),
          kv('Peak memory', r.peak_memory_bytes == null ? null : `${fmtInt(r.peak_memory_bytes)} bytes`),
          kv('Error', runError(r))),
        el('h4', {}, `Logs (${logs.length}${r.logs_truncated ? ', truncated' : ''})`),
        logs.length ? logTable(logs) : el('p', { class: 'muted' }, 'No logs.'),
        r.logs_truncated ? el('p', { class: 'warn' }, 'The plugin logged more than was kept.') : null,
        el('h4', {}, 'Checkout input'),
        input);
    }

    // The input is fetched only when a run is first opened: it can be large.
    async function loadInput(id, target) {
      try {
        const answer = await api(`${base}/runs/${encodeURIComponent(id)}/input`, { signal: scope.signal });
        target.textContent = json(answer.input);
      } catch (e) {
        if (isQuiet(e)) return;
        target.classList.add('muted');
        target.textContent = e instanceof ApiError && e.status === 404
          ? 'Not kept: this checkout\'s input was not recorded, or is no longer kept.'
          : `Could not load the input: ${describe(e)}`;
      }
    }

    hook.addEventListener('change', refresh);
    outcome.addEventListener('change', refresh);
    scope.poll(REFRESH_MS, refresh);
  }

  function runError(r) {
    if (r.error && r.error_kind) return `${r.error_kind}: ${r.error}`;
    return r.error || r.error_kind || '';
  }

  function logTable(logs) {
    return el('table', { class: 'logs' }, el('tbody', {}, logs.map((log) => {
      const fields = Array.isArray(log.fields) ? log.fields : Object.entries(log.fields || {});
      return el('tr', {},
        el('td', {}, badge(log.level || '?', `level-${log.level}`)),
        el('td', { class: 'log-message' }, log.message ?? ''),
        el('td', {}, fields.map(([k, v]) => el('span', { class: 'field' },
          el('span', { class: 'field-key' }, k), '=', typeof v === 'string' ? v : JSON.stringify(v)))));
    })));
  }

  // ---------------------------------------------------------------- live events

  function eventsSection(root, state, base, scope, onEvent) {
    const body = el('tbody');
    const empty = el('p', { class: 'muted' }, 'No events yet.');
    root.append(el('table', { class: 'grid events' }, th('Time', 'Kind', 'Summary'), body), empty);

    const setState = (name, detail) => {
      state.textContent = detail ? `${name}: ${detail}` : name;
      state.className = `pill pill-${name}`;
    };

    streamEvents(`${base}/events`, scope, setState, (ev) => {
      empty.hidden = true;
      body.prepend(el('tr', { class: 'event', 'data-seq': ev.seq, 'data-kind': ev.kind },
        el('td', {}, fmtTime(ev.created_at)),
        el('td', {}, el('span', { class: `kind kind-${String(ev.kind).split('.')[0]}` }, ev.kind)),
        el('td', { class: 'summary', title: clip(JSON.stringify(ev.payload), 2000) }, eventSummary(ev))));
      while (body.rows.length > MAX_EVENTS) body.lastElementChild.remove();
      onEvent(ev);
    });
  }

  function eventSummary(ev) {
    const p = ev.payload || {};
    if (ev.kind === 'order.placed') {
      const total = p.total ?? (p.totals && p.totals.total);
      return `order ${p.id ?? '?'} total ${total ?? '?'}${p.currency ? ` ${p.currency}` : ''}`;
    }
    if (ev.kind === 'plugin.uploaded' && p.digest) {
      return `plugin ${shortDigest(p.digest)}${Array.isArray(p.hooks) ? ` for ${p.hooks.join(', ')}` : ''}`;
    }
    const d = p.deployment && typeof p.deployment === 'object' ? p.deployment : p;
    if (d.hook) {
      let text = `${d.hook} v${d.version ?? '?'} ${d.id ?? ''}`.trim();
      if (d.sample_percent != null) text += ` (${d.sample_percent}%)`;
      if (p.rolled_back) text += `; rolled back ${p.rolled_back}`;
      if (p.reason) text += `: ${p.reason}`;
      return text;
    }
    return clip(JSON.stringify(p), 160);
  }

  // EventSource cannot send an Authorization header, so the stream is read with fetch. On
  // reconnect, Last-Event-ID carries the last id seen and the server resends what was missed;
  // the first connect sends 0 so that recent history replays.
  async function streamEvents(url, scope, setState, onEvent) {
    let lastId = '0';
    while (scope.alive) {
      try {
        const res = await fetch(url, {
          signal: scope.signal, cache: 'no-store',
          headers: { Authorization: `Bearer ${token()}`, Accept: 'text/event-stream', 'Last-Event-ID': lastId },
        });
        if (!res.ok) {
          const err = await errorOf(res);
          if (res.status === 401) { expire(err.message); return; }
          setState('error', describe(err));
          if (res.status === 404) return; // no such tenant: retrying cannot help
        } else {
          setState('live');
          const parser = sseParser((frame) => {
            if (frame.id != null) lastId = frame.id;
            if (!frame.data) return;
            let ev;
            try { ev = JSON.parse(frame.data); } catch (_) { return; } // one bad frame must not end the stream
            if (!ev.kind && frame.event) ev.kind = frame.event;
            onEvent(ev);
          });
          const reader = res.body.getReader();
          const decoder = new TextDecoder();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.push(decoder.decode(value, { stream: true }));
          }
          setState('reconnecting', 'stream ended');
        }
      } catch (e) {
        if (!scope.alive) return;
        setState('reconnecting', describe(e));
      }
      await scope.sleep(RECONNECT_MS);
    }
  }

  // Server-sent events framing, as EventSource reads it: "field: value" lines, a blank line
  // ends a frame, ":" starts a comment (the server's keep-alive). The network may split a
  // frame, a line, even a CRLF, anywhere between chunks.
  function sseParser(onFrame) {
    let buffer = '';
    let frame = { id: null, event: '', data: [] };

    function line(text) {
      if (text === '') {
        if (frame.id != null || frame.data.length) {
          onFrame({ id: frame.id, event: frame.event, data: frame.data.join('\n') });
        }
        frame = { id: null, event: '', data: [] };
        return;
      }
      if (text[0] === ':') return;
      const colon = text.indexOf(':');
      const field = colon < 0 ? text : text.slice(0, colon);
      let value = colon < 0 ? '' : text.slice(colon + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'data') frame.data.push(value);
      else if (field === 'event') frame.event = value;
      else if (field === 'id' && !value.includes('\0')) frame.id = value;
    }

    return {
      push(chunk) {
        buffer += chunk;
        let start = 0;
        for (let i = 0; i < buffer.length; i++) {
          const c = buffer[i];
          if (c !== '\n' && c !== '\r') continue;
          if (c === '\r' && i + 1 === buffer.length) break; // maybe half of a CRLF: wait for more
          line(buffer.slice(start, i));
          if (c === '\r' && buffer[i + 1] === '\n') i++;
          start = i + 1;
        }
        buffer = buffer.slice(start);
      },
    };
  }

  // ---------------------------------------------------------------- start

  document.addEventListener('DOMContentLoaded', () => {
    $('#login-form').addEventListener('submit', onLogin);
    $('#logout').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin();
    });
    $('#notice').addEventListener('click', () => { $('#notice').hidden = true; });
    window.addEventListener('hashchange', () => { if (token()) route(); });
    if (token()) enter(); else showLogin();
  });
})();
