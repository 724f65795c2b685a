/**
 * A CRI client for tests: the same gRPC calls the kubelet makes to containerd
 * (runtime.v1.ImageService), generated at run time from the CRI proto of the pinned Kubernetes
 * release. No stubs: every call goes to the real containerd over its unix socket.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

export interface CriAuth {
  readonly username: string;
  readonly password: string;
}

type Callback = (err: grpc.ServiceError | null, res: unknown) => void;
type Unary = (req: object, opts: grpc.CallOptions, cb: Callback) => void;
interface ImageServiceClient extends grpc.Client {
  PullImage: Unary;
  ListImages: Unary;
  RemoveImage: Unary;
}
interface RuntimeServiceClient extends grpc.Client {
  Version: Unary;
}

const definitions = new Map<string, grpc.GrpcObject>();

function load(protoFile: string): grpc.GrpcObject {
  let pkg = definitions.get(protoFile);
  if (pkg === undefined) {
    const def = protoLoader.loadSync(protoFile, { keepCase: true, longs: String, defaults: true });
    pkg = grpc.loadPackageDefinition(def);
    definitions.set(protoFile, pkg);
  }
  return pkg;
}

function service(protoFile: string, name: string): grpc.ServiceClientConstructor {
  const runtime = load(protoFile)["runtime"] as grpc.GrpcObject;
  const v1 = runtime["v1"] as grpc.GrpcObject;
  return v1[name] as grpc.ServiceClientConstructor;
}

function call<T>(client: grpc.Client, method: Unary, req: object, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    method.call(client, req, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(err);
      else resolve(res as T);
    });
  });
}

export class CriClient {
  readonly #images: ImageServiceClient;
  readonly #runtime: RuntimeServiceClient;

  constructor(protoFile: string, socket: string) {
    const target = `unix://${socket}`;
    const creds = grpc.credentials.createInsecure();
    this.#images = new (service(protoFile, "ImageService"))(
      target,
      creds,
    ) as unknown as ImageServiceClient;
    this.#runtime = new (service(protoFile, "RuntimeService"))(
      target,
      creds,
    ) as unknown as RuntimeServiceClient;
  }

  /** ImageService/PullImage with an AuthConfig, as the kubelet sends it; returns the image ref. */
  async pullImage(image: string, auth?: CriAuth, timeoutMs = 60_000): Promise<string> {
    const req = {
      image: { image },
      ...(auth ? { auth: { username: auth.username, password: auth.password } } : {}),
    };
    const res = await call<{ image_ref: string }>(
      this.#images,
      this.#images.PullImage,
      req,
      timeoutMs,
    );
    return res.image_ref;
  }

  async listImages(): Promise<string[]> {
    const res = await call<{ images: { repo_tags: string[] }[] }>(
      this.#images,
      this.#images.ListImages,
      {},
      10_000,
    );
    return res.images.flatMap((i) => i.repo_tags);
  }

  async removeImage(image: string): Promise<void> {
    await call(this.#images, this.#images.RemoveImage, { image: { image } }, 30_000);
  }

  async version(): Promise<{ runtime_name: string; runtime_api_version: string }> {
    return call(this.#runtime, this.#runtime.Version, {}, 5_000);
  }

  close(): void {
    this.#images.close();
    this.#runtime.close();
  }
}
