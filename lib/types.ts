/**
 * Types shared by workflows, activities, workers and scripts. Workflow code
 * imports this file, so it holds types and constants only: no Node built-ins.
 */

export interface HealthcheckInput {
  /** Marks the probe message and object; stable across retries of the workflow's activities. */
  probeId: string;
  /** The queue whose workers hold the Kafka and S3 clients. */
  ingestTaskQueue: string;
}

export interface KafkaProbeResult {
  topic: string;
  partition: number;
  offset: string;
  roundTripMs: number;
}

export interface S3ProbeResult {
  bucket: string;
  key: string;
  bytes: number;
  roundTripMs: number;
}

export interface HealthcheckResult {
  probeId: string;
  kafka: KafkaProbeResult;
  s3: S3ProbeResult;
}
