// Passkeys (WebAuthn) on the pages that offer them. Without this script (or without WebAuthn in the
// browser) the passkey buttons stay hidden and the page says why; e-mail links still sign people in.

const toBytes = (base64url) => {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
};
const toBase64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

const supported = Boolean(window.PublicKeyCredential && navigator.credentials);

for (const note of document.querySelectorAll('[data-passkey-no-script]')) note.hidden = true;
for (const note of document.querySelectorAll('[data-passkey-unsupported]')) note.hidden = supported;
for (const control of document.querySelectorAll('[data-passkey-control]')) control.hidden = !supported;

const messages = document.querySelector('[data-passkey-messages]');
const errorSummary = document.querySelector('[data-passkey-error]');

function showProblem(key) {
  if (!errorSummary) return;
  errorSummary.querySelector('[data-passkey-error-text]').textContent =
    messages.dataset[key] ?? messages.dataset.failed;
  errorSummary.hidden = false;
  errorSummary.focus();
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error('refused'), { problem: data.problem ?? 'failed' });
  return data;
}

/** A browser's refusal (the person cancelled, or no passkey matched) is not the service's fault. */
const problemOf = (err) =>
  err?.name === 'NotAllowedError' || err?.name === 'AbortError' ? 'cancelled' : (err?.problem ?? 'failed');

async function register(form) {
  const csrf = form.querySelector('input[name="_csrf"]').value;
  const name = form.querySelector('input[name="name"]')?.value ?? '';
  const options = await postJson('/account/passkeys/options', { _csrf: csrf });
  const credential = await navigator.credentials.create({
    publicKey: {
      ...options,
      challenge: toBytes(options.challenge),
      user: { ...options.user, id: toBytes(options.user.id) },
      excludeCredentials: (options.excludeCredentials ?? []).map((c) => ({ ...c, id: toBytes(c.id) })),
    },
  });
  const { response } = credential;
  const result = await postJson('/account/passkeys', {
    _csrf: csrf,
    name,
    response: {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        attestationObject: toBase64url(response.attestationObject),
        transports: response.getTransports?.() ?? [],
      },
    },
  });
  window.location.assign(result.redirect);
}

async function signIn(form) {
  const csrf = form.querySelector('input[name="_csrf"]').value;
  const options = await postJson('/sign-in/passkey/options', { _csrf: csrf });
  const credential = await navigator.credentials.get({
    publicKey: {
      ...options,
      challenge: toBytes(options.challenge),
      allowCredentials: (options.allowCredentials ?? []).map((c) => ({ ...c, id: toBytes(c.id) })),
    },
  });
  const { response } = credential;
  const result = await postJson('/sign-in/passkey', {
    _csrf: csrf,
    response: {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: {
        clientDataJSON: toBase64url(response.clientDataJSON),
        authenticatorData: toBase64url(response.authenticatorData),
        signature: toBase64url(response.signature),
        userHandle: response.userHandle ? toBase64url(response.userHandle) : undefined,
      },
    },
  });
  window.location.assign(result.redirect);
}

const ceremonies = { register, 'sign-in': signIn };

if (supported) {
  for (const form of document.querySelectorAll('form[data-passkey]')) {
    const ceremony = ceremonies[form.dataset.passkey];
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        await ceremony(form);
      } catch (err) {
        showProblem(problemOf(err));
        button.disabled = false;
      }
    });
  }
}
