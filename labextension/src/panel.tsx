/**
 * The sidebar's view: renders the model, polls only while shown, runs commands on clicks.
 *
 * Stable hooks for tests and styles: `.tao-lab-Devnet[data-running]`, `[data-block]` (the block
 * height), `tr.tao-lab-Neuron[data-uid][data-name][data-state]`, `button[data-action]`.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import * as React from 'react';

import * as api from './api';
import { CommandIDs } from './commands';
import { taoIcon } from './icons';
import { IChainView, INeuronView, ISubnetView, TaoLabModel } from './model';

export const PANEL_ID = 'tao-lab-panel';

export class TaoLabPanel extends ReactWidget {
  constructor(
    readonly model: TaoLabModel,
    private readonly _commands: CommandRegistry
  ) {
    super();
    this.id = PANEL_ID;
    this.addClass('tao-lab-Panel');
    this.title.icon = taoIcon;
    this.title.caption = 'TAO Lab';
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <Sidebar model={this.model} commands={this._commands} />}
      </UseSignal>
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.setActive(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.setActive(false);
  }

  dispose(): void {
    this.model.dispose();
    super.dispose();
  }
}

// ---------------------------------------------------------------------------------------------

interface IProps {
  model: TaoLabModel;
  commands: CommandRegistry;
}

function Sidebar({ model, commands }: IProps): JSX.Element {
  const run = (id: string) => () => void commands.execute(id);
  const status = model.status;
  return (
    <div className="tao-lab-Sidebar">
      <header className="tao-lab-Header">
        <h2>TAO Lab</h2>
        {status && <span className="tao-lab-Version">v{status.version}</span>}
        <button
          className="tao-lab-IconButton"
          title="Refresh now"
          data-action="refresh"
          onClick={run(CommandIDs.refresh)}
        >
          ⟳
        </button>
      </header>
      {model.notice && (
        <div
          className={`tao-lab-Notice tao-lab-mod-${model.notice.kind}`}
          role={model.notice.kind === 'error' ? 'alert' : 'status'}
        >
          <span>{model.notice.text}</span>
          <button
            className="tao-lab-IconButton"
            title="Dismiss"
            onClick={() => model.dismissNotice()}
          >
            ×
          </button>
        </div>
      )}
      {model.error ? (
        <ErrorView error={model.error} hasStatus={status !== null} />
      ) : !model.loaded ? (
        <p className="tao-lab-Empty">Asking the server…</p>
      ) : null}
      {status && !model.error?.extensionMissing && (
        <>
          <DevnetSection model={model} commands={commands} />
          <Section title="Notebooks">
            <div className="tao-lab-Actions">
              <button
                className="jp-mod-styled tao-lab-Button tao-lab-mod-wide"
                data-action="new-lab-notebook"
                title="A new notebook with a lab on the shared devnet"
                onClick={run(CommandIDs.newLabNotebook)}
              >
                + New lab notebook
              </button>
              <button
                className="jp-mod-styled tao-lab-Button"
                data-action="open-dashboard"
                title="Open the dashboard notebook in JupyterLab"
                onClick={run(CommandIDs.openDashboard)}
              >
                Dashboard
              </button>
              <button
                className="jp-mod-styled tao-lab-Button"
                data-action="open-dashboard-voila"
                title="Open the dashboard in Voila, in a new browser tab"
                onClick={run(CommandIDs.openDashboardVoila)}
              >
                In Voila ↗
              </button>
            </div>
          </Section>
          <ChainsSection model={model} />
          {status.gpus.length > 0 && <GpuSection gpus={status.gpus} />}
          <footer className="tao-lab-Footer">
            New devnets: a block every {model.settings.blockTime} s,{' '}
            {model.settings.port ? `port ${model.settings.port}` : 'any port'}
            {' · '}wallets in <code>{model.settings.walletFolder}</code>
          </footer>
        </>
      )}
    </div>
  );
}

function Section(props: {
  title: string;
  extra?: React.ReactNode;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <section className="tao-lab-Section">
      <h3 className="tao-lab-SectionTitle">
        <span>{props.title}</span>
        {props.extra}
      </h3>
      {props.children}
    </section>
  );
}

function ErrorView(props: {
  error: api.ApiError;
  hasStatus: boolean;
}): JSX.Element {
  const { error } = props;
  if (error.extensionMissing) {
    return (
      <div className="tao-lab-Error" role="alert">
        <strong>The TAO Lab server extension is not running.</strong>
        <p>
          This Jupyter server does not answer <code>/tao-lab/api/</code>.
          Enable it and restart JupyterLab:
        </p>
        <pre>jupyter server extension enable tao_lab</pre>
      </div>
    );
  }
  return (
    <div className="tao-lab-Error" role="alert">
      <strong>
        {error.status === 0
          ? 'The Jupyter server does not answer.'
          : 'The TAO Lab server extension failed.'}
      </strong>
      <p>{error.message}</p>
      <p className="tao-lab-Muted">
        {props.hasStatus ? 'Showing the last answer; retrying…' : 'Retrying…'}
      </p>
    </div>
  );
}

function DevnetSection({ model, commands }: IProps): JSX.Element {
  const devnet = model.status!.devnet;
  const busy = model.pending.has('devnet');
  return (
    <Section title="Shared devnet">
      <div
        className="tao-lab-Devnet"
        data-running={devnet.running ? 'true' : 'false'}
      >
        <div className="tao-lab-DevnetLine">
          <Dot state={devnet.running ? 'running' : 'stopped'} />
          {devnet.running ? (
            <>
              <span className="tao-lab-DevnetLabel">Block</span>
              <span
                className="tao-lab-Block"
                data-block={devnet.block ?? ''}
                title="The latest block of the shared devnet"
              >
                {devnet.block ?? '—'}
              </span>
            </>
          ) : (
            <span className="tao-lab-DevnetLabel">Not running</span>
          )}
          <span className="tao-lab-Spacer" />
          {devnet.running ? (
            <button
              className="jp-mod-styled jp-mod-warn tao-lab-Button"
              data-action="stop-devnet"
              disabled={busy}
              onClick={() => void commands.execute(CommandIDs.stopDevnet)}
            >
              {busy ? 'Stopping…' : 'Stop'}
            </button>
          ) : (
            <button
              className="jp-mod-styled jp-mod-accept tao-lab-Button"
              data-action="start-devnet"
              disabled={busy}
              onClick={() => void commands.execute(CommandIDs.startDevnet)}
            >
              {busy ? 'Starting…' : 'Start devnet'}
            </button>
          )}
        </div>
        {devnet.running ? (
          <div className="tao-lab-Muted tao-lab-DevnetUrl">
            <code>{devnet.url}</code>
            <br />a block every {devnet.block_time} s · pid {devnet.pid}
          </div>
        ) : (
          <div className="tao-lab-Muted">
            One chain for every notebook on this server:{' '}
            <code>Lab(url="shared")</code>
          </div>
        )}
      </div>
    </Section>
  );
}

function ChainsSection({ model }: { model: TaoLabModel }): JSX.Element {
  const chains = model.chains;
  return (
    <Section title="Chains">
      {chains.length === 0 ? (
        <p className="tao-lab-Empty">
          No chain in use. Start the shared devnet, or run a notebook with{' '}
          <code>Lab()</code>: its chain and neurons show up here.
        </p>
      ) : (
        chains.map(chain => (
          <ChainView key={chain.ref.id} chain={chain} model={model} />
        ))
      )}
    </Section>
  );
}

function ChainView(props: {
  chain: IChainView;
  model: TaoLabModel;
}): JSX.Element {
  const { chain, model } = props;
  const labs = model.status!.labs.filter(l => chain.ref.labs.includes(l.id));
  const notebooks = labs
    .map(l => l.notebook)
    .filter((n): n is string => !!n);
  return (
    <div
      className="tao-lab-Chain"
      data-chain={chain.ref.id}
      data-managed={chain.ref.managed ? 'true' : 'false'}
    >
      <div className="tao-lab-ChainHeader">
        <span className="tao-lab-ChainName" title={chain.ref.url}>
          {chain.ref.managed ? 'Shared devnet' : chain.ref.url}
        </span>
        <span className="tao-lab-Spacer" />
        {chain.block !== null && (
          <span className="tao-lab-Muted" data-chain-block={chain.block}>
            block {chain.block}
          </span>
        )}
      </div>
      {notebooks.length > 0 && (
        <div
          className="tao-lab-Muted tao-lab-ChainLabs"
          title={notebooks.join('\n')}
        >
          used by {notebooks.map(basename).join(', ')}
        </div>
      )}
      {chain.error && <div className="tao-lab-InlineError">{chain.error}</div>}
      {!chain.error && chain.subnets.length === 0 && (
        <p className="tao-lab-Empty">No subnets yet.</p>
      )}
      {chain.subnets.map(s => (
        <SubnetView key={s.subnet.netuid} view={s} model={model} />
      ))}
    </div>
  );
}

function SubnetView(props: {
  view: ISubnetView;
  model: TaoLabModel;
}): JSX.Element {
  const { subnet, neurons, error } = props.view;
  return (
    <div className="tao-lab-Subnet" data-netuid={subnet.netuid}>
      <div className="tao-lab-SubnetHeader">
        <strong>Subnet {subnet.netuid}</strong>
        <span className="tao-lab-Muted">
          {subnet.n} uid{subnet.n === 1 ? '' : 's'} · tempo {subnet.tempo} ·
          epoch in {subnet.next_epoch_in}
        </span>
      </div>
      {error && <div className="tao-lab-InlineError">{error}</div>}
      {neurons.length === 0 ? (
        !error && <p className="tao-lab-Empty">No neurons registered.</p>
      ) : (
        <table className="tao-lab-Neurons">
          <colgroup>
            <col className="tao-lab-ColUid" />
            <col />
            <col className="tao-lab-ColInc" />
            <col className="tao-lab-ColState" />
          </colgroup>
          <thead>
            <tr>
              <th title="uid on the subnet">uid</th>
              <th title="role (M miner, V validator), name and device">
                neuron
              </th>
              <th title="incentive: the share of miner emission">inc.</th>
              <th>state</th>
            </tr>
          </thead>
          <tbody>
            {neurons.map(n => (
              <NeuronRow key={n.key} neuron={n} model={props.model} />
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const STOPPABLE = new Set([
  'declared',
  'starting',
  'loading',
  'registering',
  'running'
]);

function NeuronRow(props: {
  neuron: INeuronView;
  model: TaoLabModel;
}): JSX.Element {
  const { neuron: n, model } = props;
  const own = n.lab !== null && n.name !== null;
  const stopping = own && model.pending.has(`stop:${n.lab}/${n.name}`);
  const canStop = own && STOPPABLE.has(n.state ?? '');
  return (
    <tr
      className="tao-lab-Neuron"
      data-uid={n.uid ?? ''}
      data-name={n.name ?? ''}
      data-lab={n.lab ?? ''}
      data-state={n.state ?? ''}
      data-role={n.role}
      title={neuronTitle(n)}
    >
      <td className="tao-lab-Num">{n.uid ?? '…'}</td>
      <td className="tao-lab-NeuronCell">
        <span
          className={`tao-lab-Role tao-lab-Role-${n.role}`}
          title={n.role}
        >
          {n.role === 'validator' ? 'V' : 'M'}
        </span>
        {n.name ? (
          <span className="tao-lab-NeuronName">{n.name}</span>
        ) : (
          <span className="tao-lab-Muted" title={n.hotkey ?? undefined}>
            {shortKey(n.hotkey)}
          </span>
        )}
        {n.device && (
          <span className="tao-lab-Device">{shortDevice(n.device)}</span>
        )}
      </td>
      <td className="tao-lab-Num">
        {n.incentive === null ? '' : n.incentive.toFixed(3)}
      </td>
      <td className="tao-lab-StateCell">
        {n.state ? (
          <span className="tao-lab-State">
            <Dot state={n.state} />
            {n.state}
          </span>
        ) : (
          <span
            className="tao-lab-Muted"
            title="on the chain, but not run by a notebook of this server"
          >
            external
          </span>
        )}
        {canStop && (
          <button
            className="tao-lab-IconButton tao-lab-Stop"
            data-action="stop-neuron"
            title={`Stop ${n.name}`}
            disabled={stopping}
            onClick={() => void model.neuronCommand(n.lab!, n.name!, 'stop')}
          >
            ■
          </button>
        )}
      </td>
    </tr>
  );
}

function GpuSection({ gpus }: { gpus: api.IGpu[] }): JSX.Element {
  return (
    <Section title="GPUs">
      {gpus.map(g => {
        const memory = g.memory_total_mib
          ? (100 * g.memory_used_mib) / g.memory_total_mib
          : 0;
        return (
          <div className="tao-lab-Gpu" key={g.index} data-gpu={g.index}>
            <div className="tao-lab-GpuName">
              <span>
                {g.index}: {g.name}
              </span>
              <span className="tao-lab-Muted">
                {g.utilization_pct}% · {(g.memory_used_mib / 1024).toFixed(1)}/
                {(g.memory_total_mib / 1024).toFixed(1)} GiB
              </span>
            </div>
            <div
              className="tao-lab-Meter"
              title={`memory ${memory.toFixed(0)}%`}
            >
              <div style={{ width: `${memory}%` }} />
            </div>
          </div>
        );
      })}
    </Section>
  );
}

/** `5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY` -> `5Grw…utQY` */
function shortKey(key: string | null): string {
  return key ? `${key.slice(0, 4)}…${key.slice(-4)}` : '?';
}

/** `cuda:1` -> `gpu1`: the table's device tag fits beside the name. */
function shortDevice(device: string): string {
  return device.replace(/^cuda:?/, 'gpu');
}

function neuronTitle(n: INeuronView): string {
  const lines = [
    `${n.role} ${n.name ?? ''} uid ${n.uid ?? '(registering)'}`,
    `hotkey ${n.hotkey ?? '?'}`
  ];
  if (n.lab) {
    lines.push(`lab ${n.lab}${n.device ? ` on ${n.device}` : ''}`);
  }
  if (n.error) {
    lines.push(`error: ${n.error}`);
  }
  return lines.join('\n');
}

/** `a/b/c.ipynb` -> `c.ipynb` (kernels report their notebook as an absolute path). */
function basename(path: string): string {
  return path.split('/').pop() || path;
}

function Dot({ state }: { state: string }): JSX.Element {
  return <span className={`tao-lab-Dot tao-lab-Dot-${state}`} />;
}
