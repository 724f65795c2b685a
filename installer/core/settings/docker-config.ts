/**
 * The Docker config JSON reader is the provider's own (provider/core/docker-config.ts), so the
 * installer accepts exactly the credentials files the provider can read.
 */
export {
  parseDockerConfig,
  type DockerConfigResult,
} from "../../../provider/core/docker-config.ts";
