// Staff sign-in, shared by the staff pages (booking, monitoring wall): the
// sign-in form, the name and "Sign out" button in the header, and going back
// to the form when the session ends. Each page has an empty
// <section id="login-view"> (the form is built here), #app-view holding the
// signed-in page, and #who and #logout in its header.

import { api, session, setUnauthorizedHandler } from './api.js';
import { h } from './dom.js';

const $ = (id) => document.getElementById(id);

// buildForm fills the sign-in section and returns its parts.
function buildForm(view) {
  const f = {
    title: h('h1', { id: 'login-title', tabindex: '-1' }, 'Staff sign in'),
    message: h('p', { id: 'login-message', class: 'notice notice-info', hidden: true }),
    username: h('input', {
      id: 'username', name: 'username', type: 'text', autocomplete: 'username',
      autocapitalize: 'none', required: true,
    }),
    password: h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    error: h('p', { id: 'login-error', class: 'notice notice-error', role: 'alert', hidden: true }),
    submit: h('button', { type: 'submit', class: 'button button-primary' }, 'Sign in'),
  };
  f.username.spellcheck = false;
  f.form = h('form', { id: 'login-form', class: 'card', noValidate: true },
    h('div', { class: 'field' }, h('label', { for: 'username' }, 'Username'), f.username),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), f.password),
    f.error,
    f.submit);
  view.replaceChildren(f.title, f.message, f.form);
  return f;
}

// staffSignIn wires the sign-in form of a page. pageTitle is the document
// title when signed in; onSignedIn(staff) fills the page after a sign-in
// (or on load with a session already open in this tab); onSignedOut() runs
// when the page goes back to the form (close dialogs, stop timers). It
// returns {start, showLogin}: call start() once to begin.
export function staffSignIn({ pageTitle, onSignedIn, onSignedOut = () => {} }) {
  const f = buildForm($('login-view'));

  function showLogin(message) {
    onSignedOut();
    $('app-view').hidden = true;
    $('logout').hidden = true;
    $('who').textContent = '';
    $('login-view').hidden = false;
    f.message.textContent = message || '';
    f.message.hidden = !message;
    document.title = 'Sign in – Gatehouse staff';
    f.username.focus();
  }

  async function enter() {
    const staff = session.staff || {};
    $('login-view').hidden = true;
    $('app-view').hidden = false;
    $('logout').hidden = false;
    $('who').textContent = staff.name || staff.username || '';
    document.title = pageTitle;
    await onSignedIn(staff);
  }

  function showError(text) {
    f.error.textContent = text;
    f.error.hidden = false;
  }

  async function submit(ev) {
    ev.preventDefault();
    f.error.hidden = true;
    const username = f.username.value.trim();
    const password = f.password.value;
    if (!username || !password) {
      showError('Enter your username and password.');
      return;
    }
    f.submit.disabled = true;
    try {
      await api.login(username, password);
      f.password.value = '';
      await enter();
    } catch (e) {
      showError(e.status === 401 ? 'The username or password is not right.' : e.message);
    } finally {
      f.submit.disabled = false;
    }
  }

  async function logout() {
    try {
      await api.logout();
    } catch {
      // The session is gone from this tab either way.
    }
    showLogin('You have signed out.');
  }

  setUnauthorizedHandler(() => showLogin('Your session has ended. Please sign in again.'));
  f.form.addEventListener('submit', submit);
  $('logout').addEventListener('click', logout);

  async function start() {
    if (!session.csrfToken) {
      showLogin();
      return;
    }
    try {
      await enter();
    } catch (err) {
      if (err.status !== 401) showLogin(err.message);
    }
  }

  return { start, showLogin };
}
