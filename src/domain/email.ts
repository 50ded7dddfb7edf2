/**
 * What the service accepts as an e-mail address, wherever one comes in (API bodies, the CLI, the first
 * admin's address): a local part without leading, trailing or doubled dots; a domain of at least two
 * labels, none empty and none starting or ending with `-`, ending in an alphabetic top-level label.
 * Addresses are trimmed and lower-cased before the check, and stored that way.
 */
export const EMAIL_ADDRESS =
  /^(?=[^@]{1,64}@)(?!\.)(?!.*\.\.)[A-Za-z0-9_'+.-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

export const EMAIL_ADDRESS_MESSAGE =
  'an e-mail address such as name@example.org (no empty domain labels, none starting or ending with -)';
