// The console's shell: who is signed in, which page is shown (from the address's
// #fragment, which only ever holds an incident id), the language, and the live
// connection that tells the page to refresh.

import { api, setCsrf, watch } from './api.js';
import { fill, h, shortId, toast } from './dom.js';
import { lang, setLang, t, translateStatic } from './i18n.js';
import { renderSignIn } from './sign-in.js';
import { renderList } from './list.js';
import { renderNewIncident } from './new-incident.js';
import { renderIncident } from './incident.js';
import { renderChecklists } from './checklists.js';

const main = document.getElementById('main');
const state = {
  session: null,
  view: null,
  stopWatching: null,
  revision: '0',
  listFilters: { status: 'active', urgency: '' },
};

function route() {
  const hash = location.hash.replace(/^#/, '');
  const incident = hash.match(/^\/incidents\/(inc_[0-9a-f]{32})$/);
  if (incident) return { page: 'incident', id: incident[1] };
  if (hash === '/new') return { page: 'new' };
  if (hash === '/checklists') return { page: 'checklists' };
  return { page: 'list' };
}

export function navigate(hash) {
  if (location.hash === hash) {
    show();
  } else {
    location.hash = hash;
  }
}

function context() {
  return {
    session: state.session,
    navigate,
    revision: () => state.revision,
    listFilters: state.listFilters,
  };
}

function show() {
  if (state.view && state.view.dispose) state.view.dispose();
  state.view = null;
  if (!state.session) {
    state.view = renderSignIn(main, { onSignedIn: signedIn });
    return;
  }
  const r = route();
  const ctx = context();
  if (r.page === 'incident') state.view = renderIncident(main, ctx, r.id);
  else if (r.page === 'new') state.view = renderNewIncident(main, ctx);
  else if (r.page === 'checklists') state.view = renderChecklists(main, ctx);
  else state.view = renderList(main, ctx);
  main.focus({ preventScroll: true });
}

function renderTopBar() {
  const who = document.getElementById('who');
  const signOut = document.getElementById('sign-out');
  const live = document.getElementById('live');
  for (const button of document.querySelectorAll('[data-lang]')) {
    button.setAttribute('aria-pressed', String(button.dataset.lang === lang()));
  }
  if (!state.session) {
    who.hidden = true;
    signOut.hidden = true;
    live.hidden = true;
    return;
  }
  const s = state.session;
  fill(
    who,
    h('span', { class: 'who-role' }, t(`role.${s.role}`)),
    s.team ? h('span', { class: 'who-team' }, t('who.team', { team: s.team })) : null,
    h('span', { class: 'who-id mono', title: s.device_id }, shortId(s.device_id)),
  );
  who.hidden = false;
  signOut.hidden = false;
}

function setLive(mode) {
  const live = document.getElementById('live');
  live.hidden = !state.session;
  live.dataset.state = mode;
  document.getElementById('live-text').textContent = t(mode === 'live' ? 'live.on' : 'live.reconnecting');
}

function startWatching() {
  stopWatching();
  setLive('reconnecting');
  state.stopWatching = watch(
    (revision) => {
      state.revision = revision;
      if (state.view && state.view.refresh) state.view.refresh();
    },
    (mode) => {
      if (mode === 'closed') {
        setLive('reconnecting');
        stopWatching();
        setTimeout(() => {
          if (state.session) checkSession().then(() => state.session && startWatching());
        }, 3000);
      } else {
        setLive(mode);
      }
    },
  );
}

function stopWatching() {
  if (state.stopWatching) state.stopWatching();
  state.stopWatching = null;
}

function signedIn(session) {
  state.session = session;
  setCsrf(session.csrf);
  renderTopBar();
  startWatching();
  show();
}

function signedOut(message) {
  const wasSignedIn = Boolean(state.session);
  state.session = null;
  setCsrf(null);
  stopWatching();
  renderTopBar();
  show();
  if (wasSignedIn && message) toast(message, 'info');
}

async function checkSession() {
  try {
    const session = await api('GET', '/session', undefined, { background: true });
    state.session = session;
    setCsrf(session.csrf);
  } catch {
    state.session = null;
  }
}

async function boot() {
  translateStatic();
  for (const button of document.querySelectorAll('[data-lang]')) {
    button.addEventListener('click', () => {
      setLang(button.dataset.lang);
      translateStatic();
      renderTopBar();
      if (state.session) setLive(document.getElementById('live').dataset.state || 'live');
      show();
    });
  }
  document.getElementById('sign-out').addEventListener('click', async () => {
    try {
      await api('POST', '/sign-out');
    } catch {
      // Signed out on the hub already, or unreachable: either way, forget it here.
    }
    signedOut(null);
  });
  window.addEventListener('testigo:signed-out', () => signedOut(t('signin.session_ended')));
  window.addEventListener('hashchange', () => state.session && show());
  await checkSession();
  renderTopBar();
  if (state.session) startWatching();
  show();
}

boot();
