// A running simulator: one world, one EC2 endpoint, and one IMDS endpoint per launched instance.
import { Ec2Server } from './ec2-server.js';
import { Faults, type FaultConfig } from './faults.js';
import { ImdsServer } from './imds-server.js';
import { launchInstance, settle, type LaunchSpec } from './ops-attach.js';
import type { Instance } from './types.js';
import { World, type AttachListener, type WorldOptions } from './world.js';

export interface SimOptions extends WorldOptions {
  /** Timing/fault config; defaults to zero latency and no faults (see realisticTiming()). */
  faults?: Partial<FaultConfig>;
  /** Default IMDS propagation lag for new instances (ms). Default 0. */
  imdsLagMs?: number;
  /** Default IMDSv2 requirement for new instances. Default true. */
  imdsRequireV2?: boolean;
  /** Deterministic randomness for error-rate injection (default Math.random). */
  random?: () => number;
  /** Fixed EC2 port (default: any free port). */
  ec2Port?: number;
}

export interface Node {
  instance: Instance;
  imds: ImdsServer;
  /** Base URL for AWS_EC2_METADATA_SERVICE_ENDPOINT. */
  imdsUrl: string;
}

export class Sim {
  readonly world: World;
  readonly faults: Faults;
  readonly ec2: Ec2Server;
  readonly nodes = new Map<string, Node>();
  private readonly opts: SimOptions;

  private constructor(opts: SimOptions) {
    this.opts = opts;
    this.world = new World(opts);
    this.faults = new Faults(opts.faults, this.world.now, opts.random);
    this.ec2 = new Ec2Server(this.world, this.faults);
    this.ec2.extraAdmin = (method, path, body) => this.imdsAdmin(method, path, body);
  }

  /** `GET|POST /_sim/imds/<instanceId>` with `{lagMs, requireV2}`; lagMs `null` or "stale" = never updates. */
  private imdsAdmin(method: string, path: string, body: string): unknown {
    const m = /^\/_sim\/imds\/([^/]+)$/.exec(path);
    const node = m ? this.nodes.get(m[1]!) : undefined;
    if (!node) return undefined;
    if (method === 'POST') {
      const patch = JSON.parse(body) as { lagMs?: number | null | 'stale'; requireV2?: boolean };
      if (patch.lagMs !== undefined)
        node.imds.lagMs = patch.lagMs === null || patch.lagMs === 'stale' ? Infinity : patch.lagMs;
      if (patch.requireV2 !== undefined) node.imds.requireV2 = patch.requireV2;
    }
    const lag = node.imds.lagMs;
    return {
      instanceId: node.instance.id,
      url: node.imdsUrl,
      lagMs: Number.isFinite(lag) ? lag : 'stale',
      requireV2: node.imds.requireV2,
    };
  }

  static async start(opts: SimOptions): Promise<Sim> {
    const sim = new Sim(opts);
    await sim.ec2.start(opts.ec2Port ?? 0);
    return sim;
  }

  /** Base URL for AWS_EC2_ENDPOINT / AWS_ENDPOINT_URL_EC2. */
  get ec2Url(): string {
    return this.ec2.url;
  }

  /** Launch an instance (primary ENI attached at device 0) and start its IMDS endpoint. */
  async launch(spec: LaunchSpec & { imdsLagMs?: number; imdsRequireV2?: boolean }): Promise<Node> {
    const instance = await launchInstance(this.world, spec);
    const imds = new ImdsServer(this.world, {
      instanceId: instance.id,
      lagMs: spec.imdsLagMs ?? this.opts.imdsLagMs ?? 0,
      requireV2: spec.imdsRequireV2 ?? this.opts.imdsRequireV2 ?? true,
    });
    const imdsUrl = await imds.start();
    const node = { instance, imds, imdsUrl };
    this.nodes.set(instance.id, node);
    return node;
  }

  /** Register a hot-plug hook; an attach is reported `attached` only after every hook resolved. */
  onAttach(fn: AttachListener): void {
    this.world.onAttach(fn);
  }

  onDetach(fn: AttachListener): void {
    this.world.onDetach(fn);
  }

  /** Wait for pending (delayed) attach/detach completions. */
  settle(): Promise<void> {
    return settle(this.world);
  }

  /** Environment for an ipamd process running as `instanceId`. */
  envFor(instanceId: string): Record<string, string> {
    const node = this.nodes.get(instanceId);
    if (!node) throw new Error(`no simulated node ${instanceId}`);
    return {
      AWS_EC2_ENDPOINT: this.ec2Url,
      AWS_ENDPOINT_URL_EC2: this.ec2Url,
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: this.ec2Url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: node.imdsUrl,
      AWS_REGION: 'us-west-2',
      AWS_ACCESS_KEY_ID: 'AKIASIMULATOR0000000',
      AWS_SECRET_ACCESS_KEY: 'simulator-secret',
    };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.imds.stop()));
    await this.ec2.stop();
  }
}
