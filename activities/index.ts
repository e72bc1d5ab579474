import { createAthenaActivities, type AthenaActivityDeps } from './athena';
import { createCompactActivities, type CompactActivityDeps } from './compact';
import { createConsumeActivities, type ConsumeActivityDeps } from './consume';
import {
  createCatalogReadActivities,
  createGlueActivities,
  type CatalogReadActivityDeps,
  type GlueActivityDeps,
} from './glue';
import { createKafkaActivities, type KafkaActivityDeps } from './kafka';
import { createPipelineActivities, type PipelineActivityDeps } from './pipeline';
import { createReplayActivities, type ReplayActivityDeps } from './replay';
import { createS3Activities, type S3ActivityDeps } from './s3';

export type IngestActivityDeps = KafkaActivityDeps &
  S3ActivityDeps &
  ReplayActivityDeps &
  ConsumeActivityDeps &
  PipelineActivityDeps;

/** The activities of the `ticksync-ingest` queue: everything that talks to Kafka and S3. */
export function createIngestActivities(deps: IngestActivityDeps) {
  return {
    ...createKafkaActivities(deps),
    ...createS3Activities(deps),
    ...createReplayActivities(deps),
    ...createConsumeActivities(deps),
    ...createPipelineActivities(deps),
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;

export type CatalogActivityDeps = GlueActivityDeps;

/** The activities of the `ticksync-catalog` queue: everything that talks to Glue (crawler credentials). */
export function createCatalogActivities(deps: CatalogActivityDeps) {
  return {
    ...createGlueActivities(deps),
  };
}

export type CatalogActivities = ReturnType<typeof createCatalogActivities>;

export type QueryActivityDeps = AthenaActivityDeps & CatalogReadActivityDeps;

/** The activities of the `ticksync-query` queue: Athena queries and the catalog reads they need (analyst credentials). */
export function createQueryActivities(deps: QueryActivityDeps) {
  return {
    ...createAthenaActivities(deps),
    ...createCatalogReadActivities(deps),
  };
}

export type QueryActivities = ReturnType<typeof createQueryActivities>;

export type { CompactActivityDeps };

/** The activities of the `ticksync-compact` queue: raw hours into Parquet, published in the catalog (compactor credentials). */
export function createCompactQueueActivities(deps: CompactActivityDeps) {
  return {
    ...createCompactActivities(deps),
  };
}

export type CompactActivities = ReturnType<typeof createCompactQueueActivities>;
