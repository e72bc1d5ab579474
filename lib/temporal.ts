import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { Config } from './config';

/** How to reach the Temporal frontend: address, TLS (mTLS, a private CA, SNI) and API key, from config. */
export function temporalConnectionOptions(config: Config) {
  const { address, tls, apiKey } = config.temporal;
  const read = (file: string | undefined) => (file === undefined ? undefined : fs.readFileSync(file));
  return {
    address,
    apiKey,
    tls: tls && {
      serverNameOverride: tls.serverName,
      serverRootCACertificate: read(tls.caFile),
      clientCertPair: tls.certFile && tls.keyFile ? { crt: read(tls.certFile)!, key: read(tls.keyFile)! } : undefined,
    },
  };
}

export async function connectClient(config: Config): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** The Web UI page of one workflow execution. */
export function workflowUrl(config: Config, workflowId: string, runId?: string): string {
  const base = `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

/** Fails fast, naming the queue, when no worker polls it: a workflow would otherwise wait forever. */
export async function assertWorkersPolling(client: Client, config: Config, taskQueues: string[]): Promise<void> {
  for (const name of taskQueues) {
    const { pollers } = await client.workflowService.describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name },
    });
    if (!pollers?.length) {
      throw new Error(`no worker polls task queue ${name}; start the workers with: npm run stack -- up --workers`);
    }
  }
}

/** The innermost cause's message: for a failed workflow, what its activity said. */
export function rootCauseMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
