// Progressive enhancement only: every page works without this.
import { initAll } from '/static/govuk-frontend.min.js';

initAll();

/**
 * Evidence uploads: files and whole folders can also be dropped on the page (a folder is walked with
 * webkitGetAsEntry, each file keeping its path inside the folder, as a folder input sends it), and the
 * form is sent with XMLHttpRequest to show how much has been sent. Without this script the same form
 * posts as it is.
 */
for (const form of document.querySelectorAll('form[data-module="app-upload"]')) enhanceUpload(form);

function enhanceUpload(form) {
  if (!window.FormData || !window.XMLHttpRequest) return;
  const zone = form.querySelector('[data-drop-zone]');
  const summary = form.querySelector('[data-drop-summary]');
  const progress = form.querySelector('[data-progress]');
  const bar = progress.querySelector('progress');
  const text = progress.querySelector('[data-progress-text]');
  /** Dropped files, each with the path it is sent under. */
  const dropped = [];

  zone.hidden = false;
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('app-drop-zone--active');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('app-drop-zone--active'));
  zone.addEventListener('drop', async (event) => {
    event.preventDefault();
    zone.classList.remove('app-drop-zone--active');
    const entries = [...event.dataTransfer.items]
      .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
      .filter(Boolean);
    if (entries.length === 0) {
      for (const file of event.dataTransfer.files) dropped.push({ file, path: file.name });
    }
    for (const entry of entries) await walk(entry, '', dropped);
    summary.textContent = form.dataset.ready.replace('__N__', String(dropped.length));
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (window.tus?.isSupported && form.dataset.resumable) {
      const files = [];
      for (const input of form.querySelectorAll('input[type="file"]')) {
        for (const file of input.files) files.push({ file, path: file.webkitRelativePath || file.name });
      }
      sendResumable(form, [...files, ...dropped], { progress, bar, text });
      return;
    }
    const data = new FormData();
    data.append('criteria', form.elements.criteria.value);
    for (const input of form.querySelectorAll('input[type="file"]')) {
      for (const file of input.files) data.append('files', file, file.webkitRelativePath || file.name);
    }
    for (const { file, path } of dropped) data.append('files', file, path);
    send(form, data, { progress, bar, text });
  });
}

/** Collects the files under a dropped entry (a folder's files with their paths). */
async function walk(entry, prefix, into) {
  if (entry.isFile) {
    const file = await new Promise((resolve) => entry.file(resolve, () => resolve(null)));
    if (file) into.push({ file, path: prefix + file.name });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = entry.createReader();
  // A folder's entries come in batches until an empty one.
  for (;;) {
    const batch = await new Promise((resolve) => reader.readEntries(resolve, () => resolve([])));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, `${prefix}${entry.name}/`, into);
  }
}

function send(form, data, { progress, bar, text }) {
  const button = form.querySelector('button[type="submit"], .govuk-button');
  const xhr = new XMLHttpRequest();
  xhr.open('POST', form.action);
  xhr.setRequestHeader('Accept', 'text/html');
  progress.hidden = false;
  if (button) button.disabled = true;
  xhr.upload.addEventListener('progress', (event) => {
    if (!event.lengthComputable) return;
    const percent = Math.round((event.loaded / event.total) * 100);
    bar.value = percent;
    text.textContent = form.dataset.progressTemplate.replace('__P__', String(percent));
  });
  xhr.addEventListener('load', () => {
    // Accepted: the answer is the criterion page it was redirected to; refused: the page with the error.
    if (xhr.status < 400 && xhr.responseURL) {
      window.location.assign(xhr.responseURL);
      return;
    }
    const page = new DOMParser().parseFromString(xhr.responseText, 'text/html');
    const main = page.querySelector('main');
    if (!main) return failed(form, progress, button);
    document.title = page.title;
    document.querySelector('main').replaceWith(document.adoptNode(main));
    for (const next of document.querySelectorAll('form[data-module="app-upload"]')) enhanceUpload(next);
    const summary = document.querySelector('.govuk-error-summary');
    if (summary) {
      summary.setAttribute('tabindex', '-1');
      summary.focus();
    }
  });
  xhr.addEventListener('error', () => failed(form, progress, button));
  xhr.send(data);
}

