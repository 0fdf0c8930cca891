/**
 * The sidebar's model: what the server said last, refreshed about once a second while the panel
 * is shown, plus the actions a user can take (start/stop the devnet, stop/restart a neuron).
 *
 * It holds no state of its own beyond the last answers: the server extension is the truth.
 */
import { ISignal, Signal } from '@lumino/signaling';

import * as api from './api';

/** How often the panel refreshes while shown (the devnet makes a block every 0.25 s by default). */
export const POLL_MS = 1000;
/** How often it retries while the server extension is missing or the server does not answer. */
export const RETRY_MS = 5000;
/** How long an info notice ("Devnet started ...") stays. */
export const NOTICE_MS = 6000;

/** One uid as the sidebar lists it: a chain row, or a lab neuron not registered yet (uid null). */
export interface INeuronView {
  key: string;
  netuid: number;
  uid: number | null;
  role: string;
  hotkey: string | null;
  name: string | null;
  lab: string | null;
  state: string | null;
  device: string | null;
  incentive: number | null;
  error: string | null;
}

export interface ISubnetView {
  subnet: api.ISubnet;
  neurons: INeuronView[];
  error: string | null;
}

export interface IChainView {
  ref: api.IChainRef;
  block: number | null;
  subnets: ISubnetView[];
  error: string | null;
}

/** A note for the user about the last action, shown above the lists until the next action. */
export interface INotice {
  kind: 'error' | 'info';
  text: string;
}

export interface ISettings {
  blockTime: number;
  port: number;
  walletFolder: string;
}

export const DEFAULT_SETTINGS: ISettings = {
  blockTime: 0.25,
  port: 0,
  walletFolder: '~/.bittensor/wallets'
};

export class TaoLabModel {
  settings: ISettings = { ...DEFAULT_SETTINGS };

  /** The last `GET status`; null until one arrived. */
  status: api.IStatus | null = null;
  chains: IChainView[] = [];
  /** Why the last refresh failed as a whole (then `status` is the last good one, or null). */
  error: api.ApiError | null = null;
  notice: INotice | null = null;
  /** Keys of actions in flight: "devnet", "stop:<lab>/<name>", "restart:<lab>/<name>". */
  readonly pending = new Set<string>();
  /** True once the first refresh finished, successfully or not. */
  loaded = false;

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get active(): boolean {
    return this._active;
  }

  /** Start polling (the panel is shown) or stop it (hidden); starting refreshes at once. */
  setActive(active: boolean): void {
    if (active === this._active || this._disposed) {
      return;
    }
    this._active = active;
    if (active) {
      void this.refresh();
    } else {
      this._clearTimer();
    }
  }

  /** Refresh now, then keep polling while active. Overlapping calls share one refresh. */
  refresh(): Promise<void> {
    if (!this._inflight) {
      this._clearTimer();
      this._inflight = this._refresh().finally(() => {
        this._inflight = null;
        this._schedule();
      });
    }
    return this._inflight;
  }

  async startDevnet(): Promise<void> {
    await this._act('devnet', async () => {
      const state = await api.startDevnet({
        block_time: this.settings.blockTime,
        port: this.settings.port
      });
      this._notify({
        kind: 'info',
        text: `Devnet started at ${state.url} (a block every ${state.block_time} s).`
      });
    });
  }

  async stopDevnet(): Promise<void> {
    await this._act('devnet', async () => {
      await api.stopDevnet();
      this._notify({ kind: 'info', text: 'Devnet stopped.' });
    });
  }

  async neuronCommand(
    lab: string,
    name: string,
    op: 'stop' | 'restart'
  ): Promise<void> {
    await this._act(`${op}:${lab}/${name}`, async () => {
      await api.neuronCommand(lab, name, op);
      this._notify({
        kind: 'info',
        text: `${op === 'stop' ? 'Stopping' : 'Restarting'} ${name}: its kernel applies it within a second.`
      });
    });
  }

  dismissNotice(): void {
    this.notice = null;
    this._changed.emit();
  }

  /** Show `notice`; an info notice goes away by itself after a few seconds, an error stays. */
  private _notify(notice: INotice): void {
    this.notice = notice;
    window.clearTimeout(this._noticeTimer);
    if (notice.kind === 'info') {
      this._noticeTimer = window.setTimeout(() => {
        if (this.notice === notice) {
          this.dismissNotice();
        }
      }, NOTICE_MS);
    }
  }

  dispose(): void {
    this._disposed = true;
    this._active = false;
    this._clearTimer();
    Signal.clearData(this);
  }

