/**
 * A container image reference as Docker's distribution/reference grammar defines it:
 * [registry[:port]/]path[:tag][@digest]. Lowercase path components, tag ≤ 128 characters.
 */
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const DOMAIN_PART = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
// As Docker reads a name: the first component is a registry only when it has a dot or a port, is
// localhost, or is an IPv6 literal; otherwise it is a (lowercase) path component.
const DOMAIN = `(?:${DOMAIN_PART}(?:\\.${DOMAIN_PART})+(?::[0-9]+)?|${DOMAIN_PART}:[0-9]+|localhost|\\[[0-9a-fA-F:]+\\](?::[0-9]+)?)`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(`^(?:${DOMAIN}/)?${COMPONENT}(?:/${COMPONENT})*(?::${TAG})?(?:@${DIGEST})?$`);

export const MAX_IMAGE_REF_LENGTH = 255;

export function isValidImageRef(ref: string): boolean {
  return ref.length > 0 && ref.length <= MAX_IMAGE_REF_LENGTH && REFERENCE.test(ref);
}
