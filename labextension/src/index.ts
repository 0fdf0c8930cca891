/**
 * tao-lab: the TAO Lab sidebar for JupyterLab. This file only wires the plugin.
 *
 * Every dependency is optional: Voila loads each installed lab extension too, and has no
 * ILabShell; without one the plugin does nothing (no "No provider for ILabShell" in Voila).
 * For the same reason this module imports only packages Voila shares (not @jupyterlab/launcher).
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { addCommands, CATEGORY, CommandIDs } from './commands';
import { addLauncherItems } from './launcher';
import { DEFAULT_SETTINGS, TaoLabModel } from './model';
import { PANEL_ID, TaoLabPanel } from './panel';

const PLUGIN_ID = 'tao-lab:plugin';

/** Where the panel sits among the left sidebar's tabs (file browser 100, running 200, ...). */
const SIDEBAR_RANK = 1000;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'The TAO Lab sidebar: devnets, subnets, neurons and GPUs of the notebooks on this server.',
  autoStart: true,
  optional: [ILabShell, ISettingRegistry, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    labShell: ILabShell | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    if (!labShell) {
      return; // Voila, or another front end without JupyterLab's shell
    }
    const model = new TaoLabModel();
    const panel = new TaoLabPanel(model, app.commands);
    let dashboardNotebook = '';

    addCommands(app, model, {
      panelId: PANEL_ID,
      dashboardNotebook: () => dashboardNotebook
    });
    labShell.add(panel, 'left', { rank: SIDEBAR_RANK });
    restorer?.add(panel, PANEL_ID);

    for (const command of [
      CommandIDs.showPanel,
      CommandIDs.startDevnet,
      CommandIDs.stopDevnet,
      CommandIDs.newLabNotebook,
      CommandIDs.openDashboard,
      CommandIDs.openDashboardVoila,
      CommandIDs.refresh
    ]) {
      palette?.addItem({ command, category: CATEGORY });
    }
    addLauncherItems(app).catch(reason =>
      console.error('tao-lab: no launcher cards', reason)
    );

    if (settingRegistry) {
      const apply = (settings: ISettingRegistry.ISettings) => {
        const get = <T>(key: string, fallback: T) =>
          (settings.get(key).composite as T | undefined) ?? fallback;
        model.settings = {
          blockTime: get('blockTime', DEFAULT_SETTINGS.blockTime),
          port: get('port', DEFAULT_SETTINGS.port),
          walletFolder: get('walletFolder', DEFAULT_SETTINGS.walletFolder)
        };
        dashboardNotebook = get('dashboardNotebook', '');
        panel.update();
      };
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          apply(settings);
          settings.changed.connect(apply);
        })
        .catch(reason =>
          console.error('tao-lab: could not load the settings', reason)
        );
    }
  }
};

export default plugin;
