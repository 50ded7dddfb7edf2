/**
 * A browser's and system's names from a User-Agent header, enough for a person to recognise their own
 * devices ("Firefox on Windows"); null parts when it does not say.
 */
export function describeUserAgent(ua: string | null | undefined): {
  browser: string | null;
  system: string | null;
} {
  if (!ua) return { browser: null, system: null };
  const browser =
    [
      [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
      [/\bOPR\//, 'Opera'],
      [/\bSamsungBrowser\//, 'Samsung Internet'],
      [/\bFirefox\/|\bFxiOS\//, 'Firefox'],
      [/Chrom(?:e|ium)\/|\bCriOS\//, 'Chrome'],
      [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
    ].find(([pattern]) => (pattern as RegExp).test(ua))?.[1] ?? null;
  const system =
    [
      [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
      [/\bAndroid\b/, 'Android'],
      [/\bCrOS\b/, 'ChromeOS'],
      [/\bWindows\b/, 'Windows'],
      [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
      [/\bLinux\b/, 'Linux'],
    ].find(([pattern]) => (pattern as RegExp).test(ua))?.[1] ?? null;
  return { browser: browser as string | null, system: system as string | null };
}
