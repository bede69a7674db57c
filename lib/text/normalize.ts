/**
 * Text normalisation before featurisation (done here, in V8's ICU, so the native featuriser needs
 * no Unicode tables): Unicode NFKC, lower case, and every non-ASCII code point that is not a
 * letter, mark or number replaced by a space. The native side then treats ASCII letters and digits
 * and every remaining non-ASCII code point as word characters and everything else as a separator.
 */

const NON_ASCII = /\P{ASCII}/u
const NON_ASCII_SEPARATOR = /[^\p{ASCII}\p{L}\p{M}\p{N}]+/gu

/**
 * NFKC, lower case, non-ASCII non-alphanumerics → spaces. ASCII-only strings skip the Unicode work
 * (ASCII is NFKC-invariant).
 */
export function normalizeText(text: string): string {
  if (!NON_ASCII.test(text)) return text.toLowerCase()
  return text.normalize('NFKC').toLowerCase().replace(NON_ASCII_SEPARATOR, ' ')
}

/** Word characters after {@link normalizeText}: ASCII letters and digits, any non-ASCII code point. */
export function isWordCodePoint(c: number): boolean {
  return c >= 0x80 || (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90)
}
