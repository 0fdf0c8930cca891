/**
 * The TAO Lab commands: what the sidebar's buttons, the command palette and the launcher run.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';

import * as api from './api';
import { taoIcon } from './icons';
import { describe, TaoLabModel } from './model';

export namespace CommandIDs {
  export const showPanel = 'tao-lab:show-panel';
  export const refresh = 'tao-lab:refresh';
  export const startDevnet = 'tao-lab:start-devnet';
  export const stopDevnet = 'tao-lab:stop-devnet';
  export const newLabNotebook = 'tao-lab:new-lab-notebook';
  export const openDashboard = 'tao-lab:open-dashboard';
  export const openDashboardVoila = 'tao-lab:open-dashboard-voila';
}

/** The palette category of every command. */
export const CATEGORY = 'TAO Lab';

/** Where a dashboard notebook is looked for when the settings name none. */
const DASHBOARD_CANDIDATES = ['dashboard.ipynb', 'notebooks/dashboard.ipynb'];

export interface ICommandOptions {
  /** The sidebar's id, activated by `showPanel`. */
  panelId: string;
  /** The dashboard notebook named in the settings ('' to look for one). */
  dashboardNotebook: () => string;
}

export function addCommands(
  app: JupyterFrontEnd,
  model: TaoLabModel,
  options: ICommandOptions
): void {
  const { commands, shell } = app;
  const running = () => model.status?.devnet.running === true;

  commands.addCommand(CommandIDs.showPanel, {
    label: 'Show the TAO Lab Sidebar',
    caption: 'Devnets, subnets, neurons and GPUs of this server',
    icon: taoIcon,
    execute: () => shell.activateById(options.panelId)
  });

  commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh the TAO Lab Sidebar',
    execute: () => model.refresh()
  });

  commands.addCommand(CommandIDs.startDevnet, {
    label: 'Start the Shared TAO Devnet',
    caption:
      'Start a devnet on this server that every notebook can use: Lab(url="shared")',
    isEnabled: () => !running() && !model.pending.has('devnet'),
    execute: () => model.startDevnet()
  });

  commands.addCommand(CommandIDs.stopDevnet, {
    label: 'Stop the Shared TAO Devnet',
    caption: 'Stop the devnet this server runs (labs on it lose their chain)',
    isEnabled: () => running() && !model.pending.has('devnet'),
    execute: () => model.stopDevnet()
  });

  commands.addCommand(CommandIDs.newLabNotebook, {
    label: args => (args.isLauncher ? 'Lab Notebook' : 'New TAO Lab Notebook'),
    caption:
      'A new notebook with a lab on the shared devnet: a subnet, miners, a validator, the dashboard',
    icon: taoIcon,
    execute: () => createAndOpen(app, 'lab')
  });

  commands.addCommand(CommandIDs.openDashboard, {
    label: args =>
      args.isLauncher ? 'Dashboard' : 'Open the TAO Lab Dashboard',
    caption: 'Open the live dashboard notebook in JupyterLab',
    icon: taoIcon,
    execute: async () => {
      const path = await dashboardPath(app, options.dashboardNotebook());
      if (path) {
        await commands.execute('docmanager:open', { path });
      }
    }
  });

  commands.addCommand(CommandIDs.openDashboardVoila, {
    label: 'Open the TAO Lab Dashboard in Voila',
    caption:
      'Render the dashboard notebook alone, as Voila serves it (for a projector)',
    execute: async () => {
      // open the tab now: a window opened after an await is a popup browsers block
      const tab = window.open('', '_blank');
      const path = await dashboardPath(app, options.dashboardNotebook());
      if (!path) {
        tab?.close();
        return;
      }
      const url = voilaUrl(path);
      if (tab) {
        tab.location.href = url;
      } else {
        window.open(url, '_blank');
      }
    }
  });

  // the enabled state of start/stop follows the devnet
  model.changed.connect(() => {
    commands.notifyCommandChanged(CommandIDs.startDevnet);
    commands.notifyCommandChanged(CommandIDs.stopDevnet);
  });
}

/** `/voila/render/<path>` on this server (Voila's server extension serves it). */
export function voilaUrl(path: string): string {
  return URLExt.join(
    PageConfig.getBaseUrl(),
    'voila/render',
    URLExt.encodeParts(path)
  );
}

async function createAndOpen(
  app: JupyterFrontEnd,
  template: api.NotebookTemplate
): Promise<string | null> {
  try {
    const path = await api.createNotebook(template);
    await app.commands.execute('docmanager:open', { path });
    return path;
  } catch (error) {
    Notification.error(`Could not create the notebook: ${describe(error)}`, {
      autoClose: 8000
    });
    return null;
  }
}

/** The dashboard to open: the configured one, else one in the usual places, else a new one. */
async function dashboardPath(
  app: JupyterFrontEnd,
  configured: string
): Promise<string | null> {
  const contents = app.serviceManager.contents;
  for (const path of configured ? [configured] : DASHBOARD_CANDIDATES) {
    try {
      await contents.get(path, { content: false });
      return path;
    } catch {
      if (configured) {
        Notification.error(
          `The dashboard notebook "${configured}" (TAO Lab settings) does not exist.`,
          { autoClose: 8000 }
        );
        return null;
      }
    }
  }
  try {
    return await api.createNotebook('dashboard');
  } catch (error) {
    Notification.error(
      `Could not create a dashboard notebook: ${describe(error)}`,
      { autoClose: 8000 }
    );
    return null;
  }
}
