// What a host process (the `nova` CLI) sees of the embedded cloud it runs.
import type { Transport } from '../http/types.js';
import type { JobProgressEvent } from '../libvirt/blockjob.js';

/** Progress of the block job behind a swap: libvirt's block-job tracker defines it. */
export type { JobProgressEvent };

/** The end of one RPC cast handled by nova-compute. */
export type ComputeEvent =
  | { type: 'compute-start'; method: string; requestId: string; instance: string }
  | { type: 'compute-done'; method: string; requestId: string; instance: string }
  | { type: 'compute-error'; method: string; requestId: string; instance: string; errorClass: string; message: string };

export type CloudEvent = JobProgressEvent | ComputeEvent;

export interface DrainResult {
  /** every cast that nova-compute handled, with its outcome */
  handled: ComputeEvent[];
}

export interface EmbeddedCloud {
  readonly statePath: string;
  /** carries the client's HTTP-shaped requests to nova-api and cinder-api */
  readonly transport: Transport;
  /** base URLs of the service catalog, e.g. compute http://127.0.0.1:8774/v2.1 */
  readonly endpoints: { compute: string; volumev2: string };
  on(listener: (ev: CloudEvent) => void): () => void;
  /** resolves when every cast sent so far has been handled by nova-compute */
  drain(): Promise<DrainResult>;
  /** the block jobs this host's libvirt runs on a domain's disks now ([] when none) */
  blockJobs?(domainUuid: string): Promise<BlockJobView[]>;
  /** the host got SIGINT: cancel running block jobs so the compute side rolls back */
  interrupt(): void;
  close(): Promise<void>;
}

/** One block job of a domain as libvirt reports it (virDomainGetBlockJobInfo + the job's
 * ready flag): the novasim os-novasim-block-jobs extension's view. */
export interface BlockJobView {
  device: string;
  type: 'copy' | 'unknown';
  cur: number;
  end: number;
  ready: boolean;
  bandwidth: number;
  /** the bytes the mirror actually wrote so far (cur/end count the holes it skipped too);
   * novasim's own figure, absent when the job is not one this host runs */
  bytes_copied?: number;
}
