/**
 * What a failed pull tells the job's owner: the image was not found (and where the engine looked),
 * or its registry could not be reached, instead of Docker's raw resolver text.
 */

/** Where an image reference points: the registry host, the repository on it, and the tag or digest. */
export interface ImageLocation {
  registry: string;
  repository: string;
  reference: string;
}

/** Docker's own rules: a first part with a dot, a colon or `localhost` is a registry; else Docker Hub. */
export function imageLocation(image: string): ImageLocation {
  const slash = image.indexOf("/");
  const first = slash < 0 ? "" : image.slice(0, slash);
  const hasRegistry = first !== "" && (first.includes(".") || first.includes(":") || first === "localhost");
  const registry = hasRegistry ? first : "docker.io";
  let repository = hasRegistry ? image.slice(slash + 1) : image;
  let reference = "latest";
  const at = repository.indexOf("@");
  if (at >= 0) {
    reference = repository.slice(at + 1);
    repository = repository.slice(0, at);
  } else {
    const colon = repository.lastIndexOf(":");
    if (colon > repository.lastIndexOf("/")) {
      reference = repository.slice(colon + 1);
      repository = repository.slice(0, colon);
    }
  }
  if (!hasRegistry && !repository.includes("/")) repository = `library/${repository}`;
  return { registry, repository, reference };
}

const NOT_FOUND = /manifest unknown|not found|does not exist|pull access denied|name unknown|no such image/i;
const UNREACHABLE =
  /no such host|ENOTFOUND|EAI_AGAIN|dial tcp|connection refused|i\/o timeout|TLS handshake|server gave HTTP response/i;

export function pullFailureText(image: string, engineMessage: string): string {
  const where = imageLocation(image);
  const at = `${where.repository}:${where.reference} on ${where.registry}`;
  if (NOT_FOUND.test(engineMessage)) {
    return `image ${image} was not found: looked for ${at} (check the name and tag, and that the registry allows anonymous pulls)`;
  }
  if (UNREACHABLE.test(engineMessage)) {
    return `image ${image} could not be pulled: its registry ${where.registry} did not answer from this node (${engineMessage.slice(0, 160)})`;
  }
  return `could not pull image ${image} (${at}): ${engineMessage}`;
}
