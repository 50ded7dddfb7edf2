/**
 * A file name safe to store and show: no path, no control or bidi-override characters, no leading or
 * trailing dots, ≤ 255 characters.
 */
export function sanitiseFilename(raw: string | undefined): string {
  const base = (raw ?? '').split(/[/\\]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    // Control characters, and the bidi overrides that make "cod.exe" display as "exe.doc".
    .replace(/[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, '')
    .trim()
    .replace(/^\.+/, '')
    // Windows drops trailing dots and spaces, so "page.html. " would be saved as "page.html".
    .replace(/[.\s]+$/, '')
    .trim();
  const chars = Array.from(cleaned || 'file');
  if (chars.length <= 255) return chars.join('');
  // Keep the extension when shortening.
  const dot = cleaned.lastIndexOf('.');
  const extension = dot > 0 ? Array.from(cleaned.slice(dot)) : [];
  if (extension.length > 0 && extension.length <= 16) {
    return chars.slice(0, 255 - extension.length).join('') + extension.join('');
  }
  return chars.slice(0, 255).join('');
}
