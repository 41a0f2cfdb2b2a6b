// The incident list: every incident the signed-in person may see, newest activity
// first, filtered by status and urgency, refreshed whenever the hub says something
// changed. Rows that changed since the last refresh are marked for a moment.

import { api } from './api.js';
import { fill, h, toast } from './dom.js';
import { formatAgo, formatTime, STATUSES, t, URGENCIES } from './i18n.js';

export function statusPill(status) {
  return h('span', { class: `pill status-${status}` }, t(`status.${status}`));
}

export function urgencyPill(urgency) {
  return h('span', { class: `pill urgency-${urgency}` }, t(`urgency.${urgency}`));
}

function select(id, label, options, value, onChange) {
  const el = h('select', { id, class: 'input' },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)));
  el.addEventListener('change', () => onChange(el.value));
  return h('div', { class: 'field inline' }, h('label', { for: id }, label), el);
}

export function renderList(container, ctx) {
  const filters = ctx.listFilters;
  const canOpen = ['dispatcher', 'coordinator'].includes(ctx.session.role);
  let rows = [];
  let seen = new Map();
  let disposed = false;

  const count = h('span', { class: 'count', id: 'list-count' });
  const body = h('tbody', { id: 'incident-rows' });
  const empty = h('p', { class: 'empty', hidden: true });
  const table = h('table', { class: 'table incidents' },
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, t('list.col.urgency')),
      h('th', { scope: 'col' }, t('list.col.place')),
      h('th', { scope: 'col' }, t('list.col.status')),
      h('th', { scope: 'col' }, t('list.col.team')),
      h('th', { scope: 'col' }, t('list.col.updated')),
      h('th', { scope: 'col' }, t('list.col.caller')))),
    body);

  const toolbar = h('div', { class: 'toolbar' },
    select('filter-status', t('list.filter.status'),
      [['', t('list.filter.all')], ['active', t('list.filter.active')], ...STATUSES.map((s) => [s, t(`status.${s}`)])],
      filters.status, (v) => { filters.status = v; draw(false); }),
    select('filter-urgency', t('list.filter.urgency'),
      [['', t('list.filter.all')], ...URGENCIES.map((u) => [u, t(`urgency.${u}`)])],
      filters.urgency, (v) => { filters.urgency = v; draw(false); }),
    h('span', { class: 'spacer' }),
    count);

  fill(container,
    h('div', { class: 'page' },
      h('div', { class: 'page-head' },
        h('h1', { class: 'page-title' }, t('list.title')),
        ctx.session.role === 'coordinator' ? h('a', { class: 'button', href: '#/checklists', id: 'checklists' }, t('checklists.title')) : null,
        canOpen ? h('a', { class: 'button primary', href: '#/new', id: 'new-incident' }, t('list.new')) : null),
      h('section', { class: 'card' }, toolbar, h('div', { class: 'table-wrap' }, table), empty)));

  function matches(row) {
    if (filters.status === 'active' && row.status === 'closed') return false;
    if (filters.status && filters.status !== 'active' && row.status !== filters.status) return false;
    if (filters.urgency && row.urgency !== filters.urgency) return false;
    return true;
  }

  function draw(markChanges) {
    const shown = rows.filter(matches);
    const now = Date.now();
    fill(body, shown.map((row) => {
      const before = seen.get(row.id);
      const changed = markChanges && before !== undefined && before !== row.updated_at_ms;
      const isNew = markChanges && before === undefined && seen.size > 0;
      const link = h('a', { href: `#/incidents/${row.id}`, class: 'row-link' }, row.place_text);
      const tr = h('tr', {
        class: ['incident-row', `status-row-${row.status}`, changed || isNew ? 'flash' : ''].join(' ').trim(),
        dataset: { id: row.id, status: row.status },
      },
      h('td', { 'data-label': t('list.col.urgency') }, urgencyPill(row.urgency)),
      h('td', { class: 'place', 'data-label': t('list.col.place') }, link),
      h('td', { 'data-label': t('list.col.status') }, statusPill(row.status)),
      h('td', { 'data-label': t('list.col.team') }, row.team || '—'),
      h('td', { 'data-label': t('list.col.updated') }, h('time', { title: formatTime(row.updated_at_ms) }, formatAgo(row.updated_at_ms, now))),
      h('td', { 'data-label': t('list.col.caller') }, row.caller_notified
        ? h('span', { class: 'yes' }, t('list.caller.yes'))
        : h('span', { class: 'muted' }, t('list.caller.no'))));
      tr.addEventListener('click', (e) => {
        if (e.target.closest('a')) return;
        ctx.navigate(`#/incidents/${row.id}`);
      });
      return tr;
    }));
    count.textContent = t('list.count', { shown: shown.length, total: rows.length });
    table.hidden = shown.length === 0;
    empty.hidden = shown.length > 0;
    empty.textContent = rows.length === 0 ? t('list.empty') : t('list.empty.filtered');
    seen = new Map(rows.map((r) => [r.id, r.updated_at_ms]));
  }

  async function load(background) {
    try {
      const fresh = await api('GET', '/incidents', undefined, { background });
      if (disposed) return;
      rows = fresh;
      draw(background);
    } catch (err) {
      if (err.status !== 401) toast(err.status ? t('error.generic', { reason: err.message }) : t('error.network'), 'error');
    }
  }

  load(false);
  const ticker = setInterval(() => draw(false), 30000);
  return {
    refresh: () => load(true),
    dispose: () => { disposed = true; clearInterval(ticker); },
  };
}
