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
