/**
 * The launcher cards. `@jupyterlab/launcher` is imported lazily, only inside JupyterLab: Voila
 * loads every installed lab extension and shares no launcher module, so a static import of it
 * fails the whole extension there ("Shared module @jupyterlab/launcher doesn't exist in shared
 * scope default").
 */
import { JupyterFrontEnd } from '@jupyterlab/application';

import { CATEGORY, CommandIDs } from './commands';

export async function addLauncherItems(app: JupyterFrontEnd): Promise<void> {
  const { ILauncher } = await import('@jupyterlab/launcher');
  const launcher = await app.resolveOptionalService(ILauncher);
  launcher?.add({
    command: CommandIDs.newLabNotebook,
    args: { isLauncher: true }, // the short card label ('Lab Notebook')
    category: CATEGORY,
    rank: 0
  });
  launcher?.add({
    command: CommandIDs.openDashboard,
    args: { isLauncher: true },
    category: CATEGORY,
    rank: 1
  });
}