function failed(form, progress, button) {
  progress.querySelector('[data-progress-text]').textContent = form.dataset.failed;
  if (button) button.disabled = false;
}

/**
 * Sends the files one after another over tus (a connection that drops is resumed where the server
 * stopped, also after the page is reloaded), then shows the criterion page with what was added. A
 * refusal is shown in an error summary, in the words the server chose.
 */
const SYSTEM_FILE = /(^|\/)(__MACOSX\/|\.DS_Store$|Thumbs\.db$|desktop\.ini$|\._)/i;

async function sendResumable(form, files, { progress, bar, text }) {
  const button = form.querySelector('button[type="submit"], .govuk-button');
  progress.hidden = false;
  if (button) button.disabled = true;
  // A folder's system files and empty files are left out, as the server leaves them out of a folder sent whole.
  const wanted = files.filter(
    ({ file, path }) => path === file.name || !(SYSTEM_FILE.test(path) || file.size === 0),
  );
  let skipped = files.length - wanted.length;
  const total = wanted.reduce((n, { file }) => n + file.size, 0) || 1;
  let sent = 0;
  let added = 0;
  for (const { file, path } of wanted) {
    try {
      const answer = await resumableUpload(form, file, path, (bytes) => {
        const percent = Math.floor(((sent + bytes) / total) * 100);
        bar.value = percent;
        text.textContent = form.dataset.progressTemplate.replace('__P__', String(percent));
      });
      added += answer.items.length;
      skipped += answer.skipped.length;
    } catch (err) {
      const body = err.originalResponse?.getBody();
      let message = form.dataset.failed;
      try {
        message = JSON.parse(body).message || message;
      } catch {}
      showUploadError(form, message);
      if (button) button.disabled = false;
      return;
    }
    sent += file.size;
  }
  const done = form.dataset.done.replace('__N__', String(added));
  window.location.assign(skipped > 0 ? `${done}&skipped=${skipped}` : done);
}

function resumableUpload(form, file, path, onBytes) {
  return new Promise((resolve, reject) => {
    const upload = new window.tus.Upload(file, {
      endpoint: form.dataset.resumable,
      headers: { 'X-CSRF-Token': form.dataset.csrf },
      metadata: {
        filename: file.name,
        criteria: form.elements.criteria.value,
        ...(path !== file.name ? { relativePath: path } : {}),
      },
      // Pieces of 16 MiB: a drop costs at most one piece, and no request outlives the server's timeouts.
      chunkSize: 16 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
      removeFingerprintOnSuccess: true,
      onProgress: (bytes) => onBytes(bytes),
      onSuccess: ({ lastResponse }) => resolve(JSON.parse(lastResponse.getBody())),
      onError: reject,
      // A refusal (4xx other than a conflict of offsets) will not change by trying again.
      onShouldRetry: (err) => {
        const status = err.originalResponse?.getStatus() ?? 0;
        return status === 0 || status === 409 || status === 423 || status >= 500;
      },
    });
    upload.findPreviousUploads().then((previous) => {
      if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  });
}

/** A GOV.UK error summary at the top of the page and the message beside the file input. */
function showUploadError(form, message) {
  document.querySelector('.govuk-error-summary')?.remove();
  const summary = document.createElement('div');
  summary.className = 'govuk-error-summary';
  summary.tabIndex = -1;
  const alert = document.createElement('div');
  alert.setAttribute('role', 'alert');
  const title = document.createElement('h2');
  title.className = 'govuk-error-summary__title';
  title.textContent = form.dataset.errorTitle;
  const list = document.createElement('ul');
  list.className = 'govuk-list govuk-error-summary__list';
  const item = document.createElement('li');
  const link = document.createElement('a');
  link.href = '#files';
  link.textContent = message;
  item.append(link);
  list.append(item);
  const body = document.createElement('div');
  body.className = 'govuk-error-summary__body';
  body.append(list);
  alert.append(title, body);
  summary.append(alert);
  // In place of an earlier upload's success banner, at the top of the form's column.
  document.querySelector('.govuk-notification-banner')?.remove();
  (form.closest('[class*="govuk-grid-column"]') ?? document.querySelector('main')).prepend(summary);
  summary.focus();
  form.querySelector('[data-progress]').hidden = true;
}
