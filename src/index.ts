import {
  ILabShell,
  ILabStatus,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { LabIcon } from '@jupyterlab/ui-components';

import { askConversion, defaultRequest } from './dialog';
import { IConvertRequest, IJob, cancelJob, getJob, startJob } from './request';

const COMMAND = 'nbextract:convert';
const LABEL = 'Convert to package';
const MARKDOWN_VIEWER = 'Markdown Preview';
const TEXT_VIEWER = 'Editor';
/** A report larger than this (bytes) opens as text: rendering it as markdown would freeze the tab. */
const RENDER_LIMIT = 512 * 1024;
const POLL_INTERVAL = 500;
/** The sources the command converts: notebooks, and scripts (jupytext percent scripts among them). */
const CONVERTIBLE = /\.(ipynb|py)$/;

const packageIcon = new LabIcon({
  name: 'nbextract:package',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M12 2 3 6.5v11L12 22l9-4.5v-11L12 2Zm0 2.2 6.6 3.3L12 ' +
    '10.8 5.4 7.5 12 4.2ZM5 9.1l6 3v7.6l-6-3V9.1Zm8 10.6v-7.6l6-3v7.6l-6 3Z"/></svg>'
});

interface IServices {
  app: JupyterFrontEnd;
  shell: ILabShell;
  status: ILabStatus;
  docManager: IDocumentManager;
  browser: IDefaultFileBrowser | null;
}

/**
 * The files the command acts on: those selected in the file browser when it was right-clicked there,
 * else the document of the main area; only notebooks and scripts.
 */
function targets({ app, shell, docManager, browser }: IServices): string[] {
  const fromBrowser = app.contextMenuHitTest(node => node.classList.contains('jp-DirListing-item'));
  if (fromBrowser && browser) {
    const selected = Array.from(browser.selectedItems(), item => item.path);
    return selected.every(path => CONVERTIBLE.test(path)) ? selected : [];
  }
  const widget = shell.currentWidget;
  const context = widget ? docManager.contextForWidget(widget) : undefined;
  return context && CONVERTIBLE.test(context.path) ? [context.path] : [];
}

/** Save the notebook first when it is open with unsaved changes: the server converts what is on disk. */
async function saveIfDirty(docManager: IDocumentManager, path: string): Promise<void> {
  const widget = docManager.findWidget(path);
  const context = widget ? docManager.contextForWidget(widget) : undefined;
  if (context && context.model.dirty && !context.model.readOnly) {
    await context.save();
  }
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

function progressText(name: string, job: IJob): string {
  const { done, total, label } = job.progress;
  const count = total ? ` (${done} of ${total})` : '';
  return `Converting ${name}: ${label}${count}`;
}

/**
 * Run the conversion as a job of the server, its progress and a Cancel in a notification, until it ends;
 * rejects with the server's message when it refuses to start it. The notification is left for the caller to
 * turn into the outcome.
 */
async function runJob(request: IConvertRequest, status: ILabStatus): Promise<{ job: IJob; note: string }> {
  const name = PathExt.basename(request.path);
  let job = await startJob(request);
  const cancel = {
    label: 'Cancel',
    caption: 'Stop the conversion; nothing is written',
    callback: (event: MouseEvent) => {
      event.preventDefault();
      void cancelJob(job.id);
    }
  };
  const note = Notification.emit(progressText(name, job), 'in-progress', { autoClose: false, actions: [cancel] });
  const busy = status.setBusy();
  try {
    while (job.state === 'queued' || job.state === 'running') {
      await sleep(POLL_INTERVAL);
      job = await getJob(job.id);
      const { done, total } = job.progress;
      Notification.update({ id: note, message: progressText(name, job), progress: total ? done / total : undefined });
    }
  } catch (error) {
    ended(note, `Conversion of ${name} failed`);
    throw error;
  } finally {
    busy.dispose();
  }
  return { job, note };
}

/** Turn the progress notification into a short-lived error (dismissing it right after an update can leave it). */
function ended(note: string, message: string): void {
  Notification.update({ id: note, message, type: 'error', autoClose: 3000, actions: [] });
}

/**
 * Open `path` in a tab named after the package `pkg` (reloaded when a tab shows it already); a large report opens
 * as text. The tab's label stays the file's name (changing it renames the file): the package is shown before it
 * (style/base.css).
 */
async function openTitled(docManager: IDocumentManager, path: string, pkg: string): Promise<void> {
  const model = await docManager.services.contents.get(path, { content: false });
  const large = (model.size ?? 0) > RENDER_LIMIT;
  const viewer = !large && docManager.registry.getWidgetFactory(MARKDOWN_VIEWER) ? MARKDOWN_VIEWER : TEXT_VIEWER;
  const open = docManager.findWidget(path, viewer);
  if (open) {
    await docManager.contextForWidget(open)?.revert();
  }
  const widget = docManager.openOrReveal(path, viewer);
  if (widget) {
    widget.addClass('jp-nbextract-document');
    // Once its document is read: the tab renders its title again then, without what was added before.
    await widget.context.ready;
    for (const title of [widget.title, widget.content.title]) {
      title.dataset = { ...title.dataset, 'nbextract-package': pkg };
    }
  }
  if (large) {
    Notification.info(`${path} is ${(model.size! / 2 ** 20).toFixed(1)} MB: opened as text, not rendered`, {
      autoClose: 8000
    });
  }
}

/** Show OUT in the file browser, selected in its folder. */
async function reveal(browser: IDefaultFileBrowser | null, out: string): Promise<void> {
  if (browser) {
    await browser.model.cd(`/${PathExt.dirname(out)}`);
    await browser.selectItemByName(PathExt.basename(out));
  }
}

/** What a successful conversion shows: OUT in the file browser, its README and report in tabs named by package. */
async function showResults(services: IServices, request: IConvertRequest, job: IJob, note: string): Promise<void> {
  const out = job.output!;
  const pkg = String(job.manifest?.package ?? PathExt.basename(out));
  const readme = PathExt.join(out, 'README.md');
  const { docManager, browser } = services;
  await reveal(browser, out);
  await openTitled(docManager, readme, pkg);
  await openTitled(docManager, job.report!, pkg);
  Notification.update({
    id: note,
    message: `${PathExt.basename(request.path)} converted into ${out}`,
    type: 'success',
    autoClose: 8000,
    actions: [
      { label: 'Show folder', callback: () => void reveal(browser, out) },
      { label: 'Open README', callback: () => void openTitled(docManager, readme, pkg) }
    ]
  });
}

/**
 * Ask, convert, show: a refusal or a failure reopens the dialog with what the user typed and the server's message.
 */
async function convertSource(services: IServices, path: string): Promise<void> {
  // The server knows paths relative to its root, without a drive prefix (such as "RTC:").
  let request = defaultRequest(services.app.serviceManager.contents.localPath(path));
  let message: string | null = null;
  for (;;) {
    const asked = await askConversion(request, message);
    if (!asked) {
      return;
    }
    request = asked;
    let run: { job: IJob; note: string };
    try {
      await saveIfDirty(services.docManager, path);
      run = await runJob(request, services.status);
    } catch (error) {
      message = error instanceof Error ? error.message : String(error);
      continue;
    }
    const { job, note } = run;
    if (job.state === 'done') {
      return showResults(services, request, job, note);
    }
    const cancelled = `Conversion of ${PathExt.basename(path)} cancelled; nothing was written`;
    if (job.state === 'cancelled') {
      Notification.update({ id: note, message: cancelled, type: 'info', autoClose: 5000, actions: [] });
      return;
    }
    ended(note, `Conversion of ${PathExt.basename(path)} failed; the dialog says why`);
    message = job.message ?? 'The conversion failed.';
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbextract:plugin',
  description: 'Convert to package: turn the open notebook into an installable inference package with nbextract.',
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
    const services = { app, shell, status, docManager, browser };
    let running = false;
    const target = (args: { [key: string]: unknown }): string | null => {
      if (typeof args.path === 'string') {
        return args.path;
      }
      const found = targets(services);
      return found.length === 1 ? found[0] : null;
    };

    app.commands.addCommand(COMMAND, {
      label: args => (args.toolbar ? '' : targets(services).length > 1 ? `${LABEL} (one file at a time)` : LABEL),
      caption: 'Convert this notebook into an installable, tested inference package (nbextract)',
      icon: packageIcon,
      isEnabled: args => !running && target(args) !== null,
      execute: async args => {
        const path = target(args);
        if (!path) {
          return;
        }
        running = true;
        app.commands.notifyCommandChanged(COMMAND);
        try {
          await convertSource(services, path);
        } finally {
          running = false;
          app.commands.notifyCommandChanged(COMMAND);
        }
      }
    });
    shell.currentChanged.connect(() => app.commands.notifyCommandChanged(COMMAND));

    palette?.addItem({ command: COMMAND, category: 'nbextract' });
  }
};

export default plugin;
