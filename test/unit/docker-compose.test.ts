import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig, portOf, PROJECT_ROOT } from '../../lib/config';
import { TEMPORAL_CLI, VERSITYGW } from '../../stack/install';
import { SERVICES } from '../../stack/services';

interface ComposeFile {
  services: Record<string, { image?: string; ports?: string[]; environment?: Record<string, string> }>;
}

// docker-compose.yml must offer what `npm run stack` runs: same services, versions and host ports.
const compose = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8')) as ComposeFile;
const config = loadConfig({});

test('every stack service has a compose service of the same name', () => {
  expect(Object.keys(compose.services).sort()).toEqual(SERVICES.map((service) => service.name).sort());
});

test('compose publishes the stack default host ports on 127.0.0.1 only', () => {
  for (const service of SERVICES) {
    const published = (compose.services[service.name]?.ports ?? []).map((mapping) => {
      const [host, hostPort] = mapping.split(':');
      expect(host).toBe('127.0.0.1');
      return Number(hostPort);
    });
    // The controller port stays inside the container; every port a client uses is published.
    const clientPorts = service
      .ports(config)
      .filter((bound) => bound.variable !== 'TICKSYNC_STACK_KAFKA_CONTROLLER_PORT');
    expect(published.sort()).toEqual(clientPorts.map((bound) => bound.port).sort());
  }
});

test('compose runs the same versions as the native stack', () => {
  const pom = fs.readFileSync(path.join(PROJECT_ROOT, 'stack/kafka/pom.xml'), 'utf8');
  const kafkaVersion = /<kafka.version>([^<]+)<\/kafka.version>/.exec(pom)?.[1];
  expect(compose.services.kafka?.image).toBe(`apache/kafka:${kafkaVersion}`);
  expect(compose.services.temporal?.image).toBe(`temporalio/temporal:${TEMPORAL_CLI.version.replace(/^v/, '')}`);
  expect(compose.services.s3?.image).toBe(`versity/versitygw:${VERSITYGW.version}`);
});

test('the S3 server root keys default to the local admin keys', () => {
  const environment = compose.services.s3?.environment ?? {};
  expect(environment.ROOT_ACCESS_KEY_ID).toContain(`:-${config.aws.credentials.admin?.accessKeyId}}`);
  expect(environment.ROOT_SECRET_ACCESS_KEY).toContain(`:-${config.aws.credentials.admin?.secretAccessKey}}`);
  expect(portOf(config.aws.s3Endpoint ?? '')).toBe(7070);
});
