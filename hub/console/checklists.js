// Checklists (coordinators): import an XLSForm or template JSON, read what the hub's
// check reported by sheet and row, and publish a version to every volunteer's phone.
// The file goes to the hub as it is; the hub parses and checks it, never the page.

import { api, upload } from './api.js';
import { fill, h, toast } from './dom.js';
import { t } from './i18n.js';

export function renderChecklists(container, ctx) {
  if (ctx.session.role !== 'coordinator') {
    ctx.navigate('#/');
    return {};
  }
  const file = h('input', { id: 'checklist-file', type: 'file', class: 'input', accept: '.xlsx,.csv,.json' });
  const report = h('div', { id: 'checklist-report', role: 'status' });
  const table = h('tbody', { id: 'checklist-rows' });
  const submit = h('button', { type: 'submit', class: 'button primary', id: 'import-checklist' }, t('checklists.import'));
  const form = h('form', { class: 'card pad', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'checklist-file' }, t('checklists.file')), file,
      h('p', { class: 'hint' }, t('checklists.file.hint'))),
    h('div', { class: 'form-actions' }, submit),
    report);

  fill(container, h('div', { class: 'page narrow' },
    h('div', { class: 'page-head' },
      h('a', { class: 'back', href: '#/' }, `← ${t('incident.back')}`),
      h('h1', { class: 'page-title' }, t('checklists.title'))),
    form,
    h('section', { class: 'card' }, h('div', { class: 'table-wrap' },
      h('table', { class: 'table' },
        h('thead', {}, h('tr', {},
          h('th', {}, t('checklists.col.checklist')), h('th', {}, t('checklists.col.questions')),
          h('th', {}, t('checklists.col.state')), h('th', {}))),
        table)))));

  async function load() {
    const rows = await api('GET', '/templates');
    fill(table, rows.map((row) => h('tr', { dataset: { template: `${row.id}@${row.version}` } },
      h('td', {}, h('strong', {}, row.title), ' ', h('span', { class: 'mono' }, `${row.id}@${row.version}`)),
      h('td', {}, String(row.questions)),
      h('td', {}, row.published_at_ms ? t('checklists.published') : t('checklists.draft')),
      h('td', {}, row.published_at_ms ? null : h('button', {
        type: 'button',
        class: 'button',
        onclick: () => publish(row),
      }, t('checklists.publish'))))));
  }

  async function publish(row) {
    try {
      await api('POST', '/templates/publish', { id: row.id, version: row.version });
      toast(t('checklists.published.toast'));
      await load();
    } catch (err) {
      toast(t('error.generic', { reason: err.message }), 'error');
    }
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = file.files && file.files[0];
    if (!chosen) {
      file.focus();
      return;
    }
    submit.disabled = true;
    try {
      const json = chosen.name.toLowerCase().endsWith('.json');
      const imported = await upload('/templates', chosen, json ? 'application/json' : 'application/octet-stream');
      fill(report,
        h('p', {}, t('checklists.imported', { title: imported.title, id: `${imported.id}@${imported.version}`, questions: imported.questions })),
        h('ul', { class: 'warnings' }, imported.warnings.map((w) =>
          h('li', {}, `${w.sheet} ${t('checklists.row')} ${w.row}${w.column ? ` (${w.column})` : ''}: ${w.message}`))));
      await load();
    } catch (err) {
      fill(report, h('p', { class: 'form-error', role: 'alert' }, err.message));
    } finally {
      submit.disabled = false;
    }
  });

  load().catch((err) => toast(t('error.generic', { reason: err.message }), 'error'));
  return {};
}
