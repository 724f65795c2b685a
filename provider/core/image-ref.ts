// The image string the kubelet matches and sends (parsers.ParseImageName, i.e. the reference's
// ParseNormalizedNamed(...).Name()): registry always present, tag and digest removed, Docker Hub
// as docker.io/library/NAME. Used by `--check --image`, so a user may type the image as it stands
// in a pod spec. Only the normalisation (splitDockerDomain); the reference grammar is not checked.

const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";

export function normalizeImage(ref: string): string {
  const at = ref.indexOf("@");
  let name = at < 0 ? ref : ref.slice(0, at);
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) name = name.slice(0, colon);
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  let domain: string;
  let remainder: string;
  if (
    slash < 0 ||
    (!first.includes(".") &&
      !first.includes(":") &&
      first !== "localhost" &&
      first.toLowerCase() === first)
  ) {
    domain = DEFAULT_DOMAIN;
    remainder = name;
  } else {
    domain = first;
    remainder = name.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes("/")) {
    remainder = OFFICIAL_REPO_PREFIX + remainder;
  }
  return `${domain}/${remainder}`;
}
