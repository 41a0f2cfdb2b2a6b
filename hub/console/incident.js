// One incident: what was reported, who is assigned, what the verifiers found (their
// checklists side by side, disagreements marked), where (the hub's SVG picture and
// its numbered legend), what happened when, and the actions the signed-in role may
// take. The page is built once; each refresh refills the parts that show data, so a
// form someone is filling in is left alone.

import { api } from './api.js';
import { fill, h, shortId, toast } from './dom.js';
import { CONFIDENCES, DETERMINATIONS, formatClock, formatDistance, formatTime, lang, t, URGENCIES } from './i18n.js';
import { statusPill, urgencyPill } from './list.js';
import { field, parsePoint } from './new-incident.js';

const DISPATCHERS = ['dispatcher', 'coordinator'];

function card(title, id, ...children) {
  return h('section', { class: 'card', id },
    h('h2', { class: 'card-title' }, title),
    children);
}

function errorText(err) {
  if (!err.status) return t('error.network');
  if (err.status === 403) return t('error.forbidden');
  if (err.status === 404) return t('error.not_found');
  return t('error.generic', { reason: err.message });
}

export function renderIncident(container, ctx, id) {
  const me = ctx.session;
  const isDispatcher = me.role === 'dispatcher';
  const canAssign = DISPATCHERS.includes(me.role);
  const canClose = ['dispatcher', 'team_lead', 'coordinator'].includes(me.role);
  const isLead = me.role === 'team_lead';
  let view = null;
  let devices = [];
  let mapKey = '';
  let disposed = false;
  let determinationTouched = false;

  // --- Who wrote what -------------------------------------------------------------
  function roleOf(device) {
    if (device === me.device_id) return me.role;
    const known = devices.find((d) => d.device_id === device);
    if (known) return known.role;
    const event = view && view.events.find((e) => e.by === device);
    if (event) return event.role;
    if (view && view.assignments.some((a) => a.assignee === device)) return 'volunteer';
    return null;
  }

  function person(device) {
    const role = roleOf(device);
    return h('span', { class: 'person', title: device },
      t(role ? `role.${role}` : 'role.unknown'),
      ' ',
      h('span', { class: 'mono' }, shortId(device)),
      device === me.device_id ? ` (${t('you')})` : '');
  }

  // --- Skeleton ---------------------------------------------------------------------
  const title = h('h1', { class: 'page-title', id: 'incident-title' });
  const meta = h('div', { class: 'meta', id: 'incident-meta' });
  const problems = h('div', { class: 'banner warn', hidden: true, id: 'problems' });

  const notify = isDispatcher
    ? h('button', { type: 'button', class: 'button', id: 'notify-caller', onclick: () => act('/caller-notified', {}, t('actions.notified')) }, t('actions.notify'))
    : null;
  const closeConfirm = h('div', { class: 'banner confirm', hidden: true, id: 'close-confirm' },
    h('span', {}, t('actions.close.confirm')),
    h('span', { class: 'spacer' }),
    h('button', { type: 'button', class: 'button ghost', onclick: () => { closeConfirm.hidden = true; } }, t('actions.close.no')),
    h('button', { type: 'button', class: 'button danger', id: 'close-yes', onclick: async () => {
      closeConfirm.hidden = true;
      await act('/close', {}, t('actions.closed'));
    } }, t('actions.close.yes')));
  const close = canClose
    ? h('button', { type: 'button', class: 'button', id: 'close-incident', onclick: () => { closeConfirm.hidden = false; } }, t('actions.close'))
    : null;
  const exportLink = h('a', {
    class: 'button', id: 'export', href: `/console/api/evidence?incidents=${id}`, download: `testigo-evidence-${id}.json`, title: t('actions.export.hint'),
  }, t('actions.export'));
  const actions = h('div', { class: 'actions', id: 'actions' }, notify, close, exportLink);

  // Determination
  const settled = h('div', { id: 'determination' });
  const proposals = h('div', { id: 'proposals' });
  const determinationChoice = h('select', { id: 'confirm-determination', class: 'input' },
    DETERMINATIONS.map((d) => h('option', { value: d }, t(`det.${d}`))));
  determinationChoice.addEventListener('change', () => { determinationTouched = true; });
  const confidenceChoice = h('select', { id: 'confirm-confidence', class: 'input' },
    h('option', { value: '' }, '—'),
    CONFIDENCES.map((c) => h('option', { value: c }, t(`confidence.${c}`))));
  const confirmNote = h('input', { id: 'confirm-note', class: 'input', maxlength: 1000, autocomplete: 'off' });
  const confirmForm = isLead
    ? h('form', { class: 'confirm-form', method: 'post', id: 'confirm-form' },
      h('h3', { class: 'subtitle' }, t('det.confirm.title')),
      h('div', { class: 'row' },
        h('div', { class: 'field' }, h('label', { for: 'confirm-determination' }, t('det.confirm.choice')), determinationChoice),
        h('div', { class: 'field' }, h('label', { for: 'confirm-confidence' }, t('det.confirm.confidence')), confidenceChoice)),
      h('div', { class: 'field' }, h('label', { for: 'confirm-note' }, t('det.confirm.note')), confirmNote),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button primary', id: 'confirm-submit' }, t('det.confirm.submit'))))
    : null;
  if (confirmForm) {
    confirmForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = { determination: determinationChoice.value };
      if (confidenceChoice.value) body.confidence = confidenceChoice.value;
      if (confirmNote.value.trim()) body.note = confirmNote.value.trim();
      if (await act('/confirm', body, t('det.confirm.done'))) {
        confirmNote.value = '';
        determinationTouched = false;
      }
    });
  }
  const onlyLeads = h('p', { class: 'hint', hidden: true, id: 'only-leads' }, t('det.confirm.only_leads'));

  const checklistBody = h('div', { id: 'checklist' });
  const timeline = h('ol', { class: 'timeline', id: 'timeline' });
  const mapImage = h('img', { class: 'map', id: 'map', alt: t('map.alt'), width: 560, height: 380 });
  const mapLegend = h('div', { id: 'map-legend' });
  const report = h('dl', { class: 'facts', id: 'report' });

  // Correcting the report (a second call, a better address): dispatchers only.
  const editPlace = h('input', { id: 'edit-place', class: 'input', maxlength: 500, autocomplete: 'off' });
  const editLat = h('input', { id: 'edit-lat', class: 'input', inputmode: 'decimal', autocomplete: 'off' });
  const editLon = h('input', { id: 'edit-lon', class: 'input', inputmode: 'decimal', autocomplete: 'off' });
  const editDescription = h('textarea', { id: 'edit-description', class: 'input', rows: 3, maxlength: 4000 });
  const editUrgency = h('select', { id: 'edit-urgency', class: 'input' }, URGENCIES.map((u) => h('option', { value: u }, t(`urgency.${u}`))));
  const editError = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const editForm = h('form', { class: 'stack', method: 'post', id: 'edit-report-form', hidden: true },
    field('edit-place', t('new.place'), editPlace),
    h('div', { class: 'row' }, field('edit-lat', t('new.lat'), editLat), field('edit-lon', t('new.lon'), editLon)),
    field('edit-urgency', t('new.urgency'), editUrgency),
    field('edit-description', t('new.description'), editDescription),
    editError,
    h('div', { class: 'form-actions' },
      h('button', { type: 'button', class: 'button ghost', onclick: () => showEditor(false) }, t('new.cancel')),
      h('button', { type: 'submit', class: 'button primary', id: 'edit-report-save' }, t('report.save'))));
  const editButton = canAssign
    ? h('button', { type: 'button', class: 'link', id: 'edit-report', onclick: () => showEditor(true) }, t('report.edit'))
    : null;

  function showEditor(open) {
    editForm.hidden = !open;
    report.hidden = open;
    if (editButton) editButton.hidden = open;
    editError.hidden = true;
    if (open) {
      const r = view.report;
      editPlace.value = r.place_text;
      editLat.value = r.point ? String(r.point.lat) : '';
      editLon.value = r.point ? String(r.point.lon) : '';
      editDescription.value = r.description;
      editUrgency.value = r.urgency;
      editPlace.focus();
    }
  }

  editForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const point = parsePoint(editLat.value, editLon.value);
    if (point === undefined || !editPlace.value.trim()) {
      editError.textContent = point === undefined ? t('new.bad_coords') : t('new.place.hint');
      editError.hidden = false;
      return;
    }
    const body = { place_text: editPlace.value.trim(), point, description: editDescription.value.trim(), urgency: editUrgency.value };
    try {
      await api('PUT', `/incidents/${id}/report`, body);
      showEditor(false);
      toast(t('report.saved'));
      await load(false);
    } catch (err) {
      editError.textContent = errorText(err);
      editError.hidden = false;
    }
  });
  const assigned = h('ul', { class: 'people', id: 'assigned' });

  // Caller contact: fetched only when asked for, never kept.
  const callerBox = h('div', { id: 'caller-box' });
  const callerButton = h('button', { type: 'button', class: 'button', id: 'show-caller' }, t('caller.show'));
  callerButton.addEventListener('click', async () => {
    if (callerBox.childElementCount) {
      fill(callerBox);
      callerButton.textContent = t('caller.show');
      return;
    }
    try {
      const c = await api('GET', `/incidents/${id}/caller`);
      fill(callerBox, h('dl', { class: 'facts' },
        h('dt', {}, t('caller.name')), h('dd', {}, c.name || '—'),
        h('dt', {}, t('caller.phone')), h('dd', { class: 'mono', id: 'caller-phone' }, c.phone || '—')),
      h('p', { class: 'hint' }, c.notified_at_ms ? t('caller.notified_at', { when: formatTime(c.notified_at_ms) }) : t('caller.not_notified')));
      callerButton.textContent = t('caller.hide');
    } catch (err) {
      fill(callerBox, h('p', { class: 'hint' }, err.status === 404 ? t('caller.none') : errorText(err)));
    }
  });

  // Assignment forms
  const volunteerChoice = h('select', { id: 'assign-device', class: 'input' });
  const teamChoice = h('select', { id: 'assign-team', class: 'input' });
  const assignForms = canAssign
    ? h('div', { class: 'assign-forms' },
      h('form', { class: 'inline-form', method: 'post', id: 'assign-device-form', onsubmit: async (e) => {
        e.preventDefault();
        if (volunteerChoice.value) await act('/assign', { device: volunteerChoice.value, active: true }, t('assign.done'));
      } },
      h('label', { for: 'assign-device' }, t('assign.volunteer')), volunteerChoice,
      h('button', { type: 'submit', class: 'button', id: 'assign-device-submit' }, t('assign.add'))),
      h('form', { class: 'inline-form', method: 'post', id: 'assign-team-form', onsubmit: async (e) => {
        e.preventDefault();
        if (teamChoice.value) await act('/assign', { team: teamChoice.value, active: true }, t('assign.done'));
      } },
      h('label', { for: 'assign-team' }, t('assign.team')), teamChoice,
      h('button', { type: 'submit', class: 'button', id: 'assign-team-submit' }, t('assign.team.add'))))
    : null;

  fill(container, h('div', { class: 'page' },
    h('div', { class: 'page-head incident-head' },
      h('a', { class: 'back', href: '#/' }, `← ${t('incident.back')}`),
      title, meta),
    actions, closeConfirm, problems,
    h('div', { class: 'grid' },
      h('div', { class: 'col-main' },
        card(t('det.title'), 'determination-card', settled, proposals, onlyLeads, confirmForm),
        card(t('checklist.title'), 'checklist-card', checklistBody),
        card(t('timeline.title'), 'timeline-card', timeline)),
      h('div', { class: 'col-side' },
        card(t('map.title'), 'map-card', h('div', { class: 'map-frame' }, mapImage), mapLegend),
        h('section', { class: 'card', id: 'report-card' },
          h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, t('incident.report')), editButton),
          report, editForm),
        isDispatcher ? card(t('caller.title'), 'caller-card', h('p', { class: 'hint private-note' }, t('caller.private')), callerButton, callerBox) : null,
        card(t('assign.title'), 'assign-card', assigned, assignForms)))));

  // --- Filling in ------------------------------------------------------------------
  function drawHeader() {
    title.textContent = view.report.place_text;
    fill(meta,
      urgencyPill(view.report.urgency),
      statusPill(view.status.status),
      h('span', { class: 'muted' }, t('incident.reported', { when: formatTime(view.report.reported_at) }),
        ' · ', t(view.report.source === 'call' ? 'incident.by_call' : 'incident.by_field')));
    container.querySelector('.page').dataset.status = view.status.status;
    if (notify) {
      notify.disabled = view.status.caller_notified || view.status.status === 'closed';
    }
    if (close) close.hidden = view.status.status === 'closed';
    if (editButton && editForm.hidden) editButton.hidden = view.status.status === 'closed';
    problems.hidden = view.problems.length === 0;
    fill(problems, t('incident.problems'), h('ul', {}, view.problems.map((p) => h('li', { class: 'mono' }, p))));
  }

  function drawDetermination() {
    const s = view.status;
    const parts = [];
    if (s.status === 'disputed') {
      parts.push(h('div', { class: 'banner warn', id: 'disputed' }, t('det.disputed')));
    } else if (s.determination) {
      parts.push(h('div', { class: `settled det-${s.determination}` },
        t('det.settled', { d: t(`det.${s.determination}`) }),
        s.confirmations.length ? h('span', { class: 'pill status-confirmed' }, t('status.confirmed')) : null));
    } else if (!s.proposals.length) {
      parts.push(h('p', { class: 'muted' }, t('det.none')));
    }
    fill(settled, parts);
    const list = (label, positions) => positions.length
      ? h('div', { class: 'positions' }, h('h3', { class: 'subtitle' }, label),
        h('ul', {}, positions.map((p) => h('li', {}, person(p.by), h('span', { class: `det det-${p.determination}` }, t(`det.${p.determination}`))))))
      : null;
    fill(proposals, list(t('det.proposals'), s.proposals), list(t('det.confirmations'), s.confirmations));
    onlyLeads.hidden = isLead || s.status !== 'disputed';
    if (confirmForm && !determinationTouched) {
      const counts = new Map();
      for (const p of s.proposals) counts.set(p.determination, (counts.get(p.determination) || 0) + 1);
      const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
      if (s.determination) determinationChoice.value = s.determination;
      else if (top) determinationChoice.value = top[0];
    }
    if (confirmForm) confirmForm.hidden = s.status === 'closed';
  }

  function drawReport() {
    const r = view.report;
    const team = view.team;
    fill(report,
      h('dt', {}, t('new.description')), h('dd', { class: 'prose' }, r.description || t('incident.description.none')),
      h('dt', {}, t('incident.coords')), h('dd', { class: 'mono' }, r.point ? `${r.point.lat.toFixed(5)}, ${r.point.lon.toFixed(5)}` : t('incident.coords.none')),
      team !== undefined ? [h('dt', {}, t('incident.team')), h('dd', {}, team || t('incident.team.none'))] : null,
      h('dt', {}, t('incident.opened')), h('dd', {}, formatTime(view.created_at), ' · ', person(view.created_by)));
  }

  function drawAssigned() {
    const people = view.assignments.slice().sort((a, b) => Number(b.active) - Number(a.active));
    fill(assigned, people.length
      ? people.map((a) => h('li', { class: a.active ? '' : 'inactive' },
        person(a.assignee),
        a.active ? null : h('span', { class: 'muted' }, ` · ${t('assign.inactive')}`),
        canAssign && a.active
          ? h('button', { type: 'button', class: 'link', onclick: () => act('/assign', { device: a.assignee, active: false }, t('assign.removed')) }, t('assign.remove'))
          : null))
      : h('li', { class: 'muted' }, t('assign.none')));
  }

  function drawAssignChoices() {
    if (!canAssign) return;
    const keep = volunteerChoice.value;
    const volunteers = devices.filter((d) => d.role === 'volunteer' || d.role === 'team_lead');
    fill(volunteerChoice, h('option', { value: '' }, t('assign.pick')),
      volunteers.map((d) => h('option', { value: d.device_id },
        `${t(`role.${d.role}`)} ${shortId(d.device_id)}${d.team ? ` · ${d.team}` : ''} · ${t('assign.enrolled', { when: formatTime(d.enrolled_at_ms) })}`)));
    volunteerChoice.value = keep;
    const keepTeam = teamChoice.value;
    const teams = [...new Set(devices.map((d) => d.team).filter(Boolean))].sort();
    fill(teamChoice, h('option', { value: '' }, t('assign.team.pick')), teams.map((name) => h('option', { value: name }, name)));
    teamChoice.value = keepTeam;
  }

  function timelineItems() {
    const items = [{ at: view.created_at, by: view.created_by, kind: 'created', text: t('timeline.created') }];
    for (const a of view.assignments) {
      items.push({ at: a.at, by: a.by, kind: 'assign', text: [t(a.active ? 'timeline.assigned' : 'timeline.unassigned', { who: '' }), person(a.assignee)] });
    }
    for (const c of view.checkpoints) {
      const details = [];
      if (c.distance_m !== null && c.distance_m !== undefined) details.push(t('timeline.distance', { d: formatDistance(c.distance_m) }));
      details.push(t('timeline.accuracy', { m: Math.round(c.fix.accuracy_m) }));
      if (c.fix.mock) details.push(t('timeline.mock'));
      else if (c.fix.accuracy_m > 50) details.push(t('timeline.poor'));
      items.push({ at: c.at, by: c.by, kind: c.kind, text: t(`timeline.${c.kind}`), details: details.join(' · '), warn: c.fix.mock });
    }
    for (const o of view.observations) {
      const head = o.kind === 'count' ? t('timeline.obs.count', { n: o.count }) : t(`timeline.obs.${o.kind}`);
      items.push({ at: o.at, by: o.by, kind: `obs-${o.kind}`, text: head, quote: o.text, media: o.attachments || [] });
    }
    for (const e of view.events) {
      const d = e.determination ? t(`det.${e.determination}`) : '';
      const details = e.confidence ? t('event.confidence', { c: t(`confidence.${e.confidence}`).toLowerCase() }) : '';
      const corrections = e.kind === 'report_edited' ? reportCorrections(e.note) : null;
      items.push({ at: e.at, by: e.by, kind: `event-${e.kind}`, text: t(`event.${e.kind}`, { d }), details, quote: corrections ? null : e.note, corrections });
    }
    return items.sort((a, b) => b.at - a.at);
  }

  /** What a report correction changed, from the note the hub records with it. */
  function reportCorrections(note) {
    let parsed;
    try {
      parsed = JSON.parse(note || '');
    } catch {
      return null;
    }
    if (!parsed || !parsed.new || !parsed.previous) return null;
    const shown = {
      place_text: [t('new.place'), (r) => r.place_text],
      point: [t('incident.coords'), (r) => (r.point ? `${r.point.lat}, ${r.point.lon}` : t('incident.coords.none'))],
      urgency: [t('new.urgency'), (r) => t(`urgency.${r.urgency}`)],
      description: [t('new.description'), (r) => r.description || '—'],
    };
    return Object.values(shown)
      .map(([label, value]) => ({ label, from: value(parsed.previous), to: value(parsed.new) }))
      .filter((c) => c.from !== c.to);
  }

  /**
   * One attachment in the timeline: the preview first (it arrives within seconds),
   * the full photo a click away, a player for video and audio, and a download of the
   * original. A file the hub does not hold yet says so instead of a broken picture.
   */
  function mediaFigure(a) {
    const url = (sha) => `/console/api/incidents/${encodeURIComponent(view.id)}/media/${sha}`;
    const original = url(a.sha256);
    const waiting = h('span', { class: 'muted', hidden: true }, t('media.waiting'));
    const missing = () => { waiting.hidden = false; };
    let shown;
    if (a.kind === 'photo') {
      const picture = h('img', { class: 'tl-photo', src: a.preview ? url(a.preview.sha256) : original, alt: t('media.photo'), loading: 'lazy', onerror: missing });
      shown = h('a', { href: original, target: '_blank', rel: 'noopener', title: t('media.full') }, picture);
    } else if (a.kind === 'video') {
      shown = h('video', { class: 'tl-video', controls: true, preload: 'metadata', src: original, poster: a.preview ? url(a.preview.sha256) : null, onerror: missing });
    } else {
      shown = h('audio', { controls: true, preload: 'none', src: original, onerror: missing });
    }
    const size = a.size >= 1048576 ? `${(a.size / 1048576).toFixed(1)} MB` : `${Math.ceil(a.size / 1024)} KB`;
    return h('figure', { class: 'tl-media', dataset: { sha256: a.sha256 } }, shown,
      h('figcaption', {}, `${t(`media.${a.kind}`)} · ${size} · `,
        h('a', { href: original, download: a.sha256 }, t('media.download')), ' ', waiting));
  }

  function drawTimeline() {
    const items = timelineItems();
    fill(timeline, items.map((item) => h('li', { class: `tl tl-${item.kind}` },
      h('span', { class: 'tl-dot', 'aria-hidden': 'true' }),
      h('div', { class: 'tl-body' },
        h('div', { class: 'tl-head' },
          h('time', { title: formatTime(item.at) }, formatClock(item.at)),
          h('span', { class: 'tl-text' }, item.text)),
        item.details ? h('div', { class: item.warn ? 'tl-details warn-text' : 'tl-details' }, item.details) : null,
        item.quote ? h('blockquote', { class: 'tl-quote' }, item.quote) : null,
        item.media && item.media.length ? h('div', { class: 'tl-media-list' }, item.media.map(mediaFigure)) : null,
        item.corrections ? h('dl', { class: 'tl-corrections' }, item.corrections.map((c) => [
          h('dt', {}, c.label),
          h('dd', {}, h('del', {}, c.from), h('span', { class: 'arrow', 'aria-hidden': 'true' }, ' → '), h('ins', {}, c.to)),
        ])) : null,
        h('div', { class: 'tl-by' }, person(item.by))))));
  }

  function drawChecklist(combined) {
    if (!combined) {
      fill(checklistBody, h('p', { class: 'muted' }, view.template ? t('checklist.unknown') : t('checklist.none')));
      return;
    }
    if (!combined.authors.length) {
      fill(checklistBody, h('p', { class: 'muted' }, t('checklist.none')));
      return;
    }
    const n = combined.disagreements.length;
    const summary = n
      ? h('div', { class: 'banner warn', id: 'disagreements' }, n === 1 ? t('checklist.disagreement') : t('checklist.disagreements', { n }))
      : h('div', { class: 'banner ok' }, t('checklist.agree'));
    const authors = combined.authors.map((a) => a.author);
    const head = h('tr', {}, h('th', { scope: 'col' }, t('checklist.question')),
      combined.authors.map((a) => h('th', { scope: 'col' },
        person(a.author),
        h('div', { class: 'author-meta' },
          t('checklist.progress', { a: a.progress.answered, r: a.progress.required }),
          a.suggestion ? h('div', {}, t('checklist.suggests', { d: t(`det.${a.suggestion.determination}`) })) : null))));
    const rows = [];
    for (const section of combined.sections) {
      const answered = section.questions.filter((q) => q.answers.length);
      if (!answered.length) continue;
      rows.push(h('tr', { class: 'section-row' }, h('th', { colspan: authors.length + 1, scope: 'colgroup' }, section.title)));
      for (const q of answered) {
        rows.push(h('tr', { class: q.agree ? 'question' : 'question disagree', dataset: { question: q.id } },
          h('th', { scope: 'row' }, q.label, q.agree ? null : h('span', { class: 'tag warn' }, t('checklist.disagree'))),
          authors.map((author) => {
            const answer = q.answers.find((x) => x.author === author);
            if (!answer) return h('td', { class: 'muted' }, '—');
            return h('td', { title: formatTime(answer.at) }, answer.display,
              answer.valid ? null : h('div', { class: 'warn-text small' }, t('checklist.invalid')));
          })));
      }
    }
    fill(checklistBody, summary, h('div', { class: 'table-wrap' }, h('table', { class: 'table checklist' }, h('thead', {}, head), h('tbody', {}, rows))));
  }

  function drawMap(points) {
    const key = JSON.stringify([points, view.report.point, lang()]);
    if (key !== mapKey) {
      mapKey = key;
      mapImage.src = `/console/api/incidents/${id}/map.svg?lang=${lang()}&r=${encodeURIComponent(ctx.revision())}`;
    }
    if (!points.points.length) {
      fill(mapLegend, h('p', { class: 'muted' }, t('map.empty')));
      return;
    }
    fill(mapLegend, h('div', { class: 'table-wrap' }, h('table', { class: 'table legend' },
      h('thead', {}, h('tr', {},
        ['n', 'what', 'at', 'distance', 'accuracy'].map((c) => h('th', { scope: 'col' }, t(`map.col.${c}`))))),
      h('tbody', {}, points.points.map((p) => h('tr', {},
        h('td', {}, h('span', { class: `marker marker-${p.kind}` }, p.number)),
        h('td', {}, t(`map.kind.${p.kind}`), h('div', { class: 'legend-by' }, person(p.by))),
        h('td', { class: 'nowrap', title: formatTime(p.at_ms) }, formatClock(p.at_ms)),
        h('td', { class: 'nowrap' }, p.distance_m === null ? '—' : formatDistance(p.distance_m)),
        h('td', { class: p.accuracy === 'good' ? 'nowrap' : 'nowrap warn-text' }, `±${Math.round(p.accuracy_m)} m`,
          h('div', { class: 'legend-by' }, t(`accuracy.${p.accuracy}`)))))))));
  }

  async function load(background) {
    try {
      const [fresh, combined, points] = await Promise.all([
        api('GET', `/incidents/${id}`, undefined, { background }),
        api('GET', `/incidents/${id}/checklist?lang=${lang()}`, undefined, { background }),
        api('GET', `/incidents/${id}/map`, undefined, { background }),
      ]);
      if (disposed) return;
      show(fresh, combined, points);
    } catch (err) {
      if (disposed || err.status === 401) return;
      if (err.status === 404) {
        fill(container, h('div', { class: 'page narrow' }, h('a', { class: 'back', href: '#/' }, `← ${t('incident.back')}`), h('p', { class: 'card pad' }, t('error.not_found'))));
        disposed = true;
        return;
      }
      toast(errorText(err), 'error');
    }
  }

  function show(fresh, combined, points) {
    view = fresh;
    drawHeader();
    drawDetermination();
    drawReport();
    drawAssigned();
    drawTimeline();
    drawChecklist(combined);
    drawMap(points);
  }

  /** Runs an action; the answer is the new view, shown at once. */
  async function act(path, body, done) {
    try {
      await api('POST', `/incidents/${id}${path}`, body);
      toast(done);
      await load(false);
      return true;
    } catch (err) {
      toast(errorText(err), 'error');
      return false;
    }
  }

  if (canAssign) {
    api('GET', '/devices').then((list) => {
      devices = list;
      drawAssignChoices();
      if (view) { drawAssigned(); drawTimeline(); drawDetermination(); }
    }).catch(() => {});
  }
  load(false);
  return {
    refresh: () => load(true),
    dispose: () => { disposed = true; },
  };
}
