/** The healthcheck workflow's contract: a probe of Kafka and S3 through the ingest workers. */

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
