/**
 * The REST API of the server extension `tao_lab.server` (docs/server.md), typed.
 *
 * Every request goes through `ServerConnection.makeRequest`, which adds the server's token and
 * the XSRF header, so nothing here handles credentials. All other modules call these functions
 * and never build a URL under /tao-lab/api/ themselves.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The prefix of every route of the server extension, below the server's base URL. */
export const API_PREFIX = 'tao-lab/api';

// ---------------------------------------------------------------------------------------------
// responses

/** The server-managed shared devnet (`GET/POST/DELETE devnet`). */
export interface IDevnetState {
  running: boolean;
  url: string | null;
  pid: number | null;
  /** seconds between blocks */
  block_time: number | null;
  /** the latest block; null when the node does not answer */
  block: number | null;
}

/** One neuron as a publishing lab declares it in the registry. */
export interface ILabNeuron {
  name: string;
  role: string;
  netuid: number | null;
  uid: number | null;
  hotkey: string | null;
  coldkey: string | null;
  axon: string | null;
  pid: number | null;
  mode: string | null;
  device: string | null;
  /** declared, starting, loading, registering, running, stopped, crashed */
  state: string | null;
  error: string | null;
}

/** One registry entry: a lab or a devnet published by a kernel or by the server. */
export interface ILabEntry {
  id: string;
  kind: 'lab' | 'devnet' | string;
  owner: 'kernel' | 'server' | string;
  pid: number;
  notebook: string | null;
  chain: { url: string; devnet_pid: number | null; managed: boolean };
  netuids: number[];
  neurons: ILabNeuron[];
}

/** A chain some lab or devnet on this server uses. */
export interface IChainRef {
  /** first 10 hex digits of the SHA-256 of the URL */
  id: string;
  url: string;
  managed: boolean;
  labs: string[];
}

export interface IGpu {
  index: number;
  name: string;
  memory_used_mib: number;
  memory_total_mib: number;
  utilization_pct: number;
}

/** `GET status`: everything the sidebar shows at a glance. */
export interface IStatus {
  version: string;
  devnet: IDevnetState;
  chains: IChainRef[];
  labs: ILabEntry[];
  gpus: IGpu[];
}

export interface ISubnet {
  netuid: number;
  tempo: number;
  /** registered uids */
  n: number;
  last_epoch_block: number;
  /** blocks until the next epoch */
  next_epoch_in: number;
}

/** `GET chains/<id>` */
export interface IChainDetail {
  id: string;
  url: string;
  block: number;
  subnets: ISubnet[];
}

/** One uid of a subnet, chain data joined with the registry (`GET chains/<id>/neurons`). */
export interface INeuronRow {
  netuid: number;
  uid: number;
  hotkey: string;
  coldkey: string;
  role: string;
  axon: string | null;
  /** TAO */
  stake: number;
  /** fraction 0..1 */
  incentive: number;
  /** TAO */
  emission: number;
  /** fraction 0..1 */
  dividends: number;
  /** block */
  last_update: number;
  /** null unless a lab on this server runs the neuron */
  name: string | null;
  lab: string | null;
  state: string | null;
  pid: number | null;
  device: string | null;
}

export type NotebookTemplate = 'lab' | 'dashboard' | 'quickstart';

// ---------------------------------------------------------------------------------------------
// errors

/** A request that failed: `status` is the HTTP status (0 when the server could not be reached). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly route: string
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** True when the server extension itself is not there (its routes answer 404 as a whole). */
  get extensionMissing(): boolean {
    return this.status === 404 && this.route === 'status';
  }
}

// ---------------------------------------------------------------------------------------------
// transport

async function request<T>(
  route: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_PREFIX, route);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(
      `the Jupyter server did not answer (${String(error)})`,
      0,
      route
    );
  }
  const text = await response.text();
  let body: { error?: unknown; message?: unknown } | null = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null; // an HTML error page, e.g. Tornado's own 404
    }
  }
  if (!response.ok) {
    const said =
      body && typeof body.error === 'string'
        ? body.error
        : body && typeof body.message === 'string'
          ? body.message
          : response.statusText || 'request failed';
    throw new ApiError(said, response.status, route.split('?')[0]);
  }
  return body as unknown as T;
}

function post<T>(route: string, body: unknown = {}): Promise<T> {
  return request<T>(route, { method: 'POST', body: JSON.stringify(body) });
}

// ---------------------------------------------------------------------------------------------
// routes

export function getStatus(): Promise<IStatus> {
  return request<IStatus>('status');
}

export function getDevnet(): Promise<IDevnetState> {
  return request<IDevnetState>('devnet');
}

/** Start the shared devnet (201); 409 when one already runs. */
export function startDevnet(options: {
  block_time?: number;
  port?: number;
}): Promise<IDevnetState> {
  return post<IDevnetState>('devnet', options);
}

/** Stop the shared devnet; 404 when none runs. */
export function stopDevnet(): Promise<IDevnetState> {
  return request<IDevnetState>('devnet', { method: 'DELETE' });
}

export function getChains(): Promise<IChainRef[]> {
  return request<IChainRef[]>('chains');
}

export function getChain(id: string): Promise<IChainDetail> {
  return request<IChainDetail>(`chains/${encodeURIComponent(id)}`);
}

export function getNeurons(id: string, netuid: number): Promise<INeuronRow[]> {
  return request<INeuronRow[]>(
    `chains/${encodeURIComponent(id)}/neurons?netuid=${netuid}`
  );
}

export function getGpus(): Promise<IGpu[]> {
  return request<IGpu[]>('gpus');
}

/** Ask the lab's kernel to stop or restart one of its neurons (202; applied within ~1 s). */
export function neuronCommand(
  lab: string,
  neuron: string,
  op: 'stop' | 'restart'
): Promise<unknown> {
  return post(
    `labs/${encodeURIComponent(lab)}/neurons/${encodeURIComponent(neuron)}/${op}`
  );
}

/** Write a notebook from a template into the server's root; returns its path. */
export async function createNotebook(
  template: NotebookTemplate,
  path?: string
): Promise<string> {
  const body: { template: NotebookTemplate; path?: string } = { template };
  if (path) {
    body.path = path;
  }
  const answer = await post<{ path: string }>('notebooks', body);
  return answer.path;
}