  // -------------------------------------------------------------------------------------------

  private async _act(key: string, action: () => Promise<void>): Promise<void> {
    if (this.pending.has(key)) {
      return;
    }
    this.pending.add(key);
    this._changed.emit();
    try {
      await action();
    } catch (error) {
      this._notify({ kind: 'error', text: describe(error) });
    } finally {
      this.pending.delete(key);
      this._changed.emit();
    }
    await this.refresh();
  }

  private async _refresh(): Promise<void> {
    try {
      this.status = await api.getStatus();
      this.error = null;
    } catch (error) {
      this.error =
        error instanceof api.ApiError
          ? error
          : new api.ApiError(String(error), 0, 'status');
      this.loaded = true;
      this._changed.emit();
      return;
    }
    this.chains = await Promise.all(
      this.status.chains.map(ref => this._chain(ref, this.status!.labs))
    );
    this.loaded = true;
    this._changed.emit();
  }

  private async _chain(
    ref: api.IChainRef,
    labs: api.ILabEntry[]
  ): Promise<IChainView> {
    let detail: api.IChainDetail;
    try {
      detail = await api.getChain(ref.id);
    } catch (error) {
      return { ref, block: null, subnets: [], error: describe(error) };
    }
    const declared = labs
      .filter(lab => lab.chain.url === ref.url)
      .flatMap(lab => lab.neurons.map(n => ({ lab: lab.id, neuron: n })));
    const subnets = await Promise.all(
      detail.subnets.map(async subnet => {
        let rows: api.INeuronRow[] = [];
        let error: string | null = null;
        try {
          rows = await api.getNeurons(ref.id, subnet.netuid);
        } catch (e) {
          error = describe(e);
        }
        return {
          subnet,
          neurons: mergeNeurons(subnet.netuid, rows, declared),
          error
        };
      })
    );
    return { ref, block: detail.block, subnets, error: null };
  }

  private _schedule(): void {
    if (!this._active || this._disposed) {
      return;
    }
    const wait = this.error ? RETRY_MS : POLL_MS;
    this._timer = window.setTimeout(() => {
      this._timer = 0;
      if (document.visibilityState === 'hidden') {
        this._schedule(); // the browser tab is in the background: look again later
      } else {
        void this.refresh();
      }
    }, wait);
  }

  private _clearTimer(): void {
    if (this._timer) {
      window.clearTimeout(this._timer);
      this._timer = 0;
    }
  }

  private _active = false;
  private _disposed = false;
  private _timer = 0;
  private _noticeTimer = 0;
  private _inflight: Promise<void> | null = null;
  private _changed = new Signal<this, void>(this);
}

/**
 * The chain's uids of a subnet, plus the lab neurons declared on it that have no uid yet
 * (starting or registering), so a neuron shows up as soon as a notebook asks for it.
 */
export function mergeNeurons(
  netuid: number,
  rows: api.INeuronRow[],
  declared: { lab: string; neuron: api.ILabNeuron }[]
): INeuronView[] {
  const views: INeuronView[] = rows.map(row => {
    const own = declared.find(
      d =>
        d.lab === row.lab &&
        d.neuron.name === row.name &&
        d.neuron.netuid === netuid
    );
    return {
      key: `uid-${row.uid}`,
      netuid,
      uid: row.uid,
      role: row.role,
      hotkey: row.hotkey,
      name: row.name,
      lab: row.lab,
      state: row.state,
      device: row.device,
      incentive: row.incentive,
      error: own?.neuron.error ?? null
    };
  });
  for (const { lab, neuron } of declared) {
    const onChain = rows.some(
      row =>
        (row.lab === lab && row.name === neuron.name) ||
        (neuron.hotkey !== null && row.hotkey === neuron.hotkey)
    );
    if (neuron.netuid === netuid && !onChain) {
      views.push({
        key: `lab-${lab}-${neuron.name}`,
        netuid,
        uid: neuron.uid,
        role: neuron.role,
        hotkey: neuron.hotkey,
        name: neuron.name,
        lab,
        state: neuron.state,
        device: neuron.device,
        incentive: null,
        error: neuron.error
      });
    }
  }
  return views;
}

/** What went wrong, in words a user can act on. */
export function describe(error: unknown): string {
  if (error instanceof api.ApiError) {
    if (error.status === 0) {
      return `The Jupyter server did not answer: ${error.message}`;
    }
    return `${error.message} (HTTP ${error.status} from /tao-lab/api/${error.route})`;
  }
  return String(error);
}
