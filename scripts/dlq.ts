import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Command } from 'commander';
import { createS3Client } from '../lib/clients';
import { createKafka, type KafkaClient } from '../lib/kafka';
import { loadConfig, type Config } from '../lib/config';
import { UsageError } from '../lib/errors';
import { checkRecord } from '../lib/lake';
import { createLogger } from '../lib/logger';
import { positiveInteger, requireServices, runCli, textTable } from './cli';

/** A dead letter as the consumer writes it under dlq/<topic>/ (lib/lake.ts deadLetterLine), and where it lies. */
export interface DeadLetter {
  object: string;
  line: number;
  topic: string;
  partition: number;
  offset: number;
  timestamp: string;
  key: string | null;
  reason: string;
  value?: string | null;
  value_base64?: string;
}

/** Every dead letter of a topic, oldest object first. */
export async function readDeadLetters(s3: S3Client, config: Config, topic: string): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: config.s3.bucket,
        Prefix: `${config.s3.dlqPrefix}${topic}/`,
        ContinuationToken: token,
      }),
    );
    for (const { Key } of page.Contents ?? []) {
      if (!Key?.endsWith('.jsonl.gz')) continue;
      const object = await s3.send(new GetObjectCommand({ Bucket: config.s3.bucket, Key }));
      const text = gunzipSync(await object.Body!.transformToByteArray()).toString('utf8');
      text
        .split('\n')
        .filter((line) => line !== '')
        .forEach((line, index) =>
          letters.push({ object: Key, line: index + 1, ...(JSON.parse(line) as Omit<DeadLetter, 'object' | 'line'>) }),
        );
    }
    token = page.NextContinuationToken;
  } while (token);
  return letters;
}

/** A record to send again: its key and value, as the export writes them and the operator fixes them. */
interface Replayable {
  key: string | null;
  value: string;
}

export interface ReplayCheck {
  records: Replayable[];
  /** Lines that cannot be sent: 1-based line number and why. */
  problems: { line: number; reason: string }[];
}

/**
 * Reads a replay file (JSON Lines of `{"key", "value"}`; other fields are ignored)
 * and checks every value with the consumer's own rules, so that nothing sent
 * goes back to the dead-letter queue.
 */
export function checkReplayFile(text: string, maxRecordBytes: number): ReplayCheck {
  const check: ReplayCheck = { records: [], problems: [] };
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      check.problems.push({ line, reason: `not JSON: ${(error as Error).message}` });
      return;
    }
    const entry = parsed as Partial<DeadLetter>;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      check.problems.push({ line, reason: 'expected a JSON object with key and value' });
      return;
    }
    if (typeof entry.value !== 'string') {
      const hint = entry.value_base64 !== undefined ? ' (a value_base64 record must be rewritten as text)' : '';
      check.problems.push({ line, reason: `value: expected a string${hint}` });
      return;
    }
    if (entry.key !== undefined && entry.key !== null && typeof entry.key !== 'string') {
      check.problems.push({ line, reason: 'key: expected a string or null' });
      return;
    }
    const record = checkRecord(Buffer.from(entry.value, 'utf8'), maxRecordBytes);
    if (!record.ok) {
      check.problems.push({ line, reason: `the consumer would dead-letter it again: ${record.reason}` });
      return;
    }
    check.records.push({ key: entry.key ?? null, value: entry.value });
  });
  return check;
}

async function produce(kafka: KafkaClient, topic: string, records: Replayable[]): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    // The adapter cuts one send to what the client and the broker take (lib/kafka/kafkajs.ts sendSlices).
    await producer.send({ topic, messages: records });
  } finally {
    await producer.disconnect();
  }
}

const preview = (letter: DeadLetter) => {
  const value = letter.value ?? (letter.value_base64 !== undefined ? `base64:${letter.value_base64}` : 'null');
  return value.length > 60 ? `${value.slice(0, 57)}...` : value;
};

const program = new Command('npm run dlq --')
  .description(
    "The consumer's dead letters (records it could not put in the lake, under dlq/<topic>/): list them, export them " +
      'to a file to fix, and send the fixed records to the topic again. Reads S3 with the admin credentials.',
  )
  .option('--topic <name>', 'Kafka topic (default: TICKSYNC_TOPIC)');

const topicOf = (config: Config) => program.opts<{ topic?: string }>().topic ?? config.kafka.topic;

program
  .command('list')
  .description('print the dead letters: when, where in Kafka, why, and the start of the value')
  .option('--json', 'print them as JSON')
  .action(async (options: { json?: boolean }) => {
    const config = loadConfig();
    await requireServices(config, ['s3']);
    const s3 = createS3Client(config, 'admin');
    try {
      const letters = await readDeadLetters(s3, config, topicOf(config));
      if (options.json) {
        console.log(JSON.stringify(letters, null, 2));
        return;
      }
      const rows = letters.map((letter) => [
        letter.timestamp,
        String(letter.partition),
        String(letter.offset),
        letter.key ?? 'null',
        letter.reason,
        preview(letter),
      ]);
      // The reason matters more than the value's start (which --json and export give whole).
      console.log(textTable(['time', 'partition', 'offset', 'key', 'reason', 'value'], rows, { shrinkFirst: [5] }));
      console.log(
        `${letters.length} dead letter${letters.length === 1 ? '' : 's'} in s3://${config.s3.bucket}/${config.s3.dlqPrefix}${topicOf(config)}/`,
      );
    } finally {
      s3.destroy();
    }
  });

program
  .command('export')
  .description('write the dead letters as JSON Lines ({"key", "value", ...}) to a file, to fix before replaying')
  .requiredOption('--out <file>', 'the file to write')
  .action(async (options: { out: string }) => {
    const config = loadConfig();
    await requireServices(config, ['s3']);
    const s3 = createS3Client(config, 'admin');
    try {
      const letters = await readDeadLetters(s3, config, topicOf(config));
      fs.writeFileSync(options.out, letters.map((letter) => `${JSON.stringify(letter)}\n`).join(''));
      console.log(`${letters.length} dead letters written to ${options.out}`);
    } finally {
      s3.destroy();
    }
  });

program
  .command('replay')
  .description(
    'send the records of a JSON Lines file ({"key", "value"}, as export writes them, fixed) to the topic; every value ' +
      'is checked with the consumer’s rules first, and nothing is sent unless all pass',
  )
  .argument('<file>', 'the fixed records')
  .option(
    '--max-record-kb <kb>',
    'largest value the consumer takes (its --max-record-kb)',
    positiveInteger('--max-record-kb'),
    1024,
  )
  .option('--dry-run', 'check the file and say what would be sent')
  .action(async (file: string, options: { maxRecordKb: number; dryRun?: boolean }) => {
    const config = loadConfig();
    if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file`);
    const { records, problems } = checkReplayFile(fs.readFileSync(file, 'utf8'), options.maxRecordKb * 1024);
    if (problems.length > 0) {
      for (const problem of problems) console.error(`${file}:${problem.line}: ${problem.reason}`);
      throw new UsageError(`${problems.length} of the file's records cannot be sent; nothing was sent`);
    }
    const topic = topicOf(config);
    if (options.dryRun) {
      console.log(`${records.length} records would be sent to ${topic}`);
      return;
    }
    await requireServices(config, ['kafka']);
    await produce(createKafka(config, createLogger('dlq', config.logLevel)), topic, records);
    console.log(`${records.length} records sent to ${topic}; the consumer puts them in the lake`);
  });

if (require.main === module) runCli(program);
