// Signing in: with the credential a device got at enrolment, or with a one-time
// code that the hub redeems for a new console device (its credential is shown once).

import { api } from './api.js';
import { fill, h } from './dom.js';
import { t } from './i18n.js';

function message(error) {
  if (error.status === 403 && error.code === 'forbidden') return t('signin.role');
  if (error.status === 410) return t('signin.expired');
  if (error.status === 409) return t('signin.used');
  if (error.status === 429) return t('signin.limited');
  if (error.status === 401 || error.status === 400) return t('signin.invalid');
  if (!error.status) return t('error.network');
  return t('error.generic', { reason: error.message });
}

export function renderSignIn(container, { onSignedIn }) {
  let mode = 'credential';
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const credential = h('input', {
    id: 'credential', name: 'credential', type: 'password', class: 'input mono',
    autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
  });
  const code = h('input', {
    id: 'code', name: 'code', type: 'text', class: 'input mono code-input',
    autocomplete: 'one-time-code', spellcheck: 'false', autocapitalize: 'characters', placeholder: 'XXXX-XXXX-XXXX',
  });
  const credentialField = h('div', { class: 'field' },
    h('label', { for: 'credential' }, t('signin.credential')),
    credential,
    h('p', { class: 'hint' }, t('signin.credential.hint')));
  const codeField = h('div', { class: 'field', hidden: true },
    h('label', { for: 'code' }, t('signin.code')),
    code,
    h('p', { class: 'hint' }, t('signin.code.hint')));
  const submit = h('button', { type: 'submit', class: 'button primary wide', id: 'sign-in' }, t('signin.submit'));

  const tabs = ['credential', 'code'].map((name) => h('button', {
    type: 'button', role: 'tab', class: 'tab', id: `tab-${name}`,
    'aria-selected': String(name === mode),
    onclick: () => select(name),
  }, t(`signin.tab.${name}`)));

  function select(name) {
    mode = name;
    tabs.forEach((tab, i) => tab.setAttribute('aria-selected', String(['credential', 'code'][i] === name)));
    credentialField.hidden = name !== 'credential';
    codeField.hidden = name !== 'code';
    error.hidden = true;
    (name === 'credential' ? credential : code).focus();
  }

  const form = h('form', { class: 'stack', method: 'post', novalidate: true },
    h('div', { class: 'tabs', role: 'tablist' }, tabs),
    credentialField, codeField, error, submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const body = mode === 'credential' ? { credential: credential.value.trim() } : { code: code.value.trim() };
    if (!Object.values(body)[0]) {
      (mode === 'credential' ? credential : code).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t('signin.working');
    try {
      const session = await api('POST', '/sign-in', body);
      credential.value = '';
      code.value = '';
      if (session.credential) showCredential(session);
      else onSignedIn(session);
    } catch (err) {
      error.textContent = message(err);
      error.hidden = false;
    } finally {
      submit.disabled = false;
      submit.textContent = t('signin.submit');
    }
  });

  function showCredential(session) {
    const value = h('input', { class: 'input mono', id: 'new-credential', readonly: true, value: session.credential });
    const copy = h('button', { type: 'button', class: 'button', onclick: async () => {
      value.select();
      try {
        await navigator.clipboard.writeText(session.credential);
        copy.textContent = t('signin.saved.copied');
      } catch {
        // Clipboard refused (no permission): the value is selected for copying by hand.
      }
    } }, t('signin.saved.copy'));
    const saved = h('input', { type: 'checkbox', id: 'saved' });
    const next = h('button', { type: 'button', class: 'button primary wide', id: 'continue', disabled: true, onclick: () => {
      value.value = '';
      onSignedIn({ ...session, credential: undefined });
    } }, t('signin.saved.continue'));
    saved.addEventListener('change', () => { next.disabled = !saved.checked; });
    fill(card,
      h('h1', { class: 'card-title' }, t('signin.saved.title')),
      h('p', { class: 'muted' }, t('signin.saved.body')),
      h('div', { class: 'copy-row' }, value, copy),
      h('label', { class: 'check' }, saved, t('signin.saved.confirm')),
      next);
    value.select();
  }

  const card = h('section', { class: 'card sign-in' },
    h('h1', { class: 'card-title' }, t('signin.title')),
    h('p', { class: 'muted' }, t('signin.lead')),
    form);
  fill(container, h('div', { class: 'center' }, card));
  credential.focus();
  return {};
}
