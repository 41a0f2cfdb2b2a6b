// Opening an incident while the caller is on the line. The caller's name and phone
// go to the hub in the body of one POST and are stored in its private caller table;
// they are never put in the address, the incident document or the page's storage.

import { api } from './api.js';
import { fill, h, toast } from './dom.js';
import { t, URGENCIES } from './i18n.js';

function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/**
 * The point typed as latitude and longitude: null when both are empty, undefined when
 * they are not a valid pair. A decimal comma is accepted.
 */
export function parsePoint(latText, lonText) {
  const [la, lo] = [latText, lonText].map((v) => v.trim().replace(',', '.'));
  if (!la && !lo) return null;
  const lat = Number(la);
  const lon = Number(lo);
  if (!la || !lo || !Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return undefined;
  return { lat, lon };
}

export function field(id, label, input, hint) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('p', { class: 'hint' }, hint) : null);
}

export function renderNewIncident(container, ctx) {
  if (!['dispatcher', 'coordinator'].includes(ctx.session.role)) {
    ctx.navigate('#/');
    return {};
  }
  const place = h('input', { id: 'place', name: 'place', class: 'input', required: true, maxlength: 500, autocomplete: 'off' });
  const lat = h('input', { id: 'lat', name: 'lat', class: 'input', inputmode: 'decimal', autocomplete: 'off', placeholder: '38.6270' });
  const lon = h('input', { id: 'lon', name: 'lon', class: 'input', inputmode: 'decimal', autocomplete: 'off', placeholder: '-90.1994' });
  const when = h('input', { id: 'when', name: 'when', type: 'datetime-local', class: 'input', value: localInputValue(new Date()) });
  const description = h('textarea', { id: 'description', name: 'description', class: 'input', rows: 4, maxlength: 4000 });
  const team = h('input', { id: 'team', name: 'team', class: 'input', list: 'known-teams', autocomplete: 'off', placeholder: t('new.team.none') });
  const teams = h('datalist', { id: 'known-teams' });
  const callerName = h('input', { id: 'caller-name', name: 'caller-name', class: 'input', autocomplete: 'off' });
  const callerPhone = h('input', { id: 'caller-phone', name: 'caller-phone', type: 'tel', class: 'input', autocomplete: 'off' });
  const urgency = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': t('new.urgency') },
    URGENCIES.slice().reverse().map((u) => h('label', { class: `segment urgency-choice-${u}` },
      h('input', { type: 'radio', name: 'urgency', value: u, checked: u === 'high' }),
      h('span', {}, t(`urgency.${u}`)))));
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'button primary', id: 'open-incident' }, t('new.submit'));

  const form = h('form', { class: 'new-incident', method: 'post', novalidate: true },
    h('fieldset', { class: 'card pad' },
      h('legend', { class: 'card-title' }, t('new.report')),
      field('place', t('new.place'), place, t('new.place.hint')),
      h('div', { class: 'row' }, field('lat', t('new.lat'), lat), field('lon', t('new.lon'), lon)),
      h('p', { class: 'hint' }, t('new.coords.hint')),
      h('div', { class: 'row' },
        field('when', t('new.when'), when),
        h('div', { class: 'field' }, h('span', { class: 'label' }, t('new.urgency')), urgency)),
      field('description', t('new.description'), description, t('new.description.hint')),
      field('team', t('new.team'), team), teams),
    h('fieldset', { class: 'card pad private' },
      h('legend', { class: 'card-title' }, h('span', { class: 'lock', 'aria-hidden': 'true' }), t('new.caller')),
      h('p', { class: 'hint' }, t('new.caller.private')),
      h('div', { class: 'row' }, field('caller-name', t('new.caller.name'), callerName), field('caller-phone', t('new.caller.phone'), callerPhone))),
    error,
    h('div', { class: 'form-actions' },
      h('a', { class: 'button ghost', href: '#/' }, t('new.cancel')),
      submit));

  fill(container, h('div', { class: 'page narrow' },
    h('div', { class: 'page-head' },
      h('a', { class: 'back', href: '#/' }, `← ${t('incident.back')}`),
      h('h1', { class: 'page-title' }, t('new.title'))),
    form));
  place.focus();

  api('GET', '/devices').then((devices) => {
    const names = [...new Set(devices.map((d) => d.team).filter(Boolean))].sort();
    fill(teams, names.map((name) => h('option', { value: name })));
  }).catch(() => {});

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    if (!place.value.trim()) {
      place.focus();
      return;
    }
    const point = parsePoint(lat.value, lon.value);
    if (point === undefined) {
      error.textContent = t('new.bad_coords');
      error.hidden = false;
      lat.focus();
      return;
    }
    const seen = when.value ? new Date(when.value).getTime() : Date.now();
    const body = {
      place_text: place.value.trim(),
      point,
      description: description.value.trim(),
      urgency: form.querySelector('input[name="urgency"]:checked').value,
      reported_at_ms: Number.isFinite(seen) ? seen : Date.now(),
      team: team.value.trim() || null,
      caller_name: callerName.value.trim() || null,
      caller_phone: callerPhone.value.trim() || null,
    };
    submit.disabled = true;
    try {
      const opened = await api('POST', '/incidents', body);
      callerName.value = '';
      callerPhone.value = '';
      toast(t('new.opened'));
      ctx.navigate(`#/incidents/${opened.id}`);
    } catch (err) {
      error.textContent = err.status ? t('error.generic', { reason: err.message }) : t('error.network');
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
  return {};
}
