import { z } from "zod";

/**
 * Which container images this host agrees to run. Patterns are globs over the image reference:
 * `*` matches within one path component, `**` across `/`, `?` one character. A pattern is tried
 * against the reference as written and in Docker's normalised form (docker.io/library/…:latest),
 * so "busybox*" and "docker.io/library/busybox:*" both match `busybox`.
 */
export const ImageRulesConfig = z
  .object({
    /** When given, only images matching one of these run. */
    allow: z.array(z.string().min(1).max(255)).optional(),
    /** Images matching any of these never run; deny wins over allow. */
    deny: z.array(z.string().min(1).max(255)).default([]),
  })
  .strict();
export type ImageRulesConfig = z.infer<typeof ImageRulesConfig>;

export type ImageDecision = { allowed: true } | { allowed: false; why: string };

export class ImagePolicy {
  private readonly allow: { pattern: string; regex: RegExp }[] | undefined;
  private readonly deny: { pattern: string; regex: RegExp }[];

  constructor(rules: Partial<ImageRulesConfig> = {}) {
    this.allow = rules.allow?.map((pattern) => ({ pattern, regex: globToRegExp(pattern) }));
    this.deny = (rules.deny ?? []).map((pattern) => ({ pattern, regex: globToRegExp(pattern) }));
  }

  decide(image: string): ImageDecision {
    const forms = [image, normaliseImage(image)];
    const denied = this.deny.find((rule) => forms.some((form) => rule.regex.test(form)));
    if (denied)
      return { allowed: false, why: `image ${image} matches the denied pattern "${denied.pattern}"` };
    if (this.allow !== undefined && !this.allow.some((rule) => forms.some((form) => rule.regex.test(form)))) {
      return { allowed: false, why: `image ${image} matches none of the allowed patterns` };
    }
    return { allowed: true };
  }
}

export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? "";
    if (char === "*" && pattern[i + 1] === "*") {
      source += ".*";
      i++;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += char.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** `busybox` → `docker.io/library/busybox:latest`, as the Docker engine reads a short name. */
export function normaliseImage(image: string): string {
  const [name = image, digest] = image.split("@");
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  const hasRegistry = first.includes(".") || first.includes(":") || first === "localhost";
  let path = hasRegistry ? name : `docker.io/${slash < 0 ? `library/${name}` : name}`;
  const lastComponent = path.slice(path.lastIndexOf("/") + 1);
  if (!lastComponent.includes(":") && digest === undefined) path += ":latest";
  return digest === undefined ? path : `${path}@${digest}`;
}
