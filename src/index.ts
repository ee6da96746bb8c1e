import {
  ILabShell,
  ILabStatus,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  Notification,
  showErrorMessage
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { LabIcon } from '@jupyterlab/ui-components';

import { askConversion } from './dialog';
import { IConvertReply, requestConversion } from './request';

const COMMAND = 'nbextract:convert';
const LABEL = 'Convert to package';
const REPORT_VIEWER = 'Markdown Preview';

const packageIcon = new LabIcon({
  name: 'nbextract:package',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M12 2 3 6.5v11L12 22l9-4.5v-11L12 2Zm0 2.2 6.6 3.3L12 ' +
    '10.8 5.4 7.5 12 4.2ZM5 9.1l6 3v7.6l-6-3V9.1Zm8 10.6v-7.6l6-3v7.6l-6 3Z"/></svg>'
});

/**
 * The notebook the command acts on: the one right-clicked in the file browser,
 * else the notebook in the main area, else none.
 */
function targetNotebook(
  app: JupyterFrontEnd,
  shell: ILabShell,
  docManager: IDocumentManager,
  browser: IDefaultFileBrowser | null
): string | null {
  const fromBrowser = app.contextMenuHitTest(node =>
    node.classList.contains('jp-DirListing-item')
  );
  if (fromBrowser && browser) {
    for (const item of browser.selectedItems()) {
      return item.path.endsWith('.ipynb') ? item.path : null;
    }
    return null;
  }
  const widget = shell.currentWidget;
  const context = widget ? docManager.contextForWidget(widget) : undefined;
  return context && context.path.endsWith('.ipynb') ? context.path : null;
}

/** Save the notebook first when it is open with unsaved changes: the server converts what is on disk. */
async function saveIfDirty(
  docManager: IDocumentManager,
  path: string
): Promise<void> {
  const widget = docManager.findWidget(path);
  const context = widget ? docManager.contextForWidget(widget) : undefined;
  if (context && context.model.dirty && !context.model.readOnly) {
    await context.save();
  }
}

/** Open the report in a new tab (rendered), or reload it when a tab already shows it. */
async function openReport(
  docManager: IDocumentManager,
  report: string
): Promise<void> {
  const viewer = docManager.registry.getWidgetFactory(REPORT_VIEWER)
    ? REPORT_VIEWER
    : undefined;
  const open = docManager.findWidget(report, viewer);
  if (open) {
    await docManager.contextForWidget(open)?.revert();
  }
  docManager.openOrReveal(report, viewer);
}

function successMessage(path: string, reply: IConvertReply): string {
  return `${PathExt.basename(path)} converted into ${reply.output}`;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbextract:plugin',
  description:
    'Convert to package: turn the open notebook into an installable inference package with nbextract.',
  autoStart: true,
  requires: [ILabShell, ILabStatus, IDocumentManager],
  optional: [ICommandPalette, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    status: ILabStatus,
    docManager: IDocumentManager,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null
  ) => {
    let running = false;

    app.commands.addCommand(COMMAND, {
      label: args => (args.toolbar ? '' : LABEL),
      caption:
        'Convert this notebook into an installable, tested inference package (nbextract)',
      icon: packageIcon,
      isEnabled: () => !running,
      execute: async args => {
        const path =
          typeof args.path === 'string'
            ? args.path
            : targetNotebook(app, shell, docManager, browser);
        if (!path) {
          await showErrorMessage(
            LABEL,
            'Open a notebook, or right-click one in the file browser, first.'
          );
          return;
        }
        // The server knows paths relative to its root, without a drive prefix (such as "RTC:").
        const request = await askConversion(
          app.serviceManager.contents.localPath(path)
        );
        if (!request) {
          return;
        }
        running = true;
        app.commands.notifyCommandChanged(COMMAND);
        const busy = status.setBusy();
        const note = Notification.emit(
          `Converting ${PathExt.basename(path)}…`,
          'in-progress',
          { autoClose: false }
        );
        try {
          await saveIfDirty(docManager, path);
          const reply = await requestConversion(request);
          Notification.update({
            id: note,
            message: successMessage(path, reply),
            type: 'success',
            autoClose: 5000
          });
          await Promise.all([
            openReport(docManager, reply.report),
            browser?.model.refresh()
          ]);
        } catch (error) {
          Notification.dismiss(note);
          await showErrorMessage(
            'Conversion failed',
            error instanceof Error ? error.message : String(error)
          );
        } finally {
          busy.dispose();
          running = false;
          app.commands.notifyCommandChanged(COMMAND);
        }
      }
    });

    palette?.addItem({ command: COMMAND, category: 'nbextract' });
  }
};

export default plugin;
