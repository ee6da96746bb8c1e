import { Dialog, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { Widget } from '@lumino/widgets';

import { IConvertRequest } from './request';

/** Python's keywords: a package name must not be one (the server says the same). */
const KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except finally for ' +
    'from global if import in is lambda nonlocal not or pass raise return try while with yield'
  ).split(' ')
);

/**
 * The default package name for a notebook: its stem made a valid Python identifier,
 * as the command line does (`My Notebook-v2` -> `my_notebook_v2`).
 */
export function packageName(notebookPath: string): string {
  const stem = PathExt.basename(notebookPath, PathExt.extname(notebookPath));
  let name =
    stem
      .replace(/[^\p{L}\p{N}_]+/gu, '_')
      .replace(/^_+|_+$/g, '')
      .toLowerCase() || 'package';
  if (/^\p{N}/u.test(name)) {
    name = `nb_${name}`;
  }
  return KEYWORDS.has(name) ? `${name}_` : name;
}

/**
 * The dialog's form: package name and output folder (relative to the server's root).
 * The output folder follows the name until the user edits it.
 */
class ConvertForm extends Widget implements Dialog.IBodyWidget<IConvertRequest> {
  constructor(private readonly notebookPath: string) {
    super();
    this.addClass('jp-nbextract-form');
    const name = packageName(notebookPath);
    this.nameInput = this.addField('Package name', 'name', name);
    this.outputInput = this.addField(
      'Output folder',
      'output',
      this.outputFor(name)
    );
    this.forceInput = this.addCheckbox(
      'Replace the output folder if it exists (force)',
      'force'
    );
    this.nameInput.addEventListener('input', () => {
      if (!this.outputEdited) {
        this.outputInput.value = this.outputFor(this.nameInput.value.trim());
      }
    });
    this.outputInput.addEventListener('input', () => {
      this.outputEdited = true;
    });
  }

  getValue(): IConvertRequest {
    return {
      path: this.notebookPath,
      name: this.nameInput.value.trim(),
      output: this.outputInput.value.trim(),
      force: this.forceInput.checked
    };
  }

  private outputFor(name: string): string {
    return PathExt.join(PathExt.dirname(this.notebookPath), name);
  }

  private addField(
    label: string,
    field: string,
    value: string
  ): HTMLInputElement {
    const input = document.createElement('input');
    input.className = 'jp-mod-styled';
    input.name = field;
    input.value = value;
    input.spellcheck = false;
    this.node.appendChild(this.labelled(label, input));
    return input;
  }

  private addCheckbox(label: string, field: string): HTMLInputElement {
    const input = document.createElement('input');
    input.type = 'checkbox';
    input.name = field;
    const row = this.labelled(label, input);
    row.classList.add('jp-nbextract-checkbox');
    this.node.appendChild(row);
    return input;
  }

  private labelled(text: string, input: HTMLInputElement): HTMLLabelElement {
    const label = document.createElement('label');
    const span = document.createElement('span');
    span.textContent = text;
    label.append(span, input);
    return label;
  }

  private readonly nameInput: HTMLInputElement;
  private readonly outputInput: HTMLInputElement;
  private readonly forceInput: HTMLInputElement;
  private outputEdited = false;
}

/**
 * Ask for the package name and output folder; null when the user cancels.
 */
export async function askConversion(
  notebookPath: string
): Promise<IConvertRequest | null> {
  const result = await showDialog({
    title: `Convert ${PathExt.basename(notebookPath)} to a package`,
    body: new ConvertForm(notebookPath),
    focusNodeSelector: 'input[name="name"]',
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: 'Convert', ariaLabel: 'Convert to package' })
    ]
  });
  return result.button.accept ? result.value : null;
}
